"""The transparency log over a store: append, tree heads, proofs, checkpoints, audit. Low level.

``TransparencyLog`` holds no state of its own beyond its store, its identity and a bounded
cache of the upper tree's perfect-subtree hashes (immutable once stored, so the cache is
never stale), so several processes may each open the same store. Appends go through
``LedgerStore.append``, which serialises writers; proofs read O(log n) stored subtree hashes
(one batched read, minus those cached), never the leaves. ``audit`` is the one operation
that reads everything: it recomputes the tree from the leaf data and compares every stored
hash and every signed checkpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import (
    InconsistentLog,
    InvalidCheckpoint,
    LedgerCorrupted,
    LedgerError,
    LogProofError,
    RootMismatch,
)
from .checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from .hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    NODE_PREFIX,
    consistency_ranges,
    fold_subtrees,
    inclusion_node_groups,
    leaf_hash,
    node_id,
    perfect_subtrees,
)
from .proof import ConsistencyProof, InclusionProof
from .store import AppendPlan, LedgerStore, RowReader, node_location

FORMAT_VERSION = b"1"
# Perfect subtrees of 2**6 leaves and up are cached, from the top 15 levels of the tree only
# (levels below size.bit_length() - 15 are left out): at most about 65,536 hashes. Every
# proof needs the same few upper nodes; the cache leaves the store to serve only the nodes
# near the leaf, which sit in a few neighbouring rows.
CACHE_MIN_LEVEL = 6
CACHE_TOP_LEVELS = 15
CACHE_MAX_NODES = 1 << 16


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and the signed note that carries it."""

    checkpoint: Checkpoint
    note: str


@dataclass(frozen=True)
class AuditReport:
    """What ``audit`` checked (it raises ``LedgerCorrupted`` on the first disagreement)."""

    tree_size: int
    root_hash: bytes
    nodes_checked: int
    checkpoints_checked: int


def _ids_for_ranges(ranges: Sequence[tuple[int, int]]) -> list[list[int]]:
    return [[node_id(lv, ix) for lv, ix in perfect_subtrees(s, e)] for s, e in ranges]


class NodeCache:
    """Hashes of large perfect subtrees by node id, as read from the store.

    A stored perfect-subtree hash never changes, so an entry is never stale; the cache only
    saves reads. It keeps nodes of level ``CACHE_MIN_LEVEL`` and up, and only the top
    ``CACHE_TOP_LEVELS`` levels of the tree, and starts over if it ever grows past
    ``CACHE_MAX_NODES`` (a log that grew a lot since the cache filled)."""

    def __init__(self) -> None:
        self._hashes: dict[int, bytes] = {}
        self.min_level = CACHE_MIN_LEVEL
        self.get: Callable[[int], bytes | None] = self._hashes.get  # hot: one call per node

    def __len__(self) -> int:
        return len(self._hashes)

    def for_size(self, size: int) -> NodeCache:
        """Set the lowest cached level for a tree of ``size`` leaves; self."""
        self.min_level = max(CACHE_MIN_LEVEL, size.bit_length() - CACHE_TOP_LEVELS)
        return self

    def keep(self, nid: int, level: int, h: bytes) -> None:
        if level >= self.min_level:
            if len(self._hashes) >= CACHE_MAX_NODES:
                self._hashes.clear()
            self._hashes[nid] = h


def _read_nodes(
    reader: RowReader, ids: Collection[int], cache: NodeCache | None = None
) -> dict[int, bytes]:
    """Stored hashes of perfect subtrees by node id, from ``cache`` or the rows that hold
    them (one read, skipped when every node is cached)."""
    out: dict[int, bytes] = {}
    where: dict[int, tuple[int, int]] = {}
    for nid in ids:
        cached = cache.get(nid) if cache is not None else None
        if cached is None:
            where[nid] = node_location(nid)
        else:
            out[nid] = cached
    if not where:
        return out
    rows = reader({leaf for leaf, _ in where.values()})
    for nid, (leaf, level) in where.items():
        row = rows.get(leaf)
        if row is None:
            continue
        if level == 0:
            out[nid] = leaf_hash(row[0])
        else:
            h = row[1][HASH_SIZE * (level - 1) : HASH_SIZE * level]
            if len(h) == HASH_SIZE:
                out[nid] = h
                if cache is not None:
                    cache.keep(nid, level, h)
    return out


def _hashes_for(
    reader: RowReader, groups: list[list[int]], cache: NodeCache | None = None
) -> list[bytes]:
    """Fold each group of perfect-subtree ids into one hash, reading all rows at once."""
    wanted = {i for group in groups for i in group}
    found = _read_nodes(reader, wanted, cache)
    missing = wanted - found.keys()
    if missing:
        raise LedgerCorrupted(f"store is missing tree nodes {sorted(missing)[:5]}")
    return [
        found[group[0]] if len(group) == 1 else fold_subtrees([found[i] for i in group])
        for group in groups
    ]


class TransparencyLog:
    """An RFC 9162 Merkle log kept in ``store``, identified by ``origin`` and its checkpoint key."""

    def __init__(self, store: LedgerStore, *, origin: str, public_key: Ed25519PublicKey) -> None:
        self.store = store
        self.origin = origin
        self.public_key = public_key
        self._cache = NodeCache()

    def __repr__(self) -> str:
        return f"TransparencyLog(origin={self.origin!r}, store={self.store!r})"

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        store: LedgerStore,
        *,
        origin: str,
        public_key: Ed25519PublicKey,
        extra_meta: dict[str, bytes] | None = None,
    ) -> TransparencyLog:
        """Start a new, empty log in ``store`` (``LedgerError`` if it already holds one)."""
        if not origin.isprintable() or any(c.isspace() or c == "+" for c in origin) or not origin:
            raise ValueError("origin must be a non-empty printable name without spaces or '+'")
        if not isinstance(public_key, Ed25519PublicKey):
            raise TypeError("a log's checkpoint key must be an Ed25519 public key")
        meta = dict(extra_meta or {})
        meta.update(
            format=FORMAT_VERSION,
            origin=origin.encode("utf-8"),
            public_key=public_key.public_bytes(Encoding.Raw, PublicFormat.Raw),
        )
        store.write_meta(meta)
        return cls(store, origin=origin, public_key=public_key)

    @classmethod
    def open(cls, store: LedgerStore) -> TransparencyLog:
        """The log kept in ``store``; ``LedgerError`` if there is none."""
        meta = store.read_meta()
        if not meta:
            raise LedgerError("the store holds no ledger (run `vcwallet ledger init` first)")
        if meta.get("format") != FORMAT_VERSION:
            raise LedgerError(f"unsupported ledger format {meta.get('format')!r}")
        try:
            origin = meta["origin"].decode("utf-8")
            public_key = Ed25519PublicKey.from_public_bytes(meta["public_key"])
        except (KeyError, UnicodeDecodeError, ValueError):
            raise LedgerCorrupted("ledger metadata is damaged") from None
        return cls(store, origin=origin, public_key=public_key)

    # -- appending -----------------------------------------------------------------------------
    def append(self, data: bytes) -> int:
        """Append one leaf durably; its index."""
        return self.append_batch([data]).start

    def append_batch(self, entries: Sequence[bytes]) -> range:
        """Append ``entries`` as consecutive leaves in one durable transaction; their indexes."""
        kinds = set(map(type, entries))  # one C-level pass; the common case is all bytes
        if not kinds <= {bytes, bytearray}:
            raise TypeError("ledger entries must be bytes")
        datas = list(entries) if kinds == {bytes} else [bytes(d) for d in entries]
        if not datas:
            size = self.size()
            return range(size, size)
        sha256 = hashlib.sha256
        hashes = [sha256(LEAF_PREFIX + d).digest() for d in datas]  # outside the write lock
        cache = self._cache
        plan = self.store.append(
            lambda size, reader: _plan(size, reader, hashes, datas, cache=cache.for_size(size))
        )
        return range(plan.start, plan.stop)

    # -- reading ----------------------------------------------------------------------------
    def size(self) -> int:
        return self.store.tree_size()

    def _size_arg(self, tree_size: int | None) -> int:
        """The size asked for, or the current one. A size past the end is caught when its
        rows turn out to be missing (``_hashes``), which saves a query per proof."""
        if tree_size is None:
            return self.size()
        if tree_size < 0:
            raise LedgerError(f"tree size {tree_size} is negative")
        return tree_size

    def _hashes(self, groups: list[list[int]], size: int) -> list[bytes]:
        try:
            return _hashes_for(self.store.rows, groups, self._cache.for_size(size))
        except LedgerCorrupted:
            current = self.size()
            if size > current:
                raise LedgerError(f"tree size {size} is past the log's {current} leaves") from None
            raise

    def root_hash(self, tree_size: int | None = None) -> bytes:
        """MTH(D[0:tree_size]) from stored subtree hashes (default: the current size)."""
        size = self._size_arg(tree_size)
        if size == 0:
            return EMPTY_ROOT
        return self._hashes(_ids_for_ranges([(0, size)]), size)[0]

    def leaf(self, index: int) -> tuple[bytes, bytes]:
        """(leaf hash, data) of leaf ``index``."""
        row = self.store.rows([index]).get(index)
        if row is None:
            raise LedgerError(f"no leaf {index} in a log of {self.size()} leaves")
        return leaf_hash(row[0]), row[0]

    def find_leaf(self, wanted: bytes) -> int:
        """The index of the first leaf with hash ``wanted``; ``LedgerError`` if none."""
        candidates = sorted(self.store.leaf_candidates(bytes(wanted)))
        rows = self.store.rows(candidates)
        for index in candidates:
            if index in rows and leaf_hash(rows[index][0]) == wanted:
                return index
        raise LedgerError(f"leaf hash {bytes(wanted).hex()} is not in the log")

    def inclusion_proof(self, leaf_index: int, tree_size: int | None = None) -> InclusionProof:
        """PATH(leaf_index, D[0:tree_size]) from at most 2*log2(n) stored hashes."""
        size = self._size_arg(tree_size)
        if not 0 <= leaf_index < size:
            raise LedgerError(f"leaf index {leaf_index} is not below tree size {size}")
        groups = [[2 * leaf_index], *inclusion_node_groups(leaf_index, size)]  # 2i: leaf i
        hashes = self._hashes(groups, size)
        return InclusionProof(leaf_index, size, hashes[0], tuple(hashes[1:]))

    def inclusion_proofs(
        self, leaf_indexes: Sequence[int], tree_size: int | None = None
    ) -> list[InclusionProof]:
        """Inclusion proofs for many leaves at one size, reading all their rows at once
        (a batch of consecutive leaves shares most of its path)."""
        size = self._size_arg(tree_size)
        if any(not 0 <= i < size for i in leaf_indexes):
            raise LedgerError(f"a leaf index is not below tree size {size}")
        per_leaf = [[[2 * i], *inclusion_node_groups(i, size)] for i in leaf_indexes]
        flat = self._hashes([group for groups in per_leaf for group in groups], size)
        proofs, at = [], 0
        for index, groups in zip(leaf_indexes, per_leaf):
            hashes = flat[at : at + len(groups)]
            at += len(groups)
            proofs.append(InclusionProof(index, size, hashes[0], tuple(hashes[1:])))
        return proofs

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """PROOF(first, D[0:second]) from stored hashes (``0 < first <= second``)."""
        size = self._size_arg(second)
        if not 0 < first <= size:
            raise LedgerError(f"no consistency proof from size {first} to {size}")
        if first == size:
            if size > self.size():
                raise LedgerError(f"tree size {size} is past the log's {self.size()} leaves")
            return ConsistencyProof(first, size, ())
        groups = _ids_for_ranges(consistency_ranges(first, size))
        return ConsistencyProof(first, size, tuple(self._hashes(groups, size)))

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoints(self) -> list[SignedCheckpoint]:
        """Every checkpoint this log has signed, smallest first, each re-verified."""
        return [
            SignedCheckpoint(self._open_stored(size, root, note), note)
            for size, root, note in self.store.checkpoints()
        ]

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        rows = self.store.checkpoints()
        if not rows:
            return None
        size, root, note = rows[-1]
        return SignedCheckpoint(self._open_stored(size, root, note), note)

    def checkpoint_at(self, tree_size: int) -> SignedCheckpoint | None:
        for size, root, note in self.store.checkpoints():
            if size == tree_size:
                return SignedCheckpoint(self._open_stored(size, root, note), note)
        return None

    def _open_stored(self, size: int, root: bytes, note: str) -> Checkpoint:
        try:
            cp = open_checkpoint(note, self.public_key, origin=self.origin)
        except InvalidCheckpoint as exc:
            raise LedgerCorrupted(f"stored checkpoint at size {size} is invalid: {exc}") from None
        if cp.tree_size != size or cp.root_hash != root:
            raise LedgerCorrupted(f"stored checkpoint row at size {size} disagrees with its note")
        return cp

    def sign_checkpoint(
        self, private_key: Ed25519PrivateKey, *, tree_size: int | None = None
    ) -> SignedCheckpoint:
        """Sign and store a checkpoint, after checking it extends every one signed before.

        A log must never sign two inconsistent checkpoints: if the stored tree no longer
        matches an earlier signed root (rows edited, store truncated), this raises
        ``LedgerCorrupted`` instead of signing.
        """
        if private_key.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw
        ) != self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw):
            raise LedgerError("this key is not the log's checkpoint key")
        size = self._size_arg(tree_size)
        if size > self.size():
            raise LedgerError(f"tree size {size} is past the log's {self.size()} leaves")
        previous = self._check_still_consistent(size)
        if previous is not None and previous.checkpoint.tree_size == size:
            return previous  # already signed at this size (and still matching)
        checkpoint = Checkpoint(self.origin, size, self.root_hash(size))
        note = sign_checkpoint(checkpoint, private_key)
        self.store.add_checkpoint(size, checkpoint.root_hash, note)
        return SignedCheckpoint(checkpoint, note)

    def _check_still_consistent(self, size: int) -> SignedCheckpoint | None:
        """The tree must still hold the latest signed checkpoint at or below ``size``; that one.

        Each checkpoint was checked against its predecessor when it was signed, so the
        newest one that the new checkpoint extends vouches for all older ones (and only its
        signature needs checking here, however many are stored).
        """
        rows = self.store.checkpoints()
        current = self.size()
        if rows and rows[-1][0] > current:
            raise LedgerCorrupted(
                f"store has {current} leaves but a checkpoint was signed at {rows[-1][0]}"
            )
        below = [row for row in rows if row[0] <= size]
        if not below:
            return None
        prior = SignedCheckpoint(self._open_stored(*below[-1]), below[-1][2])
        if self.root_hash(prior.checkpoint.tree_size) != prior.checkpoint.root_hash:
            raise LedgerCorrupted(
                f"stored tree no longer matches the checkpoint signed at "
                f"{prior.checkpoint.tree_size}"
            )
        return prior

    # -- audit --------------------------------------------------------------------------------
    def audit(self) -> AuditReport:
        """Recompute the whole tree from leaf data; check every stored hash and checkpoint.

        The audit covers the tree as it stood when it began (checkpoints are read first, then
        the size); leaves appended while it runs are left for the next audit.
        """
        stored_checkpoints = self.checkpoints()
        size = self.size()
        wanted_roots = {cp.checkpoint.tree_size for cp in stored_checkpoints}
        roots: dict[int, bytes] = {0: EMPTY_ROOT}
        frontier: list[bytes] = []
        nodes = expected = 0
        for index, data, completed in self.store.scan_leaves(size):
            if index != expected:
                raise LedgerCorrupted(f"leaf {expected} is missing (next stored is {index})")
            recomputed = _push(frontier, index, leaf_hash(data))
            if recomputed != completed:
                raise LedgerCorrupted(
                    f"leaf {index}: stored subtree hashes differ from those recomputed from data"
                )
            nodes += len(completed) // HASH_SIZE
            expected += 1
            if expected in wanted_roots:
                roots[expected] = fold_subtrees(frontier)
        leaf_rows = self.store.count_leaves(size)
        if leaf_rows != expected or expected != size:
            raise LedgerCorrupted(f"{leaf_rows} leaf rows for {expected} consecutive leaves")
        for signed in stored_checkpoints:
            cp = signed.checkpoint
            if cp.tree_size not in roots:
                raise LedgerCorrupted(
                    f"checkpoint signed at size {cp.tree_size} but only {expected} leaves stored"
                )
            if roots[cp.tree_size] != cp.root_hash:
                raise LedgerCorrupted(
                    f"recomputed root at size {cp.tree_size} differs from its signed checkpoint"
                )
        return AuditReport(expected, fold_subtrees(frontier), nodes, len(stored_checkpoints))


def _push(frontier: list[bytes], index: int, h: bytes) -> bytes:
    """Add leaf ``index`` to the right edge; the hashes of the perfect subtrees it completes."""
    frontier.append(h)
    completed = b""
    while index & 1:
        right = frontier.pop()
        node = hashlib.sha256(NODE_PREFIX + frontier[-1] + right).digest()
        frontier[-1] = node
        completed += node
        index >>= 1
    return completed


def _plan(
    size: int,
    reader: RowReader,
    hashes: list[bytes],
    datas: list[bytes],
    *,
    cache: NodeCache | None = None,
) -> AppendPlan:
    """The rows appending ``datas`` after ``size`` leaves writes (runs under the write lock).

    Level by level, like building a tree in memory: at level L the batch holds nodes
    ``size >> L`` onwards; when the first of them is a right child, its left sibling is the
    old perfect subtree on the tree's right edge. Node j of level L+1 is completed by leaf
    ``((j + 1) << (L + 1)) - 1``, so each level's new hashes go to an evenly spaced slice
    of the rows.
    """
    edge_nodes = perfect_subtrees(0, size)
    ids = [node_id(lv, ix) for lv, ix in edge_nodes]
    found = _read_nodes(reader, ids, cache)
    if len(found) != len(ids):
        raise LedgerCorrupted("store is missing right-edge tree nodes")
    edge = {lv: found[i] for (lv, _), i in zip(edge_nodes, ids)}
    sha256 = hashlib.sha256
    completed = [b""] * len(hashes)
    level, first, current = 0, size, hashes
    while True:
        if first & 1:
            current = [edge[level], *current]
            first -= 1
        if len(current) < 2:
            break
        parents = [
            sha256(NODE_PREFIX + left + right).digest()
            for left, right in zip(current[0::2], current[1::2])
        ]
        first >>= 1
        step = 1 << (level + 1)
        at = ((first + 1) << (level + 1)) - 1 - size
        completed[at::step] = [c + h for c, h in zip(completed[at::step], parents)]
        level, current = level + 1, parents
    return AppendPlan(size, datas, completed, hashes)


def verify_proof_against_checkpoint(
    proof: InclusionProof, note: str, public_key: Ed25519PublicKey, *, origin: str | None = None
) -> Checkpoint:
    """Check ``note``'s signature, then that ``proof`` leads to its root at its size."""
    cp = open_checkpoint(note, public_key, origin=origin)
    if cp.tree_size != proof.tree_size:
        raise LogProofError(
            f"proof is for tree size {proof.tree_size}, checkpoint for {cp.tree_size}"
        )
    proof.verify(cp.root_hash)
    return cp


def verify_checkpoint_extends(
    old_note: str,
    new_note: str,
    consistency_path: Sequence[bytes],
    public_key: Ed25519PublicKey,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Check both notes' signatures, then that the newer tree extends the older one.

    What a verifier does with a checkpoint it saw before and a fresh one from the log: a
    log that forked or rewrote its history cannot produce this proof. Returns the new
    checkpoint; raises ``InvalidCheckpoint``, ``InconsistentLog`` or another ``LogProofError``.
    """
    old = open_checkpoint(old_note, public_key, origin=origin)
    new = open_checkpoint(new_note, public_key, origin=old.origin)
    if new.tree_size < old.tree_size:
        raise InconsistentLog(
            f"the log shrank from {old.tree_size} to {new.tree_size} leaves"
        )
    if old.tree_size == 0:
        return new  # every tree extends the empty one
    try:
        ConsistencyProof(old.tree_size, new.tree_size, tuple(consistency_path)).verify(
            old.root_hash, new.root_hash
        )
    except RootMismatch as exc:
        raise InconsistentLog(
            f"checkpoint at {new.tree_size} does not extend the one at {old.tree_size}: {exc}"
        ) from None
    return new

