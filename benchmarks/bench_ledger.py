"""The ledger at scale: append 1,000,000 anchor-sized leaves durably, then prove and verify.

Prints, per backend (SQLite always; PostgreSQL when a URL is given or VCWALLET_TEST_POSTGRES is
set): leaves/s appended in durable batches (each batch one committed, fsynced transaction),
the time to produce an inclusion / consistency proof from storage and to verify it (median
over random queries at full size), proof sizes against ceil(log2 n), and bytes of storage per
leaf. First, the ceiling: building the same tree in memory with plain hashlib.

    .venv/bin/python benchmarks/bench_ledger.py [--leaves 1000000] [--batch 10000]
        [--postgres postgresql://...] [--no-postgres] [--no-sqlite] [--dir DIR]

Targets (issue 3): SQLite >= 200,000 leaves/s, PostgreSQL >= 50,000 leaves/s, inclusion
proof from storage <= 200 us at 1M leaves, verification <= 50 us, proofs of at most
ceil(log2 n) hashes.

Wall-clock numbers on a shared machine follow its load, so every line that times an append
also gives leaves per CPU-second of this process, and the load average is printed before and
after each backend. Proof times are medians over random leaves with the log object that did
the appending (its cache of upper subtree hashes fills as the queries run); the "nothing
cached" line times proofs each made by a new log object. For PostgreSQL over its unix
socket, pass e.g. ``--postgres 'postgresql://postgres@/test?host=/var/run/postgresql'``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcwallet.ledger import TransparencyLog, verify_consistency, verify_inclusion
from vcwallet.ledger.store import LedgerStore
from vcwallet.ledger.store_postgres import PostgresStore
from vcwallet.ledger.store_sqlite import SqliteStore

QUERIES = 2000


def anchor_like_leaves(n: int) -> list[bytes]:
    """Leaf data shaped like anchor.leaf_record output (~170 bytes of canonical CBOR)."""
    rng = random.Random(1)
    issuer = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    return [
        cbor2.dumps(
            {"kind": "issued", "id": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
             "issuer": issuer, "format": "di", "digest": rng.randbytes(32)},
            canonical=True,
        )
        for _ in range(n)
    ]


def ceiling(leaves: list[bytes]) -> None:
    sha = hashlib.sha256
    start, cpu = time.perf_counter(), time.process_time()
    level = [sha(b"\x00" + d).digest() for d in leaves]
    hashes = len(level)
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        hashes += len(nxt)
        level = nxt
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"in-memory tree (plain hashlib): {hashes / took:,.0f} hashes/s, "
          f"{len(leaves) / took:,.0f} leaves/s ({took:.2f} s wall, {cpu:.2f} s CPU; "
          f"{len(leaves) / cpu:,.0f} leaves per CPU-second)")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def run_backend(name: str, store: LedgerStore, leaves: list[bytes], batch: int,
                size_of: Callable[[], int]) -> None:
    print(f"{name}: load average before {os.getloadavg()[0]:.1f}")
    key = Ed25519PrivateKey.generate()
    log = TransparencyLog.create(store, origin=f"bench.example/{name}", public_key=key.public_key())
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(leaves), batch):
        log.append_batch(leaves[i : i + batch])
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = log.size()
    print(f"{name}: appended {n:,} leaves in batches of {batch:,}: {n / took:,.0f} leaves/s "
          f"durable ({took:.1f} s wall; this process used {cpu:.1f} s CPU = "
          f"{n / cpu:,.0f} leaves per CPU-second)")
    log.sign_checkpoint(key)
    root = log.root_hash()
    rng = random.Random(2)
    cold = []
    for _ in range(QUERIES // 10):
        fresh = TransparencyLog(store, origin=log.origin, public_key=log.public_key)
        index = rng.randrange(n)
        t0 = time.perf_counter()
        fresh.inclusion_proof(index, n)
        cold.append(time.perf_counter() - t0)
    print(f"{name}: inclusion proof at {n:,} with nothing cached (a new log object per "
          f"query): produce {_median_us(cold):.0f} us (median of {QUERIES // 10})")

    make, check, sizes = [], [], []
    for _ in range(QUERIES):
        index = rng.randrange(n)
        t0 = time.perf_counter()
        proof = log.inclusion_proof(index, n)
        t1 = time.perf_counter()
        verify_inclusion(index, n, proof.leaf_hash, proof.inclusion_path, root)
        t2 = time.perf_counter()
        make.append(t1 - t0)
        check.append(t2 - t1)
        sizes.append(len(proof.inclusion_path))
    bound = math.ceil(math.log2(n))
    print(f"{name}: inclusion proof at {n:,}: produce {_median_us(make):.0f} us, verify "
          f"{_median_us(check):.1f} us (median of {QUERIES}); {max(sizes)} hashes max "
          f"(ceil(log2 n) = {bound}), {max(sizes) * 32} bytes")

    make, check, sizes = [], [], []
    roots: dict[int, bytes] = {}
    for _ in range(QUERIES // 10):
        first = rng.randrange(1, n)
        if first not in roots:
            roots[first] = log.root_hash(first)
        t0 = time.perf_counter()
        cons = log.consistency_proof(first, n)
        t1 = time.perf_counter()
        verify_consistency(first, n, cons.consistency_path, roots[first], root)
        t2 = time.perf_counter()
        make.append(t1 - t0)
        check.append(t2 - t1)
        sizes.append(len(cons.consistency_path))
    print(f"{name}: consistency proof to {n:,}: produce {_median_us(make):.0f} us, verify "
          f"{_median_us(check):.1f} us (median of {QUERIES // 10}); {max(sizes)} hashes max, "
          f"{max(sizes) * 32} bytes")

    lookups = []
    for index in (n // 3, n // 2, n - 1):
        t0 = time.perf_counter()
        assert log.find_leaf(hashlib.sha256(b"\x00" + leaves[index]).digest()) == index
        lookups.append(time.perf_counter() - t0)
    print(f"{name}: find leaf by hash: first {lookups[0] * 1e3:,.0f} ms (builds any lazy "
          f"index), then {lookups[-1] * 1e6:.0f} us; storage {size_of() / n:,.0f} bytes/leaf "
          f"(leaf data {len(leaves[0])} bytes)")
    t0 = time.perf_counter()
    report = log.audit()
    print(f"{name}: full audit of {report.tree_size:,} leaves "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"{name}: load average now {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("VCWALLET_TEST_POSTGRES"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--dir", default=None, help="Directory for the SQLite file.")
    args = parser.parse_args()

    leaves = anchor_like_leaves(args.leaves)
    ceiling(leaves)
    if not args.no_sqlite:
        bench_sqlite(leaves, args.batch, args.dir)
    if args.postgres and not args.no_postgres:
        bench_postgres(leaves, args.batch, args.postgres)


def bench_sqlite(leaves: list[bytes], batch: int, directory: str | None) -> None:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        path = Path(tmp) / "bench.db"
        store = SqliteStore(path, create=True)

        def sqlite_size() -> int:
            store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))

        try:
            run_backend("sqlite", store, leaves, batch, sqlite_size)
        finally:
            store.close()


def bench_postgres(leaves: list[bytes], batch: int, url: str) -> None:
    schema = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    pg = PostgresStore(url, create=True, schema=schema)

    def pg_size() -> int:
        row = pg._db.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)
        ).fetchone()
        return int(row[0]) if row and row[0] else 0

    try:
        run_backend("postgres", pg, leaves, batch, pg_size)
    finally:
        pg.drop()
        pg.close()


if __name__ == "__main__":
    main()
