"""Issue / verify rates of vc+jwt and vc+cose, beside their floors and jwcrypto, in one run.

For each key type it prints operations per CPU second (best of several interleaved rounds,
one process) for:
the raw ``cryptography`` sign / verify of the same bytes (the floor), jwcrypto's general JWS
object signing and verifying the same credential, our vc+jwt issue / verify (verify through a
CachingResolver over DidResolver, as a verifier keeps one), our vc+cose issue / verify, and
the uncached verify (the did:key resolved again for every token) for contrast.

    .venv/bin/python benchmarks/bench_jose.py [seconds-per-round]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk, jws

from vcwallet import cose, jose
from vcwallet.did import DidResolver, did_key_url
from vcwallet.keys import KeyPair, KeyType

ROUNDS = 5


def typical_credential(issuer: str) -> dict[str, Any]:
    """A diploma of about 1 KB: the size universities issue."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": {"id": issuer, "name": "한국기술대학교"},
        "validFrom": "2026-03-01T00:00:00Z",
        "validUntil": "2036-03-01T00:00:00Z",
        "credentialStatus": {
            "id": "https://uni.example/status/3#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://uni.example/status/3",
        },
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "name": "김민준",
            "degree": {
                "type": "ExampleBachelorDegree",
                "name": "컴퓨터공학 학사",
                "major": "Computer Science and Engineering",
                "gpa": "4.1/4.5",
                "honours": "magna cum laude",
            },
        },
    }


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per CPU second of this process, over about ``seconds`` of CPU time.

    CPU time rather than wall time: on a shared machine other processes' work would
    otherwise count against us (the rates are those of one process owning one core).
    """
    count, start = 0, time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            operation()
        count += 50
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


def best_rates(cases: list[tuple[str, Callable[[], object]]], seconds: float) -> dict[str, float]:
    """Best of ROUNDS, the cases interleaved so that load from other processes hits all alike."""
    best = dict.fromkeys((name for name, _ in cases), 0.0)
    for _ in range(ROUNDS):
        for name, operation in cases:
            budget = seconds / 4 if "uncached" in name else seconds
            best[name] = max(best[name], rate(operation, budget))
    return best


def bench_key_type(key_type: KeyType, seconds: float) -> dict[str, float]:
    pair = KeyPair.generate(key_type)
    kid = did_key_url(pair.public_key)
    credential = typical_credential(pair.did_key)
    private, public = pair.private_key, pair.public_key.key
    message = json.dumps(credential, ensure_ascii=False).encode()
    if key_type is KeyType.ED25519:
        raw_signature = private.sign(message)  # type: ignore[call-arg]

        def raw_sign() -> object:
            return private.sign(message)  # type: ignore[call-arg]

        def raw_verify() -> object:
            return public.verify(raw_signature, message)  # type: ignore[call-arg]
    else:
        ecdsa = ec.ECDSA(hashes.SHA256())
        raw_signature = private.sign(message, ecdsa)  # type: ignore[call-arg]

        def raw_sign() -> object:
            return private.sign(message, ecdsa)  # type: ignore[call-arg]

        def raw_verify() -> object:
            return public.verify(raw_signature, message, ecdsa)  # type: ignore[call-arg]

    jw_private = jwk.JWK(**pair.private_jwk())
    jw_public = jwk.JWK(**pair.public_key.to_jwk())
    header = json.dumps({"alg": key_type.jws_alg, "typ": "vc+jwt", "cty": "vc", "kid": kid})

    def jwcrypto_sign() -> str:
        token = jws.JWS(json.dumps(credential, ensure_ascii=False).encode())
        token.add_signature(jw_private, None, header)
        return token.serialize(compact=True)

    jw_token = jwcrypto_sign()

    def jwcrypto_verify() -> object:
        token = jws.JWS()
        token.deserialize(jw_token)
        token.verify(jw_public)
        return json.loads(token.payload)

    cached = jose.CachingResolver(DidResolver())
    uncached = DidResolver()
    token = jose.sign_vc_jwt(credential, pair, kid=kid)
    cose_data = cose.sign_vc_cose(credential, pair, kid=kid)
    assert jose.verify_vc_jwt(token, resolver=cached).credential == credential
    assert cose.verify_vc_cose(cose_data, resolver=cached).credential == credential

    cases: list[tuple[str, Callable[[], object]]] = [
        ("cryptography raw sign", raw_sign),
        ("cryptography raw verify", raw_verify),
        ("jwcrypto JWS sign", jwcrypto_sign),
        ("jwcrypto JWS verify", jwcrypto_verify),
        ("vc+jwt issue", lambda: jose.sign_vc_jwt(credential, pair, kid=kid)),
        ("vc+jwt verify (cached resolver)", lambda: jose.verify_vc_jwt(token, resolver=cached)),
        (
            "vc+jwt verify_jws with key",
            lambda: jose.verify_jws(token, public, expected_typ="vc+jwt"),
        ),
        ("vc+cose issue", lambda: cose.sign_vc_cose(credential, pair, kid=kid)),
        (
            "vc+cose verify (cached resolver)",
            lambda: cose.verify_vc_cose(cose_data, resolver=cached),
        ),
        (
            "vc+jwt verify (uncached DidResolver)",
            lambda: jose.verify_vc_jwt(token, resolver=uncached),
        ),
    ]
    return best_rates(cases, seconds)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    size = len(json.dumps(typical_credential("did:key:z6Mk" + "x" * 45)).encode())
    print(f"credential payload: about {size} bytes UTF-8; best of {ROUNDS} interleaved rounds")
    for key_type in KeyType:
        rates = bench_key_type(key_type, seconds)
        raw_sign, raw_verify = rates["cryptography raw sign"], rates["cryptography raw verify"]
        jw_sign, jw_verify = rates["jwcrypto JWS sign"], rates["jwcrypto JWS verify"]
        print(f"\n{key_type.jws_alg} ({key_type.value})      ops/s    x raw  x jwcrypto")
        for name, ops in rates.items():
            signing = "sign" in name or "issue" in name
            raw, jw = (raw_sign, jw_sign) if signing else (raw_verify, jw_verify)
            print(f"  {name:<38} {ops:>8,.0f} {ops / raw:>8.2f} {ops / jw:>10.2f}")


if __name__ == "__main__":
    main()
