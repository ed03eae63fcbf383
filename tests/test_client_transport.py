"""IssuerClient's own keep-alive HTTP (``http.client``) against small loopback servers that
misbehave on purpose: connections closed between requests, answers too large, no answer.
Also the same refusals through an injected ``httpx.Client``. No mocked HTTP."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
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
            length = 0
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.rfile.read(length)
            self.server.seen.append((method, target))
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
