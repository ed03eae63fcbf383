"""The offline half of an online verification, in worker processes (private helper of
``verifier``).

Verifying a presentation is CPU work in pure Python (RDFC-1.0, JSON Schema, signature
checks) and holds the GIL; the online half (status lists, ledger round trips) mostly waits
on sockets. So :class:`~vcwallet.verifier.Verifier` can send the offline half, and the
credentials' leaf hashes, to ``processes`` worker processes and keep the online half (its
HTTP clients, checkpoint memory, batching) in the calling process, where several
verifications share them.

Each worker builds its own verifier-side state once: a did:web resolver that fetches only
from the host a DID names (or the resolver the caller gave, which must pickle), and its
own template and leaf-hash caches. Workers are started with ``spawn``: forking a process
that runs threads (the verifier's pool, a web server's) can copy a held lock.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import LRUCache

from . import _json, errors
from .errors import MalformedDocumentError, VcwalletError
from .model import PresentationResult, all_hold

__all__ = ["LeafHashes", "OfflineOutcome", "WorkerPool", "WorkerSettings", "offline_outcome",
           "secured_items"]

MAX_REMEMBERED_LEAVES = 4096


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to build its resolver (everything here pickles)."""

    resolver: Any  # the caller's resolver, or None: did:web from the DID's own host
    timeout: float
    did_cache_ttl: float
    loopback_http: bool


@dataclass(frozen=True)
class OfflineOutcome:
    """The presentation's offline result and each credential's leaf hash (``leaves[i]`` is
    a hash, or the message of why credential ``i`` has none); the leaves are only worked
    out for a presentation whose own checks hold."""

    result: PresentationResult
    leaves: tuple[bytes | str, ...]


def offline_outcome(vp: Any, challenge: str, domain: str, resolver: Any, now: datetime,
                    leaf_hash: Any) -> OfflineOutcome:
    """The offline checks of ``vp`` (as :func:`vcwallet.presentations.verify_presentation`)
    and its credentials' leaf hashes (``leaf_hash(secured form) -> bytes``)."""
    from .presentations import verify_presentation

    result = verify_presentation(vp, challenge=challenge, domain=domain, resolver=resolver,
                                 now=now)
    if not all_hold(result.checks) or not result.credentials:
        return OfflineOutcome(result, ())
    leaves: list[bytes | str] = []
    for item in secured_items(vp, result.format):
        try:
            leaves.append(leaf_hash(item))
        except MalformedDocumentError as exc:
            leaves.append(str(exc))
    return OfflineOutcome(result, tuple(leaves))


def secured_items(vp: dict[str, Any] | str | bytes, kind: str) -> list[Any]:
    """Each credential of an already verified presentation in its secured form."""
    from . import jose
    from .presentations import ENVELOPED_TYPE, open_envelope

    if isinstance(vp, dict):
        document = vp
    else:
        text = vp.decode("utf-8") if isinstance(vp, bytes) else vp
        text = text.strip().lstrip("\ufeff")
        document = _json.loads(text) if kind == "di" else jose.unverified_payload(text)
    entries = document.get("verifiableCredential", [])
    entries = entries if isinstance(entries, list) else [entries]
    items: list[Any] = []
    for entry in entries:
        types = entry.get("type") if isinstance(entry, dict) else None
        if types == ENVELOPED_TYPE or (isinstance(types, list) and ENVELOPED_TYPE in types):
            items.append(open_envelope(entry)[1])
        else:
            items.append(entry)
    return items


class LeafHashes:
    """Leaf hashes remembered by the credential's exact bytes: for Data Integrity a leaf
    hash costs an RDFC-1.0 canonicalisation, and employers see the same credential often."""

    def __init__(self, size: int = MAX_REMEMBERED_LEAVES) -> None:
        self._lock = threading.Lock()
        self._known: LRUCache[bytes, bytes] = LRUCache(maxsize=size)

    def __call__(self, item: Any) -> bytes:
        from . import anchor

        raw = _json.dumps(item).encode("utf-8") if isinstance(item, dict) else (
            item.encode("utf-8") if isinstance(item, str) else bytes(item))
        digest = hashlib.sha256(raw).digest()
        with self._lock:
            found = self._known.get(digest)
        if found is None:
            found = anchor.credential_leaf_hash(item)
            with self._lock:
                self._known[digest] = found
        return found


# -- the worker side -------------------------------------------------------------------------
_worker: tuple[Any, LeafHashes] | None = None  # this worker process's (verifier, leaf hashes)


def _start_worker(settings: WorkerSettings) -> None:
    global _worker
    from .verifier import Verifier

    # a verifier of our own only for its did:web resolver (no thread pool is used here)
    helper = Verifier(resolver=settings.resolver, timeout=settings.timeout,
                      did_cache_ttl=settings.did_cache_ttl,
                      loopback_http=settings.loopback_http, max_workers=1)
    _worker = (helper, LeafHashes())


def _run(vp: Any, challenge: str, domain: str, now: datetime) -> OfflineOutcome | _Refusal:
    assert _worker is not None, "the worker was not started"
    helper, leaves = _worker
    try:
        return offline_outcome(vp, challenge, domain, helper.resolver(), now, leaves)
    except VcwalletError as exc:  # the class by name: not every error pickles with its fields
        return _Refusal(type(exc).__name__, str(exc))


@dataclass(frozen=True)
class _Refusal:
    kind: str
    message: str

    def exception(self) -> VcwalletError:
        kind = getattr(errors, self.kind, None)
        if isinstance(kind, type) and issubclass(kind, VcwalletError):
            try:
                return kind(self.message)
            except TypeError:  # an error whose constructor wants its evidence fields
                pass
        return MalformedDocumentError(self.message)


def _ready() -> bool:
    return _worker is not None


# -- the calling side --------------------------------------------------------------------------
class WorkerPool:
    """``processes`` worker processes doing offline verifications (started on first use).

    A pool whose workers die (killed, out of memory) is started afresh once per
    verification; a second death raises :class:`~vcwallet.errors.VcwalletError`.
    """

    def __init__(self, processes: int, settings: WorkerSettings) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        try:
            pickle.dumps(settings)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means the same
            raise ValueError(f"processes need a resolver that pickles: {exc}") from None
        self.processes = processes
        self._settings = settings
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers now (else the first verification waits for them)."""
        executor = self._running()
        for future in [executor.submit(_ready) for _ in range(self.processes)]:
            future.result()

    def verify(self, vp: Any, challenge: str, domain: str, now: datetime) -> OfflineOutcome:
        for attempt in (1, 2):
            executor = self._running()
            try:
                answer = executor.submit(_run, vp, challenge, domain, now).result()
            except BrokenProcessPool:
                self._discard(executor)
                if attempt == 2:
                    raise VcwalletError("the verification worker processes died twice "
                                        "in a row") from None
                continue
            if isinstance(answer, _Refusal):
                raise answer.exception()
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(self._settings,))
            return self._executor

    def _discard(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)
