"""Inclusion and consistency proofs: pure verify functions and their JSON form. Low level.

The verify functions follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step, with the
stricter preconditions of transparency-dev/merkle checked first: every hash is exactly 32
bytes, the proof has exactly the length the (index, size) pair calls for, ``leaf_index <
tree_size``, and a consistency proof needs ``0 < first <= second`` (a proof from the empty
tree is refused, as the published probes require; between equal sizes the proof must be
empty and the roots byte-equal, their length unchecked, again as the probes require). They take integers and bytes, need no
store, and return ``None`` or raise a ``LogProofError`` (``RootMismatch`` when only the final
comparison fails). Wrong argument *types* are programmer errors and raise ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import LogProofError, RootMismatch
from .hashing import HASH_SIZE, node_hash


def _check_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int")
    if value < 0:
        raise LogProofError(f"{name} is negative ({value})")
    return value


def _check_hash(name: str, value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be bytes")
    if len(value) != HASH_SIZE:
        raise LogProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")
    return bytes(value)


def _check_path(name: str, path: object) -> list[bytes]:
    if isinstance(path, (bytes, str)) or not isinstance(path, Sequence):
        raise TypeError(f"{name} must be a sequence of hashes")
    return [_check_hash(f"{name}[{i}]", h) for i, h in enumerate(path)]


def inclusion_proof_length(leaf_index: int, tree_size: int) -> int:
    """How many hashes PATH(leaf_index, D[0:tree_size]) has (requires leaf_index < tree_size)."""
    inner = (leaf_index ^ (tree_size - 1)).bit_length()
    border = (leaf_index >> inner).bit_count()
    return inner + border


def consistency_proof_length(first: int, second: int) -> int:
    """How many hashes PROOF(first, D[0:second]) has (requires 0 < first < second)."""
    shift = (first & -first).bit_length() - 1
    inner = ((first - 1) ^ (second - 1)).bit_length() - shift
    border = ((first - 1) >> (inner + shift)).bit_count()
    return inner + border + (0 if first == 1 << shift else 1)


def root_from_inclusion_proof(
    leaf_index: int, tree_size: int, leaf_hash: bytes, inclusion_path: Sequence[bytes]
) -> bytes:
    """The root hash an inclusion proof leads to (RFC 9162 2.1.3.2 steps 1-4), checked first."""
    fn = _check_int("leaf_index", leaf_index)
    size = _check_int("tree_size", tree_size)
    r = _check_hash("leaf_hash", leaf_hash)
    path = _check_path("inclusion_path", inclusion_path)
    if fn >= size:
        raise LogProofError(f"leaf_index {fn} is not below tree_size {size}")
    want = inclusion_proof_length(fn, size)
    if len(path) != want:
        raise LogProofError(f"inclusion proof has {len(path)} hashes, expected {want}")
    sn = size - 1
    for p in path:
        if sn == 0:
            raise LogProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LogProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_index: int,
    tree_size: int,
    leaf_hash: bytes,
    inclusion_path: Sequence[bytes],
    root_hash: bytes,
) -> None:
    """Check that ``leaf_hash`` is leaf ``leaf_index`` of the tree of ``tree_size`` with ``root_hash``."""
    root = _check_hash("root_hash", root_hash)
    calculated = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, inclusion_path)
    if calculated != root:
        raise RootMismatch(root, calculated)


def verify_consistency(
    first: int,
    second: int,
    consistency_path: Sequence[bytes],
    first_hash: bytes,
    second_hash: bytes,
) -> None:
    """Check that the tree (second, second_hash) extends the tree (first, first_hash)."""
    m = _check_int("first", first)
    n = _check_int("second", second)
    path = _check_path("consistency_path", consistency_path)
    for name, value in (("first_hash", first_hash), ("second_hash", second_hash)):
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError(f"{name} must be bytes")
    if n < m:
        raise LogProofError(f"second ({n}) is smaller than first ({m})")
    if m == 0:
        raise LogProofError("no consistency proof exists from the empty tree")
    if m == n:
        # Same tree twice: like transparency-dev, only byte equality of the roots matters.
        if path:
            raise LogProofError("a proof between equal sizes must be empty")
        if bytes(first_hash) != bytes(second_hash):
            raise RootMismatch(bytes(first_hash), bytes(second_hash))
        return
    root1 = _check_hash("first_hash", first_hash)
    root2 = _check_hash("second_hash", second_hash)
    if not path:
        raise LogProofError("empty consistency proof between different sizes")
    want = consistency_proof_length(m, n)
    if m & (m - 1) == 0:  # first is a power of two: its root is the proof's seed
        path = [root1, *path]
        want += 1
    if len(path) != want:
        raise LogProofError(f"consistency proof has {len(path)} hashes, expected {want}")
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LogProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LogProofError("consistency proof is shorter than the tree is deep")
    if fr != root1:
        raise RootMismatch(root1, fr)
    if sr != root2:
        raise RootMismatch(root2, sr)


# -- JSON form: RFC 9162 names, hex hashes ----------------------------------------------


def _hex_hash(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise LogProofError(f"{name} is not a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise LogProofError(f"{name} is not valid hex") from None
    return _check_hash(name, raw)


def _json_int(obj: Mapping[str, Any], name: str) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LogProofError(f"{name} must be a non-negative integer")
    return value


def _json_path(obj: Mapping[str, Any], name: str) -> tuple[bytes, ...]:
    value = obj.get(name)
    if not isinstance(value, list):
        raise LogProofError(f"{name} must be a list of hex hashes")
    return tuple(_hex_hash(f"{name}[{i}]", h) for i, h in enumerate(value))


def _require_mapping(obj: object, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise LogProofError(f"{what} must be a JSON object")
    return obj


@dataclass(frozen=True)
class InclusionProof:
    """PATH(leaf_index, D[0:tree_size]) for one leaf hash."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    inclusion_path: tuple[bytes, ...]

    def verify(self, root_hash: bytes) -> None:
        verify_inclusion(
            self.leaf_index, self.tree_size, self.leaf_hash, self.inclusion_path, root_hash
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "inclusion_path": [h.hex() for h in self.inclusion_path],
        }

    @classmethod
    def from_json(cls, obj: object) -> InclusionProof:
        """Parse the JSON form; a malformed field raises ``LogProofError``."""
        o = _require_mapping(obj, "inclusion proof")
        return cls(
            leaf_index=_json_int(o, "leaf_index"),
            tree_size=_json_int(o, "tree_size"),
            leaf_hash=_hex_hash("leaf_hash", o.get("leaf_hash")),
            inclusion_path=_json_path(o, "inclusion_path"),
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """PROOF(first, D[0:second]): the tree of size ``second`` extends the one of size ``first``."""

    first: int
    second: int
    consistency_path: tuple[bytes, ...]

    def verify(self, first_hash: bytes, second_hash: bytes) -> None:
        verify_consistency(
            self.first, self.second, self.consistency_path, first_hash, second_hash
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "consistency_path": [h.hex() for h in self.consistency_path],
        }

    @classmethod
    def from_json(cls, obj: object) -> ConsistencyProof:
        """Parse the JSON form; a malformed field raises ``LogProofError``."""
        o = _require_mapping(obj, "consistency proof")
        return cls(
            first=_json_int(o, "first"),
            second=_json_int(o, "second"),
            consistency_path=_json_path(o, "consistency_path"),
        )
