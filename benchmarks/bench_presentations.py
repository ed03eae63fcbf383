"""Presentations from a wallet of 100,000 credentials: add rate, latency of answering a
presentation definition (target: p99 <= 20 ms), and the time to create and to verify a
presentation of three credentials (a Data Integrity diploma, a vc+jwt badge, an SD-JWT
transcript with key binding), as Data Integrity and as vp+jwt.

    .venv/bin/python benchmarks/bench_presentations.py [N]

The wallet is filled through its bulk path (``add_many`` in batches of 10,000, one
transaction each) with real vc+jwt credentials whose signatures are checked against the
issuer's did:key (``jose.verify_vc_jwt``; dates, schema and status are left to the full
recipe, whose rate ``add()`` is measured separately on 100 credentials).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _timing import percentiles, say, timed

from vcwallet import _json, credentials, jose, sdjwt
from vcwallet.did import DidResolver
from vcwallet.keys import KeyPair
from vcwallet.model import CredentialResult
from vcwallet.presentations import create_presentation, verify_presentation
from vcwallet.queries import select
from vcwallet.wallet import Wallet

PASS = "벤치마크 지갑"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VCT = "https://credentials.hankook.ac.kr/transcript"
CHALLENGE, DOMAIN = "c-bench-1", "https://hr.employer.example"
KINDS = ["BachelorDegree", "MasterDegree", "Diploma", "Badge", "Certificate", "Course"]
FIELDS = ["Computer Science", "Mathematics", "Physics", "Economics", "국어국문학", "기계공학"]
NAMES = ["김민준", "이서연", "박지후", "최수아", "정도윤", "강하은"]

# the employer's request: a CS bachelor's degree, a SW-training certificate, the GPA
REQUEST = {"presentation_definition": {"id": "hiring-2026", "input_descriptors": [
    {"id": "degree", "constraints": {"fields": [
        {"path": ["$.type"], "filter": {"type": "array",
                                        "contains": {"const": "OpenBadgeCredential"}}},
        {"path": ["$.credentialSubject.achievement.achievementType"],
         "filter": {"const": "BachelorDegree"}},
        {"path": ["$.credentialSubject.achievement.fieldOfStudy"],
         "filter": {"const": "컴퓨터공학 (Computer Science)"}}]}},
    {"id": "training", "constraints": {"fields": [
        {"path": ["$.credentialSubject.achievement.achievementType"],
         "filter": {"const": "CertificateOfCompletion"}}]}},
    {"id": "gpa", "format": {"dc+sd-jwt": {}}, "constraints": {
        "limit_disclosure": "required", "fields": [
            {"path": ["$.vct"], "filter": {"const": VCT}},
            {"path": ["$.credentialSubject.gpa"], "filter": {"type": "number", "minimum": 3.5}}]}},
]}}










def signature_verifier() -> Any:
    resolver = jose.CachingResolver(DidResolver())

    def verify(token: str, *, now: datetime | None = None) -> CredentialResult:
        claims = jose.verify_vc_jwt(token, resolver=resolver).credential
        return CredentialResult(True, "jwt", (), credential=claims,
                                issuer=claims["issuer"]["id"], types=tuple(claims["type"]))

    return verify


def filler(i: int, holder: str, issuer: str, rng: random.Random) -> dict[str, Any]:
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


def three_credentials(holder: KeyPair, now: datetime) -> list[Any]:
    """The job seeker's real credentials: DI diploma, vc+jwt badge, SD-JWT transcript."""
    university = KeyPair.from_ed25519_seed(b"\x61" * 32)
    academy = KeyPair.from_ed25519_seed(b"\x62" * 32)

    def example(name: str) -> dict[str, Any]:
        return _json.loads((EXAMPLES / f"{name}.json").read_bytes())

    diploma = credentials.issue("diploma", example("diploma"), signer=university,
                                issuer_name="한국대학교", holder=holder.did_key, now=now).data
    badge = credentials.issue("badge", example("badge"), signer=academy, format="jwt",
                              holder=holder.did_key, now=now).data
    did = university.did_key
    claims = {"sub": holder.did_key, "credentialSubject": {
        "id": holder.did_key, "name": "김민준", "birthDate": "2001-03-04", "gpa": 4.12,
        "courses": [{"code": f"CSE{n}", "grade": "A+"} for n in range(40)]}}
    transcript = sdjwt.issue_sd_jwt(
        claims, university, kid=f"{did}#{did[8:]}", vct=VCT, issuer=did, now=now,
        disclosable=["credentialSubject.birthDate", "credentialSubject.gpa",
                     "credentialSubject.courses[*].grade"],
        holder_jwk=holder.public_key.to_jwk())
    return [diploma, badge, transcript]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(7)
    issuers = [KeyPair.from_ed25519_seed(bytes([i + 1]) * 32) for i in range(50)]
    dids = [issuer.did_key for issuer in issuers]
    with tempfile.TemporaryDirectory() as folder:
        wallet = Wallet.create(Path(folder) / "holder.wallet", PASS)
        holder = wallet.holder
        now = datetime.now(UTC)
        start = time.perf_counter()
        tokens = [jose.sign_jws(filler(i, wallet.holder_did, dids[i % 50], rng), issuers[i % 50],
                                header={"kid": f"{dids[i % 50]}#{dids[i % 50][8:]}",
                                        "typ": "vc+jwt", "cty": "vc"})
                  for i in range(n)]
        say(f"{n} vc+jwt credentials signed in {time.perf_counter() - start:.1f} s")

        # add rates: one credential at a time with the full recipe, then the bulk path
        start = time.perf_counter()
        for token in tokens[:100]:
            wallet.add(token)
        each = (time.perf_counter() - start) / 100
        say(f"add() with verify_credential:  {1 / each:.0f} credentials/s ({each * 1000:.1f} ms each)")
        verify = signature_verifier()
        start = time.perf_counter()
        for offset in range(100, n, 10_000):
            wallet.add_many(tokens[offset:offset + 10_000], verify=verify)
        elapsed = time.perf_counter() - start
        say(f"add_many() bulk fill:          {(n - 100) / elapsed:.0f} credentials/s "
            f"({n - 100} in {elapsed:.1f} s)")
        for secured in three_credentials(holder, now):
            wallet.add(secured)
        say(f"wallet holds {len(wallet)} credentials")

        # answering the presentation definition
        start = time.perf_counter()
        index = wallet.request_index()
        say(f"request index built once:      {(time.perf_counter() - start) * 1000:.0f} ms")
        selection = select(REQUEST, index)
        assert len(selection.keys) == 3, selection.keys
        say(f"select(PD) over the index:     {percentiles(timed(lambda: select(REQUEST, index), 300))}")
        # create and verify a presentation of the three credentials
        secured = [wallet.get(key).raw for key in selection.keys]
        secured[0] = _json.loads(secured[0])  # the Data Integrity diploma, as JSON
        secured[2] = sdjwt.present_sd_jwt(secured[2], disclose=["credentialSubject.gpa"],
                                          holder=holder, nonce=CHALLENGE, audience=DOMAIN)
        for fmt in ("di", "jwt"):
            def create(f: str = fmt) -> Any:
                return create_presentation(secured, holder=holder, holder_did=wallet.holder_did,
                                           challenge=CHALLENGE, domain=DOMAIN, format=f)

            start = time.perf_counter()
            vp = create()
            first_create = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            result = verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN)
            first_verify = (time.perf_counter() - start) * 1000
            assert result.verified, result.failures
            say(f"first create / verify ({fmt:<3}): {first_create:.1f} / {first_verify:.1f} ms "
                "(the first presentation of this shape in the process)")

            def check(v: Any = vp) -> Any:
                return verify_presentation(v, challenge=CHALLENGE, domain=DOMAIN)

            say(f"create_presentation({fmt:<3}):    {percentiles(timed(create, 30))}")
            say(f"verify_presentation({fmt:<3}):    {percentiles(timed(check, 30))}")
        for fmt in ("di", "jwt"):
            samples = timed(lambda f=fmt: wallet.present(REQUEST, challenge=CHALLENGE,
                                                         domain=DOMAIN, format=f), 30)
            say(f"Wallet.present(PD, {fmt:<3}):      {percentiles(samples)}  "
                "(select + decrypt 3 + SD-JWT key binding + holder signature)")
        wallet.close()


if __name__ == "__main__":
    main()
