"""Time building, strict expansion and RDFC-1.0 canonicalisation of each example credential.

Run: .venv/bin/python benchmarks/bench_credential_types.py
Prints one line per type; numbers are medians of repeated runs on this machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vcwallet import _json, documents
from vcwallet.credential_types import CREDENTIAL_TYPES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2026, 3, 3, tzinfo=UTC)


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    action()  # warm caches (schemas, contexts)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    loader = documents.DocumentLoader()
    print(
        f"{'type':<11} {'bytes':>6} {'quads':>6} {'build ms':>9} {'expand ms':>10} {'canon ms':>9}"
    )
    for name, kind in CREDENTIAL_TYPES.items():
        subject = _json.loads((EXAMPLES / f"{name}.json").read_bytes())

        def build(kind: Any = kind, subject: Any = subject) -> dict[str, Any]:
            return kind.build(
                subject, issuer="did:web:issuer.example.kr", issuer_name="발급기관", now=NOW
            )

        credential = build()
        quads = documents.canonize(credential, loader=loader).count("\n")
        size = len(_json.dumps(credential).encode("utf-8"))
        b = median_ms(build, 50)
        e = median_ms(lambda c=credential: documents.expand(c, loader=loader), 20)
        c = median_ms(lambda c=credential: documents.canonize(c, loader=loader), 20)
        print(f"{name:<11} {size:>6} {quads:>6} {b:>9.2f} {e:>10.2f} {c:>9.2f}")


if __name__ == "__main__":
    main()
