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
