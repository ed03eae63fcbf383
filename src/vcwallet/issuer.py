"""The Issuer role object: one organisation that issues, anchors, revokes and releases.

An :class:`Issuer` owns the organisation's signing keys, its did:web DID (derived from the
base URL its service is reached at), a display name, the credential types it may issue,
its transparency log (a SQLite file or a PostgreSQL URL) and a register of what it issued
(a SQLite file in its data directory: the wire form, the subject and the ledger leaf of
each credential, so that a revocation can be anchored and a consented release answered).

Issuing allocates the credential's status list entries (revocation and suspension, in
:mod:`vcwallet.status` lists published under ``<base_url>/status/``) before signing, signs,
and appends an ``issued`` leaf to the ledger; the caller gets the secured credential and its
receipt. ``issue_many`` anchors a whole class in one durable batch. Revoking or suspending
sets the bit, re-signs the list and appends a ``revoked`` / ``suspended`` leaf. Stores are opened lazily, one connection per thread (SQLite connections are
single-threaded; the ledger's ``TransparencyLog`` holds no state of its own), and writes are
serialised by one lock, so an ``Issuer`` may be shared by the threads of a web server.

Consented release: a holder may let an employer fetch a credential (or the issuer's
confirmation of it: current state and a fresh ledger receipt) straight from the issuer. The
consent is a verifiable presentation secured as ``application/vp+jwt`` (VC-JOSE-COSE) and
signed by the credential's subject with one of its ``authentication`` keys; ``aud`` names
the employer, ``exp`` ends the consent, and the credential itself is inside
(:func:`create_consent` builds one with ``vcwallet.presentations``; the issuer finds the
credential by its ledger leaf hash, so only an unchanged credential it issued qualifies). JOSE rather than Data Integrity because a consent needs
an audience and an expiry, which JWT registers and a Data Integrity proof (as
``vcwallet.proofs`` signs it) does not carry. :meth:`Issuer.release` checks the consent
against the employer the caller authenticated as (see ``vcwallet.service``).
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import _json, anchor, proofs
from .anchor import Receipt
from .credential_types import CREDENTIAL_TYPES, credential_type
from .credentials import ISSUE_FORMATS, SecuredCredential, secure
from .did import DidResolver, Resolver, build_did_web_document, url_to_did_web
from .errors import (
    Expired,
    LedgerError,
    MalformedDocumentError,
    PolicyError,
    ProofPurposeError,
    UnknownCredential,
)
from .keys import KeyPair, KeyType
from .ledger import SignedCheckpoint, TransparencyLog, open_store, parse_checkpoint_unverified
from .ledger.store import LedgerStore
from .status import SqliteStatusStore, StatusRegistry

__all__ = [
    "ConsentRelease",
    "IssueRequest",
    "IssuedCredential",
    "Issuer",
    "StatusChange",
    "create_consent",
    "did_web_for_base_url",
    "ledger_origin_for_base_url",
    "verify_consent",
    "wire_form",
]

MAX_CONSENT_LIFETIME = timedelta(days=90)
_KEY_TYPE_FOR_FORMAT = {"di-eddsa": KeyType.ED25519, "di-ecdsa": KeyType.P256}


def _split_base_url(base_url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base URL must be an http(s) URL with a host, not {base_url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"base URL {base_url!r} must not carry a query, fragment or user")
    return parts


def did_web_for_base_url(base_url: str) -> str:
    """The did:web of a service at ``base_url``.

    did:web always resolves over https; a loopback service without TLS
    (``http://127.0.0.1:8443``) still gets ``did:web:127.0.0.1%3A8443``, and whoever
    resolves it maps the https URL back to the service (``IssuerClient.fetch`` does).
    """
    parts = _split_base_url(base_url)
    return url_to_did_web("https://" + parts.netloc + parts.path.rstrip("/"))


def ledger_origin_for_base_url(base_url: str) -> str:
    """The log origin (C2SP: a schema-less URL) of the ledger served under ``base_url``."""
    parts = _split_base_url(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/ledger"


@dataclass(frozen=True)
class IssuedCredential:
    """A credential just issued: its secured form and its ledger receipt."""

    secured: SecuredCredential
    receipt: Receipt

    @property
    def id(self) -> str:
        return str(self.secured.credential["id"])

    def to_json(self) -> dict[str, Any]:
        """The service's answer: the credential in its wire form and the receipt."""
        return {"credential": wire_form(self.secured), "format": self.secured.format,
                "receipt": self.receipt.to_json()}


@dataclass(frozen=True)
class StatusChange:
    """The outcome of revoke / suspend / unsuspend; ``receipt`` for the appended leaf."""

    credential_id: str
    purpose: str
    value: bool
    state: str
    receipt: Receipt | None

    def to_json(self) -> dict[str, Any]:
        return {"credentialId": self.credential_id, "statusPurpose": self.purpose,
                "value": self.value, "state": self.state,
                "receipt": None if self.receipt is None else self.receipt.to_json()}


@dataclass(frozen=True)
class IssueRequest:
    """One credential of an ``issue_many`` batch."""

    type_name: str
    subject: dict[str, Any]
    format: str = "di-eddsa"
    holder: str | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True)
class ConsentRelease:
    """What the issuer answers to a valid consent: the credential, its state and a receipt."""

    credential_id: str
    holder: str
    employer: str
    expires: datetime
    secured: SecuredCredential
    state: str  # "active" | "revoked" | "suspended"
    receipt: Receipt

    def to_json(self) -> dict[str, Any]:
        return {
            "credentialId": self.credential_id,
            "holder": self.holder,
            "employer": self.employer,
            "consentExpires": proofs.format_datetime(self.expires),
            "state": self.state,
            "format": self.secured.format,
            "credential": wire_form(self.secured),
            "receipt": self.receipt.to_json(),
        }


def wire_form(secured: SecuredCredential) -> dict[str, Any] | str:
    """JSON-friendly form: the DI document, the JWT text, or COSE bytes as base64."""
    if isinstance(secured.data, bytes):
        return base64.b64encode(secured.data).decode("ascii")
    return secured.data


# --------------------------------------------------------------------------------------
# the register of issued credentials (one SQLite file)
# --------------------------------------------------------------------------------------
_RECORDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS issued (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, format TEXT NOT NULL, data BLOB NOT NULL,
    credential TEXT NOT NULL, subject TEXT, leaf_index INTEGER NOT NULL, leaf_hash BLOB NOT NULL,
    issued_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS issued_by_leaf ON issued (leaf_hash);
"""


@dataclass(frozen=True)
class _Record:
    id: str
    type_name: str
    format: str
    data: bytes
    credential: str  # the plain credential JSON, as signed
    subject: str | None
    leaf_index: int
    leaf_hash: bytes

    def secured(self) -> SecuredCredential:
        """The stored credential, as issued (our own register: no re-verification)."""
        plain = _json.loads(self.credential)
        if self.format == "di":
            return SecuredCredential("di", _json.loads(self.data), plain)
        if self.format == "jwt":
            return SecuredCredential("jwt", self.data.decode("ascii"), plain)
        return SecuredCredential("cose", self.data, plain)


def _stored_bytes(secured: SecuredCredential) -> bytes:
    if isinstance(secured.data, bytes):
        return secured.data
    if isinstance(secured.data, str):
        return secured.data.encode("ascii")
    return _json.dumps(secured.data).encode("utf-8")


class _Records:
    """The issued-credential register; one connection shared under a lock (writes are rare)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_RECORDS_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO issued (id, type, format, data, credential, subject, leaf_index,"
                    " leaf_hash, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get(self, credential_id: str) -> _Record:
        return self._one("id", credential_id, credential_id)

    def by_leaf_hash(self, leaf_hash: bytes, shown: str) -> _Record:
        """The credential whose ``issued`` leaf hashes to ``leaf_hash`` (``shown`` names it
        in the error)."""
        return self._one("leaf_hash", leaf_hash, shown)

    def _one(self, column: str, value: object, shown: str) -> _Record:
        with self._lock:
            row = self._db.execute(
                "SELECT id, type, format, data, credential, subject, leaf_index, leaf_hash"
                f" FROM issued WHERE {column} = ?", (value,)).fetchone()
        if row is None:
            raise UnknownCredential(shown)
        return _Record(row[0], row[1], row[2], bytes(row[3]), row[4], row[5], int(row[6]),
                       bytes(row[7]))

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM issued").fetchone()[0])


# --------------------------------------------------------------------------------------
# the Issuer
# --------------------------------------------------------------------------------------
class Issuer:
    """One issuing organisation (see the module docstring).

    ``keys`` sign credentials; they are published in ``did_document()`` as ``#key-1``,
    ``#key-2``... in this order. ``log_key`` signs ledger checkpoints (default: the first
    Ed25519 key in ``keys``). ``ledger`` is a SQLite path or a ``postgresql://`` URL
    (default: ``ledger.sqlite`` in ``data_dir``). ``credential_types`` limits what this
    issuer may issue (default: every bundled type). Nothing is opened until first use.
    """

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        keys: Sequence[KeyPair],
        data_dir: str | Path,
        ledger: str | None = None,
        log_key: KeyPair | None = None,
        credential_types: Sequence[str] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        if not keys:
            raise ValueError("an issuer needs at least one signing key")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("an issuer needs a display name")
        self.name = _json.nfc(name)
        self.base_url = base_url.rstrip("/")
        self.did = did_web_for_base_url(self.base_url)
        self.keys = tuple(keys)
        chosen_log_key = log_key or next(
            (k for k in self.keys if k.key_type is KeyType.ED25519), None)
        if chosen_log_key is None or chosen_log_key.key_type is not KeyType.ED25519:
            raise ValueError("the ledger's checkpoint key must be an Ed25519 key")
        self._log_key = chosen_log_key
        types = tuple(credential_types) if credential_types is not None else tuple(
            CREDENTIAL_TYPES)
        for type_name in types:
            credential_type(type_name)  # ValueError for an unknown name
        self.credential_types = types
        self.data_dir = Path(data_dir)
        self.ledger_location = ledger or str(self.data_dir / "ledger.sqlite")
        # resolves holders' DIDs for consents; did:key works offline, did:web needs a fetcher
        self._resolver: Resolver = resolver or DidResolver()
        self._local = threading.local()
        self._setup_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._records: _Records | None = None
        self._status: StatusRegistry | None = None
        self._opened: list[LedgerStore] = []
        self._latest: SignedCheckpoint | None = None

    def __repr__(self) -> str:
        return f"Issuer(name={self.name!r}, did={self.did!r})"

    # -- identity --------------------------------------------------------------------------
    def did_document(self) -> dict[str, Any]:
        """The ``/.well-known/did.json`` this issuer publishes."""
        return build_did_web_document(self.did, [k.public_key for k in self.keys])

    def verification_method_for(self, format: str) -> tuple[KeyPair, str]:
        """(signing key, its DID URL) for ``format``: the first key of the type it needs."""
        if format not in ISSUE_FORMATS:
            raise ValueError(f"unknown format {format!r}; choose one of {', '.join(ISSUE_FORMATS)}")
        needed = _KEY_TYPE_FOR_FORMAT.get(format)
        for number, key in enumerate(self.keys, start=1):
            if needed is None or key.key_type is needed:
                return key, f"{self.did}#key-{number}"
        raise ValueError(f"{self.name} has no {needed.value if needed else ''} key for {format}")

    # -- stores ------------------------------------------------------------------------------
    def _ensure_setup(self) -> None:
        if self._records is not None:
            return
        with self._setup_lock:
            if self._records is not None:
                return
            self.data_dir.mkdir(parents=True, exist_ok=True)
            store = open_store(self.ledger_location, create=True)
            try:
                if store.read_meta():
                    log = TransparencyLog.open(store)
                    if log.public_key.public_bytes_raw() != self._log_public_raw():
                        raise LedgerError(
                            f"the ledger at {self.ledger_location} belongs to another key")
                else:
                    log = TransparencyLog.create(
                        store, origin=ledger_origin_for_base_url(self.base_url),
                        public_key=self._ledger_private().public_key())
            finally:
                store.close()
            self._status = StatusRegistry(
                SqliteStatusStore(self.data_dir / "status.sqlite"),
                base_url=f"{self.base_url}/status", issuer=self.did)
            self._records = _Records(self.data_dir / "issued.sqlite")

    def _ledger_private(self) -> Ed25519PrivateKey:
        key = self._log_key.private_key
        assert isinstance(key, Ed25519PrivateKey)
        return key

    def _log_public_raw(self) -> bytes:
        return self._ledger_private().public_key().public_bytes_raw()

    @property
    def log(self) -> TransparencyLog:
        """This thread's handle on the ledger (opened on first use in each thread)."""
        log: TransparencyLog | None = getattr(self._local, "log", None)
        if log is None:
            self._ensure_setup()
            store = open_store(self.ledger_location)
            log = TransparencyLog.open(store)
            self._local.log = log
            with self._setup_lock:
                self._opened.append(store)
        return log

    @property
    def records(self) -> _Records:
        self._ensure_setup()
        assert self._records is not None
        return self._records

    @property
    def status(self) -> StatusRegistry:
        """This issuer's Bitstring Status Lists (published under ``<base_url>/status/``)."""
        self._ensure_setup()
        assert self._status is not None
        return self._status

    def close(self) -> None:
        """Close the stores this thread and the register opened (other threads' SQLite
        connections close when those threads end)."""
        local_log: TransparencyLog | None = getattr(self._local, "log", None)
        if local_log is not None:
            local_log.store.close()
            self._local.log = None
        with self._setup_lock:
            for store in self._opened:
                if local_log is None or store is not local_log.store:
                    try:
                        store.close()
                    except sqlite3.ProgrammingError:
                        pass  # opened by another thread; closed when it goes away
            self._opened.clear()
            if self._records is not None:
                self._records.close()
                self._records = None
            if self._status is not None:
                self._status.store.close()
                self._status = None

    def log_verifier_key(self) -> str:
        """The C2SP verifier key line (``name+keyid+base64``) for this issuer's ledger."""
        from .ledger import verifier_key

        return verifier_key(self.log.origin, self.log.public_key)

    # -- issuing -----------------------------------------------------------------------------
    def _check_type(self, type_name: str) -> None:
        if type_name not in self.credential_types:
            raise PolicyError(
                f"{self.name} does not issue {type_name!r} credentials "
                f"(it issues {', '.join(self.credential_types)})")

    def _sign(self, request: IssueRequest, now: datetime) -> SecuredCredential:
        self._check_type(request.type_name)
        kind = credential_type(request.type_name)
        signer, method = self.verification_method_for(request.format)
        credential_id = f"urn:uuid:{uuid.uuid4()}"
        credential = kind.build(request.subject, issuer=self.did, issuer_name=self.name,
                                valid_until=request.valid_until, holder=request.holder,
                                credential_id=credential_id, now=now)
        # the status entries are allocated first so that the signature covers them
        credential["credentialStatus"] = self.status.allocate(credential_id)
        return secure(credential, signer=signer, format=request.format,
                      verification_method=method, now=now)

    def issue(
        self,
        type_name: str,
        subject: dict[str, Any],
        *,
        format: str = "di-eddsa",
        holder: str | None = None,
        valid_until: datetime | None = None,
        now: datetime | None = None,
    ) -> IssuedCredential:
        """Build, sign and anchor one credential; its secured form and receipt.

        Raises :class:`PolicyError` for a type this issuer does not offer,
        :class:`SchemaValidationError` for a subject its schema refuses, ``ValueError`` for
        an unknown format or one this issuer has no key for.
        """
        request = IssueRequest(type_name, subject, format, holder, valid_until)
        return self.issue_many([request], now=now)[0]

    def issue_many(
        self, requests: Sequence[IssueRequest], *, now: datetime | None = None
    ) -> list[IssuedCredential]:
        """Issue a whole class: allocate status entries and sign each credential, then anchor
        them all in ONE durable ledger batch (one transaction, one checkpoint)."""
        moment = now or datetime.now(UTC)
        signed = [self._sign(r, moment) for r in requests]  # all or nothing: sign first
        if not signed:
            return []
        with self._write_lock:
            receipts = anchor.anchor_credentials(self.log, signed,
                                                 signing_key=self._ledger_private())
            self._remember(receipts[-1].checkpoint)
            self.records.add([
                (s.credential["id"], r.type_name, s.format, _stored_bytes(s),
                 _json.dumps(s.credential), _subject_id(s.credential), rc.leaf_index, rc.leaf_hash,
                 proofs.format_datetime(moment))
                for r, s, rc in zip(requests, signed, receipts, strict=True)
            ])
        return [IssuedCredential(s, rc) for s, rc in zip(signed, receipts, strict=True)]

    def issued(self, credential_id: str) -> SecuredCredential:
        """The credential this issuer issued under ``credential_id`` (UnknownCredential)."""
        return self.records.get(credential_id).secured()

    def state_of(self, credential_id: str) -> str:
        """``active``, ``revoked`` or ``suspended`` (UnknownCredential if never issued)."""
        self.records.get(credential_id)
        bits = self.status.status_of(credential_id)
        if bits.get("revocation"):
            return "revoked"
        return "suspended" if bits.get("suspension") else "active"

    # -- status --------------------------------------------------------------------------------
    def revoke(self, credential_id: str) -> StatusChange:
        """Revoke for good: set the revocation bit, re-sign its status list and append a
        ``revoked`` leaf to the ledger (UnknownCredential if never issued here)."""
        return self._change(credential_id, "revocation", True, "revoked")

    def suspend(self, credential_id: str) -> StatusChange:
        """Suspend: set the suspension bit, re-sign the list, append a ``suspended`` leaf."""
        return self._change(credential_id, "suspension", True, "suspended")

    def unsuspend(self, credential_id: str) -> StatusChange:
        """Lift a suspension: clear the bit and re-sign the list. The ledger's leaf kinds
        (``vcwallet.anchor.KINDS``) have no reinstatement, so no leaf is appended: the
        status list is the authority on current status, the ledger on history."""
        return self._change(credential_id, "suspension", False, None)

    def _change(self, credential_id: str, purpose: str, value: bool,
                kind: str | None) -> StatusChange:
        with self._write_lock:
            record = self.records.get(credential_id)
            if self.status.status_of(credential_id).get(purpose) == value:
                # nothing changes: no second leaf; a repeated revoke gets the first one's receipt
                receipt = None if kind is None else self._existing_receipt(record, kind)
                return StatusChange(credential_id, purpose, value,
                                    self.state_of(credential_id), receipt)
            self.status.set_status(credential_id, purpose, value)
            for entry in self.status.entries(credential_id):
                if entry["statusPurpose"] == purpose:
                    self.status_list_credential(
                        self.status.list_id_for_url(entry["statusListCredential"]))
            receipt = None
            if kind is not None:
                index = self.log.append(anchor.leaf_record(record.secured(), kind=kind))
                receipt = anchor.receipt_for(self.log, index, kind=kind,
                                             signing_key=self._ledger_private())
                self._remember(receipt.checkpoint)
        return StatusChange(credential_id, purpose, value, self.state_of(credential_id), receipt)

    def _existing_receipt(self, record: _Record, kind: str) -> Receipt | None:
        wanted = anchor.credential_leaf_hash(record.secured(), kind=kind)
        try:
            index = self.log.find_leaf(wanted)
        except LedgerError:
            return None  # set before this register anchored status changes
        return self._fresh_receipt(index, kind)

    def status_list_credential(self, list_id: str, *, now: datetime | None = None) -> Any:
        """The signed ``BitstringStatusListCredential`` for ``list_id`` (re-signed only when
        the list changed or its copy is half way to expiry; StatusListError if unknown)."""
        key = self.keys[0]
        fmt = "di-eddsa" if key.key_type is KeyType.ED25519 else "di-ecdsa"
        signer, method = self.verification_method_for(fmt)
        return self.status.list_credential(list_id, signer=signer, verification_method=method,
                                           format=fmt, now=now)

    def receipt(self, credential_id: str) -> Receipt:
        """A fresh receipt for the credential's ``issued`` leaf against the latest checkpoint."""
        return self._fresh_receipt(self.records.get(credential_id).leaf_index)

    def _fresh_receipt(self, leaf_index: int, kind: str = "issued") -> Receipt:
        latest = self.latest_checkpoint()
        proof = self.log.inclusion_proof(leaf_index, latest.checkpoint.tree_size)
        return Receipt(self.log.origin, kind, proof.leaf_index, proof.tree_size,
                       proof.leaf_hash, proof.inclusion_path, latest.note)

    # -- checkpoints -----------------------------------------------------------------------------
    def latest_checkpoint(self) -> SignedCheckpoint:
        """The newest signed checkpoint (for a log that never signed one, an empty-tree
        checkpoint is signed now). Kept in memory, so serving it costs nothing: every write
        this Issuer makes updates it. Another process appending to the same ledger is not
        seen until this Issuer writes again; its answers stay valid, only less fresh."""
        latest = self._latest
        if latest is None:
            with self._write_lock:
                if self._latest is None:
                    self._latest = (self.log.latest_checkpoint()
                                    or self.log.sign_checkpoint(self._ledger_private()))
                latest = self._latest
        return latest

    def _remember(self, note: str) -> None:
        """Keep ``note`` (just signed, under the write lock) as the latest checkpoint."""
        checkpoint = parse_checkpoint_unverified(note)
        if self._latest is None or checkpoint.tree_size >= self._latest.checkpoint.tree_size:
            self._latest = SignedCheckpoint(checkpoint, note)

    # -- consented release -------------------------------------------------------------------
    def release(
        self, consent: str, *, employer: str, now: datetime | None = None
    ) -> ConsentRelease:
        """Answer an employer's request made under a holder's consent (module docstring).

        ``employer`` is the identity the caller authenticated as; the consent's ``aud`` must
        name it. Raises :class:`Expired` (consent expired), :class:`ProofPurposeError`
        (another employer, or a key that is not the holder's authentication key),
        :class:`InvalidSignature`, :class:`PolicyError` (the holder is not the credential's
        subject, the consent lasts too long, or the credential differs from the one
        issued), :class:`UnknownCredential`, :class:`MalformedDocumentError`.
        """
        moment = now or datetime.now(UTC)
        presentation, expires = verify_consent(consent, employer=employer,
                                               resolver=self._resolver, now=moment)
        holder = str(presentation["holder"])
        embedded = _embedded_credential(presentation)
        claimed = _claimed_id(embedded)
        # the leaf hash names the credential exactly: one this issuer issued, unchanged
        record = self.records.by_leaf_hash(anchor.credential_leaf_hash(embedded), claimed)
        if record.subject != holder:
            raise PolicyError(f"{holder} is not the subject of {record.id}")
        credential_id = record.id
        receipt = self._fresh_receipt(record.leaf_index)
        return ConsentRelease(credential_id, holder, employer, expires, record.secured(),
                              self.state_of(credential_id), receipt)


def _subject_id(credential: dict[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    value = subject.get("id") if isinstance(subject, dict) else None
    return value if isinstance(value, str) else None


def verify_consent(
    consent: str,
    *,
    employer: str,
    resolver: Resolver | None = None,
    now: datetime | None = None,
    max_lifetime: timedelta = MAX_CONSENT_LIFETIME,
) -> tuple[dict[str, Any], datetime]:
    """Check a consent token; return ``(presentation, expiry)`` or raise a named error.

    The consent is an ``application/vp+jwt`` (VC-JOSE-COSE): the payload is a
    VerifiablePresentation whose ``holder`` signed it with one of its ``authentication``
    keys (``kid``), with ``aud`` naming the employer and ``exp`` the end of the consent.
    """
    from . import jose

    moment = now or datetime.now(UTC)
    if not isinstance(consent, str) or consent.count(".") != 2:
        raise MalformedDocumentError("a consent must be a compact vp+jwt")
    token = consent.strip()
    header = jose.unverified_header(token)
    kid = header.get("kid")
    holder_did = jose.kid_did(kid)
    _, key = jose.lookup_key(resolver or DidResolver(), str(kid), "authentication")
    _, payload = jose.verify_jws(token, key, expected_typ="vp+jwt")
    types = payload.get("type")
    if "VerifiablePresentation" not in (types if isinstance(types, list) else [types]):
        raise MalformedDocumentError("a consent must be a VerifiablePresentation")
    if payload.get("holder") != holder_did:
        raise ProofPurposeError(
            f"the consent is signed by {holder_did}, not by its holder {payload.get('holder')}")
    audience = payload.get("aud")
    if employer not in (audience if isinstance(audience, list) else [audience]):
        raise ProofPurposeError(f"the consent is addressed to {audience!r}, not to {employer!r}")
    expires_at = payload.get("exp")
    if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
        raise MalformedDocumentError("a consent must state when it expires (exp)")
    expires = datetime.fromtimestamp(expires_at, UTC)
    if moment >= expires:
        raise Expired(f"the consent expired at {proofs.format_datetime(expires)}")
    if expires - moment > max_lifetime:
        raise PolicyError(f"a consent may last at most {max_lifetime.days} days")
    return payload, expires


def _embedded_credential(presentation: dict[str, Any]) -> anchor.Secured:
    """The one credential inside a consent: embedded Data Integrity, or enveloped."""
    from .presentations import ENVELOPED_TYPE, open_envelope

    entries = presentation.get("verifiableCredential")
    entries = entries if isinstance(entries, list) else [entries]
    if len(entries) != 1 or not isinstance(entries[0], dict):
        raise MalformedDocumentError("a consent must carry exactly one credential")
    entry = entries[0]
    types = entry.get("type")
    if ENVELOPED_TYPE in (types if isinstance(types, list) else [types]):
        kind, data = open_envelope(entry)
        return anchor.Secured(kind, data)
    if "proof" not in entry:
        raise MalformedDocumentError("the consented credential carries no proof")
    return anchor.Secured("di", entry)


def _claimed_id(secured: anchor.Secured) -> str:
    """The id the credential claims, for messages only (nothing is decided on it)."""
    from . import jose

    try:
        if isinstance(secured.data, dict):
            claims: Any = secured.data
        elif secured.format == "jwt" and isinstance(secured.data, str):
            claims = jose.unverified_payload(secured.data)
        else:
            return f"the consented {secured.format} credential"
    except MalformedDocumentError:
        return "the consented credential"
    value = claims.get("id") if isinstance(claims, dict) else None
    return value if isinstance(value, str) else "the consented credential"


def create_consent(
    credential: Any,
    holder: KeyPair,
    *,
    employer: str,
    expires: datetime,
    holder_did: str | None = None,
    now: datetime | None = None,
) -> str:
    """The holder's consent (a vp+jwt) to release ``credential`` to ``employer`` until
    ``expires``: a presentation (:func:`vcwallet.presentations.create_presentation`) with
    ``aud`` = ``employer`` and ``exp`` = ``expires``. ``credential`` is any secured form
    the presentation can carry. ``holder_did`` defaults to the key's did:key."""
    import secrets

    from .presentations import create_presentation

    if expires.tzinfo is None:
        raise ValueError("expires must carry a time zone")
    moment = now or datetime.now(UTC)
    lifetime = expires - moment
    if lifetime < timedelta(seconds=1):
        raise ValueError("a consent must expire after it is made")
    token = create_presentation(
        [credential], holder=holder, holder_did=holder_did or holder.did_key,
        challenge=secrets.token_urlsafe(16), domain=employer, format="jwt",
        lifetime=lifetime, now=moment)
    assert isinstance(token, str)
    return token
