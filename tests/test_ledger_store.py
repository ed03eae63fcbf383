"""The stores' fast paths: multi-row inserts, the SQLite hash index built from pending
prefixes, and the log's cache of upper subtree hashes (real SQLite files, real PostgreSQL)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcwallet.errors import LedgerError
from vcwallet.ledger import TransparencyLog, leaf_hash, root_from_leaf_hashes, verify_inclusion
from vcwallet.ledger.log import CACHE_MAX_NODES, CACHE_MIN_LEVEL, NodeCache
from vcwallet.ledger.store import LedgerStore
from vcwallet.ledger.store_postgres import PostgresStore
from vcwallet.ledger.store_sqlite import SqliteStore

KEY = Ed25519PrivateKey.from_private_bytes(b"\x22" * 32)
ORIGIN = "ledger.test/store"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    if request.param == "sqlite":
        with SqliteStore(tmp_path / "s.db", create=True) as sqlite_store:
            yield sqlite_store
        return
    url = request.getfixturevalue("postgres_url")
    pg = PostgresStore(url, create=True, schema=f"t_store_{uuid.uuid4().hex[:12]}")
    try:
        yield pg
    finally:
        pg.drop()
        pg.close()


def _new_log(store: LedgerStore) -> TransparencyLog:
    return TransparencyLog.create(store, origin=ORIGIN, public_key=KEY.public_key())


def test_batches_around_the_multi_row_insert_size(store: LedgerStore) -> None:
    log = _new_log(store)
    datas: list[bytes] = []
    for size in (1, 255, 256, 257, 511, 513, 3):
        batch = [f"{len(datas) + j} 성적증명서".encode() for j in range(size)]
        assert log.append_batch(batch) == range(len(datas), len(datas) + size)
        datas += batch
    hashes = [leaf_hash(d) for d in datas]
    assert log.root_hash() == root_from_leaf_hashes(hashes)
    assert log.audit().tree_size == len(datas)
    for i in (0, 1, 255, 256, 511, 512, 767, 768, 1279, 1280, len(datas) - 1):
        assert log.leaf(i) == (hashes[i], datas[i])
        assert log.find_leaf(hashes[i]) == i


def _sqlite_count(path: Path, sql: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def test_lookups_index_pending_prefixes_and_drop_them(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path, create=True) as store:
        log = _new_log(store)
        datas = [f"leaf {i}".encode() for i in range(1000)]
        for start in range(0, 1000, 100):
            log.append_batch(datas[start : start + 100])
        assert _sqlite_count(path, "SELECT count(*) FROM pending") == 10
        assert _sqlite_count(path, "SELECT count(*) FROM by_hash") == 0
        assert log.find_leaf(leaf_hash(datas[750])) == 750
        assert _sqlite_count(path, "SELECT count(*) FROM pending") == 0
        assert _sqlite_count(path, "SELECT count(*) FROM by_hash") == 1000
        log.append(b"one more")
        assert log.find_leaf(leaf_hash(b"one more")) == 1000
        with pytest.raises(LedgerError):
            log.find_leaf(leaf_hash(b"never appended"))


def test_lookups_hash_leaf_data_when_prefixes_are_gone(tmp_path: Path) -> None:
    """More than one index chunk, with the middle batch's pending prefixes lost: the index is
    still complete (those leaves are hashed from their data)."""
    path = tmp_path / "l.db"
    with SqliteStore(path, create=True) as store:
        log = _new_log(store)
        batches = [[f"{b}:{i}".encode() for i in range(30_000)] for b in range(3)]
        for batch in batches:
            log.append_batch(batch)
        db = sqlite3.connect(path)
        db.execute("DELETE FROM pending WHERE start = 30000")
        db.commit()
        db.close()
        for b, i in ((0, 0), (0, 29_999), (1, 0), (1, 12_345), (2, 29_999)):
            assert log.find_leaf(leaf_hash(batches[b][i])) == 30_000 * b + i
        assert _sqlite_count(path, "SELECT count(*) FROM by_hash") == 90_000


def test_cached_upper_hashes_give_the_proofs_a_fresh_log_gives(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    datas = [i.to_bytes(3, "big") for i in range(700)]
    roots = {n: root_from_leaf_hashes([leaf_hash(d) for d in datas[:n]]) for n in (70, 300, 700)}
    with SqliteStore(path, create=True) as store:
        warm = _new_log(store)
        for start in range(0, 700, 70):
            warm.append_batch(datas[start : start + 70])
            if start + 70 in roots:
                assert warm.root_hash() == roots[start + 70]
        for size in (70, 300, 700):
            for index in range(0, size, 23):
                warm.inclusion_proof(index, size)
        with SqliteStore(path) as other:
            cold = TransparencyLog.open(other)
            for size, root in roots.items():
                for index in range(0, size, 7):
                    proof = warm.inclusion_proof(index, size)
                    assert proof == cold.inclusion_proof(index, size)
                    verify_inclusion(index, size, proof.leaf_hash, proof.inclusion_path, root)
                assert warm.consistency_proof(70, size) == cold.consistency_proof(70, size)


def test_node_cache_keeps_large_subtrees_only_and_stays_bounded() -> None:
    cache = NodeCache().for_size(1000)
    assert cache.min_level == CACHE_MIN_LEVEL
    cache.keep(1, CACHE_MIN_LEVEL - 1, b"a" * 32)
    cache.keep(2, CACHE_MIN_LEVEL, b"b" * 32)
    assert cache.get(1) is None and cache.get(2) == b"b" * 32
    assert NodeCache().for_size(1 << 40).min_level == 41 - 15
    for nid in range(CACHE_MAX_NODES + 10):
        cache.keep(nid, CACHE_MIN_LEVEL, b"c" * 32)
    assert len(cache) <= CACHE_MAX_NODES


def test_inclusion_node_groups_name_the_ranges_of_rfc_9162() -> None:
    import random

    from vcwallet.ledger.hashing import (
        inclusion_node_groups,
        inclusion_ranges,
        node_id,
        perfect_subtrees,
    )

    def by_ranges(index: int, size: int) -> list[list[int]]:
        return [[node_id(lv, ix) for lv, ix in perfect_subtrees(start, end)]
                for start, end in inclusion_ranges(index, size)]

    rng = random.Random(9)
    cases = [(m, n) for n in range(1, 130) for m in range(n)]
    cases += [(rng.randrange(n), n) for n in (rng.randrange(1, 1 << 40) for _ in range(3000))]
    for index, size in cases:
        assert inclusion_node_groups(index, size) == by_ranges(index, size)


def test_lookups_from_another_connection_see_every_append(tmp_path: Path) -> None:
    """One connection appends, another looks up in between: each lookup indexes what the
    other connection queued, and no leaf is indexed twice or missed."""
    path = tmp_path / "two.db"
    with SqliteStore(path, create=True) as writer_store:
        writer = _new_log(writer_store)
        with SqliteStore(path) as reader_store:
            reader = TransparencyLog.open(reader_store)
            appended: list[bytes] = []
            for round_ in range(6):
                batch = [f"{round_}/{i} 자격증".encode() for i in range(round_ * 37 + 1)]
                writer.append_batch(batch)
                appended += batch
                for i in (0, len(appended) // 2, len(appended) - 1):
                    assert reader.find_leaf(leaf_hash(appended[i])) == i
    assert _sqlite_count(path, "SELECT count(*) FROM by_hash") == len(appended)
    assert _sqlite_count(path, "SELECT count(*) FROM pending") == 0
