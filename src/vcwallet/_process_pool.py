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
own template and leaf-hash caches. Workers are plain child interpreters
(``python -m vcwallet._process_pool``) on a socket pair, see :class:`_Worker`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import queue
import site
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
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
    and the leaf hashes of its credentials that verified: from the digest the signature
    check worked out when it did (Data Integrity, vc+jwt), else ``leaf_hash(secured form)``."""
    from . import anchor
    from .ledger import leaf_hash as rfc9162_leaf_hash
    from .presentations import verify_presentation

    result = verify_presentation(vp, challenge=challenge, domain=domain, resolver=resolver,
                                 now=now)
    if not all_hold(result.checks) or not result.credentials:
        return OfflineOutcome(result, ())
    items: list[Any] | None = None  # the secured forms, read again only if a leaf needs them
    leaves: list[bytes | str] = []
    for number, found in enumerate(result.credentials):
        try:
            if not found.verified:
                leaves.append("not worked out: the credential does not verify")
            elif found.signed_digest is not None and found.credential is not None:
                leaves.append(rfc9162_leaf_hash(anchor.leaf_record_of(
                    found.format, found.credential, found.signed_digest)))
            else:
                if items is None:
                    items = secured_items(vp, result.format)
                leaves.append(leaf_hash(items[number]))
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
    """Leaf hashes worked out from the secured form (vc+cose, SD-JWT: the signature checks
    that leave no ``signed_digest``), remembered by the credential's exact bytes."""

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
def _serve(connection: Connection) -> None:
    """A worker's life: read its settings, build its state, then answer pickled requests
    until told to stop (an empty message) or the caller goes away."""
    from .verifier import Verifier

    settings: WorkerSettings = pickle.loads(connection.recv_bytes())
    # a verifier of our own only for its did:web resolver (no thread pool is used here)
    helper = Verifier(resolver=settings.resolver, timeout=settings.timeout,
                      did_cache_ttl=settings.did_cache_ttl,
                      loopback_http=settings.loopback_http, max_workers=1)
    leaves = LeafHashes()
    while True:
        try:
            request = connection.recv_bytes()
        except (EOFError, OSError):
            return
        if not request:
            return
        asked = pickle.loads(request)
        answer = True if asked is None else _answer(helper, leaves, *asked)
        connection.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def _answer(helper: Any, leaves: LeafHashes, vp: Any, challenge: str, domain: str,
            now: datetime) -> OfflineOutcome | _Refusal:
    try:
        return offline_outcome(vp, challenge, domain, helper.resolver(), now, leaves)
    except VcwalletError as exc:  # by class name: not every error pickles with its fields
        return _Refusal(type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not kill the worker silently
        return _Refusal("", f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class _Refusal:
    kind: str  # a vcwallet.errors class name, or "" for an unexpected error
    message: str

    def exception(self) -> VcwalletError:
        kind = getattr(errors, self.kind, None) if self.kind else None
        if isinstance(kind, type) and issubclass(kind, VcwalletError):
            try:
                return kind(self.message)
            except TypeError:  # an error whose constructor wants its evidence fields
                pass
        return VcwalletError(f"the verification worker failed: {self.message}")


# -- the calling side --------------------------------------------------------------------------
def _child_env() -> dict[str, str]:
    """The environment of a worker: ours, and where this copy of vcwallet lives unless it
    is installed in site-packages (which the child finds by itself; putting site-packages
    on PYTHONPATH would let its packages shadow the standard library)."""
    root = Path(__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if root in installed:
        return dict(os.environ)
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


class _Worker:
    """One worker process and the socket to it (used by one thread at a time).

    A plain ``python -m vcwallet._process_pool FD`` child, not a multiprocessing one:
    ``spawn`` would import the caller's ``__main__`` again in every worker (running an
    unguarded script's top level twice), and ``fork`` copies the caller's threads' locks."""

    def __init__(self, settings: WorkerSettings) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vcwallet._process_pool", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=_child_env())
        self.connection = Connection(ours.detach())
        self.connection.send_bytes(pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL))

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, request: bytes) -> Any:
        self.connection.send_bytes(request)
        return pickle.loads(self.connection.recv_bytes())

    def stop(self) -> None:
        try:
            self.connection.send_bytes(b"")
        except OSError:
            pass
        self.connection.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WorkerPool:
    """``processes`` worker processes doing offline verifications (started on first use).

    Each worker has its own pipe; a calling thread takes an idle worker, sends the
    pickled request and waits for the answer (no queue-feeding threads in between). A
    worker that dies (killed, out of memory) is replaced and the verification is tried once
    more on the new one; a second death raises :class:`~vcwallet.errors.VcwalletError`.
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
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._closed = False

    def start(self) -> None:
        """Start the workers now and wait until each answers (else the first
        verifications wait for them)."""
        self._started()
        taken = [self._idle.get() for _ in range(self.processes)]
        try:
            for worker in taken:
                worker.ask(pickle.dumps(None))
        finally:
            for worker in taken:
                self._idle.put(worker)

    def verify(self, vp: Any, challenge: str, domain: str, now: datetime) -> OfflineOutcome:
        self._started()
        request = pickle.dumps((vp, challenge, domain, now), protocol=pickle.HIGHEST_PROTOCOL)
        worker = self._idle.get()
        try:
            try:
                answer = worker.ask(request)
            except (EOFError, OSError):
                worker = self._replace(worker)
                try:
                    answer = worker.ask(request)
                except (EOFError, OSError):
                    worker = self._replace(worker)
                    raise VcwalletError("the verification worker process died twice in a "
                                        "row") from None
        finally:
            self._idle.put(worker)
        if isinstance(answer, _Refusal):
            raise answer.exception()
        return answer

    def pids(self) -> list[int]:
        """The workers' process ids (for measuring their CPU)."""
        with self._lock:
            return [w.pid for w in self._all]

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._closed = self._all, [], True
        for worker in workers:
            worker.stop()

    def _started(self) -> None:
        with self._lock:
            if self._closed:
                raise ValueError("the verifier is closed")
            if self._all:
                return
            self._all = [_Worker(self._settings) for _ in range(self.processes)]
            for worker in self._all:
                self._idle.put(worker)

    def _replace(self, dead: _Worker) -> _Worker:
        dead.connection.close()
        dead.process.kill()
        dead.process.wait()
        with self._lock:
            if self._closed:  # closed under a running verification: start nothing new
                raise VcwalletError("the verifier was closed during the verification")
            fresh = _Worker(self._settings)
            self._all = [fresh if w is dead else w for w in self._all]
        return fresh


if __name__ == "__main__":  # a worker: python -m vcwallet._process_pool FD
    # through the imported module, so what it pickles names vcwallet._process_pool, not
    # __main__
    from vcwallet._process_pool import _serve as serve

    serve(Connection(int(sys.argv[1])))
