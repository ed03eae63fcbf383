"""Data Integrity speed: issue / verify credentials per second, next to what bounds them.

Prints, for eddsa-rdfc-2022 and ecdsa-rdfc-2019 on a typical credential (VC 2.0 context plus
an inline context, Korean text, a nested achievement, a number, a boolean, dates):

* vcwallet issue/s and verify/s (shape templates warm, as in a running issuer or verifier);
* the same with ``fast=False`` canonicalization, i.e. strict pyld doing all the JSON-LD work;
* plain pyld (``jsonld.normalize`` with URDNA2015, no strictness) as the yardstick;
* raw ``cryptography`` sign / verify rates, the ceiling no proof format can pass;
* CPU ms per verification of a DI presentation (eddsa-rdfc-2022 holder proof) embedding the
  diploma, badge and transcript examples, and of the transcript alone (its repeated
  anonymous objects need RDFC-1.0's Hash N-Degree Quads), with and without templates.

Verification resolves the did:key with the stock ``DidResolver`` every time; its own rate is
printed too.

Run: ``.venv/bin/python benchmarks/bench_data_integrity.py [--seconds 2]``
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pyld import jsonld

from vcwallet import documents, proofs
from vcwallet.credentials import issue as issue_credential
from vcwallet.credentials import verify_credential
from vcwallet.demo import example_subject
from vcwallet.did import DidResolver, did_key_url
from vcwallet.keys import KeyPair, KeyType
from vcwallet.presentations import create_presentation, verify_presentation
from vcwallet.suites import decode_proof_value

V2 = "https://www.w3.org/ns/credentials/v2"
CONTEXT = {
    "ex": "https://university.example/vocab#",
    "DegreeCredential": "ex:DegreeCredential",
    "Degree": "ex:Degree",
    "degree": "ex:degree",
    "major": {"@id": "ex:major", "@language": "ko"},
    "gpa": {"@id": "ex:gpa", "@type": "http://www.w3.org/2001/XMLSchema#decimal"},
    "credits": "ex:credits",
    "honours": "ex:honours",
    "awarded": {"@id": "ex:awarded", "@type": "http://www.w3.org/2001/XMLSchema#date"},
}


def credential(issuer: str, number: int) -> dict[str, Any]:
    return {
        "@context": [V2, CONTEXT],
        "id": f"urn:uuid:6c1a3f0e-8d2b-4f5a-9e7c-{number:012d}",
        "type": ["VerifiableCredential", "DegreeCredential"],
        "issuer": {"id": issuer, "name": "한국대학교"},
        "validFrom": "2025-02-28T00:00:00Z",
        "validUntil": "2035-02-28T00:00:00Z",
        "name": "학위 증명서",
        "credentialSubject": {
            "id": f"did:example:graduate-{number}",
            "name": f"김민준{number % 97}",
            "degree": {
                "type": "Degree",
                "name": "컴퓨터공학 학사",
                "major": "소프트웨어",
                "gpa": f"{3 + (number % 150) / 100:.2f}",
                "credits": 130 + number % 10,
                "honours": number % 3 == 0,
                "awarded": "2025-02-21",
            },
        },
    }


def rate(work: Callable[[int], object], seconds: float) -> float:
    """Calls per second of ``work(i)`` over about ``seconds`` (after one warm-up call)."""
    work(0)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            work(done)
            done += 1
    return done / (time.perf_counter() - start)


def plain_pyld_hash(
    document: dict[str, Any], proof: dict[str, Any], loader: documents.DocumentLoader
) -> bytes:
    """What a straightforward pyld implementation hashes per credential (no strictness)."""
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
    canonical_doc = jsonld.normalize(document, options)
    canonical_proof = jsonld.normalize(dict(proof, **{"@context": document["@context"]}), options)
    return (
        hashlib.sha256(canonical_proof.encode()).digest()
        + hashlib.sha256(canonical_doc.encode()).digest()
    )


def bench_suite(key_type: KeyType, seconds: float) -> None:
    key = KeyPair.generate(key_type)
    method = did_key_url(key.public_key)
    issuer = key.did_key
    loader = documents.DocumentLoader()
    start = datetime(2025, 3, 1, tzinfo=UTC)
    name = "eddsa-rdfc-2022" if key_type is KeyType.ED25519 else "ecdsa-rdfc-2019"

    def issue(i: int) -> object:
        return proofs.add_proof(
            credential(issuer, i),
            key,
            verification_method=method,
            created=start + timedelta(seconds=i),
            loader=loader,
        )

    signed = [issue(i) for i in range(500)]
    resolver = DidResolver()

    def verify(i: int) -> object:
        return proofs.verify_proof(signed[i % len(signed)], resolver=resolver, loader=loader)

    issue_rate = rate(issue, seconds)
    verify_rate = rate(verify, seconds)

    slow_loader = documents.DocumentLoader(use_templates=False)

    def issue_pyld_strict(i: int) -> object:
        return proofs.add_proof(
            credential(issuer, i),
            key,
            verification_method=method,
            created=start,
            loader=slow_loader,
        )

    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": name,
        "created": "2025-03-01T00:00:00Z",
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    plain = documents.DocumentLoader()
    strict_rate = rate(issue_pyld_strict, seconds)
    plain_rate = rate(
        lambda i: key.sign(plain_pyld_hash(credential(issuer, i), proof, plain)), seconds
    )
    sample = signed[0]
    unsecured = {k: v for k, v in sample.items() if k != "proof"}
    options_only = {k: v for k, v in sample["proof"].items() if k != "proofValue"}
    sample_signature = decode_proof_value(sample["proof"]["proofValue"])

    def plain_verify(i: int) -> None:
        resolver.verification_method(method, "assertionMethod").public_key().verify(
            sample_signature, plain_pyld_hash(unsecured, options_only, plain)
        )

    plain_verify_rate = rate(plain_verify, seconds)

    data = hashlib.sha256(b"proof").digest() + hashlib.sha256(b"doc").digest()
    signature = key.sign(data)
    sign_rate = rate(lambda i: key.sign(data), seconds)
    raw_verify_rate = rate(lambda i: key.public_key.verify(signature, data), seconds)

    print(f"\n{name} ({key_type.value})")
    print(
        f"  issue   {issue_rate:8.0f} credentials/s   ({issue_rate / plain_rate:4.1f}x plain pyld,"
        f" {issue_rate / sign_rate:5.1%} of raw signing)"
    )
    versus_plain = verify_rate / plain_verify_rate
    print(
        f"  verify  {verify_rate:8.0f} credentials/s   ({versus_plain:4.1f}x plain"
        f" pyld, {verify_rate / raw_verify_rate:5.1%} of raw verification)"
    )
    print(f"  issue, strict pyld canonicalization (no templates) {strict_rate:8.0f} /s")
    print(f"  issue, plain pyld normalize + sign (yardstick)     {plain_rate:8.0f} /s")
    print(f"  verify, plain pyld normalize + verify (yardstick)  {plain_verify_rate:8.0f} /s")
    print(f"  raw cryptography sign {sign_rate:8.0f} /s, verify {raw_verify_rate:8.0f} /s")
    stats = loader.templates().stats
    print(
        f"  canonicalizations: {stats['template']} from templates, {stats['built']} built,"
        f" {stats['pyld']} by pyld"
    )


def cpu_ms(work: Callable[[], object], seconds: float) -> float:
    """CPU milliseconds per call of ``work`` (process time, best of three rounds)."""
    work()
    rounds = []
    for _ in range(3):
        done, start = 0, time.process_time()
        while time.process_time() - start < seconds / 3 or done == 0:
            work()
            done += 1
        rounds.append((time.process_time() - start) / done * 1000)
    return min(rounds)


def bench_presentation(seconds: float) -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    holder, issuer = KeyPair.generate(), KeyPair.generate()
    credentials = [
        issue_credential(kind, example_subject(kind), signer=issuer, holder=holder.did_key, now=now)
        for kind in ("diploma", "badge", "transcript")
    ]
    presentation = create_presentation(
        [credential.data for credential in credentials],
        holder=holder,
        holder_did=holder.did_key,
        challenge="c-1",
        domain="https://employer.example",
        now=now,
    )
    transcript = credentials[2].data
    resolver = DidResolver()
    print("\nDI presentation (eddsa-rdfc-2022 holder proof; diploma, badge, transcript)")
    for label, use_templates in (("templates", True), ("pyld only", False)):
        loader = documents.DocumentLoader(use_templates=use_templates)

        def verify_vp(loader: documents.DocumentLoader = loader) -> None:
            result = verify_presentation(
                presentation,
                challenge="c-1",
                domain="https://employer.example",
                resolver=resolver,
                document_loader=loader,
                now=now,
            )
            assert result.verified

        def verify_transcript(loader: documents.DocumentLoader = loader) -> None:
            assert verify_credential(
                transcript, resolver=resolver, document_loader=loader, now=now
            ).verified

        vp_ms, transcript_ms = cpu_ms(verify_vp, seconds), cpu_ms(verify_transcript, seconds)
        print(
            f"  {label:9}  verify VP {vp_ms:7.2f} ms CPU   transcript {transcript_ms:7.2f} ms CPU"
        )
        if use_templates:
            stats = loader.templates().stats
            print(
                f"  canonicalizations: {stats['template']} from templates"
                f" ({stats['bounded']} through Hash N-Degree Quads), {stats['built']} built,"
                f" {stats['pyld']} by pyld"
            )


def bench_resolver(seconds: float) -> None:
    for key_type in (KeyType.ED25519, KeyType.P256):
        key = KeyPair.generate(key_type)
        lookup = functools.partial(
            DidResolver().verification_method, did_key_url(key.public_key), "assertionMethod"
        )
        resolved = rate(lambda i, lookup=lookup: lookup(), seconds)
        print(f"\nDidResolver did:key ({key_type.value}) lookups: {resolved:8.0f} /s", end="")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    print("vcwallet Data Integrity benchmark (one process)")
    for key_type in (KeyType.ED25519, KeyType.P256):
        bench_suite(key_type, args.seconds)
    bench_presentation(args.seconds)
    bench_resolver(args.seconds)


if __name__ == "__main__":
    main()
