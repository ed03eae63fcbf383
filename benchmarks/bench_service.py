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
client's own cost. Wall-clock rates swing with whatever else the machine runs; the CPU
columns (server process and client process, microseconds per request, from /proc and
``time.process_time``) are the stable measure of cost.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _issuer_process import TOKEN, cpu_seconds, start_issuer

from vcwallet import anchor
from vcwallet.client import IssuerClient
from vcwallet.demo import example_subject
from vcwallet.keys import KeyPair


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


def report(name: str, wall: float, latencies: list[float], threads: int,
           server_s: float, client_s: float) -> None:
    ordered = sorted(latencies)
    n = len(ordered)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(n - 1, int(n * 0.99))] * 1000
    print(f"  {name:<22} {threads:>3} threads  {n / wall:>6.0f} req/s"
          f"   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
          f"   server CPU {server_s / n * 1e6:5.0f} us/req   client CPU {client_s / n * 1e6:5.0f} us/req")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--credentials", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as scratch:
        process, base = start_issuer(Path(scratch), "한국대학교")
        try:
            run(base, args.requests, args.credentials, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


def run(base: str, requests: int, credentials: int, pid: int) -> None:
    holder = KeyPair.generate()
    subject = {**example_subject("diploma"), "id": holder.did_key}
    print(f"issuer service at {base} (separate process), client: IssuerClient (keep-alive http.client pool)")
    with IssuerClient(base, token=TOKEN, timeout=30) as staff:
        for fmt in ("jwt", "di-eddsa"):
            start, cpu = time.perf_counter(), cpu_seconds(pid)
            issued = [staff.issue("diploma", subject, format=fmt) for _ in range(credentials // 2)]
            wall, cpu = time.perf_counter() - start, cpu_seconds(pid) - cpu
            print(f"  issue {fmt:<16}   1 thread   {len(issued) / wall:>6.0f} credentials/s"
                  f"   server CPU {cpu / len(issued) * 1e3:5.1f} ms/credential "
                  "(status allocation, signature, fsynced ledger append + checkpoint)")
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
                server_before, client_before = cpu_seconds(pid), time.process_time()
                wall, latencies = drive(call, total=requests, threads=threads)
                report(name, wall, latencies, threads, cpu_seconds(pid) - server_before,
                       time.process_time() - client_before)


if __name__ == "__main__":
    main()
