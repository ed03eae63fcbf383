"""TransparencyLog over real stores (a SQLite file; PostgreSQL when configured)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcwallet.errors import InvalidCheckpoint, LedgerCorrupted, LedgerError, LogProofError
from vcwallet.ledger import (
    EMPTY_ROOT,
    TransparencyLog,
    leaf_hash,
    open_store,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
    verify_proof_against_checkpoint,
)
from vcwallet.ledger.store import LedgerStore
from vcwallet.ledger.store_postgres import PostgresStore
from vcwallet.ledger.store_sqlite import SqliteStore

ORIGIN = "ledger.test/log"
KEY = Ed25519PrivateKey.from_private_bytes(b"\x11" * 32)
DATA = [f"leaf {i} 졸업증명서".encode() for i in range(150)]
HASHES = [leaf_hash(d) for d in DATA]

Factory = Callable[[], LedgerStore]


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Make stores for one fresh log; each call opens another connection to the same log."""
    opened: list[LedgerStore] = []
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"

        def make() -> LedgerStore:
            store = SqliteStore(path, create=not path.exists())
            opened.append(store)
            return store
    else:
        url = request.getfixturevalue("postgres_url")
        schema = f"t_ledger_{uuid.uuid4().hex[:12]}"

        def make() -> LedgerStore:
            store = PostgresStore(url, create=True, schema=schema)
            opened.append(store)
            return store

    yield make
    if request.param == "postgres" and opened:
        opened[0].drop()  # type: ignore[attr-defined]
    for store in opened:
        store.close()


def _execute(store: LedgerStore, sql: str, *params: object) -> None:
    """Tamper with the store behind the log's back, as an attacker with DB access would."""
    if isinstance(store, SqliteStore):
        db = sqlite3.connect(store.path, isolation_level=None)
        db.execute(sql.replace("%s", "?"), params)
        db.close()
    else:
        assert isinstance(store, PostgresStore)
        store._db.execute(sql.replace("{s}", store.schema), params)


def _tbl(store: LedgerStore, name: str) -> str:
    return name if isinstance(store, SqliteStore) else "{s}." + name


@pytest.fixture
def log(new_store: Factory) -> TransparencyLog:
    return TransparencyLog.create(new_store(), origin=ORIGIN, public_key=KEY.public_key())


def test_empty_log(log: TransparencyLog) -> None:
    assert log.size() == 0 and log.root_hash() == EMPTY_ROOT
    assert log.audit().tree_size == 0
    with pytest.raises(LedgerError):
        log.inclusion_proof(0)


def test_roots_and_proofs_at_every_size(log: TransparencyLog) -> None:
    assert log.append_batch(DATA[:1]) == range(1)
    assert log.append_batch(DATA[1:64]) == range(1, 64)
    assert log.append(DATA[64]) == 64
    assert log.append_batch(DATA[65:]) == range(65, 150)
    roots = {n: root_from_leaf_hashes(HASHES[:n]) for n in range(151)}
    for n in range(1, 151, 7):
        assert log.root_hash(n) == roots[n]
        for m in range(0, n, 5):
            proof = log.inclusion_proof(m, n)
            assert proof.leaf_hash == HASHES[m]
            verify_inclusion(m, n, HASHES[m], proof.inclusion_path, roots[n])
        for m in range(1, n + 1, 6):
            cons = log.consistency_proof(m, n)
            verify_consistency(m, n, cons.consistency_path, roots[m], roots[n])
    assert log.root_hash() == roots[150]


def test_leaf_lookup(log: TransparencyLog) -> None:
    log.append_batch(DATA[:20] + [DATA[3]])  # a duplicate: the first index wins
    assert log.find_leaf(HASHES[3]) == 3
    assert log.leaf(7) == (HASHES[7], DATA[7])
    with pytest.raises(LedgerError):
        log.find_leaf(leaf_hash(b"never appended"))
    with pytest.raises(LedgerError):
        log.leaf(21)


def test_other_processes_see_the_same_log(log: TransparencyLog, new_store: Factory) -> None:
    log.append_batch(DATA[:10])
    other = TransparencyLog.open(new_store())
    assert other.origin == ORIGIN and other.size() == 10
    other.append_batch(DATA[10:30])
    assert log.root_hash() == root_from_leaf_hashes(HASHES[:30])


def test_create_twice_is_refused(log: TransparencyLog, new_store: Factory) -> None:
    with pytest.raises(LedgerError):
        TransparencyLog.create(new_store(), origin=ORIGIN, public_key=KEY.public_key())


def test_checkpoints_are_signed_stored_and_consistent(log: TransparencyLog) -> None:
    log.append_batch(DATA[:10])
    first = log.sign_checkpoint(KEY)
    assert log.sign_checkpoint(KEY) == first  # same size: the stored note is returned
    log.append_batch(DATA[10:33])
    second = log.sign_checkpoint(KEY)
    assert [c.checkpoint.tree_size for c in log.checkpoints()] == [10, 33]
    assert log.latest_checkpoint() == second
    cons = log.consistency_proof(10, 33)
    cons.verify(first.checkpoint.root_hash, second.checkpoint.root_hash)
    proof = log.inclusion_proof(12, 33)
    cp = verify_proof_against_checkpoint(proof, second.note, KEY.public_key(), origin=ORIGIN)
    assert cp.tree_size == 33
    with pytest.raises(LogProofError):
        verify_proof_against_checkpoint(proof, first.note, KEY.public_key())
    with pytest.raises(InvalidCheckpoint):
        verify_proof_against_checkpoint(proof, second.note, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(LedgerError):
        log.sign_checkpoint(Ed25519PrivateKey.generate())  # not the log's key


def test_audit_passes_on_an_honest_log(log: TransparencyLog) -> None:
    log.append_batch(DATA[:77])
    log.sign_checkpoint(KEY)
    log.append_batch(DATA[77:])
    log.sign_checkpoint(KEY)
    report = log.audit()
    assert (report.tree_size, report.checkpoints_checked) == (150, 2)
    assert report.root_hash == root_from_leaf_hashes(HASHES)
    assert report.nodes_checked == 150 - (150).bit_count()


@pytest.fixture
def signed_log(log: TransparencyLog) -> TransparencyLog:
    log.append_batch(DATA[:40])
    log.sign_checkpoint(KEY)
    return log


def test_edited_leaf_data_is_caught(signed_log: TransparencyLog) -> None:
    store = signed_log.store
    _execute(store, f"UPDATE {_tbl(store, 'leaves')} SET data = %s WHERE idx = 5", b"forged")
    with pytest.raises(LedgerCorrupted):
        signed_log.audit()
    proof = signed_log.inclusion_proof(5)  # the proof now carries the forged leaf's hash
    cp = signed_log.latest_checkpoint()
    assert cp is not None
    with pytest.raises(LogProofError):
        verify_proof_against_checkpoint(proof, cp.note, KEY.public_key())


def test_consistently_rewritten_tree_is_caught_by_the_signed_checkpoint(
    signed_log: TransparencyLog,
) -> None:
    """Rewrite a leaf and every stored hash above it: only the signed root can tell."""
    store = signed_log.store
    forged = list(DATA[:40])
    forged[9] = b"forged"
    from vcwallet.ledger.log import _push

    frontier: list[bytes] = []
    for i, d in enumerate(forged):
        completed = _push(frontier, i, leaf_hash(d))
        _execute(
            store,
            f"UPDATE {_tbl(store, 'leaves')} SET data = %s, subtrees = %s WHERE idx = %s",
            d, completed, i,
        )
    with pytest.raises(LedgerCorrupted, match="signed checkpoint"):
        signed_log.audit()
    with pytest.raises(LedgerCorrupted):
        signed_log.sign_checkpoint(KEY, tree_size=40)


def test_edited_subtree_hash_is_caught(signed_log: TransparencyLog) -> None:
    store = signed_log.store
    _execute(store, f"UPDATE {_tbl(store, 'leaves')} SET subtrees = %s WHERE idx = 3",
             b"\x00" * 64)
    with pytest.raises(LedgerCorrupted):
        signed_log.audit()


def test_deleted_row_is_caught(signed_log: TransparencyLog) -> None:
    store = signed_log.store
    _execute(store, f"DELETE FROM {_tbl(store, 'leaves')} WHERE idx = 17")
    with pytest.raises(LedgerCorrupted):
        signed_log.audit()
    with pytest.raises(LedgerCorrupted):
        signed_log.inclusion_proof(16, 40)  # its sibling row is gone


def test_reordered_rows_are_caught(signed_log: TransparencyLog) -> None:
    store = signed_log.store
    t = _tbl(store, "leaves")
    _execute(store, f"UPDATE {t} SET idx = -1 WHERE idx = 20")
    _execute(store, f"UPDATE {t} SET idx = 20 WHERE idx = 21")
    _execute(store, f"UPDATE {t} SET idx = 21 WHERE idx = -1")
    with pytest.raises(LedgerCorrupted):
        signed_log.audit()
    cp = signed_log.latest_checkpoint()
    assert cp is not None
    with pytest.raises(LogProofError):
        verify_proof_against_checkpoint(signed_log.inclusion_proof(20), cp.note, KEY.public_key())


def test_truncated_log_is_caught(signed_log: TransparencyLog) -> None:
    store = signed_log.store
    _execute(store, f"DELETE FROM {_tbl(store, 'leaves')} WHERE idx >= 30")
    if isinstance(store, PostgresStore):
        _execute(store, "UPDATE {s}.head SET tree_size = 30")
    with pytest.raises(LedgerCorrupted):
        signed_log.audit()
    with pytest.raises(LedgerCorrupted):
        signed_log.sign_checkpoint(KEY)


def test_forged_checkpoint_row_is_caught(signed_log: TransparencyLog) -> None:
    store = signed_log.store
    _execute(store, f"UPDATE {_tbl(store, 'checkpoints')} SET note = %s", "x\n1\nAAAA\n\n— x QQ==\n")
    with pytest.raises(LedgerCorrupted):
        signed_log.audit()


def test_bad_arguments(log: TransparencyLog) -> None:
    log.append_batch(DATA[:5])
    with pytest.raises(LedgerError):
        log.inclusion_proof(5, 5)
    with pytest.raises(LedgerError):
        log.inclusion_proof(0, 6)
    with pytest.raises(LedgerError):
        log.consistency_proof(0, 5)
    with pytest.raises(LedgerError):
        log.consistency_proof(4, 3)
    with pytest.raises(TypeError):
        log.append_batch(["text"])  # type: ignore[list-item]
    assert log.append_batch([]) == range(5, 5)


def test_sqlite_open_errors(tmp_path: Path) -> None:
    with pytest.raises(LedgerError):
        open_store(str(tmp_path / "missing.db"))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError):
        TransparencyLog.open(open_store(str(garbage)))
    empty = tmp_path / "plain.db"
    sqlite3.connect(empty).close()
    with pytest.raises(LedgerError, match="no ledger"):
        TransparencyLog.open(SqliteStore(empty))


def test_truncated_sqlite_file_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path, create=True) as store:
        log = TransparencyLog.create(store, origin=ORIGIN, public_key=KEY.public_key())
        log.append_batch([bytes(200)] * 2000)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(LedgerError), SqliteStore(path) as store:
        TransparencyLog.open(store).audit()


def test_sizes_past_the_end_are_refused(log: TransparencyLog) -> None:
    log.append_batch(DATA[:5])
    for call in (
        lambda: log.root_hash(6),
        lambda: log.inclusion_proof(1, 9),
        lambda: log.consistency_proof(2, 7),
        lambda: log.consistency_proof(7, 7),
        lambda: log.sign_checkpoint(KEY, tree_size=6),
        lambda: log.root_hash(-1),
    ):
        with pytest.raises(LedgerError) as info:
            call()
        assert not isinstance(info.value, LedgerCorrupted)


def test_batch_planning_matches_leaf_by_leaf_appends() -> None:
    """The level-wise planner stores exactly the subtree hashes leaf-by-leaf appends would."""
    import random

    from vcwallet.ledger.log import _plan, _push

    rng = random.Random(3)
    datas = [f"{i}".encode() for i in range(400)]
    hashes = [leaf_hash(d) for d in datas]
    frontier: list[bytes] = []
    completed = [_push(frontier, i, h) for i, h in enumerate(hashes)]
    for _ in range(400):
        size, n = rng.randrange(0, 330), rng.randrange(1, 70)

        def reader(wanted: object, size: int = size) -> dict[int, tuple[bytes, bytes]]:
            return {i: (datas[i], completed[i]) for i in wanted if i < size}  # type: ignore[attr-defined]

        plan = _plan(size, reader, hashes[size : size + n], datas[size : size + n])
        assert plan.rows == list(zip(range(size, size + n), datas[size:size + n],
                                     completed[size : size + n]))


def test_a_fresh_checkpoint_must_extend_an_old_one(log: TransparencyLog, tmp_path: Path) -> None:
    from vcwallet.errors import InconsistentLog
    from vcwallet.ledger import verify_checkpoint_extends

    pub = KEY.public_key()
    empty = log.sign_checkpoint(KEY)
    log.append_batch(DATA[:10])
    old = log.sign_checkpoint(KEY)
    log.append_batch(DATA[10:25])
    new = log.sign_checkpoint(KEY)
    path = log.consistency_proof(10, 25).consistency_path
    assert verify_checkpoint_extends(old.note, new.note, path, pub).tree_size == 25
    assert verify_checkpoint_extends(empty.note, new.note, [], pub).tree_size == 25
    # a forked log: same key, history rewritten from leaf 7 on
    with SqliteStore(tmp_path / "fork.db", create=True) as store:
        fork = TransparencyLog.create(store, origin=ORIGIN, public_key=pub)
        fork.append_batch(DATA[:7] + [b"rewritten"] * 18)
        forked = fork.sign_checkpoint(KEY)
        with pytest.raises(InconsistentLog):
            verify_checkpoint_extends(old.note, forked.note,
                                      fork.consistency_proof(10, 25).consistency_path, pub)
        with pytest.raises(InconsistentLog):
            verify_checkpoint_extends(new.note, forked.note, [], pub)  # two trees of 25
        with pytest.raises(InconsistentLog):
            verify_checkpoint_extends(new.note, old.note, [], pub)  # shrank


def test_proofs_read_o_log_n_rows_in_one_query(tmp_path: Path) -> None:
    class CountingStore(SqliteStore):
        """The real SQLite store, counting how often and how much ``rows`` reads."""

        calls: ClassVar[list[int]] = []

        def rows(self, indexes):  # type: ignore[no-untyped-def]
            self.calls.append(len(indexes))
            return super().rows(indexes)

    store = CountingStore(tmp_path / "count.db", create=True)
    log = TransparencyLog.create(store, origin=ORIGIN, public_key=KEY.public_key())
    log.append_batch([i.to_bytes(4, "big") for i in range(5000)])
    for index in (0, 1234, 4095, 4096, 4999):
        store.calls.clear()
        proof = log.inclusion_proof(index, 5000)
        assert len(store.calls) == 1 and store.calls[0] <= 2 * 13 + 1
        assert len(proof.inclusion_path) <= 13  # ceil(log2 5000)
    store.calls.clear()
    log.consistency_proof(1000, 5000)
    assert len(store.calls) == 1 and store.calls[0] <= 2 * 13 + 2
    store.close()


def test_many_proofs_at_once_match_single_proofs(log: TransparencyLog) -> None:
    log.append_batch(DATA[:100])
    wanted = [0, 1, 37, 64, 99]
    assert log.inclusion_proofs(wanted, 100) == [log.inclusion_proof(i, 100) for i in wanted]
    assert log.inclusion_proofs([], 100) == []
    with pytest.raises(LedgerError):
        log.inclusion_proofs([100], 100)
