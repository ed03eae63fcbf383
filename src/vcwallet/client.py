"""The employer's (and anyone's) HTTP client for one issuer's service.

:class:`IssuerClient` speaks to the routes of :mod:`vcwallet.service` over one pooled
small keep-alive pool of ``http.client`` connections (so a verifier's round trips to an
issuer cost a request each, not a TCP handshake each, and little CPU: httpx spends about
twice as much per loopback request). An ``httpx.Client`` may be injected instead (pass
``http=`` to share one between clients, or ``transport=`` for tests and proxies).

What it returns is parsed but NOT trusted: checkpoints are note text to verify with the
log's key, proofs are :class:`~vcwallet.ledger.InclusionProof` /
:class:`~vcwallet.ledger.ConsistencyProof` to check against a verified checkpoint, status
lists go to :func:`vcwallet.status.check_status` (``fetch_list=client.status_list``), and
DID documents to :class:`~vcwallet.did.DidResolver` (``fetch=client.fetch``).

Errors: :class:`TransportError` when the issuer is down, times out, answers 5xx, or
refuses (4xx: ``TransportError.status`` and ``.error_type`` say how, from the service's
JSON error);
:class:`MalformedDocumentError` for an answer that is not what the route promises
(garbage, wrong shape, too large). Nothing else escapes.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import _json
from .anchor import Receipt
from .did import did_web_to_url
from .errors import LogProofError, MalformedDocumentError, ResolutionError, TransportError
from .issuer import did_web_for_base_url
from .ledger import ConsistencyProof, InclusionProof

__all__ = ["DEFAULT_TIMEOUT", "IssuerClient", "LedgerEvidence", "LogKey"]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # a 131,072-entry status list is ~1 KiB gzipped: ample
MAX_IDLE = 32  # idle keep-alive connections kept per issuer
# POST routes that change nothing, so a request lost on a stale connection may be sent again
_READ_ONLY_POSTS = frozenset({"/ledger/evidence", "/credentials/verify",
                              "/presentations/verify"})
# what a keep-alive connection the server has meanwhile closed fails with
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
# no answer: the network, the protocol, or (ValueError) a header value http.client cannot send
_NO_ANSWER = (OSError, http.client.HTTPException, ValueError)


@dataclass(frozen=True)
class LogKey:
    """An issuer's ledger identity as its service states it (pin it; do not trust it blindly)."""

    origin: str
    verifier_key: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True)
class LedgerEvidence:
    """One round trip's worth of ledger evidence for one leaf (see ``/ledger/evidence``)."""

    checkpoint: str
    inclusion: InclusionProof
    consistency: ConsistencyProof | None


@dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    content: bytes

    @property
    def text(self) -> str:
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedDocumentError("the answer is not UTF-8 text") from None


class _Failed(Exception):
    """A request that got no answer (``cause`` says why)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(cause)
        self.cause, self.timed_out = cause, isinstance(cause, TimeoutError)


class _KeepAlive:
    """HTTP/1.1 to one host over a small pool of ``http.client`` keep-alive connections
    (a connection is taken for a request and put back once its answer is read in full, so
    short-lived threads leave nothing behind). https uses the default, verifying SSL
    context. Raises :class:`_Failed` when no answer came, MalformedDocumentError for an
    answer over ``max_bytes``."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host, self._port = parts.hostname or "", parts.port
        self._timeout = timeout
        self._context = ssl.create_default_context() if parts.scheme == "https" else None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.close()

    def send(self, method: str, target: str, body: bytes | None, headers: dict[str, str],
             max_bytes: int, *, retry: bool) -> _Answer:
        """One request; ``retry``: it may be sent again when a reused connection turns out
        to have been closed by the server (only for requests that change nothing)."""
        connection, reused = self._take()
        try:
            return self._exchange(connection, method, target, body, headers, max_bytes)
        except _STALE as exc:
            if not (retry and reused):
                raise _Failed(exc) from None
        except _NO_ANSWER as exc:
            raise _Failed(exc) from None
        try:  # the server had closed that idle connection: once more on a new one
            return self._exchange(self._connect(), method, target, body, headers, max_bytes)
        except _NO_ANSWER as exc:
            raise _Failed(exc) from None

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _connect(self) -> http.client.HTTPConnection:
        if self._context is not None:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                               context=self._context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _exchange(self, connection: http.client.HTTPConnection, method: str, target: str,
                  body: bytes | None, headers: dict[str, str], max_bytes: int) -> _Answer:
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read(max_bytes + 1)  # one byte more tells "too large"
            answer = _Answer(response.status, response.getheader("content-type", ""), content)
        except BaseException:
            connection.close()
            raise
        if len(content) > max_bytes:
            connection.close()
            raise MalformedDocumentError(
                f"{self._origin}{target}: answer is larger than {max_bytes} bytes")
        self._put_back(connection, response)
        return answer

    def _put_back(self, connection: http.client.HTTPConnection,
                  response: http.client.HTTPResponse) -> None:
        """Keep the connection for the next request if its answer was read to the end and
        the server keeps it open."""
        if not response.isclosed() or response.will_close:
            connection.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()


class IssuerClient:
    """A client for the issuer service at ``base_url`` (``http://127.0.0.1:8443``).

    ``http``: an ``httpx.Client`` to share (not closed by :meth:`close`); or, with
    ``transport`` (tests, proxies), an ``httpx.Client`` is made on it; otherwise requests go
    over this client's own keep-alive ``http.client`` connections. ``timeout``: seconds per
    connect / read. ``token`` (bearer, for issuing and status changes) and ``api_key`` (an
    employer's, for consented release) are sent only to the routes that need them.
    """

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        token: str | None = None,
        api_key: str | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.did = did_web_for_base_url(self.base_url)
        self.max_bytes = max_bytes
        self._owns_http = http is None
        self._lean = _KeepAlive(self.base_url, timeout) \
            if http is None and transport is None else None
        self._http = http if http is not None or transport is None else httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self._api_key = api_key
        # the https URL prefix did:web resolution asks for, mapped onto base_url
        self._did_prefix = did_web_to_url(self.did).removesuffix("/.well-known/did.json")
        self._did_prefix = self._did_prefix.removesuffix("/did.json")

    @classmethod
    def for_did(cls, did: str, *, scheme: str = "https", **options: Any) -> IssuerClient:
        """The client for the service behind ``did`` (a did:web). ``scheme="http"`` reaches
        a loopback service without TLS at the same host and port."""
        if scheme not in ("http", "https"):
            raise ValueError("scheme must be http or https")
        url = did_web_to_url(did)
        base = url.removesuffix("/.well-known/did.json").removesuffix("/did.json")
        return cls(scheme + base[len("https"):], **options)

    def __repr__(self) -> str:
        return f"IssuerClient({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lean is not None:
            self._lean.close()
        elif self._owns_http and self._http is not None:
            self._http.close()

    # -- plumbing ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 body: Any = None, headers: dict[str, str] | None = None) -> _Answer:
        url = self.base_url + path
        content = None if body is None else _json.dumps(body).encode("utf-8")
        sent = dict(headers or {})
        if content is not None:
            sent["Content-Type"] = "application/json"
        try:
            if self._lean is not None:
                query = "?" + urllib.parse.urlencode(params) if params else ""
                answer = self._lean.send(
                    method, self._prefix + path + query, content, sent, self.max_bytes,
                    retry=method == "GET" or path in _READ_ONLY_POSTS)
            else:
                answer = self._via_httpx(method, url, params, content, sent)
        except _Failed as failed:
            raise _unreachable(url, failed.cause, failed.timed_out) from None
        except httpx.HTTPError as exc:
            raise _unreachable(url, exc, isinstance(exc, httpx.TimeoutException)) from None
        if answer.status >= 400:
            raise self._refusal(url, answer)
        return answer

    def _via_httpx(self, method: str, url: str, params: dict[str, Any] | None,
                   content: bytes | None, headers: dict[str, str]) -> _Answer:
        assert self._http is not None
        with self._http.stream(method, url, params=params, content=content,
                               headers=headers) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise MalformedDocumentError(
                        f"{url}: answer is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
            return _Answer(response.status_code, response.headers.get("content-type", ""),
                           b"".join(chunks))

    def _refusal(self, url: str, response: _Answer) -> TransportError:
        status = response.status
        error_type, message = "", ""
        try:
            found = _json.loads(response.content)
            detail = found.get("error") if isinstance(found, dict) else None
            if isinstance(detail, dict):
                error_type = str(detail.get("type", ""))
                message = str(detail.get("message", ""))[:500]
        except MalformedDocumentError:
            pass
        what = "failed" if status >= 500 else "refused"
        text = f"{url}: the issuer {what} ({status}{' ' + error_type if error_type else ''})"
        return TransportError(f"{text}: {message}" if message else text, status=status,
                      error_type=error_type)

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._request("GET", path, params=params)
        return _object(response.content, self.base_url + path)

    def _post_json(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        response = self._request("POST", path, body=body, headers=headers)
        return _object(response.content, self.base_url + path)

    # -- did:web ---------------------------------------------------------------------------------
    def did_document(self) -> dict[str, Any]:
        """The issuer's ``/.well-known/did.json`` (unverified JSON; resolve through
        ``DidResolver(fetch=client.fetch)`` to have it checked)."""
        return self._get_json("/.well-known/did.json")

    def fetch(self, url: str) -> bytes:
        """A ``fetch(url) -> bytes`` for :class:`~vcwallet.did.DidResolver`: the https URL
        did:web resolution derives for this issuer is fetched from ``base_url`` (so a
        loopback service without TLS resolves). URLs of other hosts are refused."""
        if not isinstance(url, str) or not (url == self._did_prefix
                                             or url.startswith(self._did_prefix + "/")):
            raise ResolutionError(f"{self.base_url} does not serve {str(url)[:200]}")
        path = url[len(self._did_prefix):]
        return self._request("GET", path, headers={
            "Accept": "application/did+json, application/json"}).content

    # -- status lists ------------------------------------------------------------------------------
    def status_list(self, url: str) -> dict[str, Any] | str:
        """A ``fetch_list(url)`` for :func:`vcwallet.status.check_status`: the status list
        credential at ``url``, which must be under this issuer's ``base_url``."""
        if not isinstance(url, str) or not url.startswith(self.base_url + "/"):
            raise TransportError(f"{self.base_url} does not serve the status list {str(url)[:200]}")
        response = self._request("GET", url[len(self.base_url):])
        if "jwt" in response.content_type:
            return response.text.strip()
        return _object(response.content, url)

    # -- ledger --------------------------------------------------------------------------------------
    def checkpoint(self) -> str:
        """The latest signed checkpoint note (verify it with the log's key)."""
        text = self._request("GET", "/ledger/checkpoint").text
        if not text.endswith("\n") or "\n\n" not in text:
            raise MalformedDocumentError(f"{self.base_url}: the checkpoint is not a signed note")
        return text

    def log_key(self) -> LogKey:
        """The ledger's origin and public key, as the service states them."""
        found = self._get_json("/ledger/key")
        origin, vkey, raw = found.get("origin"), found.get("verifierKey"), found.get("publicKey")
        if not all(isinstance(v, str) for v in (origin, vkey, raw)):
            raise MalformedDocumentError(f"{self.base_url}: /ledger/key has the wrong shape")
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(raw), validate=True))
        except ValueError:
            raise MalformedDocumentError(f"{self.base_url}: the ledger key is not Ed25519") \
                from None
        return LogKey(str(origin), str(vkey), key)

    def inclusion_proof(self, leaf_hash: bytes, tree_size: int | None = None
                        ) -> tuple[InclusionProof, str | None]:
        """(inclusion proof, checkpoint note): without ``tree_size`` the proof is against the
        latest checkpoint, whose note comes with it; with one, the note is ``None``."""
        params: dict[str, Any] = {"leaf_hash": bytes(leaf_hash).hex()}
        if tree_size is not None:
            params["tree_size"] = tree_size
        found = self._get_json("/ledger/inclusion", params)
        note = found.get("checkpoint")
        if note is not None and not isinstance(note, str):
            raise MalformedDocumentError(f"{self.base_url}: checkpoint must be note text")
        return _parse(InclusionProof, found.get("proof"), self.base_url), note

    def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        found = self._get_json("/ledger/consistency", {"first": first, "second": second})
        return _parse(ConsistencyProof, found, self.base_url)

    def evidence(self, leaf_hash: bytes, *, since: int = 0) -> LedgerEvidence:
        """The latest checkpoint, the leaf's inclusion proof against it and, when ``since``
        (a tree size seen before) is given, a consistency proof from it: one round trip."""
        found = self._get_json("/ledger/evidence",
                               {"leaf_hash": bytes(leaf_hash).hex(), "since": since})
        note = found.get("checkpoint")
        if not isinstance(note, str):
            raise MalformedDocumentError(f"{self.base_url}: evidence without a checkpoint")
        consistency = found.get("consistency")
        return LedgerEvidence(
            note, _parse(InclusionProof, found.get("inclusion"), self.base_url),
            None if consistency is None else _parse(ConsistencyProof, consistency,
                                                    self.base_url))

    def evidence_many(self, leaf_hashes: list[bytes], *, since: int = 0
                      ) -> tuple[str, list[InclusionProof | None], ConsistencyProof | None]:
        """``evidence`` for many leaves in one round trip (``POST /ledger/evidence``):
        (checkpoint note, one inclusion proof or ``None`` per leaf, consistency proof)."""
        found = self._post_json("/ledger/evidence", {
            "leafHashes": [bytes(h).hex() for h in leaf_hashes], "since": since}, {})
        note, proofs = found.get("checkpoint"), found.get("inclusions")
        if not isinstance(note, str) or not isinstance(proofs, list) \
                or len(proofs) != len(leaf_hashes):
            raise MalformedDocumentError(f"{self.base_url}: batch evidence has the wrong shape")
        consistency = found.get("consistency")
        return (note, [None if p is None else _parse(InclusionProof, p, self.base_url)
                       for p in proofs],
                None if consistency is None else _parse(ConsistencyProof, consistency,
                                                        self.base_url))

    # -- issuing (bearer token) ---------------------------------------------------------------
    def _bearer(self) -> dict[str, str]:
        if not self._token:
            raise ValueError("this client has no token for issuing")
        return {"Authorization": f"Bearer {self._token}"}

    def issue(self, type_name: str, subject: dict[str, Any], *, format: str = "di-eddsa",
              holder: str | None = None, valid_until: datetime | None = None
              ) -> tuple[dict[str, Any] | str, Receipt]:
        """Ask the issuer to issue; (credential in its wire form, receipt)."""
        body = _issue_body(type_name, subject, format, holder, valid_until)
        return self._issued(self._post_json("/credentials/issue", body, self._bearer()))

    def issue_many(self, requests: list[tuple[str, dict[str, Any], str]]
                   ) -> list[tuple[dict[str, Any] | str, Receipt]]:
        """Issue ``(type, subject, format)`` requests as one batch (one ledger transaction and
        checkpoint on the issuer's side); (credential, receipt) for each, in order."""
        items = [_issue_body(t, s, f, None, None) for t, s, f in requests]
        found = self._post_json("/credentials/issue-batch", {"items": items}, self._bearer())
        issued = found.get("issued")
        if not isinstance(issued, list) or len(issued) != len(items):
            raise MalformedDocumentError(f"{self.base_url}: batch answer has the wrong shape")
        return [self._issued(one) for one in issued]

    def _issued(self, found: Any) -> tuple[dict[str, Any] | str, Receipt]:
        issued = found.get("verifiableCredential") if isinstance(found, dict) else None
        if not isinstance(issued, dict | str):
            raise MalformedDocumentError(f"{self.base_url}: issue answered without a credential")
        return issued, _receipt(found.get("receipt"), self.base_url)

    def set_status(self, credential_id: str, status: str) -> dict[str, Any]:
        """``status``: ``revoked``, ``suspended`` or ``active``; the service's answer."""
        return self._post_json("/credentials/status",
                               {"credentialId": credential_id, "status": status}, self._bearer())

    # -- verification and consent --------------------------------------------------------------
    def verify_credential(self, credential: dict[str, Any] | str) -> dict[str, Any]:
        """The issuer's own verification report of ``credential`` (VC API)."""
        return self._post_json("/credentials/verify", {"verifiableCredential": credential}, {})

    def release(self, consent: str) -> dict[str, Any]:
        """Present a holder's consent (vp+jwt) with this client's employer API key; the
        issuer's answer: credential, its state (active / revoked / suspended), a receipt."""
        if not self._api_key:
            raise ValueError("this client has no employer API key")
        found = self._post_json("/consent/credential", {"consent": consent},
                                {"X-API-Key": self._api_key})
        if not isinstance(found.get("state"), str) or "credential" not in found:
            raise MalformedDocumentError(f"{self.base_url}: consent answer has the wrong shape")
        found["receipt"] = _receipt(found.get("receipt"), self.base_url)
        return found


def _unreachable(url: str, cause: BaseException, timed_out: bool) -> TransportError:
    """The one wording of "no answer", whichever HTTP stack failed."""
    if timed_out:
        return TransportError(f"{url}: the issuer did not answer in time")
    return TransportError(f"{url}: cannot reach the issuer ({type(cause).__name__}: {cause})")


def _issue_body(type_name: str, subject: dict[str, Any], format: str, holder: str | None,
                valid_until: datetime | None) -> dict[str, Any]:
    credential: dict[str, Any] = {"credentialSubject": subject}
    if valid_until is not None:
        credential["validUntil"] = valid_until.isoformat()
    options: dict[str, Any] = {"credentialType": type_name, "format": format}
    if holder is not None:
        options["holder"] = holder
    return {"credential": credential, "options": options}


def _object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        found = _json.loads(raw)
    except MalformedDocumentError as exc:
        raise MalformedDocumentError(f"{where}: the answer is not strict JSON ({exc})") from None
    if not isinstance(found, dict):
        raise MalformedDocumentError(f"{where}: the answer is not a JSON object")
    return found


def _parse(kind: Any, value: Any, where: str) -> Any:
    try:
        return kind.from_json(value)
    except LogProofError as exc:
        raise MalformedDocumentError(f"{where}: malformed proof ({exc})") from None


def _receipt(value: Any, where: str) -> Receipt:
    try:
        return Receipt.from_json(value)
    except MalformedDocumentError as exc:
        raise MalformedDocumentError(f"{where}: {exc}") from None
