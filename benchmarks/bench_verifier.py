"""The employer's online verification: a presentation of three credentials from three issuers.

Starts three issuer services (``vcwallet serve``, each in its own interpreter, on loopback),
has each issue one credential to each of ``--holders`` job seekers over HTTP (a diploma, a
badge as vc+jwt, a battery report), and has every job seeker answer ``--challenges``
employer requests, each with its own challenge (one presentation per request, as in
real use: no two verifications see the same presentation within a round). Then it runs
``Verifier.verify_presentation`` from 1, 10 and 50 threads: throughput (presentations/s)
and p50 / p99 latency, with the offline checks in the calling threads and (``--processes``)
in worker processes. Every verification includes the issuer round trips: a fresh
``/ledger/evidence`` call per credential (checkpoint + inclusion + consistency) and the
status lists (cached by the verifier for their ttl, as the spec allows). The verifier, its
threads and the three servers share this machine's cores.

    .venv/bin/python benchmarks/bench_verifier.py [--seconds 5] [--levels 1,10,50]
        [--processes 0,2]

A closed loop of N threads can only show latency = N / throughput (Little's law), so the
script also prints that floor, and an open-loop run (arrivals at a fixed rate) for the
latency an employer sees at a given load. The first line is a yardstick of this machine's
speed, so runs on different days compare.

Target (issue 5, 2 cores): >= 200 presentations/s and p99 <= 50 ms at 50 concurrent.
"cpu ms/pres: verifier" counts the verifier process and its worker processes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _issuer_process import TOKEN, cpu_seconds, start_issuer
from _timing import ed25519_verify_rate, say, yardstick

from vcwallet.client import IssuerClient
from vcwallet.demo import example_subject
from vcwallet.keys import KeyPair
from vcwallet.policy import TrustedIssuer, TrustPolicy
from vcwallet.presentations import create_presentation
from vcwallet.verifier import Verifier

DOMAIN = "hr.acme.example"
ISSUERS = (("한국대학교", "diploma"), ("SW아카데미 교육원", "badge"),
           ("이브이체크 배터리진단센터", "battery"))


class _Inline:
    """A stand-in thread pool that runs each task at once (for --profile)."""

    def submit(self, fn: Any, *args: Any) -> Any:
        from concurrent.futures import Future

        done: Future[Any] = Future()
        done.set_result(fn(*args))
        return done

    def shutdown(self, wait: bool = True) -> None:
        return None








def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


Asked = tuple[Any, str]  # a presentation and the challenge it answers


def run_level(verifier: Verifier, vps: list[Asked], threads: int, seconds: float,
              servers: list[int], workers: list[int]) -> dict[str, float]:
    """``threads`` workers verify presentations back to back for ``seconds`` (the workers
    take turns through ``vps``: different holders, credentials and challenges)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    stop = threading.Event()
    start_line = threading.Barrier(threads + 1)

    def worker(slot: int) -> None:
        start_line.wait()
        mine = latencies[slot]
        turn = slot
        while not stop.is_set():
            vp, challenge = vps[turn % len(vps)]
            turn += threads
            began = time.perf_counter()
            result = verifier.verify_presentation(vp, challenge=challenge, domain=DOMAIN)
            mine.append(time.perf_counter() - began)
            if not result.verified:
                failures[slot] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    own_cpu = time.process_time()
    worker_cpu = sum(cpu_seconds(pid) for pid in workers)
    server_cpu = sum(cpu_seconds(pid) for pid in servers)
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - began
    own_cpu = time.process_time() - own_cpu
    worker_cpu = sum(cpu_seconds(pid) for pid in workers) - worker_cpu
    server_cpu = sum(cpu_seconds(pid) for pid in servers) - server_cpu
    every = [x for slot in latencies for x in slot]
    return {"threads": threads, "count": len(every), "rate": len(every) / wall,
            "p50": percentile(every, 0.50) * 1000, "p99": percentile(every, 0.99) * 1000,
            "mean": statistics.fmean(every) * 1000, "failed": sum(failures),
            "cpu": (own_cpu + worker_cpu) / len(every) * 1000,
            "worker_cpu": worker_cpu / len(every) * 1000,
            "server_cpu": server_cpu / len(every) * 1000}


def run_open(verifier: Verifier, vps: list[Asked], rate: float, seconds: float,
             limit: int = 50) -> dict[str, float]:
    """Presentations ARRIVE at ``rate`` per second (evenly spaced), at most ``limit`` in
    flight; latency counts from the arrival, so queueing shows. A closed loop of N threads
    can only show latency = N / throughput (Little's law); this shows the latency an
    employer sees at a given load."""
    from concurrent.futures import ThreadPoolExecutor

    latencies: list[float] = []
    failed = 0
    total = int(rate * seconds)
    began = time.perf_counter()

    def one(number: int, due: float) -> None:
        nonlocal failed
        vp, challenge = vps[number % len(vps)]
        result = verifier.verify_presentation(vp, challenge=challenge, domain=DOMAIN)
        latencies.append(time.perf_counter() - due)
        if not result.verified:
            failed += 1

    with ThreadPoolExecutor(max_workers=limit) as pool:
        for number in range(total):
            due = began + number / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, number, due)
    wall = time.perf_counter() - began
    return {"offered": rate, "count": len(latencies), "rate": len(latencies) / wall,
            "p50": percentile(latencies, 0.50) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "failed": failed}


def warm_up(verifier: Verifier, vps: list[Asked], holders: int) -> None:
    """The first verification (cold caches: did:web, status lists, log keys, templates),
    then one per job seeker (the first ``holders`` presentations), so every issuer and
    status list is known."""
    first = time.perf_counter()
    warm = verifier.verify_presentation(vps[0][0], challenge=vps[0][1], domain=DOMAIN)
    if not warm.verified:
        raise SystemExit(f"the presentation does not verify: {warm.failures}")
    say(f"first verification (cold caches) {(time.perf_counter() - first) * 1000:.1f} ms")
    for vp, challenge in vps[1:holders]:
        verifier.verify_presentation(vp, challenge=challenge, domain=DOMAIN)


def profile(verifier: Verifier, vps: list[Asked]) -> None:
    """cProfile 200 sequential verifications, every round trip in this thread."""
    warm_up(verifier, vps, 1)
    verifier._pool.shutdown()
    verifier._pool = _Inline()  # type: ignore[assignment]
    profiler = cProfile.Profile()
    profiler.enable()
    for vp, challenge in vps[:200]:
        verifier.verify_presentation(vp, challenge=challenge, domain=DOMAIN)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative"))
    stats.print_stats(int(os.environ.get("TOP", "40")))


def worker_pids(verifier: Verifier) -> list[int]:
    return verifier._workers.pids() if verifier._workers is not None else []


def measure(verifier: Verifier, vps: list[Asked], processes: int, levels: list[int],
            args: argparse.Namespace, servers: list[int]) -> None:
    verifier.start_workers()
    warm_up(verifier, vps, args.holders)
    where = (f"{processes} worker processes" if processes
             else "the calling threads")
    say(f"-- offline checks in {where}; {yardstick(0.3)}")
    say(f"{'threads':>7} {'count':>7} {'pres/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'mean ms':>8} {'floor ms':>8} {'failed':>6} {'cpu ms/pres: verifier':>22} "
        f"{'(workers)':>9} {'servers':>8}")
    for threads in levels:
        row = run_level(verifier, vps, threads, args.seconds, servers, worker_pids(verifier))
        floor = threads / row["rate"] * 1000  # Little's law: mean latency of a closed loop
        say(f"{row['threads']:>7} {row['count']:>7} {row['rate']:>8.1f} "
            f"{row['p50']:>8.1f} {row['p99']:>8.1f} {row['mean']:>8.1f} {floor:>8.1f} "
            f"{row['failed']:>6} {row['cpu']:>22.2f} {row['worker_cpu']:>9.2f} "
            f"{row['server_cpu']:>8.2f}")
    say("open loop (arrivals at a fixed rate, <= 50 in flight, latency from arrival):")
    say(f"{'offered/s':>9} {'count':>7} {'done/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'failed':>6}")
    for rate in [float(x) for x in args.open_rates.split(",") if x]:
        row = run_open(verifier, vps, rate, args.seconds)
        say(f"{row['offered']:>9.0f} {row['count']:>7} {row['rate']:>8.1f} "
            f"{row['p50']:>8.1f} {row['p99']:>8.1f} {row['failed']:>6}")


def floor(issuers: list[tuple[str, bytes]], servers: list[int], rounds: int = 300) -> None:
    """The least CPU any verifier of this protocol spends per presentation here: the four
    signature checks (holder and three issuers) and one ledger round trip to each issuer
    (client and server), before any JSON, JSON-LD, schema or status work. With 50
    verifications always in flight, mean latency is 50 / throughput (Little's law)."""
    signatures = 4 / ed25519_verify_rate()
    clients = [IssuerClient(base) for base, _ in issuers]
    try:
        for client, (_, leaf) in zip(clients, issuers):
            client.evidence_many([leaf])  # connect first
        own, theirs = time.process_time(), sum(cpu_seconds(pid) for pid in servers)
        for _ in range(rounds):
            for client, (_, leaf) in zip(clients, issuers):
                client.evidence_many([leaf])
        own = (time.process_time() - own) / rounds
        theirs = (sum(cpu_seconds(pid) for pid in servers) - theirs) / rounds
    finally:
        for client in clients:
            client.close()
    cores = os.cpu_count() or 1
    least = signatures + own + theirs
    ceiling = cores / least
    say(f"floor: 4 Ed25519 checks {signatures * 1000:.2f} ms + 3 issuer round trips "
        f"{(own + theirs) * 1000:.2f} ms (client {own * 1000:.2f}, issuers "
        f"{theirs * 1000:.2f}) = {least * 1000:.2f} ms CPU per presentation before any "
        f"other work: at most {ceiling:,.0f} presentations/s on {cores} cores, so 50 "
        f"verifications always in flight average at least {50 / ceiling * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--workers", type=int, default=16,
                        help="the verifier's thread pool for issuer round trips")
    parser.add_argument("--formats", default="di-eddsa,jwt,di-eddsa",
                        help="the three credentials' formats (di-eddsa, jwt, cose)")
    parser.add_argument("--open-rates", default="50,100,150,200",
                        help="offered loads (presentations/s) for the open-loop run")
    parser.add_argument("--holders", type=int, default=40,
                        help="distinct job seekers (each presents their own three credentials)")
    parser.add_argument("--challenges", type=int, default=25,
                        help="employer requests each job seeker answers (one presentation each)")
    parser.add_argument("--processes", default="0,2",
                        help="worker processes for the offline checks, one run per value "
                             "(0: in the calling threads)")
    parser.add_argument("--vp-format", default="di", choices=("di", "jwt"))
    parser.add_argument("--profile", action="store_true",
                        help="profile 200 sequential verifications instead")
    args = parser.parse_args()
    say(yardstick())
    levels = [int(x) for x in args.levels.split(",")]
    formats = args.formats.split(",")
    if len(formats) != 3:
        raise SystemExit("--formats needs three formats")
    plan = [(name, type_name, fmt) for (name, type_name), fmt in zip(ISSUERS, formats)]
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="vcwallet-bench-verifier-") as scratch:
        try:
            holders = [KeyPair.generate() for _ in range(args.holders)]
            issued: list[list[Any]] = [[] for _ in holders]
            entries = []
            anchored: list[tuple[str, bytes]] = []  # (issuer URL, one leaf hash) per issuer
            for number, (name, type_name, fmt) in enumerate(plan):
                process, base = start_issuer(Path(scratch) / f"issuer{number}", name)
                processes.append(process)
                with IssuerClient(base, token=TOKEN) as staff:
                    for mine, holder in zip(issued, holders):
                        subject = {**example_subject(type_name), "id": holder.did_key}
                        credential, receipt = staff.issue(type_name, subject, format=fmt)
                        mine.append(credential)
                    entries.append(TrustedIssuer(staff.did, name, frozenset({type_name})))
                    anchored.append((base, receipt.leaf_hash))
            vps = [(create_presentation(mine, holder=holder, holder_did=holder.did_key,
                                        challenge=f"request-{turn}-{number}", domain=DOMAIN,
                                        format=args.vp_format), f"request-{turn}-{number}")
                   for turn in range(args.challenges)
                   for number, (mine, holder) in enumerate(zip(issued, holders))]
            say(f"{args.vp_format} presentations of 3 credentials ({', '.join(formats)}) from "
                f"3 issuers: {len(vps)} presentations by {len(holders)} job seekers, each "
                f"with its own challenge")
            policy = TrustPolicy(entries)
            servers = [p.pid for p in processes]
            if not args.profile:
                floor(anchored, servers)
            for count in [int(x) for x in args.processes.split(",")]:
                with Verifier(policy=policy, max_workers=args.workers,
                              processes=count) as verifier:
                    if args.profile:
                        profile(verifier, vps)
                        return
                    measure(verifier, vps, count, levels, args, servers)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
