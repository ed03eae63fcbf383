"""The encrypted wallet at 100,000 credentials: add rate, open time, list / search / get
latency, and answering a presentation definition from the wallet's request index.

    .venv/bin/python benchmarks/bench_wallet.py [N]

Every credential is a real vc+jwt (Ed25519, 50 issuers, Korean names; nine in ten are
Open Badges achievements, one in ten an EV battery assessment). Two add paths:

* ``add()`` with the full recipe ``vcwallet.credentials.verify_credential`` (when that
  module is present): what a holder sees when accepting one credential.
* the fill path: ``add_many()`` in batches of 10,000 (one transaction each) with a
  verifier that checks the vc+jwt signature against the issuer's did:key, typ, alg and
  shape (``jose.verify_vc_jwt``) but not dates, schema or status. Verification is still
  real; it is the cheaper half of the recipe, documented as such.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _timing import percentiles, say, timed

from vcwallet import jose
from vcwallet.did import DidResolver
from vcwallet.keys import KeyPair
from vcwallet.model import CredentialResult
from vcwallet.queries import select
from vcwallet.wallet import Wallet

PASS = "벤치마크 passphrase"
KINDS = ["BachelorDegree", "MasterDegree", "Diploma", "Badge", "Certificate", "Course"]
FIELDS = ["Computer Science", "Mathematics", "Physics", "Economics", "국어국문학", "기계공학"]
NAMES = ["김민준", "이서연", "박지후", "최수아", "정도윤", "강하은"]

PE = {"presentation_definition": {"id": "hire", "input_descriptors": [
    {"id": "degree", "constraints": {"fields": [
        {"path": ["$.type"], "filter": {"type": "array", "contains": {"const": "OpenBadgeCredential"}}},
        {"path": ["$.credentialSubject.achievement.achievementType"], "filter": {"const": "BachelorDegree"}},
        {"path": ["$.credentialSubject.achievement.fieldOfStudy"], "filter": {"const": "Computer Science"}},
        {"path": ["$.issuer.id"], "filter": {"type": "string", "pattern": "^did:key:"}},
    ]}},
    {"id": "badge", "format": {"jwt_vc_json": {"alg": ["EdDSA"]}}, "constraints": {"fields": [
        {"path": ["$.credentialSubject.achievement.achievementType"], "filter": {"const": "Badge"}},
        {"path": ["$.credentialSubject.achievement.fieldOfStudy"], "filter": {"enum": ["Physics"]}},
    ]}},
]}}




def signature_verifier() -> Any:
    resolver = jose.CachingResolver(DidResolver())

    def verify(token: str, *, now: datetime | None = None) -> CredentialResult:
        checked = jose.verify_vc_jwt(token, resolver=resolver)
        claims = checked.credential
        return CredentialResult(True, "jwt", (), credential=claims,
                                issuer=claims["issuer"]["id"], types=tuple(claims["type"]))

    return verify


def credential(i: int, holder: str, issuer: str, rng: random.Random) -> dict[str, Any]:
    if i % 10 == 0:
        return {
            "@context": ["https://www.w3.org/ns/credentials/v2",
                         "https://www.w3.org/ns/credentials/examples/v2"],
            "id": f"urn:uuid:{rng.getrandbits(128):032x}",
            "type": ["VerifiableCredential", "BatteryAssessmentCredential"],
            "issuer": {"id": issuer, "name": f"배터리 평가 {i % 50}"},
            "validFrom": "2025-02-20T00:00:00Z",
            "credentialSubject": {"id": f"urn:vin:KMH{i:014d}", "stateOfHealth": i % 100,
                                  "owner": holder},
        }
    kind = rng.choice(KINDS)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": f"urn:uuid:{rng.getrandbits(128):032x}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": f"기관 {i % 50}"},
        "validFrom": "2025-02-20T00:00:00Z",
        "name": f"{kind} {i}",
        "credentialSubject": {
            "id": holder, "type": ["AchievementSubject"], "name": rng.choice(NAMES),
            "achievement": {"id": f"urn:example:a{i}", "type": ["Achievement"],
                            "achievementType": kind, "name": f"성취 {i}",
                            "fieldOfStudy": rng.choice(FIELDS)},
        },
    }


def sign(claims: dict[str, Any], issuer: KeyPair, did: str) -> str:
    kid = f"{did}#{did[8:]}"
    return jose.sign_jws(claims, issuer, header={"kid": kid, "typ": "vc+jwt", "cty": "vc"})








def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def full_recipe_rate(wallet: Wallet, tokens: list[str]) -> None:
    try:
        from vcwallet.credentials import verify_credential  # noqa: F401
    except ImportError:
        say("add() with verify_credential: skipped (vcwallet.credentials not present)")
        return
    start = time.perf_counter()
    for token in tokens:
        wallet.add(token)
    elapsed = time.perf_counter() - start
    say(f"add() with verify_credential: {len(tokens) / elapsed:.0f} credentials/s "
          f"({elapsed / len(tokens) * 1000:.1f} ms each, one fsync'd transaction each)")


def fill(wallet: Wallet, tokens: list[str], verify: Any) -> None:
    sample = tokens[:300]
    start = time.perf_counter()
    for token in sample:
        wallet.add(token, verify=verify)
    elapsed = time.perf_counter() - start
    say(f"add() with signature check: {len(sample) / elapsed:.0f} credentials/s")
    start = time.perf_counter()
    for offset in range(len(sample), len(tokens), 10_000):
        wallet.add_many(tokens[offset:offset + 10_000], verify=verify)
    elapsed = time.perf_counter() - start
    rest = len(tokens) - len(sample)
    say(f"add_many() with signature check: {rest / elapsed:.0f} credentials/s "
          f"({rest} in {elapsed:.1f} s)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(4)
    issuers = [KeyPair.from_ed25519_seed(bytes([i]) * 32) for i in range(50)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "holder.wallet"
        wallet = Wallet.create(path, PASS)
        start = time.perf_counter()
        dids = [issuer.did_key for issuer in issuers]  # did_key encodes each time: do it once
        holder = wallet.holder_did
        tokens = [sign(credential(i, holder, dids[i % 50], rng), issuers[i % 50], dids[i % 50])
                  for i in range(n)]
        say(f"{n} vc+jwt credentials signed in {time.perf_counter() - start:.1f} s")
        full_recipe_rate(wallet, tokens[:100])
        fill(wallet, tokens, signature_verifier())
        wallet.close()
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
        say(f"wallet file: {size / 2**20:.0f} MiB ({size / n:.0f} bytes per credential)")

        before = rss_mib()
        start = time.perf_counter()
        wallet = Wallet.open(path, PASS)
        say(f"open (KDF + decrypting the index of {len(wallet)}): "
              f"{time.perf_counter() - start:.2f} s, +{rss_mib() - before:.0f} MiB resident")
        say(f"list():                        {percentiles(timed(wallet.list, 20))}")
        for kind in ("BatteryAssessmentCredential", "OpenBadgeCredential"):
            hits = len(wallet.search(type=kind))
            say(f"search(type={kind}): {hits} found, "
                  f"{percentiles(timed(lambda k=kind: wallet.search(type=k), 10))}")
        say("candidates(battery, jwt):      " + percentiles(timed(
            lambda: list(wallet.candidates({"BatteryAssessmentCredential"}, formats={"jwt"})),
            20)))
        def by_subject() -> list[Any]:
            return wallet.search(achievement__fieldOfStudy="국어국문학", name="김민준")

        start = time.perf_counter()
        found = by_subject()
        say(f"search(subject fields), first (parses every credential, builds tables): "
            f"{(time.perf_counter() - start) * 1000:.0f} ms")
        say(f"search(subject fields): {len(found)} found, {percentiles(timed(by_subject, 10))}")
        keys = [e.key for e in rng.sample(wallet.list(), 200)]
        say(f"get() (decrypt one body):      "
              f"{percentiles(timed(lambda: wallet.get(rng.choice(keys)), 500))}")

        start = time.perf_counter()
        index = wallet.request_index()
        select(PE, index)
        say(f"request index + first request: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"(once per open), now {rss_mib() - before:.0f} MiB above the pre-open process")
        answers = timed(lambda: select(PE, wallet.request_index()), 300)
        say(f"answer presentation definition: {percentiles(answers)}")

        start = time.perf_counter()
        wallet.export(Path(folder) / "backup", "백업")
        say(f"export (re-encrypt all under a new key): {time.perf_counter() - start:.1f} s")
        wallet.close()
    say(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
