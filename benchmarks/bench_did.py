"""Resolution costs of vcwallet.did, per operation (best of several rounds, one process).

Prints microseconds per call for: constructing the default resolver (it loads no CA store
until a did:web is fetched), did:key verification-method lookup (the verifier's hot path),
full did:key resolution to a pydid document, did:key document expansion, a pinned did:web
lookup through StaticResolver (strict JSON check + pydid parse each time), and a did:web
lookup fetched from a loopback HTTP server.

    .venv/bin/python benchmarks/bench_did.py [seconds-per-round]
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vcwallet.did import (
    DidResolver,
    StaticResolver,
    build_did_web_document,
    did_key_document,
    did_key_url,
)
from vcwallet.keys import KeyPair, KeyType

ROUNDS = 3


def per_call_us(operation: Callable[[], Any], seconds: float) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            operation()
            calls += 1
        best = min(best, elapsed / calls * 1e6)
    return best


def loopback_server(body: bytes) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server, server.server_address[1]


def main(seconds: float) -> None:
    print(f"{'':8} {'DidResolver() construction':36} {per_call_us(DidResolver, seconds):9.1f} us")
    resolver = DidResolver()
    for key_type in KeyType:
        pair = KeyPair.generate(key_type)
        method_id = did_key_url(pair.public_key)
        did = pair.did_key
        rows: dict[str, Callable[[], Any]] = {
            "did:key verification_method": partial(
                resolver.verification_method, method_id, "assertionMethod"
            ),
            "did:key resolve (pydid document)": partial(resolver.resolve, did),
            "did:key did_key_document": partial(did_key_document, did),
        }
        for name, operation in rows.items():
            print(f"{key_type.value:8} {name:36} {per_call_us(operation, seconds):9.1f} us")

    did = "did:web:issuer.example"
    document = build_did_web_document(
        did, [KeyPair.generate().public_key, KeyPair.generate("p256").public_key]
    )
    method_id = did + "#key-2"
    pinned = StaticResolver({did: document})
    cost = per_call_us(lambda: pinned.verification_method(method_id, "assertionMethod"), seconds)
    print(f"{'did:web':8} {'pinned verification_method':36} {cost:9.1f} us")

    server, port = loopback_server(json.dumps(document).encode())

    def fetch(url: str) -> bytes:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/" + url.split("/", 3)[3], timeout=5
        ) as reply:
            data: bytes = reply.read()
            return data

    fetched = DidResolver(fetch=fetch)
    cost = per_call_us(lambda: fetched.verification_method(method_id, "assertionMethod"), seconds)
    print(f"{'did:web':8} {'loopback verification_method':36} {cost:9.1f} us")
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5)
