"""Shared by the benchmarks: print as we go, time an action, summarise latencies."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def say(*args: Any) -> None:
    print(*args, flush=True)


def timed(action: Callable[[], Any], rounds: int) -> list[float]:
    """Wall-clock milliseconds of ``rounds`` calls of ``action``."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"p50 {statistics.median(ordered):.2f} ms  p99 {p99:.2f} ms  (n={len(ordered)})"


def ed25519_verify_rate(seconds: float = 0.5) -> float:
    """Ed25519 verifications per second on one core right now (OpenSSL via cryptography)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public, message = key.public_key(), b"yardstick" * 8
    signature = key.sign(message)
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        public.verify(signature, message)
        count += 1
    return count / (time.perf_counter() - began)


def yardstick(seconds: float = 0.5) -> str:
    """How fast this machine is right now, so runs on different days compare: Ed25519
    verifications per second (OpenSSL, one core) and a pure-Python loop (the interpreter)."""
    import cryptography

    verify_rate = ed25519_verify_rate(seconds)
    began = time.perf_counter()
    total = 0
    for number in range(1_000_000):
        total += number
    loop_rate = 1.0 / (time.perf_counter() - began)
    return (f"yardstick: Ed25519 verify {verify_rate:,.0f}/s (cryptography "
            f"{cryptography.__version__}), pure-Python loop {loop_rate:.1f}M additions/s "
            f"(the first session's figures were taken at ~11,000 verifications/s)")
