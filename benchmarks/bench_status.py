"""Bitstring status lists: what the issuer and the verifier pay per operation.

Prints: allocations/s (two purposes per credential, each allocation one durable SQLite
transaction), status changes/s, encode / decode of a 131,072-entry list, signing a list
credential (fresh and reused), and check_status for a credential with two entries: cold
(fetch + proof verification + decode) and from a warm StatusListCache.

    .venv/bin/python benchmarks/bench_status.py [--credentials 2000] [--checks 200] [--dir DIR]

The verifier-side target behind it (issue 5: 200 presentations/s of three credentials at
50 concurrent) is met only with a warm cache: a cold check costs a proof verification per list.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vcwallet import status as st
from vcwallet.keys import KeyPair


def _timed(label: str, count: int, run: Callable[[], object]) -> float:
    start = time.perf_counter()
    for _ in range(count):
        run()
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {count / elapsed:>12,.0f} /s   {elapsed / count * 1e3:>9.3f} ms each")
    return elapsed


def _median_ms(count: int, run: Callable[[], object]) -> float:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=2000)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="bench-status-"))
    key = KeyPair.generate()
    now = datetime.now(UTC)
    base = "https://uni.example/status"

    with st.SqliteStatusStore(workdir / "status.db") as store:
        registry = st.StatusRegistry(store, base_url=base, issuer=key.did_key)
        ids = iter(range(10**9))
        _timed("allocate (revocation + suspension, durable)", args.credentials,
               lambda: registry.allocate(f"urn:uuid:{next(ids)}"))
        targets = iter(range(args.credentials))
        _timed("suspend (durable)", min(args.credentials, 500),
               lambda: registry.suspend(f"urn:uuid:{next(targets)}"))
        _timed("status_of", 1000, lambda: registry.status_of("urn:uuid:7"))

        bits = store.load_list("2").bits
        encoded = st.encode_list(bits)
        set_bits = sum(b.bit_count() for b in bits)
        print(f"encodedList of list 2: {len(encoded):,} chars for {len(bits) * 8:,} entries, "
              f"{set_bits} set")
        _timed("encode_list (131,072 entries)", 200, lambda: st.encode_list(bits))
        _timed("decode_list (131,072 entries)", 200, lambda: st.decode_list(encoded))

        for fmt in ("di-eddsa", "jwt"):
            _bench_format(registry, key, fmt, now, args.checks)


def _bench_format(
    registry: st.StatusRegistry, key: KeyPair, fmt: str, now: datetime, checks: int
) -> None:
    # a clock a second on at each call, with a one-second validity: always re-signed
    ticks = iter(range(1, 10**6))
    fresh = _median_ms(20, lambda: registry.list_credential(
        "1", signer=key, format=fmt, now=now + timedelta(seconds=next(ticks)),
        valid_for=timedelta(seconds=1)))
    reused = _median_ms(200, lambda: registry.list_credential("1", signer=key, format=fmt,
                                                              now=now))
    print(f"list_credential {fmt:<9} fresh {fresh:8.3f} ms   reused {reused:8.3f} ms")

    served = {registry.list_url(i): registry.list_credential(i, signer=key, format=fmt, now=now)
              for i in registry.list_ids()}
    credential = {"issuer": key.did_key, "credentialStatus": registry.entries("urn:uuid:3")}
    st.check_status(credential, fetch_list=served.__getitem__, now=now)  # warm imports
    cold = _median_ms(max(checks // 4, 1), lambda: st.check_status(
        credential, fetch_list=served.__getitem__, now=now))
    cache = st.StatusListCache()
    warm = _median_ms(checks * 10, lambda: st.check_status(
        credential, fetch_list=served.__getitem__, now=now, cache=cache))
    print(f"check_status {fmt:<9} two lists: cold {cold:8.3f} ms   cached {warm:8.3f} ms")

if __name__ == "__main__":
    main()
