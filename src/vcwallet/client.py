"""The employer's (and anyone's) HTTP client for one issuer's service.

:class:`IssuerClient` speaks to the routes of :mod:`vcwallet.service` over a small pool
of keep-alive HTTP/1.1 connections of its own (so a verifier's round trips to an issuer
cost a request each, not a TCP handshake each, and little CPU: it writes requests and reads
answers itself, for about a third of ``http.client``'s CPU per loopback request and a
tenth of httpx's). An ``httpx.Client`` may be injected instead (pass ``http=`` to share one
between clients, or ``transport=`` for tests and proxies).

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
import contextlib
import re
import socket
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


class _BadAnswer(Exception):
    """What came back is not an HTTP/1.1 answer (status line, header, framing)."""


class _RemoteClosed(ConnectionError):
    """The server closed the connection before it answered (a keep-alive connection it had
    meanwhile dropped, when the connection was reused)."""


# what a keep-alive connection the server has meanwhile closed fails with
_STALE = (_RemoteClosed, ConnectionResetError, BrokenPipeError)
# no answer: the network, the protocol, or (ValueError) a request that cannot be sent
_NO_ANSWER = (OSError, _BadAnswer, ValueError)

_RECV = 65536
_MAX_HEAD = 65536  # status line and header fields together
_MAX_FIELDS = 100
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,15}")
_NO_BODY = frozenset({204, 304})
# what may not be sent: a control character in the request target, CR / LF / NUL in a field
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_BAD_FIELD = re.compile(r"[\r\n\x00]")
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class _Connection:
    """One HTTP/1.1 connection: a (TLS) socket and the bytes read past the last answer."""

    __slots__ = ("pending", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _KeepAlive:
    """HTTP/1.1 to one host over a small pool of keep-alive sockets (a connection is taken
    for a request and put back once its answer is read in full, so short-lived threads
    leave nothing behind). https uses the default, verifying SSL context.

    The request is written and the answer read here, not by ``http.client``, whose header
    parsing (``email.parser``) costs more CPU than the rest of a loopback round trip: a
    status line, header fields, then a body framed by Content-Length, chunked coding or
    the end of the connection. Raises :class:`_Failed` when no answer came (or no HTTP
    answer), MalformedDocumentError for an answer over ``max_bytes``."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host, self._port = parts.hostname or "", parts.port
        tls = parts.scheme == "https"
        self._address = (self._host, self._port or (443 if tls else 80))
        self._host_field = _host_field(self._host, self._port, 443 if tls else 80)
        self._timeout = timeout
        self._context = ssl.create_default_context() if tls else None
        self._idle: list[_Connection] = []
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
        try:
            request = self._request_bytes(method, target, body, headers)
            connection, reused = self._take()
        except _NO_ANSWER as exc:
            raise _Failed(exc) from None
        try:
            return self._exchange(connection, method, target, request, max_bytes)
        except _STALE as exc:
            if not (retry and reused):
                raise _Failed(exc) from None
        except _NO_ANSWER as exc:
            raise _Failed(exc) from None
        try:  # the server had closed that idle connection: once more on a new one
            return self._exchange(self._connect(), method, target, request, max_bytes)
        except _NO_ANSWER as exc:
            raise _Failed(exc) from None

    def _request_bytes(self, method: str, target: str, body: bytes | None,
                       headers: dict[str, str]) -> bytes:
        """The request as sent; ValueError for a target or field that would break it."""
        if _BAD_TARGET.search(target) or not target.startswith("/"):
            raise ValueError(f"the request target {target[:200]!r} cannot be sent")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_field}",
                 "Accept-Encoding: identity"]
        for name, value in headers.items():
            if not _FIELD_NAME.fullmatch(name) or _BAD_FIELD.search(value):
                raise ValueError(f"the header {name[:100]!r} cannot be sent")
            lines.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")  # non-latin-1: ValueError
        return head + body if body else head

    def _take(self) -> tuple[_Connection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _connect(self) -> _Connection:
        sock = socket.create_connection(self._address, timeout=self._timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _exchange(self, connection: _Connection, method: str, target: str, request: bytes,
                  max_bytes: int) -> _Answer:
        try:
            connection.sock.sendall(request)
            answer, reusable = _read_answer(connection, method, max_bytes)
        except _TooLarge:
            connection.close()
            raise MalformedDocumentError(
                f"{self._origin}{target}: answer is larger than {max_bytes} bytes") from None
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._put_back(connection)
        else:
            connection.close()
        return answer

    def _put_back(self, connection: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()


class _TooLarge(Exception):
    """The answer's body is over the caller's ``max_bytes``."""


def _host_field(host: str, port: int | None, default_port: int) -> str:
    """The Host header for ``host`` (an IPv6 address in brackets, the port unless it is
    the scheme's default, a non-ASCII name in IDNA)."""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    return host if port is None or port == default_port else f"{host}:{port}"


def _read_answer(connection: _Connection, method: str, max_bytes: int
                 ) -> tuple[_Answer, bool]:
    """(the answer, whether the connection may carry another request)."""
    while True:
        status, fields, keep_alive = _read_head(connection)
        if not 100 <= status < 200:
            break
        if status == 101:
            raise _BadAnswer("the server switched protocols")
        # 1xx interim answers (100 Continue, 103 Early Hints) precede the real one
    content_type = fields.get(b"content-type", b"").decode("latin-1")
    if method == "HEAD" or status in _NO_BODY:
        return _Answer(status, content_type, b""), keep_alive and not connection.pending
    coding = fields.get(b"transfer-encoding")
    if coding is not None:
        if coding.rsplit(b",", 1)[-1].strip().lower() == b"chunked":
            content = _read_chunked(connection, max_bytes)
        else:  # another final coding: the body ends with the connection
            return _Answer(status, content_type, _read_to_close(connection, max_bytes)), False
    elif (length := fields.get(b"content-length")) is not None:
        content = _read_length(connection, _content_length(length), max_bytes)
    else:
        return _Answer(status, content_type, _read_to_close(connection, max_bytes)), False
    # bytes past the answer are no answer to anything we sent: do not reuse such a connection
    return _Answer(status, content_type, content), keep_alive and not connection.pending


def _read_head(connection: _Connection) -> tuple[int, dict[bytes, bytes], bool]:
    """(status, header fields by lower-case name, keep-alive) of the next answer."""
    data = connection.pending
    searched = 0
    while (end := _HEAD_END.search(data, searched)) is None and len(data) <= _MAX_HEAD:
        searched = max(0, len(data) - 3)
        more = connection.sock.recv(_RECV)
        if not more:
            if not data:
                raise _RemoteClosed("the server closed the connection without answering")
            raise _BadAnswer("the connection closed in the middle of the answer's header")
        data += more
    if end is None or end.start() > _MAX_HEAD:
        raise _BadAnswer("the answer's header is too long")
    connection.pending = data[end.end():]
    lines = data[:end.start()].split(b"\n")
    version, status = _status_line(lines[0].rstrip(b"\r"))
    if len(lines) > _MAX_FIELDS + 1:
        raise _BadAnswer("the answer has too many header fields")
    fields: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, colon, value = line.rstrip(b"\r").partition(b":")
        if not colon or not name or name != name.strip() or b" " in name or b"\t" in name:
            raise _BadAnswer(f"malformed header field {line[:100]!r}")
        name, value = name.lower(), value.strip()
        if name in fields:
            if name == b"content-length" and fields[name] != value:
                raise _BadAnswer("the answer states two different lengths")
            if name in (b"transfer-encoding", b"connection"):
                value = fields[name] + b", " + value
        fields[name] = value
    tokens = {t.strip() for t in fields.get(b"connection", b"").lower().split(b",")}
    keep_alive = b"close" not in tokens and (version == b"HTTP/1.1" or b"keep-alive" in tokens)
    return status, fields, keep_alive


def _status_line(line: bytes) -> tuple[bytes, int]:
    """(version, status) of ``HTTP/1.x NNN reason``."""
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit() \
            or rest[3:4] not in (b"", b" ") or code[:1] == b"0":
        raise _BadAnswer(f"not an HTTP/1.1 status line: {line[:100]!r}")
    return version, int(code)


def _content_length(value: bytes) -> int:
    if not value.isdigit() or len(value) > 18:
        raise _BadAnswer(f"malformed Content-Length {value[:40]!r}")
    return int(value)


def _recv_more(connection: _Connection) -> bytes:
    more = connection.sock.recv(_RECV)
    if not more:
        raise _BadAnswer("the connection closed in the middle of the answer")
    return more


def _read_length(connection: _Connection, length: int, max_bytes: int) -> bytes:
    if length > max_bytes:
        raise _TooLarge()
    data = connection.pending
    if len(data) < length:
        parts = [data]
        have = len(data)
        while have < length:
            more = _recv_more(connection)
            parts.append(more)
            have += len(more)
        data = b"".join(parts)
    connection.pending = data[length:]
    return data[:length]


def _read_line(connection: _Connection) -> bytes:
    """One CRLF-ended line of chunked framing, without its ending."""
    data = connection.pending
    while (end := data.find(b"\n")) < 0:
        if len(data) > _MAX_HEAD:
            raise _BadAnswer("a chunk header is too long")
        data += _recv_more(connection)
    connection.pending = data[end + 1:]
    return data[:end].rstrip(b"\r")


def _read_chunked(connection: _Connection, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = _read_line(connection).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _BadAnswer(f"malformed chunk size {size_text[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > max_bytes:
            raise _TooLarge()
        parts.append(_read_length(connection, size, size))
        if _read_line(connection):
            raise _BadAnswer("a chunk does not end where its size says")
    fields = 0
    while _read_line(connection):  # trailer fields: read past, not used
        fields += 1
        if fields > _MAX_FIELDS:
            raise _BadAnswer("the answer has too many trailer fields")
    return b"".join(parts)


def _read_to_close(connection: _Connection, max_bytes: int) -> bytes:
    parts, total = [connection.pending], len(connection.pending)
    connection.pending = b""
    while total <= max_bytes:
        more = connection.sock.recv(_RECV)
        if not more:
            return b"".join(parts)
        parts.append(more)
        total += len(more)
    raise _TooLarge()


class IssuerClient:
    """A client for the issuer service at ``base_url`` (``http://127.0.0.1:8443``).

    ``http``: an ``httpx.Client`` to share (not closed by :meth:`close`); or, with
    ``transport`` (tests, proxies), an ``httpx.Client`` is made on it; otherwise requests go
    over this client's own keep-alive connections (``https``: verified TLS). ``timeout``: seconds per
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
