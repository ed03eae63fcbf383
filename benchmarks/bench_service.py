"""Issuer service round trips over loopback: what one issuer costs a verifier.

Starts ``vcwallet serve`` in a subprocess (its own interpreter, as in production), issues
credentials over HTTP, then drives the read routes a verifier calls with IssuerClient from
1, 10 and 50 threads: throughput and p50 / p99 latency per route. The routes: did.json,
the status list credential, the latest checkpoint, and ``/ledger/evidence`` (checkpoint +
inclusion + consistency in one round trip). Also: issuance over HTTP (sequential).

    .venv/bin/python benchmarks/bench_service.py [--requests 2000] [--credentials 200]

The verifier's budget (issue 5): >= 200 presentations/s with three issuers each, so each
issuer sees >= 200 evidence calls/s (status lists are cached by the verifier for their ttl).
Client threads and the server share this machine's 2 cores, so the numbers include the
client's own cost.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from vcwallet import anchor
from vcwallet.client import IssuerClient
from vcwallet.demo import example_subject
from vcwallet.errors import TransportError
from vcwallet.keys import KeyPair

TOKEN = "bench-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    KeyPair.generate().save(folder / "issuer.key")
    port = free_port()
    (folder / "issuer.toml").write_text(
        "[issuer]\nname = '한국대학교'\nkey_file = 'issuer.key'\ndata_dir = 'data'\n"
        f"[server]\nport = {port}\n[auth]\nissue_tokens = ['env:BENCH_TOKEN']\n", "utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from vcwallet.cli import main; sys.exit(main())",
         "serve", "--config", str(folder / "issuer.toml"), "--log-level", "warning"],
        env={**os.environ, "BENCH_TOKEN": TOKEN}, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    with IssuerClient(base, timeout=2) as probe:
        deadline = time.monotonic() + 30
        while True:
            try:
                probe.checkpoint()
                return process, base
            except TransportError:
                if time.monotonic() > deadline:
                    process.kill()
                    raise
                time.sleep(0.1)


def drive(call: Callable[[], object], *, total: int, threads: int) -> tuple[float, list[float]]:
    """Run ``call`` ``total`` times from ``threads`` threads; (wall seconds, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = total // threads

    def worker() -> None:
        mine = []
        for _ in range(per_thread):
            start = time.perf_counter()
            call()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start, latencies


def report(name: str, wall: float, latencies: list[float], threads: int) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(f"  {name:<22} {threads:>3} threads  {len(ordered) / wall:>8.0f} req/s"
          f"   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--credentials", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as scratch:
        process, base = start_server(Path(scratch))
        try:
            run(base, args.requests, args.credentials)
        finally:
            process.terminate()
            process.wait(timeout=30)


def run(base: str, requests: int, credentials: int) -> None:
    holder = KeyPair.generate()
    subject = {**example_subject("diploma"), "id": holder.did_key}
    print(f"issuer service at {base} (separate process), client: IssuerClient (httpx pool)")
    with IssuerClient(base, token=TOKEN, timeout=30) as staff:
        for fmt in ("jwt", "di-eddsa"):
            start = time.perf_counter()
            issued = [staff.issue("diploma", subject, format=fmt) for _ in range(credentials // 2)]
            wall = time.perf_counter() - start
            print(f"  issue {fmt:<16}   1 thread   {len(issued) / wall:>8.0f} credentials/s "
                  "(each: status allocation, signature, durable ledger append + checkpoint)")
        credential, _ = issued[-1]
        leaf = anchor.credential_leaf_hash(credential)
        status_url = credential["credentialStatus"][0]["statusListCredential"]  # type: ignore[index]
        first_size = int(staff.checkpoint().splitlines()[1]) // 2
    with IssuerClient(base, timeout=30) as client:
        routes: dict[str, Callable[[], object]] = {
            "did.json": client.did_document,
            "status list": lambda: client.status_list(status_url),
            "checkpoint": client.checkpoint,
            "evidence (since=N/2)": lambda: client.evidence(leaf, since=first_size),
        }
        for name, call in routes.items():
            for _ in range(50):
                call()  # warm the pool and the server's caches
            for threads in (1, 10, 50):
                wall, latencies = drive(call, total=requests, threads=threads)
                report(name, wall, latencies, threads)


if __name__ == "__main__":
    main()
