"""W3C Bitstring Status List v1.0: allocate, revoke / suspend, publish, check.

Low level: no HTTP here. This module owns

* the bitstring codec (:func:`encode_list`, :func:`decode_list`): bit 0 is the most
  significant bit of byte 0; ``encodedList`` is multibase base64url (``u``, no padding) of
  the GZIP-compressed bitstring; decoding is bounded (no gzip bombs) and refuses lists
  shorter than :data:`STATUS_LIST_MIN_ENTRIES`;
* the issuer side: :class:`StatusRegistry` over a :class:`StatusListStore`
  (:class:`SqliteStatusStore`): random index allocation without reuse, revocation
  (permanent), suspension (reversible), and the signed ``BitstringStatusListCredential``;
* the verifier side: :func:`check_status` / :func:`verify_status` fetch each list through an
  injected ``fetch_list(url)``, verify the list's own proof and that its issuer is the
  credential's issuer, and read the bit; :class:`StatusListCache` keeps verified lists for
  a bounded time.

Status purposes are ``revocation`` and ``suspension``. The spec's ``message`` purpose (and
``statusSize`` > 1) is not supported: such entries are reported as unavailable.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import gzip
import re
import secrets
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, Self

from .errors import (
    CredentialRevoked,
    MalformedDocumentError,
    StatusCheckUnavailable,
    StatusListError,
)
from .keys import Signer
from .model import (
    VC_V2_CONTEXT,
    Check,
    failed,
    format_datetime,
    issuer_id,
    parse_datetime,
    passed,
    skipped,
    types_of,
)

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "LIST_CLOCK_SKEW",
    "STATUS_LIST_MIN_ENTRIES",
    "Allocation",
    "SqliteStatusStore",
    "StatusList",
    "StatusListCache",
    "StatusListStore",
    "StatusOutcome",
    "StatusPurpose",
    "StatusRegistry",
    "StatusResult",
    "StoredList",
    "check_status",
    "decode_list",
    "encode_list",
    "read_bit",
    "status_check",
    "verify_status",
    "verify_status_list",
]

STATUS_LIST_MIN_ENTRIES = 131_072  # herd privacy: the spec's 16 KiB minimum
DEFAULT_MAX_ENTRIES = 2**26  # 8 MiB decompressed: the most a verifier will inflate
DEFAULT_MAX_FILL = 0.5  # open a new list once half the indexes are taken
DEFAULT_VALID_FOR = timedelta(minutes=10)
DEFAULT_TTL = timedelta(minutes=5)  # the spec's default ttl (300000 ms)
# validFrom is backdated this much, so a verifier whose clock runs a little behind the
# issuer's does not read a fresh list as "not yet valid" (and so "status unknown").
LIST_CLOCK_SKEW = timedelta(minutes=1)
_MAX_PICKS = 64  # at most half full: the chance of 64 collisions in a row is 2**-64
_ENTRY_TYPE = "BitstringStatusListEntry"
_LIST_TYPE = "BitstringStatusList"
_LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_PURPOSE_VALUES = ("revocation", "suspension")
_CLEAR_WORDS = {"revocation": "not revoked", "suspension": "not suspended"}
_INDEX = re.compile(r"[0-9]{1,20}")  # base 10, as the spec says; the list bounds it


class StatusPurpose(str, enum.Enum):
    """What a set bit means. ``message`` (multi-bit statuses) is not supported."""

    REVOCATION = "revocation"  # permanent: a revoked credential is never reinstated
    SUSPENSION = "suspension"  # reversible


def _purpose(value: str | StatusPurpose) -> StatusPurpose:
    try:
        return StatusPurpose(value)
    except ValueError:
        raise ValueError(f"unknown status purpose {value!r}; use revocation or suspension") from None


# --------------------------------------------------------------------------------------
# the bitstring codec
# --------------------------------------------------------------------------------------
def read_bit(bits: bytes | bytearray, index: int) -> bool:
    """Bit ``index`` of ``bits``, counting from the most significant bit of byte 0."""
    if not 0 <= index < len(bits) * 8:
        raise IndexError(f"status index {index} is outside a list of {len(bits) * 8} entries")
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def _write_bit(bits: bytearray, index: int, value: bool) -> None:
    mask = 0x80 >> (index & 7)
    if value:
        bits[index >> 3] |= mask
    else:
        bits[index >> 3] &= ~mask & 0xFF


def encode_list(bits: bytes) -> str:
    """``encodedList`` for ``bits``: ``u`` + base64url (no padding) of GZIP(bits).

    The GZIP header carries no time stamp, so equal bitstrings encode equally. Raises
    ``ValueError`` for a list shorter than :data:`STATUS_LIST_MIN_ENTRIES`.
    """
    if len(bits) * 8 < STATUS_LIST_MIN_ENTRIES:
        raise ValueError(f"a status list needs at least {STATUS_LIST_MIN_ENTRIES} entries")
    packed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_list(
    encoded: str,
    *,
    max_size: int = DEFAULT_MAX_ENTRIES,
    min_size: int = STATUS_LIST_MIN_ENTRIES,
) -> bytes:
    """The bitstring inside an ``encodedList``, at most ``max_size`` entries (bits).

    Raises :class:`MalformedDocumentError` for a value that is not multibase base64url, not
    one complete GZIP member, larger than ``max_size`` entries once inflated (decompression
    stops there: a gzip bomb costs at most ``max_size / 8`` bytes), or shorter than
    ``min_size`` entries.
    """
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise MalformedDocumentError("encodedList must be a multibase base64url string ('u...')")
    text = encoded[1:]
    max_bytes = max_size // 8
    # DEFLATE never expands data by more than a few bytes per 16 KiB block.
    if len(text) > (max_bytes + max_bytes // 1000 + 1024) * 4 // 3:
        raise MalformedDocumentError(f"encodedList is longer than a {max_size}-entry list can be")
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedDocumentError("encodedList is not unpadded base64url")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedDocumentError("encodedList is not unpadded base64url") from None
    bits = _gunzip_bounded(packed, max_bytes)
    if len(bits) * 8 < min_size:
        raise MalformedDocumentError(
            f"status list has {len(bits) * 8} entries, fewer than the minimum {min_size}"
        )
    return bits


def _gunzip_bounded(packed: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing, CRC checked
    try:
        bits = inflater.decompress(packed, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedDocumentError(f"encodedList is not valid GZIP: {exc}") from None
    if len(bits) > max_bytes:
        raise MalformedDocumentError(f"status list inflates past {max_bytes * 8} entries")
    if not inflater.eof:
        raise MalformedDocumentError("encodedList holds a truncated GZIP stream")
    if inflater.unused_data:
        raise MalformedDocumentError("encodedList carries data after its GZIP stream")
    return bits


# --------------------------------------------------------------------------------------
# persistence
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """One credential's place in one list."""

    credential_id: str
    purpose: StatusPurpose
    list_id: str
    index: int


@dataclass(frozen=True)
class StoredList:
    """A list as the store holds it; ``version`` grows with every changed bit."""

    list_id: str
    purpose: StatusPurpose
    size: int
    bits: bytes
    version: int
    allocated: int


class StatusListStore(Protocol):
    """Persistence of lists, allocated indexes and bits; each method is one transaction."""

    def allocate(
        self,
        credential_id: str,
        purposes: Sequence[StatusPurpose],
        *,
        size: int,
        pick: Callable[[int], int],
        max_fill: float,
    ) -> list[Allocation]:
        """Claim one unused index per purpose, all or none.

        Uses the newest list of each purpose unless more than ``max_fill`` of it is taken,
        in which case a new list of ``size`` entries is opened. ``pick(n)`` draws a
        candidate index below ``n``; a taken index is drawn again. Raises
        :class:`StatusListError` (``duplicate``) when the credential already holds an index
        for one of the purposes.
        """
        ...

    def allocations(self, credential_id: str) -> list[Allocation]: ...

    def bit(self, list_id: str, index: int) -> bool: ...

    def set_bit(self, list_id: str, index: int, value: bool, *, permanent: bool) -> int:
        """Set or clear one bit and return the list's version. ``permanent`` refuses to
        clear a set bit (:class:`StatusListError`, ``permanent``)."""
        ...

    def load_list(self, list_id: str) -> StoredList:
        """Raises :class:`StatusListError` (``unknown``) for a list that does not exist."""
        ...

    def list_ids(self, purpose: StatusPurpose | None = None) -> list[str]: ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS status_lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose TEXT NOT NULL,
    size INTEGER NOT NULL,
    allocated INTEGER NOT NULL DEFAULT 0,
    bits BLOB NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS status_allocations (
    credential_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    list_id INTEGER NOT NULL REFERENCES status_lists(id),
    idx INTEGER NOT NULL,
    PRIMARY KEY (credential_id, purpose),
    UNIQUE (list_id, idx)
);
"""


def _list_key(list_id: str) -> int:
    if not isinstance(list_id, str) or not list_id.isdigit() or len(list_id) > 18:
        raise StatusListError(f"no status list {list_id!r}", reason="unknown")
    return int(list_id)


class SqliteStatusStore:
    """A :class:`StatusListStore` in one SQLite file (WAL, ``synchronous=FULL``: a committed
    revocation survives a crash). Safe to share between threads; several processes may
    open the same file (writers take SQLite's write lock)."""

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        with self._sql_errors():
            db = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a committed revocation is on disk
                db.execute("PRAGMA foreign_keys=ON")
                db.executescript(_SCHEMA)
            except sqlite3.Error:
                db.close()
                raise
        self._db = db

    def __repr__(self) -> str:
        return f"SqliteStatusStore({str(self._path)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StatusListError("the status store is closed", reason="closed")
        return self._db

    @contextlib.contextmanager
    def _sql_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StatusListError(f"status store {self._path}: {exc}", reason="store") from exc

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock, self._sql_errors():
            return self._conn().execute(sql, params).fetchall()

    def _write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock, self._sql_errors():
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    def allocate(
        self,
        credential_id: str,
        purposes: Sequence[StatusPurpose],
        *,
        size: int,
        pick: Callable[[int], int],
        max_fill: float,
    ) -> list[Allocation]:
        def work(db: sqlite3.Connection) -> list[Allocation]:
            return [
                self._allocate_one(db, credential_id, purpose, size, pick, max_fill)
                for purpose in purposes
            ]

        result: list[Allocation] = self._write(work)
        return result

    @staticmethod
    def _allocate_one(
        db: sqlite3.Connection,
        credential_id: str,
        purpose: StatusPurpose,
        size: int,
        pick: Callable[[int], int],
        max_fill: float,
    ) -> Allocation:
        held = db.execute(
            "SELECT 1 FROM status_allocations WHERE credential_id = ? AND purpose = ?",
            (credential_id, purpose.value),
        ).fetchone()
        if held:
            raise StatusListError(
                f"credential {credential_id!r} already has a {purpose.value} status entry",
                reason="duplicate",
            )
        row = db.execute(
            "SELECT id, size, allocated FROM status_lists WHERE purpose = ? ORDER BY id DESC LIMIT 1",
            (purpose.value,),
        ).fetchone()
        if row is None or row[2] + 1 > row[1] * max_fill:
            cursor = db.execute(
                "INSERT INTO status_lists (purpose, size, bits) VALUES (?, ?, ?)",
                (purpose.value, size, bytes(size // 8)),
            )
            row = (cursor.lastrowid, size, 0)
        list_key, list_size = row[0], row[1]
        for _ in range(_MAX_PICKS):
            index = pick(list_size)
            if not 0 <= index < list_size:
                raise ValueError(f"pick({list_size}) returned {index}, outside the list")
            taken = db.execute(
                "SELECT 1 FROM status_allocations WHERE list_id = ? AND idx = ?", (list_key, index)
            ).fetchone()
            if not taken:
                break
        else:
            raise StatusListError(f"no free index found in list {list_key}", reason="full")
        db.execute(
            "INSERT INTO status_allocations (credential_id, purpose, list_id, idx) VALUES (?, ?, ?, ?)",
            (credential_id, purpose.value, list_key, index),
        )
        db.execute("UPDATE status_lists SET allocated = allocated + 1 WHERE id = ?", (list_key,))
        return Allocation(credential_id, purpose, str(list_key), index)

    def allocations(self, credential_id: str) -> list[Allocation]:
        rows = self._read(
            "SELECT purpose, list_id, idx FROM status_allocations WHERE credential_id = ? "
            "ORDER BY purpose",
            (credential_id,),
        )
        return [Allocation(credential_id, StatusPurpose(p), str(k), i) for p, k, i in rows]

    def bit(self, list_id: str, index: int) -> bool:
        key = _list_key(list_id)
        rows = self._read(
            "SELECT substr(bits, ?, 1), size FROM status_lists WHERE id = ?", (index // 8 + 1, key)
        )
        row = rows[0] if rows else None
        if row is None:
            raise StatusListError(f"no status list {list_id!r}", reason="unknown")
        if not 0 <= index < row[1]:
            raise StatusListError(f"index {index} is outside list {list_id}", reason="unknown")
        return read_bit(bytes(row[0]), index & 7)

    def set_bit(self, list_id: str, index: int, value: bool, *, permanent: bool) -> int:
        key = _list_key(list_id)

        def work(db: sqlite3.Connection) -> int:
            row = db.execute(
                "SELECT bits, version, size FROM status_lists WHERE id = ?", (key,)
            ).fetchone()
            if row is None:
                raise StatusListError(f"no status list {list_id!r}", reason="unknown")
            bits, version, size = bytearray(row[0]), row[1], row[2]
            if not 0 <= index < size:
                raise StatusListError(f"index {index} is outside list {list_id}", reason="unknown")
            current = read_bit(bits, index)
            if current == value:
                return int(version)
            if permanent and current and not value:
                raise StatusListError(
                    f"entry {index} of list {list_id} is permanent and cannot be cleared",
                    reason="permanent",
                )
            _write_bit(bits, index, value)
            db.execute(
                "UPDATE status_lists SET bits = ?, version = ? WHERE id = ?",
                (bytes(bits), version + 1, key),
            )
            return int(version) + 1

        result: int = self._write(work)
        return result

    def load_list(self, list_id: str) -> StoredList:
        key = _list_key(list_id)
        rows = self._read(
            "SELECT purpose, size, bits, version, allocated FROM status_lists WHERE id = ?", (key,)
        )
        row = rows[0] if rows else None
        if row is None:
            raise StatusListError(f"no status list {list_id!r}", reason="unknown")
        return StoredList(str(key), StatusPurpose(row[0]), row[1], bytes(row[2]), row[3], row[4])

    def list_ids(self, purpose: StatusPurpose | None = None) -> list[str]:
        if purpose is None:
            rows = self._read("SELECT id FROM status_lists ORDER BY id")
        else:
            rows = self._read(
                "SELECT id FROM status_lists WHERE purpose = ? ORDER BY id", (purpose.value,)
            )
        return [str(r[0]) for r in rows]


# --------------------------------------------------------------------------------------
# the issuer side
# --------------------------------------------------------------------------------------
class StatusRegistry:
    """An issuer's status lists: allocate entries, change statuses, publish signed lists.

    Lists are published at ``<base_url>/<list_id>``; the issuer's HTTP service serves
    :meth:`list_credential` there. Signed list credentials are reused until their list
    changes or half their validity has passed, so serving a list on every request is cheap.
    """

    def __init__(
        self,
        store: StatusListStore,
        *,
        base_url: str,
        issuer: str,
        list_size: int = STATUS_LIST_MIN_ENTRIES,
        max_fill: float = DEFAULT_MAX_FILL,
        pick: Callable[[int], int] = secrets.randbelow,
    ) -> None:
        if list_size < STATUS_LIST_MIN_ENTRIES or list_size % 8:
            raise ValueError(
                f"list_size must be a multiple of 8 and at least {STATUS_LIST_MIN_ENTRIES}"
            )
        if not 0 < max_fill <= 1:
            raise ValueError("max_fill must be in (0, 1]")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", base_url):
            raise ValueError(f"base_url {base_url!r} is not an absolute URL")
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.issuer = issuer
        self.list_size = list_size
        self._max_fill = max_fill
        self._pick = pick
        self._signed: dict[tuple[Any, ...], tuple[int, datetime, Any]] = {}
        self._signed_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StatusRegistry(base_url={self.base_url!r}, issuer={self.issuer!r})"

    def list_url(self, list_id: str) -> str:
        return f"{self.base_url}/{list_id}"

    def list_id_for_url(self, url: str) -> str:
        """The list id a URL of ours names; :class:`StatusListError` (``unknown``) otherwise."""
        prefix = self.base_url + "/"
        list_id = url[len(prefix):] if url.startswith(prefix) else ""
        _list_key(list_id)
        return list_id

    def allocate(
        self,
        credential_id: str,
        purposes: Iterable[str | StatusPurpose] = (StatusPurpose.REVOCATION, StatusPurpose.SUSPENSION),
    ) -> list[dict[str, Any]]:
        """Claim a random unused index per purpose and return the ``credentialStatus``
        entries to put in the credential (one ``BitstringStatusListEntry`` each).

        Raises :class:`StatusListError` (``duplicate``) when ``credential_id`` already holds
        an entry for one of the purposes.
        """
        if not isinstance(credential_id, str) or not credential_id:
            raise ValueError("credential_id must be a non-empty string")
        wanted = list(dict.fromkeys(_purpose(p) for p in purposes))
        if not wanted:
            raise ValueError("at least one status purpose is needed")
        made = self.store.allocate(
            credential_id, wanted, size=self.list_size, pick=self._pick, max_fill=self._max_fill
        )
        return [self._entry(a) for a in made]

    def entries(self, credential_id: str) -> list[dict[str, Any]]:
        """The ``credentialStatus`` entries allocated to ``credential_id`` (maybe none)."""
        return [self._entry(a) for a in self.store.allocations(credential_id)]

    def _entry(self, allocation: Allocation) -> dict[str, Any]:
        url = self.list_url(allocation.list_id)
        return {
            "id": f"{url}#{allocation.index}",
            "type": _ENTRY_TYPE,
            "statusPurpose": allocation.purpose.value,
            "statusListIndex": str(allocation.index),
            "statusListCredential": url,
        }

    def _allocation(self, credential_id: str, purpose: StatusPurpose) -> Allocation:
        for allocation in self.store.allocations(credential_id):
            if allocation.purpose is purpose:
                return allocation
        raise StatusListError(
            f"credential {credential_id!r} has no {purpose.value} status entry", reason="unknown"
        )

    def set_status(self, credential_id: str, purpose: str | StatusPurpose, value: bool) -> None:
        """Set (``True``) or clear a credential's bit for ``purpose``.

        Revocation is permanent: clearing a set revocation bit raises
        :class:`StatusListError` (``permanent``); so does an unknown credential
        (``unknown``). Setting a bit that is already set changes nothing.
        """
        kind = _purpose(purpose)
        allocation = self._allocation(credential_id, kind)
        self.store.set_bit(
            allocation.list_id, allocation.index, bool(value),
            permanent=kind is StatusPurpose.REVOCATION,
        )

    def revoke(self, credential_id: str) -> None:
        self.set_status(credential_id, StatusPurpose.REVOCATION, True)

    def suspend(self, credential_id: str) -> None:
        self.set_status(credential_id, StatusPurpose.SUSPENSION, True)

    def unsuspend(self, credential_id: str) -> None:
        self.set_status(credential_id, StatusPurpose.SUSPENSION, False)

    def status_of(self, credential_id: str) -> dict[str, bool]:
        """``{purpose: bit}`` for every purpose the credential holds an entry for.

        Raises :class:`StatusListError` (``unknown``) for a credential with no entries.
        """
        found = self.store.allocations(credential_id)
        if not found:
            raise StatusListError(f"credential {credential_id!r} has no status entries",
                                  reason="unknown")
        return {a.purpose.value: self.store.bit(a.list_id, a.index) for a in found}

    def list_ids(self, purpose: str | StatusPurpose | None = None) -> list[str]:
        return self.store.list_ids(None if purpose is None else _purpose(purpose))

    def unsigned_list_credential(
        self,
        list_id: str,
        *,
        now: datetime | None = None,
        valid_for: timedelta = DEFAULT_VALID_FOR,
        ttl: timedelta = DEFAULT_TTL,
    ) -> dict[str, Any]:
        """The ``BitstringStatusListCredential`` for ``list_id``, before signing."""
        return self._unsigned(self.store.load_list(list_id), _now(now), valid_for, ttl)

    def _unsigned(
        self, stored: StoredList, moment: datetime, valid_for: timedelta, ttl: timedelta
    ) -> dict[str, Any]:
        if valid_for <= timedelta(0) or ttl < timedelta(0):
            raise ValueError("valid_for must be positive and ttl not negative")
        url = self.list_url(stored.list_id)
        start = moment.astimezone(UTC).replace(microsecond=0)
        return {
            "@context": [VC_V2_CONTEXT],
            "id": url,
            "type": ["VerifiableCredential", _LIST_CREDENTIAL_TYPE],
            "issuer": self.issuer,
            "validFrom": format_datetime(start - LIST_CLOCK_SKEW),
            "validUntil": format_datetime(start + valid_for),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": _LIST_TYPE,
                "statusPurpose": stored.purpose.value,
                "encodedList": encode_list(stored.bits),
                "ttl": int(ttl / timedelta(milliseconds=1)),
            },
        }

    def list_credential(
        self,
        list_id: str,
        *,
        signer: Signer,
        verification_method: str | None = None,
        format: str = "di-eddsa",
        now: datetime | None = None,
        valid_for: timedelta = DEFAULT_VALID_FOR,
        ttl: timedelta = DEFAULT_TTL,
        document_loader: Any = None,
    ) -> dict[str, Any] | str | bytes:
        """The signed ``BitstringStatusListCredential`` for ``list_id`` in ``format``
        (any of :data:`vcwallet.credentials.ISSUE_FORMATS`).

        A copy signed earlier is returned while the list is unchanged and less than half of
        ``valid_for`` has passed. Raises :class:`StatusListError` (``unknown``) for a list
        that does not exist.
        """
        from .credentials import secure

        moment = _now(now)
        stored = self.store.load_list(list_id)
        key = (list_id, format, verification_method, signer.public_key.multibase, valid_for, ttl)
        with self._signed_lock:
            earlier = self._signed.get(key)
        if earlier is not None:
            version, signed_at, data = earlier
            if version == stored.version and signed_at <= moment < signed_at + valid_for / 2:
                return data
        unsigned = self._unsigned(stored, moment, valid_for, ttl)
        data = secure(
            unsigned, signer=signer, format=format, verification_method=verification_method,
            now=moment, document_loader=document_loader,
        ).data
        with self._signed_lock:
            self._signed[key] = (stored.version, moment, data)
        return data


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now


# --------------------------------------------------------------------------------------
# the verifier side
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatusList:
    """A status list whose credential verified: who issued it, for what, and its bits."""

    url: str
    issuer: str
    purpose: StatusPurpose
    bits: bytes
    valid_until: datetime | None
    ttl: timedelta | None

    @property
    def size(self) -> int:
        return len(self.bits) * 8

    def __repr__(self) -> str:
        return f"StatusList({self.url!r}, {self.purpose.value}, {self.size} entries)"


class StatusListCache:
    """Verified status lists by URL, each kept for at most ``max_age`` (and never past the
    list's ``validUntil`` or its ``ttl``). Thread-safe; at most ``max_entries`` lists."""

    def __init__(
        self, *, max_age: timedelta = timedelta(minutes=5), max_entries: int = 1024
    ) -> None:
        if max_age <= timedelta(0) or max_entries < 1:
            raise ValueError("max_age must be positive and max_entries at least 1")
        self.max_age = max_age
        self.max_entries = max_entries
        self._lists: dict[str, tuple[datetime, StatusList]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._lists)

    def get(self, url: str, *, now: datetime | None = None) -> StatusList | None:
        moment = _now(now)
        with self._lock:
            found = self._lists.get(url)
            if found is None:
                return None
            expires, status_list = found
            if moment >= expires:
                del self._lists[url]
                return None
            return status_list

    def put(self, status_list: StatusList, *, now: datetime | None = None) -> None:
        moment = _now(now)
        expires = moment + self.max_age
        if status_list.ttl is not None:
            expires = min(expires, moment + status_list.ttl)
        if status_list.valid_until is not None:
            expires = min(expires, status_list.valid_until)
        if expires <= moment:
            return
        with self._lock:
            self._lists.pop(status_list.url, None)
            if len(self._lists) >= self.max_entries:
                self._drop_oldest(moment)
            self._lists[status_list.url] = (expires, status_list)

    def _drop_oldest(self, moment: datetime) -> None:
        for url in [u for u, (exp, _) in self._lists.items() if exp <= moment]:
            del self._lists[url]
        while len(self._lists) >= self.max_entries:
            del self._lists[next(iter(self._lists))]  # insertion order: the oldest first

    def clear(self) -> None:
        with self._lock:
            self._lists.clear()


class StatusOutcome(str, enum.Enum):
    CLEAR = "clear"  # the list verified and the bit is 0
    SET = "set"  # the list verified and the bit is 1: revoked / suspended
    UNAVAILABLE = "unavailable"  # the list could not be fetched, or is stale, or unsupported
    INVALID = "invalid"  # a list was served but does not hold (forged, wrong issuer, ...)


@dataclass(frozen=True)
class StatusResult:
    """The status of one ``credentialStatus`` entry."""

    purpose: str
    outcome: StatusOutcome
    reason: str
    status_list: str | None = None
    index: int | None = None

    @property
    def set(self) -> bool | None:
        """The bit, or ``None`` when it could not be read from a verified list."""
        if self.outcome is StatusOutcome.SET:
            return True
        return False if self.outcome is StatusOutcome.CLEAR else None

    def to_json(self) -> dict[str, Any]:
        return {"statusPurpose": self.purpose, "outcome": self.outcome.value,
                "reason": self.reason, "statusListCredential": self.status_list,
                "statusListIndex": self.index}


def verify_status_list(
    data: dict[str, Any] | str | bytes,
    *,
    url: str,
    purpose: str | StatusPurpose | None = None,
    resolver: Any = None,
    document_loader: Any = None,
    now: datetime | None = None,
    max_size: int = DEFAULT_MAX_ENTRIES,
) -> StatusList:
    """Verify a ``BitstringStatusListCredential`` fetched from ``url`` and decode its list.

    Checks its proof (any format :func:`vcwallet.credentials.verify_credential` reads),
    its validity period at ``now``, its type, that its ``id`` is ``url``, its
    ``statusPurpose`` (when ``purpose`` is given) and its ``encodedList``. It does not
    compare issuers: the caller knows whose list it expects. Raises
    :class:`StatusCheckUnavailable` with the reason.
    """
    want = None if purpose is None else _purpose(purpose)
    found = _inspect_list(data, url, want, resolver=resolver, document_loader=document_loader,
                          now=_now(now), max_size=max_size)
    if isinstance(found, StatusList):
        return found
    raise StatusCheckUnavailable(found[1], purpose=want.value if want else "", status_list=url)


def _inspect_list(
    data: Any,
    url: str,
    want: StatusPurpose | None,
    *,
    resolver: Any,
    document_loader: Any,
    now: datetime,
    max_size: int,
) -> StatusList | tuple[StatusOutcome, str]:
    """The verified list, or why not: UNAVAILABLE when it is merely stale, else INVALID."""
    from .credentials import verify_credential

    bad = StatusOutcome.INVALID
    try:
        result = verify_credential(data, resolver=resolver, document_loader=document_loader,
                                   now=now)
    except MalformedDocumentError as exc:
        return bad, f"the status list at {url} is unreadable: {exc}"
    if not result.verified or result.credential is None:
        failures = result.failures
        problems = "; ".join(f"{c.name}: {c.reason}" for c in failures) or "not verified"
        stale = bool(failures) and all(c.name == "validity_period" for c in failures)
        return (StatusOutcome.UNAVAILABLE if stale else bad,
                f"the status list at {url} does not verify ({problems})")
    credential = result.credential
    if _LIST_CREDENTIAL_TYPE not in types_of(credential):
        return bad, f"the document at {url} is not a {_LIST_CREDENTIAL_TYPE}"
    if credential.get("id") != url:
        return bad, f"the status list at {url} names itself {credential.get('id')!r}"
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict) or _LIST_TYPE not in types_of(subject):
        return bad, f"the status list at {url} has no {_LIST_TYPE} subject"
    stated = subject.get("statusPurpose")
    known = [StatusPurpose(v) for v in (stated if isinstance(stated, list) else [stated])
             if v in _PURPOSE_VALUES]
    if not known or (want is not None and want not in known):
        return bad, f"the status list at {url} is for {stated!r}, not {want.value if want else ''}"
    try:
        bits = decode_list(subject.get("encodedList"), max_size=max_size)  # type: ignore[arg-type]
    except MalformedDocumentError as exc:
        return bad, f"the status list at {url} has a bad encodedList: {exc}"
    return StatusList(
        url=url,
        issuer=issuer_id(credential) or "",
        purpose=want or known[0],
        bits=bits,
        valid_until=_valid_until(credential),
        ttl=_ttl(subject.get("ttl")),
    )


def _valid_until(credential: Mapping[str, Any]) -> datetime | None:
    value = credential.get("validUntil")
    return parse_datetime(value) if isinstance(value, str) else None  # shape-checked already


def _ttl(value: Any) -> timedelta | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(milliseconds=value)
    return None


def _entries(credential: Mapping[str, Any]) -> list[Any]:
    value = credential.get("credentialStatus")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_status(
    credential: Mapping[str, Any],
    *,
    fetch_list: Callable[[str], dict[str, Any] | str | bytes],
    resolver: Any = None,
    document_loader: Any = None,
    now: datetime | None = None,
    cache: StatusListCache | None = None,
    max_size: int = DEFAULT_MAX_ENTRIES,
) -> list[StatusResult]:
    """The status of every ``credentialStatus`` entry of an already verified ``credential``.

    For each ``BitstringStatusListEntry`` the list credential is taken from ``cache`` or
    fetched with ``fetch_list(url)``, verified (:func:`verify_status_list`), required to
    share the credential's issuer and the entry's purpose, and its bit read. Nothing here
    raises for a bad or missing list: any exception ``fetch_list`` raises gives
    :attr:`StatusOutcome.UNAVAILABLE`, a list that does not hold gives
    :attr:`StatusOutcome.INVALID`. A credential without ``credentialStatus`` gives ``[]``.
    """
    moment = _now(now)
    issuer = issuer_id(dict(credential))
    fetched: dict[str, StatusList | StatusResult] = {}
    results = []
    for entry in _entries(credential):
        results.append(_check_entry(entry, issuer, fetched, fetch_list=fetch_list,
                                    resolver=resolver, document_loader=document_loader,
                                    now=moment, cache=cache, max_size=max_size))
    return results


def _check_entry(
    entry: Any,
    issuer: str | None,
    fetched: dict[str, StatusList | StatusResult],
    **options: Any,
) -> StatusResult:
    if not isinstance(entry, dict):
        return StatusResult("", StatusOutcome.INVALID, "a credentialStatus entry is not an object")
    purpose = entry.get("statusPurpose")
    label = purpose if isinstance(purpose, str) else ""
    if entry.get("type") != _ENTRY_TYPE:
        return StatusResult(label, StatusOutcome.UNAVAILABLE,
                            f"status type {entry.get('type')!r} is not supported")
    if label not in _PURPOSE_VALUES:
        return StatusResult(label, StatusOutcome.UNAVAILABLE,
                            f"status purpose {purpose!r} is not supported")
    if entry.get("statusSize", 1) != 1:
        return StatusResult(label, StatusOutcome.UNAVAILABLE, "statusSize > 1 is not supported")
    url = entry.get("statusListCredential")
    raw_index = entry.get("statusListIndex")
    if not isinstance(url, str) or not url:
        return StatusResult(label, StatusOutcome.INVALID, "the entry names no statusListCredential")
    if not isinstance(raw_index, str) or not _INDEX.fullmatch(raw_index):
        return StatusResult(label, StatusOutcome.INVALID,
                            f"statusListIndex {raw_index!r} is not a decimal string", url)
    index = int(raw_index)
    found = _verified_list(url, label, fetched, **options)
    if isinstance(found, StatusResult):
        return StatusResult(label, found.outcome, found.reason, url, index)
    if issuer is None or found.issuer != issuer:
        return StatusResult(label, StatusOutcome.INVALID,
                            f"the status list is issued by {found.issuer}, not by the credential's "
                            f"issuer {issuer}", url, index)
    if found.purpose.value != label:
        return StatusResult(label, StatusOutcome.INVALID,
                            f"the status list is for {found.purpose.value}, not {label}", url, index)
    if index >= found.size:
        return StatusResult(label, StatusOutcome.INVALID,
                            f"index {index} is outside the list's {found.size} entries", url, index)
    if read_bit(found.bits, index):
        word = "revoked" if label == StatusPurpose.REVOCATION.value else "suspended"
        return StatusResult(label, StatusOutcome.SET, f"the issuer has {word} the credential",
                            url, index)
    return StatusResult(label, StatusOutcome.CLEAR, _CLEAR_WORDS[label], url, index)


def _verified_list(
    url: str,
    purpose: str,
    fetched: dict[str, StatusList | StatusResult],
    *,
    fetch_list: Callable[[str], Any],
    resolver: Any,
    document_loader: Any,
    now: datetime,
    cache: StatusListCache | None,
    max_size: int,
) -> StatusList | StatusResult:
    if url in fetched:  # one fetch per list per call, whatever it gave
        earlier = fetched[url]
        if isinstance(earlier, StatusResult):
            return StatusResult(purpose, earlier.outcome, earlier.reason, url)
        return earlier
    cached = cache.get(url, now=now) if cache is not None else None
    if cached is not None:
        fetched[url] = cached
        return cached
    try:
        data = fetch_list(url)
    except Exception as exc:  # noqa: BLE001 - any failure of the injected fetcher is "unknown"
        outcome: StatusList | StatusResult = StatusResult(
            purpose, StatusOutcome.UNAVAILABLE,
            f"the status list {url} could not be fetched: {type(exc).__name__}: {exc}", url)
        fetched[url] = outcome
        return outcome
    found = _inspect_list(data, url, None, resolver=resolver, document_loader=document_loader,
                          now=now, max_size=max_size)
    if not isinstance(found, StatusList):
        outcome = StatusResult(purpose, found[0], found[1], url)
        fetched[url] = outcome
        return outcome
    outcome = found
    if cache is not None:
        cache.put(outcome, now=now)
    fetched[url] = outcome
    return outcome


def verify_status(credential: Mapping[str, Any], **options: Any) -> None:
    """Raise unless every status entry of ``credential`` is readable and clear.

    Takes :func:`check_status`'s keyword arguments. Raises :class:`CredentialRevoked` for a
    set bit (revoked or suspended; ``.purpose`` says which) and
    :class:`StatusCheckUnavailable` when a list is unavailable or does not hold.
    """
    results = check_status(credential, **options)
    for result in results:
        if result.outcome is StatusOutcome.SET:
            raise CredentialRevoked(result.reason, purpose=result.purpose,
                                    status_list=result.status_list or "",
                                    index=-1 if result.index is None else result.index)
    for result in results:
        if result.outcome is not StatusOutcome.CLEAR:
            raise StatusCheckUnavailable(result.reason, purpose=result.purpose,
                                         status_list=result.status_list or "")


def status_check(results: Sequence[StatusResult], *, had_status: bool = True) -> Check:
    """One ``status`` :class:`~vcwallet.model.Check` summarising :func:`check_status`.

    Set bits and lists that do not hold fail; an unavailable list is skipped but required
    ("status unknown", so the verdict is never "valid"); no entries at all is skipped.
    """
    if not results:
        reason = ("credentialStatus holds no entries" if had_status
                  else "the credential names no credentialStatus")
        return skipped("status", reason)
    for bad in (StatusOutcome.SET, StatusOutcome.INVALID):
        hits = [r for r in results if r.outcome is bad]
        if hits:
            return failed("status", "; ".join(r.reason for r in hits))
    unknown = [r for r in results if r.outcome is StatusOutcome.UNAVAILABLE]
    if unknown:
        return skipped("status", "status unknown: " + "; ".join(r.reason for r in unknown),
                       required=True)
    return passed("status", "; ".join(f"{r.purpose}: {r.reason}" for r in results))
