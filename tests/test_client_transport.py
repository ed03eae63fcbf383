"""IssuerClient's own keep-alive HTTP/1.1 against small loopback servers that misbehave on
purpose: connections closed between requests or in the middle of an answer, answers too
large, malformed, chunked or cut into small segments, no answer. Also the same refusals
through an injected ``httpx.Client``. No mocked HTTP."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vcwallet.client import IssuerClient
from vcwallet.errors import MalformedDocumentError, TransportError

EVIDENCE: dict[str, Any] = {"checkpoint": "x\n\n— sig\n", "inclusions": [], "consistency": None}


class _Server(socketserver.ThreadingTCPServer):
    """A raw HTTP/1.1 server on loopback: records every request it reads, answers
    ``answer`` as JSON, and (``close_after``) drops the connection after each answer
    without saying so, as a server whose keep-alive timeout expired does."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: Any, *, close_after: bool, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = json.dumps(answer).encode("utf-8")
        self.status, self.close_after = status, close_after
        self.seen: list[tuple[str, str]] = []
        self.connections = 0
        self.raw: list[bytes] = []
        self.dribble = False
        self.requests: list[tuple[dict[str, str], bytes]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.server.connections += 1
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            length, fields = 0, {}
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                fields[name.strip().lower()] = value.strip()
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.server.requests.append((fields, self.rfile.read(length)))
            self.server.seen.append((method, target))
            if self.server.raw:  # answers written byte for byte, one per request
                raw = self.server.raw.pop(0)
                step = 7 if self.server.dribble else len(raw)  # dribble: in small segments
                for at in range(0, len(raw), step):
                    self.wfile.write(raw[at:at + step])
                    self.wfile.flush()
                    if self.server.dribble:
                        time.sleep(0.001)
                framed = b"Content-Length" in raw or b"chunked" in raw
                if not self.server.raw or b"Connection: close" in raw or not framed:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                continue
            body = self.server.answer
            self.wfile.write(f"HTTP/1.1 {self.server.status} X\r\nContent-Type: application/json"
                             f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            self.wfile.flush()
            if self.server.close_after:
                self.connection.shutdown(socket.SHUT_RDWR)
                return


@contextlib.contextmanager
def _serve(answer: Any, *, close_after: bool = False, status: int = 200,
           tls: ssl.SSLContext | None = None) -> Iterator[_Server]:
    server = _Server(answer, close_after=close_after, status=status)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def steady() -> Iterator[_Server]:
    with _serve({"origin": "o"}) as server:
        yield server


@pytest.fixture
def forgetful() -> Iterator[_Server]:
    with _serve(EVIDENCE, close_after=True) as server:
        yield server


def test_requests_share_one_keep_alive_connection(steady: _Server) -> None:
    with IssuerClient(steady.base_url) as client:
        for _ in range(5):
            assert client.did_document() == {"origin": "o"}
    assert steady.connections == 1
    assert steady.seen == [("GET", "/.well-known/did.json")] * 5


def test_query_and_base_path_reach_the_server(steady: _Server) -> None:
    with IssuerClient(steady.base_url + "/issuer/") as client, \
            pytest.raises(MalformedDocumentError):
        client.consistency_proof(1, 2)  # the answer is no proof: refused, but it was asked
    assert steady.seen == [("GET", "/issuer/ledger/consistency?first=1&second=2")]


def test_a_read_only_request_is_sent_again_on_a_stale_connection(forgetful: _Server) -> None:
    with IssuerClient(forgetful.base_url) as client:
        for _ in range(3):
            assert client.evidence_many([], since=0)[0] == EVIDENCE["checkpoint"]
    assert forgetful.seen == [("POST", "/ledger/evidence")] * 3
    assert forgetful.connections == 3


def test_issuing_is_never_sent_twice(forgetful: _Server) -> None:
    with IssuerClient(forgetful.base_url, token="t" * 20) as client:
        with pytest.raises(MalformedDocumentError):  # reached the server: no credential in it
            client.issue("diploma", {"name": "홍길동"})
        with pytest.raises(TransportError, match="cannot reach"):
            client.issue("diploma", {"name": "홍길동"})  # the stale connection: not re-sent
        # a fresh connection reaches it again
        assert client.set_status("urn:uuid:x", "revoked") == EVIDENCE
        with pytest.raises(TransportError, match="cannot reach"):
            client.set_status("urn:uuid:x", "revoked")  # nor is a status change re-sent
    assert forgetful.seen == [("POST", "/credentials/issue"), ("POST", "/credentials/status")]


def test_answers_over_max_bytes_are_refused_and_the_connection_dropped() -> None:
    with _serve({"big": "가" * 3000}) as server:
        with IssuerClient(server.base_url, max_bytes=4096) as client:
            for _ in range(2):
                with pytest.raises(MalformedDocumentError, match="larger than 4096"):
                    client.did_document()
        assert server.connections == 2  # a half-read answer leaves its connection unusable


def test_a_header_that_cannot_be_sent_is_a_transport_error(steady: _Server) -> None:
    with IssuerClient(steady.base_url, token="token\r\nX-Injected: 1") as client, \
            pytest.raises(TransportError, match="cannot reach"):
        client.set_status("urn:uuid:x", "revoked")
    assert steady.seen == []


def test_a_silent_server_is_a_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with IssuerClient(f"http://127.0.0.1:{port}", timeout=0.2) as client, \
                pytest.raises(TransportError, match="did not answer in time"):
            client.checkpoint()


def test_https_checks_the_certificate(tmp_path: Path) -> None:
    """A certificate nobody vouches for does not reach an issuer over https."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    with _serve({"origin": "o"}, tls=context) as server, \
            IssuerClient(f"https://127.0.0.1:{server.server_address[1]}", timeout=5) as client, \
            pytest.raises(TransportError, match="cannot reach.*CERTIFICATE_VERIFY_FAILED"):
        client.did_document()
    assert server.seen == []


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) files of a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    moment = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(moment - timedelta(hours=1))
                   .not_valid_after(moment + timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.mark.parametrize("injected", ["lean", "http", "transport"])
def test_refusals_read_the_same_on_every_http_stack(injected: str) -> None:
    refusal = {"error": {"type": "NotFound", "message": "no such leaf"}}
    with _serve(refusal, status=404) as server:
        with httpx.Client(timeout=5) as shared:
            options: dict[str, Any] = (
                {} if injected == "lean" else {"http": shared} if injected == "http"
                else {"transport": httpx.HTTPTransport()})
            with IssuerClient(server.base_url, **options) as client, \
                    pytest.raises(TransportError, match="refused .404 NotFound.: no such leaf") \
                    as caught:
                client.inclusion_proof(b"\x00" * 32)
        assert caught.value.status == 404 and caught.value.error_type == "NotFound"


# -- the hand-written HTTP/1.1 reader ----------------------------------------------------------
DOC = b'{"origin":"o"}'


def plain(body: bytes = DOC, *, head: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + head + b"\r\n" + body)


CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n"
           b'5;name=value\r\n{"ori\r\n9\r\ngin":"o"}\r\n0\r\nX-Trailer: t\r\n\r\n')


@contextlib.contextmanager
def scripted(*answers: bytes, dribble: bool = False) -> Iterator[_Server]:
    """A server that writes ``answers`` as they are, one per request, and closes the
    connection after the last one (or after one that says ``Connection: close``)."""
    with _serve({}) as server:
        server.raw, server.dribble = list(answers), dribble
        yield server


@pytest.mark.parametrize("dribble", [False, True])
def test_chunked_and_sized_answers_share_one_connection(dribble: bool) -> None:
    with scripted(CHUNKED, plain(), CHUNKED, plain("가".encode() * 5000), plain(),
                  dribble=dribble) as server, IssuerClient(server.base_url) as client:
        for _ in range(3):
            assert client.did_document() == {"origin": "o"}
        assert client.fetch(client._did_prefix + "/x") == "가".encode() * 5000
        assert client.did_document() == {"origin": "o"}
    assert server.connections == 1


def test_the_request_is_well_formed() -> None:
    with scripted(plain(b'{"checkpoint": "c", "inclusions": [null], "consistency": null}'),
                  plain()) as server, IssuerClient(server.base_url) as client:
        assert client.evidence_many([b"\x01" * 32], since=7)[1] == [None]
        client.did_document()
    port = server.server_address[1]
    (posted, body), (got, empty) = server.requests
    assert json.loads(body) == {"leafHashes": ["01" * 32], "since": 7}
    assert posted["host"] == got["host"] == f"127.0.0.1:{port}"
    assert posted["content-length"] == str(len(body)) and posted["content-type"] == \
        "application/json"
    assert "content-length" not in got and empty == b""


def test_an_answer_framed_by_the_end_of_the_connection() -> None:
    unframed = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + DOC
    with scripted(unframed, plain()) as server, IssuerClient(server.base_url) as client:
        assert client.did_document() == {"origin": "o"}
        assert client.did_document() == {"origin": "o"}  # on a new connection
    assert server.connections == 2


@pytest.mark.parametrize("answer", [
    plain(head=b"Connection: close\r\n"),
    plain().replace(b"HTTP/1.1", b"HTTP/1.0"),  # 1.0 without keep-alive
    plain() + b"HTTP/1.1 200 OK\r\n",  # bytes past the answer
], ids=["connection-close", "http-1.0", "trailing-bytes"])
def test_a_connection_that_cannot_carry_more_is_not_reused(answer: bytes) -> None:
    with _serve({}) as server:
        server.raw = [answer, plain(), plain()]
        with IssuerClient(server.base_url) as client:
            assert client.did_document() == {"origin": "o"}
            assert client.did_document() == {"origin": "o"}
        assert server.connections == 2


def test_interim_answers_and_answers_without_a_body() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    with scripted(interim + plain(), no_content, plain()) as server, \
            IssuerClient(server.base_url) as client:
        assert client.did_document() == {"origin": "o"}
        assert client.fetch(client._did_prefix + "/x") == b""
        assert client.did_document() == {"origin": "o"}
    assert server.connections == 1


@pytest.mark.parametrize("answer", [
    b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
    b"garbage\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nContent-Length: 15\r\n\r\n" + DOC,
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 101 + b"\r\n",
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: appl",  # closed in the middle of the header
    plain()[:-3],  # closed in the middle of the body
    CHUNKED[:-9],  # closed in the middle of the chunked body
])
def test_a_malformed_or_cut_answer_is_a_transport_error(answer: bytes) -> None:
    with scripted(answer) as server, IssuerClient(server.base_url) as client, \
            pytest.raises(TransportError, match="cannot reach the issuer"):
        client.did_document()
    assert server.seen == [("GET", "/.well-known/did.json")]  # answered, so not sent again


@pytest.mark.parametrize("answer", [
    plain(b'"' + b"x" * 5000 + b'"'),
    CHUNKED.replace(b'5;name=value\r\n{"ori\r\n',
                    b"1000\r\n" + b"x" * 4096 + b"\r\n10\r\n" + b"y" * 16 + b"\r\n"),
    b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 5000,
], ids=["sized", "chunked", "until-close"])
def test_every_framing_keeps_to_max_bytes(answer: bytes) -> None:
    with scripted(answer, plain()) as server:
        with IssuerClient(server.base_url, max_bytes=4096) as client:
            with pytest.raises(MalformedDocumentError, match="larger than 4096"):
                client.did_document()
            assert client.did_document() == {"origin": "o"}
        assert server.connections == 2  # the half-read connection was dropped


def test_a_target_that_cannot_be_sent_is_a_transport_error(steady: _Server) -> None:
    with IssuerClient(steady.base_url) as client, \
            pytest.raises(TransportError, match="cannot reach"):
        client.fetch(client._did_prefix + "/a b")
    assert steady.seen == []


def test_https_with_a_trusted_certificate_keeps_its_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts it now
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with _serve({"origin": "o"}, tls=context) as server, \
            IssuerClient(f"https://127.0.0.1:{server.server_address[1]}", timeout=5) as client:
        for _ in range(3):
            assert client.did_document() == {"origin": "o"}
        assert server.connections == 1
        assert server.requests[0][0]["host"] == f"127.0.0.1:{server.server_address[1]}"
