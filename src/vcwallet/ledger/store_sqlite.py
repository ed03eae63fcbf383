"""The embedded ledger store: one SQLite file. Low level.

WAL journal with ``synchronous=FULL``: a commit that returned is on disk and survives a
crash or SIGKILL of the writer. Appends run in ``BEGIN IMMEDIATE`` transactions, which take
SQLite's single write lock before the tree size is read, so concurrent appenders (threads or
processes) serialise into one history. One whole batch is one transaction (one fsync).

Tables: ``leaves(idx, data, subtrees)`` keyed by index (the rowid; ``subtrees`` holds the
hashes of the perfect subtrees the leaf completes, see ``store.py``), ``checkpoints``, ``meta``,
and the leaf-hash index ``by_hash(prefix, idx)`` (the first 8 bytes of each leaf hash as a
signed integer). The index is a cache built lazily: growing a random-keyed B-tree in every
append doubled the append's CPU time (measured at 1M leaves), while the same inserts done
64k at a time cost about a sixth of that. So an append writes its leaf rows plus one
``pending(start, prefixes)`` row holding the batch's 8-byte hash prefixes, and the first
lookup after appends moves pending prefixes into ``by_hash`` (under the write lock, about
64k leaves per transaction so appenders are never held up for long), without rereading or
rehashing leaf data. Leaf rows go in 256 per INSERT statement: one statement step per row
was a fifth of the insert's CPU.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Self

from ..errors import LedgerCorrupted, LedgerError
from .store import AppendPlan, Planner

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, data BLOB NOT NULL,
                                   subtrees BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS by_hash (prefix INTEGER NOT NULL, idx INTEGER NOT NULL,
                                    PRIMARY KEY (prefix, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexed (id INTEGER PRIMARY KEY CHECK (id = 1),
                                    upto INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (start INTEGER PRIMARY KEY, prefixes BLOB NOT NULL);
INSERT OR IGNORE INTO indexed VALUES (1, 0);
CREATE TABLE IF NOT EXISTS checkpoints (tree_size INTEGER PRIMARY KEY, root BLOB NOT NULL,
                                        note TEXT NOT NULL);
"""
_INDEX_CHUNK = 65_536
_ROWS_PER_INSERT = 256  # 768 bound values, well under SQLite's limit of 32,766
_LEAF_INSERT = "INSERT INTO leaves (idx, data, subtrees) VALUES (?, ?, ?)"
_HASH_INSERT = "INSERT OR IGNORE INTO by_hash (prefix, idx) VALUES (?, ?)"
_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit
BUSY_TIMEOUT_MS = 60_000
CACHE_KIB = 131_072
PAGE_SIZE = 32_768  # page cache, so the hash index grows without rereading pages


_PREFIX = struct.Struct(">q")


def hash_prefix(leaf_hash: bytes) -> int:
    """The signed 64-bit integer the hash index keys a leaf hash by."""
    return int(_PREFIX.unpack_from(leaf_hash)[0])


@contextmanager
def _translate() -> Iterator[None]:
    """sqlite3 errors become ledger errors; a damaged file is reported as corruption."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, (sqlite3.OperationalError, sqlite3.IntegrityError)):
            raise LedgerError(f"SQLite ledger store: {exc}") from None
        raise LedgerCorrupted(f"SQLite ledger store is damaged: {exc}") from None


class SqliteStore:
    """A ledger kept in the SQLite file at ``path`` (created only when ``create``)."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise LedgerError(f"no ledger store at {self.path}")
        with _translate():
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
            try:
                if create:  # only takes effect on a new file; larger pages: fewer page writes
                    self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
                if create:
                    self._db.executescript(_SCHEMA)
            except BaseException:
                self._db.close()
                raise

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # -- metadata ---------------------------------------------------------------------------
    def read_meta(self) -> dict[str, bytes]:
        with _translate():
            try:
                rows = self._db.execute("SELECT key, value FROM meta").fetchall()
            except sqlite3.OperationalError:
                return {}  # a SQLite file without our tables holds no ledger
        return {str(k): bytes(v) for k, v in rows}

    def write_meta(self, meta: Mapping[str, bytes]) -> None:
        with _translate(), self._transaction():
            if self._db.execute("SELECT count(*) FROM meta").fetchone()[0]:
                raise LedgerError(f"{self.path} already holds a ledger")
            self._db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, taken up front
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    # -- tree --------------------------------------------------------------------------------
    def tree_size(self) -> int:
        with _translate():
            (top,) = self._db.execute("SELECT max(idx) FROM leaves").fetchone()
        return 0 if top is None else int(top) + 1

    def rows(self, indexes: Collection[int]) -> dict[int, tuple[bytes, bytes]]:
        wanted = list(indexes)
        out: dict[int, tuple[bytes, bytes]] = {}
        with _translate():
            for i in range(0, len(wanted), _IN_CHUNK):
                part = wanted[i : i + _IN_CHUNK]
                marks = ",".join("?" * len(part))
                sql = f"SELECT idx, data, subtrees FROM leaves WHERE idx IN ({marks})"
                for idx, data, subtrees in self._db.execute(sql, part):
                    out[int(idx)] = (bytes(data), bytes(subtrees))
        return out

    def leaf_candidates(self, leaf_hash: bytes) -> list[int]:
        with _translate():
            self._catch_up_index()
            rows = self._db.execute(
                "SELECT idx FROM by_hash WHERE prefix = ?", (hash_prefix(leaf_hash),)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def _catch_up_index(self) -> None:
        """Index the leaves appended since the last lookup, a chunk per transaction so that
        appenders are never held up for long."""
        while self._indexed_upto() < self.tree_size():
            with self._transaction():
                low = self._indexed_upto()  # re-read under the write lock
                keys, upto = self._pending_keys(low)
                if upto == low:  # no pending prefixes for this leaf: hash the leaf data
                    keys, upto = self._hashed_keys(low)
                _insert_flat(self._db, _HASH_INSERT, 2, list(chain.from_iterable(keys)))
                self._db.execute("DELETE FROM pending WHERE start < ?", (upto,))
                self._db.execute("UPDATE indexed SET upto = ? WHERE id = 1", (upto,))

    def _pending_keys(self, low: int) -> tuple[list[tuple[int, int]], int]:
        """(prefix, index) pairs queued by consecutive appends from leaf ``low`` on, about a
        chunk's worth; and the leaf index they reach."""
        keys: list[tuple[int, int]] = []
        upto = low
        queued = self._db.execute(
            "SELECT start, prefixes FROM pending WHERE start >= ? ORDER BY start", (low,)
        )
        for start, prefixes in queued:
            if start != upto or len(prefixes) % 8 or len(keys) >= _INDEX_CHUNK:
                break
            stop = start + len(prefixes) // 8
            keys += zip([p for (p,) in _PREFIX.iter_unpack(prefixes)], range(start, stop))
            upto = stop
        queued.close()
        return keys, upto

    def _hashed_keys(self, low: int) -> tuple[list[tuple[int, int]], int]:
        """(prefix, index) pairs of a chunk of leaves from ``low`` on, hashed from their data."""
        sha256 = hashlib.sha256
        found = self._db.execute(
            "SELECT idx, data FROM leaves WHERE idx >= ? AND idx < ?",
            (low, low + _INDEX_CHUNK),
        ).fetchall()
        upto = max((int(i) for i, _ in found), default=low - 1) + 1
        if upto == low:
            raise LedgerCorrupted(f"leaf {low} is missing from the store")
        return [(_PREFIX.unpack_from(sha256(b"\x00" + d).digest())[0], i) for i, d in found], upto

    def _indexed_upto(self) -> int:
        row = self._db.execute("SELECT upto FROM indexed WHERE id = 1").fetchone()
        return 0 if row is None else int(row[0])

    def append(self, planner: Planner) -> AppendPlan:
        with _translate(), self._transaction():
            plan = planner(self.tree_size(), self.rows)
            # bytearray, not bytes: CPython's sqlite3 binds bytearray directly but sends bytes
            # through its adapter lookup, which raises and drops an AttributeError per value
            # (a seventh of the insert's CPU; the copy is cheaper)
            values = zip(
                range(plan.start, plan.stop),
                map(bytearray, plan.datas),
                map(bytearray, plan.completed),
            )
            _insert_flat(self._db, _LEAF_INSERT, 3, list(chain.from_iterable(values)))
            self._db.execute(
                "INSERT INTO pending (start, prefixes) VALUES (?, ?)",
                (plan.start, b"".join([h[:8] for h in plan.leaf_hashes])),
            )
        return plan

    def scan_leaves(self, stop: int) -> Iterator[tuple[int, bytes, bytes]]:
        with _translate():
            cursor = self._db.execute(
                "SELECT idx, data, subtrees FROM leaves WHERE idx < ? ORDER BY idx", (stop,)
            )
            while batch := cursor.fetchmany(4096):
                for idx, data, subtrees in batch:
                    yield int(idx), bytes(data), bytes(subtrees)

    def count_leaves(self, stop: int) -> int:
        with _translate():
            (leaves,) = self._db.execute(
                "SELECT count(*) FROM leaves WHERE idx < ?", (stop,)
            ).fetchone()
        return int(leaves)

    # -- checkpoints --------------------------------------------------------------------------
    def add_checkpoint(self, tree_size: int, root_hash: bytes, note: str) -> None:
        with _translate():
            self._db.execute(
                "INSERT OR IGNORE INTO checkpoints (tree_size, root, note) VALUES (?, ?, ?)",
                (tree_size, root_hash, note),
            )

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        with _translate():
            rows = self._db.execute(
                "SELECT tree_size, root, note FROM checkpoints ORDER BY tree_size"
            ).fetchall()
        return [(int(s), bytes(r), str(n)) for s, r, n in rows]


def _insert_flat(db: sqlite3.Connection, insert_one: str, width: int, flat: list[object]) -> None:
    """Run ``insert_one`` (one ``VALUES`` group of ``width`` values) over ``flat``, the rows'
    values one after another: ``_ROWS_PER_INSERT`` rows per statement, the rest one by one."""
    head, group = insert_one.split(" VALUES ")
    many = f"{head} VALUES {', '.join([group] * _ROWS_PER_INSERT)}"
    step = width * _ROWS_PER_INSERT
    whole = len(flat) - len(flat) % step
    db.executemany(many, [flat[i : i + step] for i in range(0, whole, step)])
    db.executemany(insert_one, [flat[i : i + width] for i in range(whole, len(flat), width)])
