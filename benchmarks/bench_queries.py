"""Latency of answering an employer's request over a wallet of 100,000 credentials.

Prints p50 / p99 of select() for a presentation definition and for a DCQL query, with the
wallet's candidates held in a CandidateIndex (built once, as a wallet keeps it), plus the
one-time index cost and, for comparison, a plain list scan.

    .venv/bin/python benchmarks/bench_queries.py [N]
"""

from __future__ import annotations

import copy
import random
import statistics
import sys
import time
from typing import Any

from vcwallet.errors import UnmetRequirement
from vcwallet.queries import Candidate, CandidateIndex, select

KINDS = ["BachelorDegree", "MasterDegree", "Diploma", "Badge", "Certificate", "Course"]
FIELDS = [
    "Computer Science",
    "Mathematics",
    "Physics",
    "Economics",
    "국어국문학",
    "Mechanical Engineering",
]


def credential(i: int, rng: random.Random) -> Candidate:
    if i % 10 == 0:  # a tenth are EV battery assessments, another shape entirely
        claims: dict[str, Any] = {
            "type": ["VerifiableCredential", "BatteryAssessmentCredential"],
            "credentialSubject": {"id": f"urn:vin:{i}", "stateOfHealth": i % 100},
        }
        return Candidate(f"c{i}", "vc+jwt", claims, alg="ES256")
    kind = rng.choice(KINDS)
    achievement = {"achievementType": kind, "name": f"성취 {i}", "fieldOfStudy": rng.choice(FIELDS)}
    claims = {
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"did:web:issuer{i % 50}.example"},
        "credentialSubject": {"id": "did:key:z6Mkholder", "achievement": achievement},
    }
    return Candidate(f"c{i}", rng.choice(["di", "vc+jwt", "dc+sd-jwt"]), claims, alg="EdDSA")


PE = {
    "presentation_definition": {
        "id": "hire",
        "input_descriptors": [
            {
                "id": "degree",
                "constraints": {
                    "fields": [
                        {
                            "path": ["$.type"],
                            "filter": {
                                "type": "array",
                                "contains": {"const": "OpenBadgeCredential"},
                            },
                        },
                        {
                            "path": ["$.credentialSubject.achievement.achievementType"],
                            "filter": {"const": "BachelorDegree"},
                        },
                        {
                            "path": ["$.credentialSubject.achievement.fieldOfStudy"],
                            "filter": {"const": "Computer Science"},
                        },
                        {
                            "path": ["$.issuer.id"],
                            "filter": {"type": "string", "pattern": "^did:web:issuer7\\."},
                        },
                    ]
                },
            },
            {
                "id": "badge",
                "format": {"jwt_vc_json": {"alg": ["EdDSA"]}},
                "constraints": {
                    "fields": [
                        {
                            "path": ["$.credentialSubject.achievement.achievementType"],
                            "filter": {"const": "Badge"},
                        },
                        {
                            "path": ["$.credentialSubject.achievement.fieldOfStudy"],
                            "filter": {"enum": ["Physics"]},
                        },
                    ]
                },
            },
        ],
    }
}

DCQL = {
    "dcql_query": {
        "credentials": [
            {
                "id": "degree",
                "format": "ldp_vc",
                "meta": {"type_values": [["OpenBadgeCredential"]]},
                "claims": [
                    {
                        "path": ["credentialSubject", "achievement", "achievementType"],
                        "values": ["BachelorDegree"],
                    },
                    {
                        "path": ["credentialSubject", "achievement", "fieldOfStudy"],
                        "values": ["Computer Science"],
                    },
                ],
            },
        ]
    }
}


def _unmet(request: Any, source: Any) -> None:
    try:
        select(request, source)
    except UnmetRequirement:
        return
    raise AssertionError("expected no match")


def timed(request: Any, source: Any, rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        if callable(request):
            request()
        else:
            select(request, source)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(4)
    start = time.perf_counter()
    candidates = [credential(i, rng) for i in range(n)]
    print(f"{n} candidates built in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    index = CandidateIndex.of(candidates)
    select(PE, index)  # first request builds the per-path tables the hints name
    select(DCQL, index)
    print(
        f"index + first requests: {(time.perf_counter() - start) * 1000:.0f} ms (once per wallet)"
    )
    for name, request in (("presentation definition", PE), ("DCQL query", DCQL)):
        p50, p99 = timed(request, index, 300)
        print(f"{name:24s} over index: p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    unmet = copy.deepcopy(PE)  # worst case: every BachelorDegree in CS is tried, none fits
    unmet["presentation_definition"]["input_descriptors"][0]["constraints"]["fields"][3] = {
        "path": ["$.issuer.id"], "filter": {"type": "string", "pattern": "^did:web:nowhere"}}
    p50, p99 = timed(lambda: _unmet(unmet, index), None, 30)
    print(f"{'unmet (scans the pool)':24s} over index: p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    p50, p99 = timed(PE, candidates, 5)
    print(f"{'presentation definition':24s} plain list scan: p50 {p50:.0f} ms  p99 {p99:.0f} ms")


if __name__ == "__main__":
    main()
