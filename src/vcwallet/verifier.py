"""The Verifier role object: an employer (or insurer) verifying online, with the issuers.

:meth:`Verifier.verify_presentation` checks, in this order:

1. the presentation: the holder's proof, challenge, domain, then each credential's own
   proof, dates and schema, and holder binding (:func:`vcwallet.presentations.verify_presentation`;
   nothing further happens for a presentation whose own checks fail);
2. trust: the verifier's :mod:`~vcwallet.policy` must trust the issuer for the credential's
   type; a valid signature from an untrusted issuer is reported as such;
3. status, from the issuer itself: the credential's status list must be served from its
   issuer's own did:web host; it is fetched, verified and cached for a bounded time
   (:func:`vcwallet.status.check_status`);
4. the ledger, from the issuer itself: a fresh signed checkpoint, an inclusion proof of
   the credential's leaf against it, and a consistency proof from the last checkpoint this
   verifier remembers for that log (:class:`CheckpointMemory`), all in one round trip
   (``/ledger/evidence``). A rewritten or forked log fails.

The log's key is pinned per issuer in the trust policy (``log_key``) or, failing that,
fetched from ``/ledger/key`` on first contact and remembered in the
:class:`CheckpointMemory` from then on (trust on first use: a key that later changes is a
failure, not a silent update). An issuer that does not answer gives "status unknown" /
"ledger unknown": a required check that is skipped, so never "verified".

Credentials of one presentation are checked concurrently (a small thread pool), each
issuer host has its own keep-alive connections (:class:`~vcwallet.client.IssuerClient`'s
lean pooled transport, or an injected ``httpx.Client``), and did:web documents are
cached for a short time (``did_cache_ttl``). With ``processes=N`` the offline checks (step
1, the CPU-heavy part) run in N worker processes, so concurrent verifications use more
than one core; steps 2-4 stay in the calling process, which keeps the checkpoint memory.
A credential's ledger leaf is worked out from the digest its own signature check
produced, so a Data Integrity credential is canonicalized once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import httpx
from cachetools import LRUCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import _json, anchor
from ._process_pool import LeafHashes, WorkerPool, WorkerSettings, offline_outcome
from .client import DEFAULT_TIMEOUT, IssuerClient
from .credential_types import CREDENTIAL_TYPES, detect_type
from .did import DidResolver, did_web_to_url
from .errors import (
    InconsistentLog,
    LedgerError,
    LogProofError,
    MalformedDocumentError,
    PolicyError,
    ResolutionError,
    RootMismatch,
    TransportError,
)
from .issuer import ledger_origin_for_base_url
from .jose import CachingResolver
from .ledger import (
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    open_checkpoint,
    parse_verifier_key,
    verifier_key,
)
from .model import (
    Check,
    CredentialResult,
    PresentationResult,
    all_hold,
    failed,
    format_datetime,
    passed,
    skipped,
)
from .policy import Policy, TrustedIssuer, TrustPolicy
from .status import StatusListCache, StatusOutcome, StatusResult, check_status, status_check

__all__ = [
    "CheckpointMemory",
    "ConsentedCredential",
    "LedgerAnchor",
    "OnlineCredential",
    "OnlineResult",
    "Verifier",
]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_VCT_PREFIX = "https://w3id.org/vcwallet/vct/"
HttpFactory = Callable[[str], httpx.Client]
MAX_BATCH = 256  # leaves per ledger request (the service's MAX_EVIDENCE_BATCH)
MAX_REMEMBERED_DIDS = 4096  # issuer DIDs mapped to their clients without re-parsing


# --------------------------------------------------------------------------------------
# remembered checkpoints (and log keys first seen)
# --------------------------------------------------------------------------------------
class CheckpointMemory:
    """The last checkpoint seen per log origin, and each log's key as first seen.

    In memory, or persisted as a small JSON file at ``path`` (written atomically after each
    change; LedgerError when it cannot be written). Thread-safe. A checkpoint is replaced only by a larger tree the caller has
    proved consistent with it.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._logs: dict[str, dict[str, Any]] = {}
        if self.path is not None and self.path.exists():
            self._logs = self._read(self.path)

    def __repr__(self) -> str:
        return f"CheckpointMemory({str(self.path) if self.path else 'in memory'!r})"

    @staticmethod
    def _read(path: Path) -> dict[str, dict[str, Any]]:
        try:
            data = _json.loads(path.read_bytes())
        except OSError as exc:
            raise MalformedDocumentError(f"cannot read {path}: {exc.strerror}") from None
        logs = data.get("logs") if isinstance(data, dict) else None
        if not isinstance(logs, dict) or not all(
                isinstance(v, dict) for v in logs.values()):
            raise MalformedDocumentError(f"{path} is not a vcwallet checkpoint memory")
        return logs

    def checkpoint(self, origin: str) -> tuple[str, int] | None:
        """(note, tree size) of the last checkpoint remembered for ``origin``."""
        with self._lock:
            entry = self._logs.get(origin, {})
            note, size = entry.get("checkpoint"), entry.get("treeSize")
        if isinstance(note, str) and isinstance(size, int):
            return note, size
        return None

    def log_key(self, origin: str) -> str | None:
        """The verifier key first seen for ``origin`` (trust on first use), if any."""
        with self._lock:
            value = self._logs.get(origin, {}).get("logKey")
        return value if isinstance(value, str) else None

    def remember_key(self, origin: str, key: str) -> str:
        """Remember ``key`` for ``origin`` unless one is already known; the known one."""
        with self._lock:
            entry = self._logs.setdefault(origin, {})
            if not isinstance(entry.get("logKey"), str):
                entry["logKey"] = key
                self._save()
            return str(entry["logKey"])

    def remember(self, origin: str, note: str, tree_size: int) -> None:
        """Keep ``note`` if its tree is larger than the one remembered (already proved
        consistent with it by the caller)."""
        with self._lock:
            entry = self._logs.setdefault(origin, {})
            known = entry.get("treeSize")
            if isinstance(known, int) and known >= tree_size:
                return
            entry["checkpoint"], entry["treeSize"] = note, tree_size
            self._save()

    def forget(self, origin: str) -> None:
        with self._lock:
            if self._logs.pop(origin, None) is not None:
                self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"logs": self._logs}, ensure_ascii=False, indent=1),
                           "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise LedgerError(f"cannot save the checkpoint memory {self.path}: "
                              f"{exc.strerror}") from None


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerAnchor:
    """Where the issuer's ledger holds a credential, as proved during this verification."""

    origin: str
    leaf_index: int
    tree_size: int
    checkpoint_seen_at: datetime
    log_key_source: str  # "pinned" | "first use" | "remembered"
    consistent_with: int | None = None  # the tree size remembered before, if any

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "leafIndex": self.leaf_index, "treeSize": self.tree_size,
                "checkpointSeenAt": format_datetime(self.checkpoint_seen_at),
                "logKey": self.log_key_source, "consistentWith": self.consistent_with}


@dataclass(frozen=True)
class OnlineCredential:
    """One credential of a presentation after the online checks.

    ``result`` is the offline :class:`CredentialResult` with its ``status`` check replaced
    by the issuer's answer and ``trust`` and ``ledger`` checks added. ``revoked`` /
    ``suspended`` are ``None`` when the status could not be read.
    """

    result: CredentialResult
    type_name: str | None
    issuer_name: str | None
    trusted: TrustedIssuer | None
    revoked: bool | None
    suspended: bool | None
    anchor: LedgerAnchor | None
    status: tuple[StatusResult, ...] = ()

    @property
    def verified(self) -> bool:
        return self.result.verified

    @property
    def issuer(self) -> str | None:
        return self.result.issuer

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.result.checks

    def check(self, name: str) -> Check:
        return self.result.check(name)

    def to_json(self) -> dict[str, Any]:
        body = self.result.to_json()
        body.update({
            "type": self.type_name,
            "issuerName": self.issuer_name,
            "trustedAs": None if self.trusted is None else self.trusted.name,
            "revoked": self.revoked,
            "suspended": self.suspended,
            "anchor": None if self.anchor is None else self.anchor.to_json(),
            "status": [s.to_json() for s in self.status],
        })
        return body


@dataclass(frozen=True)
class OnlineResult:
    """What :meth:`Verifier.verify_presentation` found: the presentation's own checks and
    one :class:`OnlineCredential` per credential. ``verified`` only when all hold."""

    verified: bool
    presentation: PresentationResult
    credentials: tuple[OnlineCredential, ...]
    checked_at: datetime
    challenge: str
    domain: str

    @property
    def holder(self) -> str | None:
        return self.presentation.holder

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.presentation.checks

    @property
    def failures(self) -> tuple[Check, ...]:
        own = tuple(c for c in self.checks if c.status.value == "failed")
        inner = tuple(
            dataclasses.replace(c, name=f"credential[{i}].{c.name}")
            for i, item in enumerate(self.credentials) for c in item.result.failures)
        return own + inner

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checkedAt": format_datetime(self.checked_at),
            "holder": self.holder,
            "format": self.presentation.format,
            "domain": self.domain,
            "checks": [c.to_json() for c in self.checks],
            "credentials": [c.to_json() for c in self.credentials],
        }


@dataclass(frozen=True)
class ConsentedCredential:
    """What an issuer released under a holder's consent, checked by the employer."""

    credential_id: str
    state: str  # active | revoked | suspended, as the issuer states it
    result: CredentialResult
    anchored: Check
    raw: dict[str, Any]

    @property
    def verified(self) -> bool:
        return self.result.verified and self.anchored.status.value == "passed" \
            and self.state == "active"


@dataclass(frozen=True)
class _Plan:
    """A credential whose issuer is to be asked for status and ledger evidence."""

    leaf: bytes | str  # the credential's leaf hash, or why it has none
    result: CredentialResult
    credential: Mapping[str, Any]
    issuer: str
    client: IssuerClient
    type_name: str | None
    issuer_name: str | None
    trusted: TrustedIssuer | None
    checks: list[Check]

    def finish(self, status_results: list[StatusResult], status: Check, ledger: Check,
               where: LedgerAnchor | None) -> OnlineCredential:
        revoked, suspended = _flags(status_results)
        return OnlineCredential(_merged(self.result, [*self.checks, status, ledger]),
                                self.type_name, self.issuer_name, self.trusted, revoked,
                                suspended, where, tuple(status_results))


@dataclass(frozen=True)
class _Evidence:
    """One leaf's answer out of a batch: the checkpoint, the leaf's inclusion proof (None if
    the checkpoint does not cover it), the consistency proof, and the remembered checkpoint
    (note, size) the consistency proof starts from."""

    note: str
    inclusion: InclusionProof | None
    consistency: ConsistencyProof | None
    previous: tuple[str, int] | None


class _Slot:
    """One question waiting in a batcher."""

    __slots__ = ("answer", "done", "error", "event", "lead", "leaf")

    def __init__(self, leaf: bytes) -> None:
        self.leaf = leaf
        self.event = threading.Event()
        self.lead = self.done = False
        self.answer: _Evidence | None = None
        self.error: BaseException | None = None


class _EvidenceBatcher:
    """Coalesces the ledger questions for one issuer: while a request is in flight, later
    questions queue and go together in the next request (``POST /ledger/evidence``). Each
    request is sent after every question in it was asked, so every answer is as fresh as a
    request of its own; under load an issuer sees a few requests, not one per credential.
    The thread that asked first sends; when its answer is in, the next waiting thread
    takes over, so nobody sends on others' behalf for long."""

    def __init__(self, client: IssuerClient, memory: CheckpointMemory, origin: str) -> None:
        self.client, self.memory, self.origin = client, memory, origin
        self.batch_route = True  # False once the issuer turns out not to offer it
        self._lock = threading.Lock()
        self._pending: list[_Slot] = []
        self._busy = False

    def ask(self, leaf: bytes) -> _Evidence:
        slot = _Slot(leaf)
        with self._lock:
            self._pending.append(slot)
            if not self._busy:
                self._busy = slot.lead = True
        while not slot.done:
            if slot.lead:
                slot.lead = False
                self._send_next()
            else:
                slot.event.wait()
                slot.event.clear()
        if slot.error is not None:
            raise slot.error
        assert slot.answer is not None
        return slot.answer

    def _send_next(self) -> None:
        with self._lock:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
        previous = self.memory.checkpoint(self.origin)
        since = previous[1] if previous else 0
        try:
            self._answer(batch, previous, since)
        except Exception as exc:  # noqa: BLE001 - every asker gets the failure to report
            for slot in batch:
                slot.error = exc
        finally:  # even when interrupted, nobody is left waiting
            for slot in batch:
                if slot.answer is None and slot.error is None:
                    slot.error = TransportError("the ledger request was interrupted")
                slot.done = True
            self._hand_over(batch)

    def _hand_over(self, batch: list[_Slot]) -> None:
        """Wake the askers answered, and make the next waiting one the sender."""
        with self._lock:
            following = self._pending[0] if self._pending else None
            if following is not None:
                following.lead = True
            else:
                self._busy = False
        for slot in batch:
            slot.event.set()
        if following is not None:
            following.event.set()

    def _answer(self, batch: list[_Slot], previous: tuple[str, int] | None, since: int) -> None:
        if self.batch_route:
            try:
                note, proofs, consistency = self.client.evidence_many(
                    [slot.leaf for slot in batch], since=since)
            except TransportError as exc:
                if getattr(exc, "status", None) not in (404, 405):
                    raise
                self.batch_route = False  # an issuer service without the batch route
            else:
                for slot, proof in zip(batch, proofs, strict=True):
                    slot.answer = _Evidence(note, proof, consistency, previous)
                return
        for slot in batch:
            try:
                single = self.client.evidence(slot.leaf, since=since)
                slot.answer = _Evidence(single.checkpoint, single.inclusion,
                                        single.consistency, previous)
            except TransportError as exc:
                if getattr(exc, "status", None) != 404:
                    raise
                slot.error = LogProofError(f"the issuer's ledger does not hold this credential "
                                           f"({exc})")


# --------------------------------------------------------------------------------------
# the verifier
# --------------------------------------------------------------------------------------
class Verifier:
    """An employer's online verifier (see the module docstring).

    ``policy``: whom to trust for what (default: an empty :class:`TrustPolicy`, which trusts
    nobody; :class:`~vcwallet.policy.UnsafeAcceptAnyIssuer` for demos). ``http``: an
    ``httpx.Client`` shared by every issuer (left open), or a factory
    ``f(base_url) -> httpx.Client`` (its clients are closed with the verifier; default: each
    issuer host's IssuerClient keeps its own keep-alive ``http.client`` connections).
    ``resolver``: a DID resolver (default: did:key locally, did:web from the issuer's host,
    cached ``did_cache_ttl``).
    ``checkpoint_store``: remembered checkpoints (default: in memory). ``now``: a fixed
    clock (tests). ``timeout``: seconds per request. ``loopback_http``: reach loopback
    hosts (127.0.0.1, localhost, ::1) over plain http, where local services have no TLS.
    ``processes``: run the offline checks (proofs, canonicalisation, schemas, leaf hashes)
    in that many worker processes, so concurrent verifications use more than one core
    (default 0: in the calling thread). The workers resolve DIDs themselves (``resolver``
    must then pickle); status, ledger and the checkpoint memory stay in this process.
    """

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        http: httpx.Client | HttpFactory | None = None,
        resolver: Any = None,
        now: datetime | None = None,
        checkpoint_store: CheckpointMemory | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        status_cache: StatusListCache | None = None,
        did_cache_ttl: float = 60.0,
        max_workers: int = 8,
        loopback_http: bool = True,
        processes: int = 0,
    ) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must carry a time zone")
        self.policy: Policy = policy if policy is not None else TrustPolicy([])
        self.memory = checkpoint_store if checkpoint_store is not None else CheckpointMemory()
        self.timeout = timeout
        # `is not None`: an empty cache is falsy (it has a length) but was still chosen
        self.status_cache = (status_cache if status_cache is not None
                             else StatusListCache(max_age=timedelta(seconds=30)))
        self._now = now
        self._http = http
        self._given_resolver = resolver
        self._did_cache_ttl = did_cache_ttl
        self._loopback_http = loopback_http
        self._clients: dict[str, IssuerClient] = {}
        self._by_did: dict[str, IssuerClient] = {}  # spares parsing the did:web each time
        self._batchers: dict[str, _EvidenceBatcher] = {}
        self._made_http: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._resolver: Any = None
        self._resolver_born = 0.0
        self._cache_lock = threading.Lock()
        self._leaf_hashes = LeafHashes()
        self._notes: LRUCache[tuple[str, bytes, str], Checkpoint] = LRUCache(maxsize=256)
        self._log_keys: LRUCache[str, tuple[str, Ed25519PublicKey]] = LRUCache(maxsize=256)
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="vcwallet-verifier")
        self._workers = WorkerPool(processes, WorkerSettings(
            resolver, timeout, did_cache_ttl, loopback_http)) if processes else None

    def __repr__(self) -> str:
        return f"Verifier(policy={self.policy!r}, issuers={len(self._clients)})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP clients this verifier made, its thread pool and its worker
        processes."""
        self._pool.shutdown(wait=True)
        if self._workers is not None:
            self._workers.close()
        with self._lock:
            clients, self._clients, self._by_did = list(self._clients.values()), {}, {}
            made, self._made_http = self._made_http, []
            self._batchers = {}
        for client in clients:
            client.close()
        for http in made:
            http.close()

    def start_workers(self) -> None:
        """Start the worker processes now and wait until each answers (without this the
        first verifications wait for them); nothing to do without ``processes``."""
        if self._workers is not None:
            self._workers.start()

    # -- collaborators -------------------------------------------------------------------
    def _moment(self) -> datetime:
        return self._now or datetime.now(UTC)

    def _base_url(self, did: str) -> str:
        """The service URL behind a did:web (https, or http for a loopback host)."""
        url = did_web_to_url(did)
        base = url.removesuffix("/.well-known/did.json").removesuffix("/did.json")
        host = urllib.parse.urlsplit(base).hostname or ""
        if self._loopback_http and (host in _LOOPBACK or f"[{host}]" in _LOOPBACK):
            return "http" + base[len("https"):]
        return base

    def client_for(self, did: str) -> IssuerClient:
        """The (pooled, reused) client for the issuer behind ``did`` (a did:web)."""
        with self._lock:
            known = self._by_did.get(did)
        if known is not None:
            return known
        base = self._base_url(did)
        with self._lock:
            client = self._clients.get(base)
            if client is None:
                client = self._make_client(base)
                self._clients[base] = client
            if len(self._by_did) < MAX_REMEMBERED_DIDS:  # bounded: DIDs come from input
                self._by_did[did] = client
        return client

    def _make_client(self, base: str) -> IssuerClient:
        if isinstance(self._http, httpx.Client):
            return IssuerClient(base, http=self._http)
        if callable(self._http):
            made = self._http(base)  # made for this verifier, so closed by it
            self._made_http.append(made)
            return IssuerClient(base, http=made)
        return IssuerClient(base, timeout=self.timeout)

    def _fetch_did_document(self, url: str) -> bytes:
        """``fetch`` for did:web: only from the host the DID names, through its client."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise ResolutionError(f"refusing to fetch {url[:200]!r}")
        path = parts.path.removesuffix("/.well-known/did.json").removesuffix("/did.json")
        segments = [parts.netloc.replace(":", "%3A")] + [s for s in path.split("/") if s]
        return self.client_for("did:web:" + ":".join(segments)).fetch(url)

    def resolver(self) -> Any:
        """The DID resolver in use (a did:web cache is renewed every ``did_cache_ttl``)."""
        if self._given_resolver is not None:
            return self._given_resolver
        with self._lock:
            if self._resolver is None or time.monotonic() - self._resolver_born > \
                    self._did_cache_ttl:
                self._resolver = CachingResolver(DidResolver(fetch=self._fetch_did_document),
                                                 methods=("key", "web"))
                self._resolver_born = time.monotonic()
            return self._resolver

    # -- the recipe ----------------------------------------------------------------------
    def verify_presentation(self, vp: dict[str, Any] | str | bytes, *, challenge: str,
                            domain: str) -> OnlineResult:
        """Verify ``vp`` for this ``challenge`` and ``domain``, contacting each issuer.

        Raises :class:`MalformedDocumentError` only for input that is not a presentation.
        """
        moment = self._moment()
        resolver = self.resolver()
        if self._workers is not None:
            outcome = self._workers.verify(vp, challenge, domain, moment)
        else:
            outcome = offline_outcome(vp, challenge, domain, resolver, moment,
                                      self._leaf_hashes)
        offline = outcome.result
        if not all_hold(offline.checks) or not offline.credentials:
            return OnlineResult(False, offline, (), moment, challenge, domain)
        plans = [self._plan(leaf, result) for leaf, result in
                 zip(outcome.leaves, offline.credentials, strict=True)]
        # one task per credential to ask (status is usually a cache hit, so the task is one
        # ledger round trip); the last runs in this thread. A task waits at most on a request
        # another thread is already sending, never on a queued task: no deadlock however
        # busy the pool.
        asking = [p for p in plans if isinstance(p, _Plan)]
        futures = [self._pool.submit(self._ask, p, resolver, moment) for p in asking[:-1]]
        answers: list[OnlineCredential] = []
        if asking:
            last = self._ask(asking[-1], resolver, moment)
            answers = [f.result() for f in futures] + [last]
        found = iter(answers)
        online = [p if isinstance(p, OnlineCredential) else next(found) for p in plans]
        verified = all_hold(offline.checks) and all(c.verified for c in online)
        return OnlineResult(verified, offline, tuple(online), moment, challenge, domain)

    # -- one credential --------------------------------------------------------------------
    def _plan(self, leaf: bytes | str, result: CredentialResult) -> OnlineCredential | _Plan:
        """The offline verdict and trust decision; a finished result when the issuer need
        not (or cannot) be contacted, else a plan for the two round trips."""
        credential = result.credential or {}
        type_name = _type_name(result)
        issuer = result.issuer or ""
        types = set(result.types) | ({type_name} if type_name else set())
        trusted, trust = self._trust(issuer, types)
        name = trusted.name if trusted is not None else _issuer_name(credential)
        own = [c for c in result.checks if c.name != "status"]
        if not all_hold(own) or trust.status.value != "passed":
            why = ("the credential itself does not verify" if not all_hold(own)
                   else "the issuer is not trusted")
            checks = [*own, trust,
                      skipped("status", f"not checked: {why}", required=True),
                      skipped("ledger", f"not checked: {why}", required=True)]
            return OnlineCredential(_merged(result, checks), type_name, name, trusted,
                                    None, None, None)
        try:
            client = self.client_for(issuer)
        except (ResolutionError, ValueError) as exc:
            reason = f"the issuer {issuer} cannot be contacted (not a did:web: {exc})"
            checks = [*own, trust, failed("status", reason), failed("ledger", reason)]
            return OnlineCredential(_merged(result, checks), type_name, name, trusted,
                                    None, None, None)
        return _Plan(leaf, result, credential, issuer, client, type_name, name, trusted,
                     [*own, trust])

    def _ask(self, plan: _Plan, resolver: Any, moment: datetime) -> OnlineCredential:
        found, status = self._status(plan.client, plan.credential, resolver, moment)
        ledger, where = self._ledger(plan.client, plan.leaf, plan.issuer, moment)
        return plan.finish(found, status, ledger, where)

    def _trust(self, issuer: str, types: set[str]) -> tuple[TrustedIssuer | None, Check]:
        try:
            entry = self.policy.check(issuer, types)
        except PolicyError as exc:
            return None, failed("trust", str(exc))
        if entry is None:
            return None, passed("trust", f"{issuer} accepted by {self.policy!r} "
                                         "(no trusted-issuer entry)")
        return entry, passed("trust", f"{entry.name} ({issuer}) is trusted for "
                                      f"{', '.join(sorted(entry.types))}")

    def _status(self, client: IssuerClient, credential: Mapping[str, Any], resolver: Any,
                moment: datetime) -> tuple[list[StatusResult], Check]:
        entries = credential.get("credentialStatus")
        listed = entries if isinstance(entries, list) else [] if entries is None else [entries]
        for entry in listed:
            url = entry.get("statusListCredential") if isinstance(entry, dict) else None
            if isinstance(url, str) and not url.startswith(client.base_url + "/"):
                return [], failed("status", f"the status list {url[:200]} is not served by "
                                            f"the issuer's own host {client.base_url}")
        results = check_status(credential, fetch_list=client.status_list, resolver=resolver,
                               now=moment, cache=self.status_cache)
        return results, status_check(results, had_status=bool(listed))

    def _ledger(self, client: IssuerClient, leaf: bytes | str, issuer: str,
                moment: datetime) -> tuple[Check, LedgerAnchor | None]:
        if isinstance(leaf, str):
            return failed("ledger", f"the credential has no ledger leaf: {leaf}"), None
        try:
            return self._prove_anchor(client, leaf, issuer, moment)
        except TransportError as exc:
            kind = getattr(exc, "error_type", "")
            if getattr(exc, "status", None) == 409 and kind == "InconsistentLog":
                return failed("ledger", f"the issuer's log is smaller than before: {exc}"), None
            if getattr(exc, "status", None) == 404:
                return failed("ledger", f"the issuer's ledger does not hold this credential "
                                        f"({exc})"), None
            return skipped("ledger", f"ledger unknown: {exc}", required=True), None
        except LogProofError as exc:
            return failed("ledger", f"{type(exc).__name__}: {exc}"), None
        except MalformedDocumentError as exc:
            return failed("ledger", f"the issuer's ledger answer is malformed: {exc}"), None
        except LedgerError as exc:
            return failed("ledger", str(exc)), None

    def _log_key(self, client: IssuerClient, issuer: str, origin: str) -> tuple[Any, str]:
        """(public key, how it is known). LogProofError when keys disagree."""
        pinned = self.policy.log_key_for(issuer)
        if pinned is not None:
            name, key = self._parsed_log_key(pinned)
            if name != origin:
                raise LogProofError(f"the pinned log key is for {name}, the issuer's log is "
                                    f"{origin}")
            return key, "pinned"
        known = self.memory.log_key(origin)
        source = "remembered"
        if known is None:
            offered = client.log_key()
            if offered.origin != origin:
                raise LogProofError(f"the issuer's log calls itself {offered.origin}, "
                                    f"expected {origin}")
            if verifier_key(origin, offered.public_key) != offered.verifier_key:
                raise LogProofError("the issuer's /ledger/key contradicts itself")
            known = self.memory.remember_key(origin, offered.verifier_key)
            source = "first use"
        _, key = self._parsed_log_key(known)
        return key, source

    def _parsed_log_key(self, text: str) -> tuple[str, Ed25519PublicKey]:
        """``parse_verifier_key``, once per key text (every credential needs its log key)."""
        with self._cache_lock:
            found = self._log_keys.get(text)
        if found is None:
            found = parse_verifier_key(text)
            with self._cache_lock:
                self._log_keys[text] = found
        return found

    def _prove_anchor(self, client: IssuerClient, leaf: bytes, issuer: str,
                      moment: datetime) -> tuple[Check, LedgerAnchor | None]:
        origin = ledger_origin_for_base_url(client.base_url)
        key, source = self._log_key(client, issuer, origin)
        evidence = self._batcher(client, origin).ask(leaf)
        previous = evidence.previous
        checkpoint = self._open_note(evidence.note, key, origin)
        proof = evidence.inclusion
        if proof is None:
            raise LogProofError(f"the issuer's ledger does not hold this credential in its "
                                f"checkpoint of size {checkpoint.tree_size}")
        if proof.tree_size != checkpoint.tree_size or proof.leaf_hash != leaf:
            raise LogProofError("the inclusion proof is not for this credential at the "
                                "served checkpoint")
        proof.verify(checkpoint.root_hash)
        consistent = ""
        if previous is not None:
            path = evidence.consistency.consistency_path if evidence.consistency else ()
            if evidence.consistency is not None and (
                    evidence.consistency.first != previous[1]
                    or evidence.consistency.second != checkpoint.tree_size):
                raise LogProofError("the consistency proof is for other tree sizes")
            _check_extends(self._open_note(previous[0], key, origin), checkpoint, path)
            consistent = f", consistent with the checkpoint of size {previous[1]} seen before"
        self.memory.remember(origin, evidence.note, checkpoint.tree_size)
        where = LedgerAnchor(origin, proof.leaf_index, checkpoint.tree_size, moment, source,
                             previous[1] if previous else None)
        return passed("ledger", f"leaf {proof.leaf_index} of {origin}, included in its fresh "
                                f"checkpoint of size {checkpoint.tree_size}{consistent} "
                                f"(log key: {source})"), where

    def _batcher(self, client: IssuerClient, origin: str) -> _EvidenceBatcher:
        with self._lock:
            found = self._batchers.get(client.base_url)
            if found is None:
                found = self._batchers[client.base_url] = _EvidenceBatcher(
                    client, self.memory, origin)
        return found

    def _open_note(self, note: str, key: Ed25519PublicKey, origin: str) -> Checkpoint:
        """A checkpoint note opened with the log key; each (note, key) is checked once."""
        cache_key = (note, key.public_bytes_raw(), origin)
        with self._cache_lock:
            found = self._notes.get(cache_key)
        if found is None:
            found = open_checkpoint(note, key, origin=origin)
            with self._cache_lock:
                self._notes[cache_key] = found
        return found

    # -- consented release -------------------------------------------------------------------
    def fetch_with_consent(self, consent_vp: str, issuer_url: str, credential_id: str, *,
                           api_key: str) -> ConsentedCredential:
        """Ask the issuer at ``issuer_url`` to release ``credential_id`` under the holder's
        consent (a vp+jwt naming this employer), authenticating with ``api_key``.

        The released credential is verified and its receipt checked against the issuer's
        log key. Raises :class:`TransportError` when the issuer refuses (``.status``,
        ``.error_type``: e.g. 403 ``Expired`` for an expired consent) or is unreachable,
        :class:`PolicyError` when it releases another credential than the one asked for.
        """
        from .credentials import verify_credential

        if isinstance(self._http, httpx.Client):
            client = IssuerClient(issuer_url, http=self._http, api_key=api_key)
        else:
            client = IssuerClient(issuer_url, timeout=self.timeout, api_key=api_key)
        with client:
            answer = client.release(consent_vp)
            released = answer.get("credential")
            if not isinstance(released, dict | str):
                raise MalformedDocumentError("the issuer released no credential")
            result = verify_credential(released, resolver=self.resolver(), now=self._moment())
            found = (result.credential or {}).get("id")
            if found != credential_id or answer.get("credentialId") != credential_id:
                raise PolicyError(f"asked for {credential_id}, the issuer released {found}")
            receipt = answer["receipt"]
            try:
                origin = ledger_origin_for_base_url(client.base_url)
                key, _ = self._log_key(client, result.issuer or "", origin)
                anchor.verify_receipt(released, receipt, key)
                anchored = passed("ledger", f"leaf {receipt.leaf_index} of {origin} "
                                            f"(tree size {receipt.tree_size})")
            except (LogProofError, MalformedDocumentError, TransportError) as exc:
                anchored = failed("ledger", str(exc))
        return ConsentedCredential(credential_id, str(answer["state"]), result, anchored,
                                   answer)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _check_extends(old: Checkpoint, new: Checkpoint, path: Sequence[bytes]) -> None:
    """The newer tree extends the older one; InconsistentLog for a rewritten or forked log."""
    if new.tree_size < old.tree_size:
        raise InconsistentLog(f"the log shrank from {old.tree_size} to {new.tree_size} leaves")
    if old.tree_size == 0:
        return  # every tree extends the empty one
    try:
        ConsistencyProof(old.tree_size, new.tree_size, tuple(path)).verify(
            old.root_hash, new.root_hash)
    except RootMismatch as exc:
        raise InconsistentLog(f"the checkpoint of size {new.tree_size} does not extend the one "
                              f"of size {old.tree_size} seen before: {exc}") from None


def _type_name(result: CredentialResult) -> str | None:
    if result.credential is None:
        return None
    found = detect_type(result.credential)
    if found is not None:
        return found.name
    for vct in result.types:
        name = vct.removeprefix(_VCT_PREFIX)
        if vct.startswith(_VCT_PREFIX) and name in CREDENTIAL_TYPES:
            return name
    return None


def _issuer_name(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    name = issuer.get("name") if isinstance(issuer, dict) else None
    return name if isinstance(name, str) else None


def _merged(result: CredentialResult, checks: list[Check]) -> CredentialResult:
    return dataclasses.replace(result, checks=tuple(checks), verified=all_hold(checks))


def _flags(results: list[StatusResult]) -> tuple[bool | None, bool | None]:
    def flag(purpose: str) -> bool | None:
        mine = [r for r in results if r.purpose == purpose]
        if not mine:
            return False if results else None
        if any(r.outcome is StatusOutcome.SET for r in mine):
            return True
        return False if all(r.outcome is StatusOutcome.CLEAR for r in mine) else None

    return flag("revocation"), flag("suspension")

