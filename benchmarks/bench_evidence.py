"""The employer's hot round trip alone: ``POST /ledger/evidence`` against one issuer service.

Starts ``vcwallet serve`` in its own interpreter on loopback, issues a few credentials over
HTTP, then times ``IssuerClient.evidence_many([...], since=k)`` back to back from one thread:

* client CPU per request (this process's ``process_time``),
* server CPU per request (the server process's user + system time from ``/proc``),
* p50 / p99 wall latency.

Two request shapes: ``since`` = the current tree size (a verifier's steady state: empty
consistency proof) and ``since`` = an older size (a real consistency proof).

``--baseline-src DIR`` (a copy of an older ``src/``, e.g. from ``git archive``) also starts
a server from that code and loads that code's ``vcwallet/client.py`` as the client, and
alternates old and new in rounds of the same run, so the noisy machine hits both alike.

    .venv/bin/python benchmarks/bench_evidence.py [--requests 2000] [--rounds 4]
        [--baseline-src /tmp/baseline/src]

Before / after the evidence fast path, its memos and the client's own HTTP/1.1 reader
(2 shared cores, a slow day: Ed25519 verify ~4,200/s; old and new alternated in one run,
CPU per request, ms):

    code       shape         client   server   p50 wall
    before     since=size    0.36     0.70     0.99
    after      since=size    0.19     0.22     0.38
    before     since=older   0.44     0.86     1.25
    after      since=older   0.18     0.18     0.28
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from _issuer_process import TOKEN, cpu_seconds, start_issuer
from _timing import say

import vcwallet
import vcwallet.client
from vcwallet.demo import example_subject
from vcwallet.keys import KeyPair

CREDENTIALS = 6


def _client_module(src: str | None) -> ModuleType:
    """The client module to time: this tree's, or ``src``'s loaded beside it (its relative
    imports resolve to this tree's vcwallet package)."""
    if src is None:
        return vcwallet.client
    spec = importlib.util.spec_from_file_location(
        "vcwallet._baseline_client", Path(src) / "vcwallet" / "client.py",
        submodule_search_locations=None)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "vcwallet"
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _start(folder: Path, src: str | None) -> tuple[subprocess.Popen[bytes], str]:
    """An issuer service from this tree (``src=None``) or from ``src``."""
    saved = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = src
    try:
        return start_issuer(folder, "Evidence Bench University")
    finally:
        if src is not None:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved


class Target:
    """One server process and one client (module) talking to it."""

    def __init__(self, label: str, folder: Path, src: str | None) -> None:
        self.label = label
        self.process, self.base = _start(folder, src)
        self.leaves: list[bytes] = []
        self.sizes: list[int] = []
        try:  # a failed setup must not leave the server running
            self.module = _client_module(src)
            self._issue()
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        self.client = self.module.IssuerClient(self.base)
        self.samples: dict[str, list[float]] = {}
        self.client_cpu: dict[str, float] = {}
        self.server_cpu: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def _issue(self) -> None:
        holder = KeyPair.generate()
        with self.module.IssuerClient(self.base, token=TOKEN) as staff:
            for _ in range(CREDENTIALS):
                subject = {**example_subject("diploma"), "id": holder.did_key}
                receipt = staff.issue("diploma", subject)[1]
                self.leaves.append(receipt.leaf_hash)
                self.sizes.append(receipt.tree_size)

    def check(self) -> None:
        """The answers are what the bench claims to time (proofs for every leaf)."""
        note, proofs, consistency = self.client.evidence_many(self.leaves[:3],
                                                              since=self.sizes[0])
        if not note or any(p is None for p in proofs) or consistency is None \
                or consistency.first != self.sizes[0]:
            raise SystemExit(f"{self.label}: unexpected evidence answer")

    def run(self, shape: str, since: int, requests: int) -> None:
        leaves = self.leaves[:3]
        call = self.client.evidence_many
        samples = self.samples.setdefault(shape, [])
        server = cpu_seconds(self.process.pid)
        cpu = time.process_time()
        for _ in range(requests):
            began = time.perf_counter()
            call(leaves, since=since)
            samples.append((time.perf_counter() - began) * 1000)
        self.client_cpu[shape] = self.client_cpu.get(shape, 0.0) + time.process_time() - cpu
        self.server_cpu[shape] = (self.server_cpu.get(shape, 0.0)
                                  + cpu_seconds(self.process.pid) - server)
        self.count[shape] = self.count.get(shape, 0) + requests

    def report(self, shape: str) -> str:
        n = self.count[shape]
        ordered = sorted(self.samples[shape])
        p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
        return (f"{self.label:>9} {shape:>12} {n:>6} "
                f"{self.client_cpu[shape] / n * 1000:>11.3f} "
                f"{self.server_cpu[shape] / n * 1000:>11.3f} "
                f"{statistics.median(ordered):>8.3f} {p99:>8.3f}")

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests per shape, split over the rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--baseline-src", default=None,
                        help="an older src/ to compare with, in the same run")
    args = parser.parse_args()
    per_round = max(1, args.requests // args.rounds)
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="vcwallet-bench-evidence-") as scratch:
        try:
            if args.baseline_src:
                targets.append(Target("baseline", Path(scratch) / "old", args.baseline_src))
            targets.append(Target("this tree", Path(scratch) / "new", None))
            for target in targets:
                target.check()
                for _ in range(200):  # warm: connections, caches, the server's code paths
                    target.client.evidence_many(target.leaves[:3], since=target.sizes[-1])
            say(f"{len(targets)} server(s), 3 leaves per request, {per_round} requests x "
                f"{args.rounds} rounds per shape; vcwallet from {Path(vcwallet.__file__).parent}")
            shapes = {"since=size": lambda t: t.sizes[-1], "since=older": lambda t: t.sizes[0]}
            for _ in range(args.rounds):
                for shape, since in shapes.items():
                    for target in targets:
                        target.run(shape, since(target), per_round)
            say(f"{'code':>9} {'shape':>12} {'n':>6} {'client ms':>11} {'server ms':>11} "
                f"{'p50 ms':>8} {'p99 ms':>8}   (CPU per request)")
            for shape in shapes:
                for target in targets:
                    say(target.report(shape))
        finally:
            for target in targets:
                target.close()


if __name__ == "__main__":
    main()
