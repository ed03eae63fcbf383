"""The holder's wallet: verified credentials in an encrypted SQLite file, one per holder.

What the file holds (schema ``vcwallet-wallet/1``)::

    meta(name, value)             format marker, KDF header (algorithm, cost, salt),
                                  the wrapped data key, the sealed holder key
    credentials(seq, key, entry, body)
        key    keyed digest of the secured form (HMAC under the wallet's index key)
        entry  sealed index row: format, types, issuer, dates, summary, alg (JSON), a NUL,
               then the decoded credential's JSON
        body   sealed secured form as received, with its ledger receipt

No name, type, issuer, date or grade is stored in the clear, and there is no searchable
token either: search decrypts the index once at open and filters in memory (see
``_index``). The file is in WAL mode and every write is one ``BEGIN IMMEDIATE``
transaction, so two processes may hold the same wallet open; each notices the other's
commits (``PRAGMA data_version``) and catches up before answering.
"""

from __future__ import annotations

import base64
import builtins  # Wallet.list shadows the builtin inside the class
import contextlib
import dataclasses
import gc
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

import cbor2

from .. import _json
from ..errors import (
    CredentialRefused,
    MalformedDocumentError,
    VcwalletError,
    WalletCorrupted,
    WalletError,
    WalletLocked,
)
from ..keys import KeyPair, KeyType
from ..model import CredentialResult

if TYPE_CHECKING:
    from ..presentations import Presentation
    from ..queries import Candidate, CandidateIndex
from ._crypto import (
    KdfParams,
    RecordCipher,
    new_data_key,
    new_salt,
    unwrap_data_key,
    wrap_data_key,
)
from ._index import (
    CredentialEntry,
    Index,
    StoredCredential,
    decode_entry,
    encode_entry,
    matches_subject,
)

FILE_FORMAT = b"vcwallet-wallet/1"
_COPY_BATCH = 1000

_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    """CREATE TABLE credentials (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        entry BLOB NOT NULL,
        body BLOB NOT NULL)""",
)


class VerificationOutcome(Protocol):
    """What a ``verify=`` callable returns (``vcwallet.model.CredentialResult`` fits)."""

    @property
    def verified(self) -> bool: ...

    @property
    def format(self) -> str: ...

    @property
    def credential(self) -> dict[str, Any] | None: ...

    @property
    def checks(self) -> Sequence[Any]: ...


Verify = Callable[..., VerificationOutcome]
CredentialInput = str | bytes | dict[str, Any]
Receipt = dict[str, Any] | None


def _default_verify() -> Verify:
    return verify_for_storage


def verify_for_storage(credential: CredentialInput, *, now: datetime | None = None) -> Any:
    """The default ``verify``: :func:`vcwallet.credentials.verify_credential`, except for an
    SD-JWT VC as issued (every disclosure, no key binding yet), which is checked with
    :func:`vcwallet.sdjwt.verify_sd_jwt`: issuer signature, each disclosure's digest, dates.
    """
    from .. import credentials  # the recipe layer; imported when first used

    if credentials.detect_format(credential) != "sd-jwt":
        return credentials.verify_credential(credential, now=now)
    from .. import sdjwt
    from ..did import DidResolver

    token = credential.decode("utf-8") if isinstance(credential, bytes) else str(credential)
    token = token.strip()
    if not token.endswith("~"):
        raise MalformedDocumentError("an SD-JWT with a key-binding JWT is a presentation; "
                                     "store the SD-JWT as issued")
    checked = sdjwt.verify_sd_jwt(token, resolver=DidResolver(), nonce=None,
                                  audience=None, now=now, require_key_binding=False)
    claims = checked.claims
    vct = claims.get("vct")
    return CredentialResult(True, "sd-jwt", (), credential=claims, issuer=_text(claims.get("iss")),
                            types=(vct,) if isinstance(vct, str) else ())


@dataclass(frozen=True)
class _Sealed:
    """A credential ready to insert: its row and the entry it adds to the index."""

    entry: CredentialEntry
    entry_blob: bytes
    body_blob: bytes


class Wallet:
    """A holder's wallet over one encrypted SQLite file. Build with :meth:`create` or
    :meth:`open`; use as a context manager (or call :meth:`close`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, cipher: RecordCipher,
                 holder: KeyPair) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = conn
        self._cipher = cipher
        self._holder = holder
        self._holder_did = holder.did_key  # multibase encoding is not free: once per open
        self._index = Index()
        self._data_version = -1
        self._max_seq = 0  # rows up to here are in the index (seq is never reused)
        self._requests: CandidateIndex | None = None

    # -- opening and closing ----------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], passphrase: str, *,
               key_type: KeyType | str = KeyType.ED25519, kdf: KdfParams | None = None,
               timeout: float = 5.0) -> Wallet:
        """Create a new wallet file (refusing to overwrite) with a fresh holder did:key."""
        return cls._create(Path(path), passphrase, KeyPair.generate(key_type),
                           kdf or KdfParams.default(), timeout)

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: str, *,
             timeout: float = 5.0) -> Wallet:
        """Unlock an existing wallet. Raises WrongPassphrase (the file is left untouched),
        WalletCorrupted for a row that fails authentication, WalletError otherwise."""
        target = Path(path)
        if not target.is_file():
            raise WalletError(f"{target}: no wallet file there")
        conn = _connect(target, create=False, timeout=timeout)
        try:
            meta = _read_meta(conn, target)
            params, salt = KdfParams.from_header(meta["kdf"])
            dek = unwrap_data_key(params.derive(passphrase, salt), meta["dek"], meta["kdf"])
            cipher = RecordCipher(dek)
            wallet = cls(target, conn, cipher, _open_holder(cipher, meta["holder"]))
            wallet._sync()
        except BaseException:
            conn.close()
            raise
        return wallet

    @classmethod
    def _create(cls, target: Path, passphrase: str, holder: KeyPair, kdf: KdfParams,
                timeout: float) -> Wallet:
        kdf.check()
        salt, dek = new_salt(), new_data_key()
        header = kdf.header(salt)
        wrapped = wrap_data_key(kdf.derive(passphrase, salt), dek, header)
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise WalletError(f"{target}: file exists (refusing to overwrite)") from None
        except OSError as exc:
            raise WalletError(f"{target}: cannot create wallet ({exc.strerror})") from None
        conn = None
        try:
            conn = _connect(target, create=True, timeout=timeout)
            conn.execute("PRAGMA journal_mode=WAL")
            cipher = RecordCipher(dek)
            sealed_holder = cipher.seal("holder", "holder",
                                        json.dumps(holder.private_jwk()).encode("utf-8"))
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.executemany("INSERT INTO meta(name, value) VALUES (?, ?)", [
                ("format", FILE_FORMAT), ("kdf", header), ("dek", wrapped),
                ("holder", sealed_holder)])
            conn.execute("COMMIT")
            wallet = cls(target, conn, cipher, holder)
            wallet._sync()
        except BaseException:
            if conn is not None:
                conn.close()
            _remove_files(target)
            raise
        return wallet

    def close(self) -> None:
        """Close the file; the wallet is locked afterwards (its index is dropped)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._index = Index()
            self._requests = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else f"{len(self._index)} credentials"
        return f"Wallet({str(self._path)!r}, holder={self.holder_did}, {state})"

    def __len__(self) -> int:
        self._sync()
        return len(self._index)

    # -- the holder -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self._path

    @property
    def holder(self) -> KeyPair:
        """The holder's key pair (a Signer; its repr shows the public key only)."""
        return self._holder

    @property
    def holder_did(self) -> str:
        return self._holder_did

    # -- storing ----------------------------------------------------------------------
    def add(self, credential: CredentialInput, *, receipt: dict[str, Any] | None = None,
            verify: Verify | None = None, now: datetime | None = None) -> StoredCredential:
        """Verify ``credential`` and store it with its ledger ``receipt``.

        ``verify`` defaults to :func:`verify_for_storage` (the recipe
        ``vcwallet.credentials.verify_credential``, SD-JWT VCs through ``vcwallet.sdjwt``);
        it is called as ``verify(credential, now=now)``. A credential that does not
        verify, or a receipt for another credential, raises :class:`CredentialRefused`
        and nothing is stored. Adding a credential already held returns the stored one
        unchanged.
        """
        sealed = self._seal(credential, receipt, verify or _default_verify(), now)
        self._insert([sealed])
        return self.get(sealed.entry.key)

    def add_many(self, items: Iterable[CredentialInput | tuple[CredentialInput, Receipt]],
                 *, verify: Verify | None = None, now: datetime | None = None) -> int:
        """Verify every credential (each item is a credential or a ``(credential,
        receipt)`` pair), then store them all in one transaction. One refusal stores
        none. Returns how many were new."""
        check = verify or _default_verify()
        batch: dict[str, _Sealed] = {}
        for item in items:
            credential, receipt = item if isinstance(item, tuple) else (item, None)
            sealed = self._seal(credential, receipt, check, now)
            batch.setdefault(sealed.entry.key, sealed)
        return self._insert(list(batch.values()))

    def remove(self, key: str) -> None:
        """Delete a credential (by wallet key or credential id). Deleted pages are zeroed."""
        with self._transaction() as conn:
            entry = self._resolve(key)
            conn.execute("DELETE FROM credentials WHERE key = ?", (entry.key,))
        self._index.discard(entry.key)
        if self._requests is not None:
            self._requests.discard(entry.key)

    # -- reading ----------------------------------------------------------------------
    def list(self) -> builtins.list[CredentialEntry]:
        """Every held credential's index entry, oldest first (nothing is decrypted)."""
        self._sync()
        return self._index.entries()

    def get(self, key: str) -> StoredCredential:
        """One credential, by wallet key or by its own ``id``, with its secured form and
        receipt. Raises WalletError if absent, WalletCorrupted if its row was altered."""
        self._sync()
        entry = self._resolve(key)
        row = self._query("SELECT body FROM credentials WHERE key = ?", (entry.key,)).fetchone()
        if row is None:
            raise WalletError(f"no credential {key!r} in this wallet")
        raw, receipt = self._open_body(entry.key, row[0])
        if self._cipher.record_key(_identity(raw, entry.format)) != entry.key:
            raise WalletCorrupted(f"wallet row {entry.key!r} does not match its key", entry.key)
        values = {f.name: getattr(entry, f.name) for f in fields(CredentialEntry)}
        return StoredCredential(**values, raw=raw, receipt=receipt)  # parses its own copy

    def search(self, *, type: str | None = None, issuer: str | None = None,
               format: str | None = None,
               **subject_fields: Any) -> builtins.list[CredentialEntry]:
        """Entries with this ``type``, ``issuer`` and ``format`` whose credentialSubject
        holds every ``subject_fields`` value. ``degree__type="BachelorDegree"`` looks
        inside nested objects; a dict value matches an object holding those members."""
        self._sync()
        wanted = [(name.split("__"), value) for name, value in subject_fields.items()]
        return [
            entry for entry in self._index.pool(type, wanted)
            if (type is None or type in entry.types)
            and (issuer is None or entry.issuer == issuer)
            and (format is None or entry.format == format)
            and all(matches_subject(entry.subjects, path, value) for path, value in wanted)
        ]

    def candidates(self, types: Iterable[str] | None = None,
                   formats: Iterable[str] | None = None,
                   issuers: Iterable[str] | None = None) -> Iterator[CredentialEntry]:
        """The entries a request could possibly use, for a query engine to test further:
        those having at least one of ``types`` (any, when None), in one of ``formats``,
        from one of ``issuers``. Served from the in-memory index; call :meth:`get` for
        the secured forms of the credentials finally chosen."""
        self._sync()
        type_set = {types} if isinstance(types, str) else set(types or ())
        format_set = {formats} if isinstance(formats, str) else set(formats or ())
        issuer_set = {issuers} if isinstance(issuers, str) else set(issuers or ())
        pool = self._index.with_types(type_set) if type_set else iter(self._index.entries())
        for entry in pool:
            if format_set and entry.format not in format_set:
                continue
            if issuer_set and entry.issuer not in issuer_set:
                continue
            yield entry

    def request_index(self) -> CandidateIndex:
        """The held credentials as a :class:`vcwallet.queries.CandidateSource`, to hand
        to ``queries.select``. Built on first use from the in-memory index (no
        decryption), then kept current by add / remove."""
        self._sync()
        if self._requests is None:
            from ..queries import CandidateIndex

            self._requests = CandidateIndex.of(
                c for c in map(_candidate, self._index.entries()) if c is not None)
        return self._requests

    def present(self, request: Any, *, challenge: str, domain: str, format: str = "di",
                now: datetime | None = None) -> Presentation:
        """Answer a verifier's request (PE definition or DCQL query) with a presentation
        signed by the holder for ``challenge`` / ``domain``, disclosing only what it needs.
        See :func:`vcwallet.presentations.present_from_wallet` (UnmetRequirement names
        the requirement no held credential meets)."""
        from ..presentations import present_from_wallet

        return present_from_wallet(self, request, challenge=challenge, domain=domain,
                                   format=format, now=now)

    # -- passphrase and backups -------------------------------------------------------
    def change_passphrase(self, current: str, new: str, *, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under ``new`` (cheap: no credential is re-encrypted).
        Raises WrongPassphrase if ``current`` is not the wallet's passphrase."""
        params = kdf or KdfParams.default()
        params.check()
        with self._transaction() as conn:
            meta = _read_meta(conn, self._path)
            old_params, old_salt = KdfParams.from_header(meta["kdf"])
            dek = unwrap_data_key(old_params.derive(current, old_salt), meta["dek"], meta["kdf"])
            salt = new_salt()
            header = params.header(salt)
            wrapped = wrap_data_key(params.derive(new, salt), dek, header)
            conn.executemany("UPDATE meta SET value = ? WHERE name = ?",
                             [(header, "kdf"), (wrapped, "dek")])

    def export(self, path: str | os.PathLike[str], passphrase: str, *,
               kdf: KdfParams | None = None) -> None:
        """Write an encrypted backup: a wallet file of its own (holder key included) under
        ``passphrase`` and a fresh data key, sharing no key with this wallet."""
        self._sync()
        target = Path(path)
        backup = Wallet._create(target, passphrase, self._holder,
                                kdf or KdfParams.default(), 5.0)
        try:
            backup._absorb(self)
        except BaseException:
            backup.close()
            _remove_files(target)
            raise
        backup.close()

    def import_from(self, path: str | os.PathLike[str], passphrase: str) -> int:
        """Merge the credentials of a backup (or another wallet) into this one, skipping
        those already held. Returns how many were added. They were verified when first
        stored; the backup's own AEAD tags prove they are unchanged since."""
        with Wallet.open(path, passphrase) as source:
            return self._absorb(source)

    @classmethod
    def import_backup(cls, backup: str | os.PathLike[str], backup_passphrase: str,
                      path: str | os.PathLike[str], passphrase: str, *,
                      kdf: KdfParams | None = None) -> Wallet:
        """Restore a backup as a new wallet at ``path`` (same holder key) and open it."""
        with cls.open(backup, backup_passphrase) as source:
            source.export(path, passphrase, kdf=kdf)
        return cls.open(path, passphrase)

    # -- internals --------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise WalletLocked(f"{self._path}: the wallet is closed")
        return self._conn

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._connection().execute(sql, params)
        except sqlite3.Error as exc:
            raise _db_error(exc, self._path) from None

    def _sync(self) -> None:
        """Catch up if another connection committed since we last looked: rows it added
        are decrypted and indexed; if it removed any, the index is rebuilt."""
        version = self._query("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return
        conn = self._connection()
        snapshot = not conn.in_transaction  # inside a write transaction we already have one
        if snapshot:
            self._query("BEGIN")
        try:
            count, top = self._query(
                "SELECT count(*), coalesce(max(seq), 0) FROM credentials").fetchone()
            rows = self._query("SELECT key, entry FROM credentials WHERE seq > ? ORDER BY seq",
                               (self._max_seq,))
            with _gc_paused():
                fresh = [self._open_entry(key, sealed) for key, sealed in rows
                         if key not in self._index]
            self._remember(fresh)
            self._max_seq = max(self._max_seq, top)
            if len(self._index) != count:
                self._reload()
        finally:
            if snapshot:
                self._query("COMMIT")
        self._data_version = version

    def _reload(self) -> None:
        index = Index()
        top = 0
        with _gc_paused():
            for seq, key, sealed in self._query(
                    "SELECT seq, key, entry FROM credentials ORDER BY seq"):
                index.add(self._open_entry(key, sealed))
                top = seq
        self._index, self._max_seq, self._requests = index, top, None

    def _resolve(self, key: str) -> CredentialEntry:
        entry = self._index.resolve(key) if isinstance(key, str) else None
        if entry is None:
            raise WalletError(f"no credential {key!r} in this wallet")
        return entry

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _db_error(exc, self._path) from None
        try:
            self._sync()  # under the write lock: the index now matches the file
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise _db_error(exc, self._path) from None
            raise

    def _insert(self, batch: builtins.list[_Sealed]) -> int:
        with self._transaction() as conn:
            fresh = [item for item in batch if item.entry.key not in self._index]
            conn.executemany(
                "INSERT INTO credentials(key, entry, body) VALUES (?, ?, ?)",
                [(item.entry.key, item.entry_blob, item.body_blob) for item in fresh])
            self._note_top(conn)
        self._remember(item.entry for item in fresh)
        return len(fresh)

    def _absorb(self, source: Wallet) -> int:
        """Re-seal every record of ``source`` under this wallet's keys, in one
        transaction, skipping those already held. Returns how many were added."""
        source._sync()
        rows = source._query("SELECT key, entry, body FROM credentials ORDER BY seq")
        fresh: dict[str, CredentialEntry] = {}
        with self._transaction() as conn, _gc_paused():
            while batch := rows.fetchmany(_COPY_BATCH):
                sealed = [item for item in map(self._reseal_from(source), batch)
                          if item.entry.key not in self._index and item.entry.key not in fresh]
                conn.executemany(
                    "INSERT INTO credentials(key, entry, body) VALUES (?, ?, ?)",
                    [(item.entry.key, item.entry_blob, item.body_blob) for item in sealed])
                fresh.update((item.entry.key, item.entry) for item in sealed)
            self._note_top(conn)
        self._remember(fresh.values())
        return len(fresh)

    def _note_top(self, conn: sqlite3.Connection) -> None:
        # Our own commits do not change data_version, so _sync would not see these rows;
        # they are in the index already, and the next catch-up starts after them.
        self._max_seq = conn.execute("SELECT coalesce(max(seq), 0) FROM credentials").fetchone()[0]

    def _remember(self, entries: Iterable[CredentialEntry]) -> None:
        for entry in entries:
            self._index.add(entry)
            candidate = _candidate(entry) if self._requests is not None else None
            if candidate is not None and self._requests is not None:
                self._requests.add(candidate)

    def _reseal_from(self, source: Wallet) -> Callable[[tuple[str, bytes, bytes]], _Sealed]:
        def reseal(row: tuple[str, bytes, bytes]) -> _Sealed:
            key, entry_blob, body_blob = row
            entry_plain = source._cipher.open("entry", key, entry_blob)
            body_plain = source._cipher.open("body", key, body_blob)
            entry = _parse_entry(key, entry_plain)
            identity = _identity(_parse_body(key, body_plain)[0], entry.format)
            if source._cipher.record_key(identity) != key:
                raise WalletCorrupted(f"wallet row {key!r} does not match its key", key)
            new_key = self._cipher.record_key(identity)
            # The key is associated data, not content: the plaintexts move over unchanged.
            return _Sealed(dataclasses.replace(entry, key=new_key),
                           self._cipher.seal("entry", new_key, entry_plain),
                           self._cipher.seal("body", new_key, body_plain))

        return reseal

    def _seal(self, credential: CredentialInput, receipt: dict[str, Any] | None,
              verify: Verify, now: datetime | None) -> _Sealed:
        if not isinstance(credential, (str, bytes, dict)):
            raise TypeError("credential must be str, bytes or dict")
        if receipt is not None:
            if not isinstance(receipt, dict):
                raise TypeError("receipt must be a dict or None")
            _json.check_value(receipt, where="receipt")
        outcome = _verified(credential, verify, now)
        raw = _raw_form(credential, outcome.format)
        if receipt is not None:
            _check_receipt(raw, receipt)
        entry = _describe(self._cipher.record_key(_identity(raw, outcome.format)), outcome,
                          _alg_of(raw, outcome.format), now)
        return self._seal_entry(entry, raw, receipt)

    def _seal_entry(self, entry: CredentialEntry, raw: str | bytes,
                    receipt: dict[str, Any] | None) -> _Sealed:
        body: dict[str, Any] = {"receipt": receipt}
        if isinstance(raw, bytes):
            body["raw_b64"] = base64.b64encode(raw).decode("ascii")
        else:
            body["raw"] = raw
        return _Sealed(
            entry,
            self._cipher.seal("entry", entry.key, encode_entry(entry)),
            self._cipher.seal("body", entry.key, _encode(body)),
        )

    def _open_entry(self, key: str, sealed: bytes) -> CredentialEntry:
        return _parse_entry(key, self._cipher.open("entry", key, sealed))

    def _open_body(self, key: str, sealed: bytes) -> tuple[str | bytes, dict[str, Any] | None]:
        return _parse_body(key, self._cipher.open("body", key, sealed))


# -- helpers -----------------------------------------------------------------------------
def _parse_entry(key: str, plain: bytes) -> CredentialEntry:
    try:
        return decode_entry(key, plain)
    except (ValueError, KeyError, TypeError):
        raise WalletCorrupted(f"wallet row {key!r} holds an unreadable index entry",
                              key) from None


def _parse_body(key: str, plain: bytes) -> tuple[str | bytes, dict[str, Any] | None]:
    try:
        body = json.loads(plain)
        raw = body["raw"] if "raw" in body else base64.b64decode(body["raw_b64"])
        return raw, body["receipt"]
    except (ValueError, KeyError, TypeError):
        raise WalletCorrupted(f"wallet row {key!r} holds an unreadable body", key) from None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Bulk loads create millions of long-lived objects; pausing the cyclic collector
    keeps it from rescanning them again and again (its previous state is restored)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _connect(target: Path, *, create: bool, timeout: float) -> sqlite3.Connection:
    uri = f"{target.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA secure_delete = ON")  # a removed row's ciphertext is zeroed
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.Error as exc:
        raise _db_error(exc, target) from None
    return conn


def _db_error(exc: sqlite3.Error, target: Path) -> WalletError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return WalletLocked(f"{target}: the wallet is busy in another process ({text})")
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return WalletError(f"{target}: not a vcwallet wallet file")
    return WalletError(f"{target}: wallet storage error ({text})")


def _read_meta(conn: sqlite3.Connection, target: Path) -> dict[str, bytes]:
    try:
        meta = {name: bytes(value) for name, value in conn.execute("SELECT name, value FROM meta")}
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            raise WalletError(f"{target}: not a vcwallet wallet file") from None
        raise _db_error(exc, target) from None
    if meta.get("format") != FILE_FORMAT:
        raise WalletError(f"{target}: not a vcwallet wallet file (format {meta.get('format')!r})")
    if not {"kdf", "dek", "holder"} <= meta.keys():
        raise WalletError(f"{target}: wallet metadata is incomplete")
    return meta


def _open_holder(cipher: RecordCipher, sealed: bytes) -> KeyPair:
    plain = cipher.open("holder", "holder", sealed)
    try:
        return KeyPair.from_private_jwk(json.loads(plain))
    except (ValueError, VcwalletError):
        raise WalletCorrupted("the wallet's holder key is unreadable", "holder") from None


def _remove_files(target: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{target}{suffix}")


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _verified(credential: CredentialInput, verify: Verify,
              now: datetime | None) -> VerificationOutcome:
    try:
        outcome = verify(credential, now=now)
    except VcwalletError as exc:
        raise CredentialRefused(str(exc)) from exc
    if not outcome.verified:
        failures = [c for c in outcome.checks if _status(c) == "failed"]
        reason = "; ".join(f"{getattr(c, 'name', '?')}: {getattr(c, 'reason', '')}"
                           for c in failures) or "it did not verify"
        raise CredentialRefused(reason, tuple(outcome.checks))
    if not isinstance(outcome.credential, dict) or not isinstance(outcome.format, str):
        raise CredentialRefused("verification found no credential inside")
    return outcome


def _check_receipt(raw: str | bytes, receipt: dict[str, Any]) -> None:
    """A receipt must be a ledger receipt for this very credential (same leaf hash). Its
    checkpoint signature needs the log's key, so that is the verifier's part."""
    from .. import anchor

    parsed = anchor.Receipt.from_json(receipt)  # MalformedDocumentError if it is none
    try:
        leaf = anchor.credential_leaf_hash(raw, kind=parsed.kind)
    except MalformedDocumentError as exc:
        raise CredentialRefused(f"cannot compute the credential's ledger leaf: {exc}") from exc
    if leaf != parsed.leaf_hash:
        raise CredentialRefused("the receipt is for a different credential (leaf hash differs)")


def _status(check: Any) -> str:
    status = getattr(check, "status", "")
    return str(getattr(status, "value", status))


def _raw_form(credential: CredentialInput, fmt: str) -> str | bytes:
    """The secured form as it will be stored: COSE stays bytes, everything else text."""
    if isinstance(credential, dict):
        return _json.dumps(credential)
    if isinstance(credential, bytes):
        if fmt == "cose":
            return credential
        try:
            credential = credential.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialRefused(f"a {fmt} credential must be UTF-8 text") from None
    return credential if fmt == "di" else credential.strip()


def _identity(raw: str | bytes, fmt: str) -> bytes:
    """What makes two stored credentials the same: the secured form, with Data Integrity
    JSON compared by value (key order and whitespace do not matter)."""
    if fmt == "di" and isinstance(raw, str):
        try:
            raw = json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False,
                             separators=(",", ":"))
        except ValueError:
            pass
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return fmt.encode("ascii", "replace") + b"\x00" + data


def _describe(key: str, outcome: VerificationOutcome, alg: str | None,
              now: datetime | None) -> CredentialEntry:
    credential = outcome.credential
    assert isinstance(credential, dict)
    types = tuple(getattr(outcome, "types", ()) or _strings(credential.get("type")))
    issuer = getattr(outcome, "issuer", None) or _issuer(credential)
    subject = credential.get("credentialSubject", credential)  # SD-JWT VC claims are flat
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    subject_id = subject.get("id", subject.get("sub")) if isinstance(subject, dict) else None
    summary = getattr(outcome, "summary", None) or _summary(credential, types, subject)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return CredentialEntry(
        key=key, format=outcome.format, types=types, issuer=issuer,
        subject_id=subject_id if isinstance(subject_id, str) else None,
        credential_id=_text(credential.get("id")),
        valid_from=_text(credential.get("validFrom", credential.get("issuanceDate"))),
        valid_until=_text(credential.get("validUntil", credential.get("expirationDate"))),
        added=moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=summary, alg=alg, credential_json=_encode(credential).decode("utf-8"),
    )


_COSE_ALGS = {-7: "ES256", -8: "EdDSA", -9: "ESP256", -19: "Ed25519", -35: "ES384"}


def _alg_of(raw: str | bytes, fmt: str) -> str | None:
    """Peek (after verification) at how the credential was secured, for requests that
    restrict algorithms: the JWS / COSE ``alg`` or the Data Integrity cryptosuite."""
    try:
        if fmt in ("jwt", "sd-jwt") and isinstance(raw, str):
            segment = raw.split("~", 1)[0].split(".", 1)[0]
            header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
            return _text(header.get("alg"))
        if fmt == "di" and isinstance(raw, str):
            proof = json.loads(raw).get("proof")
            proof = proof[0] if isinstance(proof, list) and proof else proof
            return _text(proof.get("cryptosuite")) if isinstance(proof, dict) else None
        if fmt == "cose":
            data = raw if isinstance(raw, bytes) else base64.b64decode(raw)
            protected = cbor2.loads(cbor2.loads(data).value[0])
            return _COSE_ALGS.get(protected.get(1))
    except (ValueError, TypeError, AttributeError, IndexError, cbor2.CBORError):
        return None
    return None


def _candidate(entry: CredentialEntry) -> Candidate | None:
    from ..queries import Candidate

    try:
        return Candidate(entry.key, entry.format, entry.credential, alg=entry.alg)
    except ValueError:  # a format the request engine has no name for: it cannot be asked
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _issuer(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    return _text(issuer.get("id") if isinstance(issuer, dict) else issuer)


def _summary(credential: dict[str, Any], types: tuple[str, ...], subject: Any) -> str:
    """A line a person recognises: the credential's name (or most specific type), and
    the subject's name when it has one."""
    title = _text(credential.get("name")) or next(
        (t for t in reversed(types) if t != "VerifiableCredential"), "credential")
    name = _text(subject.get("name")) if isinstance(subject, dict) else None
    return f"{title}: {name}" if name else title
