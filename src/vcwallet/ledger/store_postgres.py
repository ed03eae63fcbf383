"""The shared ledger store: PostgreSQL through psycopg 3. Low level.

For several issuer processes or machines appending to one log. Appenders serialise on a
single *sequencer row*: every append transaction starts with ``SELECT tree_size FROM head
WHERE id = 1 FOR UPDATE``, which blocks until the previous appender commits and then returns
the size it left. The leaves are numbered from that size, written with binary COPY (each
payload built in one piece with ``struct``), and ``head`` is advanced in the same
transaction, so there are no gaps and no forks (the primary key on the leaf index would refuse a fork even if the lock were
bypassed). A row lock was chosen over an advisory lock because it lives in the same schema
as the log, needs no cluster-wide key, and is released by PostgreSQL on commit, rollback or
a dead connection.

Readers take no lock: rows are never updated, so a size read first and the rows read after
always describe the same tree. The hot reads (``rows`` for proofs, ``leaf_candidates``) run
on the one kept-open connection as prepared statements in the binary protocol: in text form
bytea travels as hex, and decoding it cost more than the query itself. ``?schema=NAME`` in
the URL picks the schema (default ``vcwallet_ledger``); it is removed before the URL reaches
libpq.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from ..errors import LedgerError
from .store import AppendPlan, Planner

DEFAULT_SCHEMA = "vcwallet_ledger"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PREFIX = struct.Struct(">q")
# Binary COPY framing (PostgreSQL docs, "COPY ... Binary Format"): signature, flags, header
# extension length; per tuple a field count and (length, bytes) per field; -1 ends the stream.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_LEAF_HEAD = struct.Struct(">hiqi")  # 3 fields; idx (8 bytes); length of data
_LENGTH = struct.Struct(">i")
_HASH_ROW = struct.Struct(">hiqiq")  # 2 fields; prefix; idx
_TABLES = """
CREATE TABLE IF NOT EXISTS {meta} (key text PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE IF NOT EXISTS {head} (id int PRIMARY KEY CHECK (id = 1), tree_size bigint NOT NULL);
INSERT INTO {head} VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {leaves} (idx bigint PRIMARY KEY, data bytea NOT NULL,
                                     subtrees bytea NOT NULL);
CREATE TABLE IF NOT EXISTS {by_hash} (prefix bigint NOT NULL, idx bigint NOT NULL,
                                      PRIMARY KEY (prefix, idx));
CREATE TABLE IF NOT EXISTS {checkpoints} (tree_size bigint PRIMARY KEY, root bytea NOT NULL,
                                          note text NOT NULL);
"""


def split_schema(url: str) -> tuple[str, str]:
    """(libpq URL, schema) from a URL that may carry ``?schema=NAME``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = DEFAULT_SCHEMA
    rest = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            rest.append((key, value))
    if not _SCHEMA_NAME.fullmatch(schema):
        raise LedgerError(f"invalid PostgreSQL schema name {schema!r}")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


@contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LedgerError(f"PostgreSQL ledger store: {first_line}") from None


class PostgresStore:
    """A ledger kept in one schema of a PostgreSQL database (created only when ``create``)."""

    def __init__(self, url: str, *, create: bool = False, schema: str | None = None) -> None:
        libpq_url, url_schema = split_schema(url)
        self.schema = schema if schema is not None else url_schema
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise LedgerError(f"invalid PostgreSQL schema name {self.schema!r}")
        self._where = _redact(libpq_url)
        self._t = {
            name: sql.Identifier(self.schema, name)
            for name in ("meta", "head", "leaves", "by_hash", "checkpoints")
        }
        with _translate():
            self._db = psycopg.connect(libpq_url, autocommit=True)
            self._binary = self._db.cursor(binary=True)
            self._rows_sql = self._q(
                "SELECT idx, data, subtrees FROM {leaves} WHERE idx = ANY(%b::int8[])"
            ).as_bytes(self._db)
            self._candidates_sql = self._q(
                "SELECT idx FROM {by_hash} WHERE prefix = %b::int8"
            ).as_bytes(self._db)
            if create:
                with self._db.transaction():
                    self._db.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                            sql.Identifier(self.schema)
                        )
                    )
                    self._db.execute(sql.SQL(_TABLES).format(**self._t))

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r}, schema={self.schema!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def drop(self) -> None:
        """Remove this store's schema and everything in it (for tests and tear-downs)."""
        with _translate():
            self._db.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(**self._t)

    # -- metadata ---------------------------------------------------------------------------
    def read_meta(self) -> dict[str, bytes]:
        with _translate():
            exists = self._db.execute(
                "SELECT to_regclass(%s)", (f"{self.schema}.meta",)
            ).fetchone()
            if exists is None or exists[0] is None:
                return {}
            rows = self._db.execute(self._q("SELECT key, value FROM {meta}")).fetchall()
        return {str(k): bytes(v) for k, v in rows}

    def write_meta(self, meta: Mapping[str, bytes]) -> None:
        with _translate(), self._db.transaction():
            self._db.execute(self._q("LOCK TABLE {meta} IN EXCLUSIVE MODE"))
            if self._db.execute(self._q("SELECT count(*) FROM {meta}")).fetchone() != (0,):
                raise LedgerError(f"schema {self.schema!r} already holds a ledger")
            with self._db.cursor() as cur:
                cur.executemany(
                    self._q("INSERT INTO {meta} VALUES (%s, %s)"), list(meta.items())
                )

    # -- tree --------------------------------------------------------------------------------
    def tree_size(self) -> int:
        with _translate():
            row = self._db.execute(self._q("SELECT tree_size FROM {head} WHERE id = 1")).fetchone()
        if row is None:
            raise LedgerError(f"schema {self.schema!r} holds no ledger")
        return int(row[0])

    def rows(self, indexes: Collection[int]) -> dict[int, tuple[bytes, bytes]]:
        with _translate():
            found = self._binary.execute(
                self._rows_sql, (list(indexes),), prepare=True
            ).fetchall()
        return {i: (d, s) for i, d, s in found}

    def leaf_candidates(self, leaf_hash: bytes) -> list[int]:
        with _translate():
            found = self._binary.execute(
                self._candidates_sql, (_PREFIX.unpack_from(leaf_hash)[0],), prepare=True
            ).fetchall()
        return [r[0] for r in found]

    def append(self, planner: Planner) -> AppendPlan:
        with _translate(), self._db.transaction():
            row = self._db.execute(
                self._q("SELECT tree_size FROM {head} WHERE id = 1 FOR UPDATE")
            ).fetchone()
            if row is None:
                raise LedgerError(f"schema {self.schema!r} holds no ledger")
            plan = planner(int(row[0]), self.rows)
            with self._db.cursor() as cur:
                with cur.copy(
                    self._q("COPY {leaves} (idx, data, subtrees) FROM STDIN (FORMAT BINARY)")
                ) as copy:
                    copy.write(_leaf_rows_payload(plan))
                with cur.copy(
                    self._q("COPY {by_hash} (prefix, idx) FROM STDIN (FORMAT BINARY)")
                ) as copy:
                    copy.write(_hash_rows_payload(plan))
                cur.execute(
                    self._q("UPDATE {head} SET tree_size = %s WHERE id = 1"),
                    (plan.stop,),
                )
        return plan

    def scan_leaves(self, stop: int) -> Iterator[tuple[int, bytes, bytes]]:
        with (
            _translate(),
            self._db.transaction(),
            self._db.cursor(name="ledger_scan") as cur,  # server-side: streams, bounded memory
        ):
            cur.itersize = 4096
            cur.execute(
                self._q("SELECT idx, data, subtrees FROM {leaves} WHERE idx < %s ORDER BY idx"),
                (stop,),
            )
            for idx, data, subtrees in cur:
                yield int(idx), bytes(data), bytes(subtrees)

    def count_leaves(self, stop: int) -> int:
        with _translate():
            leaves = self._db.execute(
                self._q("SELECT count(*) FROM {leaves} WHERE idx < %s"), (stop,)
            ).fetchone()
        assert leaves is not None
        return int(leaves[0])

    # -- checkpoints --------------------------------------------------------------------------
    def add_checkpoint(self, tree_size: int, root_hash: bytes, note: str) -> None:
        with _translate():
            self._db.execute(
                self._q(
                    "INSERT INTO {checkpoints} (tree_size, root, note) VALUES (%s, %s, %s) "
                    "ON CONFLICT (tree_size) DO NOTHING"
                ),
                (tree_size, root_hash, note),
            )

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        with _translate():
            found = self._db.execute(
                self._q("SELECT tree_size, root, note FROM {checkpoints} ORDER BY tree_size")
            ).fetchall()
        return [(int(s), bytes(r), str(n)) for s, r, n in found]


def _leaf_rows_payload(plan: AppendPlan) -> bytes:
    """The plan's leaf rows as one binary COPY stream."""
    head, length = _LEAF_HEAD.pack, _LENGTH.pack
    parts = [_COPY_HEADER]
    for idx, data, subtrees in plan.iter_rows():
        parts += (head(3, 8, idx, len(data)), data, length(len(subtrees)), subtrees)
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def _hash_rows_payload(plan: AppendPlan) -> bytes:
    """The plan's hash-index rows as one binary COPY stream. (Sending them in key order
    cost client CPU and did not speed PostgreSQL up.)"""
    prefix, row = _PREFIX.unpack_from, _HASH_ROW.pack
    rows = (row(2, 8, prefix(h)[0], 8, i) for i, h in enumerate(plan.leaf_hashes, plan.start))
    return b"".join([_COPY_HEADER, *rows, _COPY_TRAILER])
