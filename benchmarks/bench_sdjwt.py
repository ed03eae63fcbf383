"""SD-JWT VC speed: issue, present (with key binding) and verify a transcript with 40 grades.

.venv/bin/python benchmarks/bench_sdjwt.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from vcwallet.did import StaticResolver, build_did_web_document
from vcwallet.jose import CachingResolver
from vcwallet.keys import KeyPair, KeyType
from vcwallet.sdjwt import issue_sd_jwt, present_sd_jwt, verify_sd_jwt

ISSUER = "did:web:snu.example"
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def measure(name: str, action: Callable[[], Any], rounds: int = 300) -> Any:
    samples, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(
        f"{name:44s} p50 {statistics.median(samples):6.3f} ms  p99 {samples[int(rounds * 0.99) - 1]:6.3f} ms"
    )
    return result


def run(key_type: KeyType) -> None:
    issuer, holder = KeyPair.generate(key_type), KeyPair.generate(key_type)
    pinned = StaticResolver({ISSUER: build_did_web_document(ISSUER, [issuer.public_key])})
    resolver = CachingResolver(pinned, methods=("web",))
    courses = [{"code": f"CS{i:03d}", "title": f"과목 {i}", "grade": "A"} for i in range(40)]
    claims = {
        "credentialSubject": {
            "name": "김민준",
            "gpa": 3.9,
            "birthDate": "2001-03-04",
            "courses": courses,
        }
    }
    paths = [
        "credentialSubject.gpa",
        "credentialSubject.birthDate",
        "credentialSubject.courses[*].grade",
    ]
    wanted = [
        "credentialSubject.gpa",
        "credentialSubject.courses[3].grade",
        "credentialSubject.courses[7].grade",
    ]
    print(f"-- {key_type.value}: 42 disclosures, presenting gpa + 2 grades")
    token = measure(
        "issue_sd_jwt",
        lambda: issue_sd_jwt(
            claims,
            issuer,
            kid=ISSUER + "#key-1",
            disclosable=paths,
            holder_jwk=holder.public_key.to_jwk(),
            vct="https://vcwallet.example/vct/transcript",
            issuer=ISSUER,
            now=NOW,
        ),
    )
    vp = measure(
        "present_sd_jwt (+ KB-JWT)",
        lambda: present_sd_jwt(
            token, disclose=wanted, holder=holder, nonce="n", audience="https://hr.example", now=NOW
        ),
    )
    measure(
        "verify_sd_jwt (cached resolver)",
        lambda: verify_sd_jwt(
            vp, resolver=resolver, nonce="n", audience="https://hr.example", now=NOW
        ),
    )


def main() -> None:
    for key_type in (KeyType.ED25519, KeyType.P256):
        run(key_type)


if __name__ == "__main__":
    main()
