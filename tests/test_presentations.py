"""Presentations: every credential format inside Data Integrity and vp+jwt presentations,
bound to a challenge and domain; replays, foreign credentials, edited disclosures, missing
key binding and tampering fail with a reason; a wallet answers PE and DCQL requests."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vcwallet import _json, credentials, sdjwt
from vcwallet.did import DidResolver, StaticResolver, build_did_web_document
from vcwallet.errors import MalformedDocumentError, UnmetRequirement, WalletError
from vcwallet.jose import b64url_encode, sign_jws, unverified_header, unverified_payload
from vcwallet.keys import KeyPair, KeyType
from vcwallet.model import PresentationResult, Status
from vcwallet.presentations import (
    ENVELOPED_TYPE,
    create_presentation,
    envelope,
    is_presentation,
    open_envelope,
    verify_presentation,
)
from vcwallet.wallet import Wallet

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNIVERSITY = KeyPair.from_ed25519_seed(b"\x11" * 32)
ACADEMY = KeyPair.generate(KeyType.P256)
HOLDER = KeyPair.from_ed25519_seed(b"\x22" * 32)
STRANGER = KeyPair.from_ed25519_seed(b"\x33" * 32)
CHALLENGE = "c-7f3a9e"
DOMAIN = "https://hr.employer.example"
VCT = "https://credentials.hankook.ac.kr/transcript"
PASS = "지갑 암호"


def example(name: str) -> dict[str, Any]:
    return _json.loads((EXAMPLES / f"{name}.json").read_bytes())


def issue(fmt: str, *, holder: KeyPair = HOLDER, type_name: str = "diploma") -> Any:
    signer = ACADEMY if fmt == "di-ecdsa" else UNIVERSITY
    return credentials.issue(type_name, example(type_name), signer=signer, format=fmt,
                             issuer_name="한국대학교", holder=holder.did_key, now=NOW).data


def transcript_sd_jwt(holder: KeyPair = HOLDER) -> str:
    did = UNIVERSITY.did_key
    claims = {"sub": holder.did_key, "credentialSubject": {
        "id": holder.did_key, "name": "김민준", "birthDate": "2001-03-04", "gpa": 4.12,
        "courses": [{"code": "CSE2010", "name": "자료구조", "grade": "A+"},
                    {"code": "CSE3080", "name": "운영체제", "grade": "A0"}]}}
    return sdjwt.issue_sd_jwt(claims, UNIVERSITY, kid=f"{did}#{did[8:]}",
                              disclosable=["credentialSubject.birthDate", "credentialSubject.gpa",
                                           "credentialSubject.courses[*].grade"],
                              holder_jwk=holder.public_key.to_jwk(), vct=VCT, issuer=did, now=NOW)


def shown_sd_jwt(holder: KeyPair = HOLDER, *, nonce: str = CHALLENGE, audience: str = DOMAIN,
                 disclose: tuple[str, ...] = ("credentialSubject.gpa",)) -> str:
    return sdjwt.present_sd_jwt(transcript_sd_jwt(holder), disclose=disclose, holder=holder,
                                nonce=nonce, audience=audience, now=NOW)


def present(items: list[Any], fmt: str = "di", holder: KeyPair = HOLDER, **kwargs: Any) -> Any:
    options = {"challenge": CHALLENGE, "domain": DOMAIN, "now": NOW, **kwargs}
    return create_presentation(items, holder=holder, holder_did=holder.did_key, format=fmt,
                               **options)


def verify(vp: Any, **kwargs: Any) -> PresentationResult:
    options = {"challenge": CHALLENGE, "domain": DOMAIN, "now": NOW, **kwargs}
    return verify_presentation(vp, **options)


def failed_names(result: PresentationResult) -> set[str]:
    return {c.name for c in result.failures}


@pytest.fixture(scope="module")
def every_format() -> list[Any]:
    return [issue("di-eddsa"), issue("di-ecdsa"), issue("jwt"), issue("cose"), shown_sd_jwt()]


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_every_credential_format_round_trips(fmt: str, every_format: list[Any]) -> None:
    vp = present(every_format, fmt)
    if fmt == "di":
        assert isinstance(vp, dict)
        assert vp["proof"]["proofPurpose"] == "authentication"
        assert vp["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        assert (vp["proof"]["challenge"], vp["proof"]["domain"]) == (CHALLENGE, DOMAIN)
        embedded = vp["verifiableCredential"]
    else:
        assert isinstance(vp, str)
        header, claims = unverified_header(vp), unverified_payload(vp)
        assert header["typ"] == "vp+jwt" and header["kid"].startswith(HOLDER.did_key + "#")
        assert (claims["nonce"], claims["aud"]) == (CHALLENGE, DOMAIN)
        assert 0 < claims["exp"] - claims["iat"] <= 600
        embedded = claims["verifiableCredential"]
    assert [e.get("type") for e in embedded[2:]] == [ENVELOPED_TYPE] * 3
    assert embedded[2]["id"].startswith("data:application/vc+jwt,")
    assert embedded[3]["id"].startswith("data:application/vc+cose;base64,")
    assert embedded[4]["id"].startswith("data:application/dc+sd-jwt,")

    result = verify(vp)
    assert result.verified, result.failures
    assert result.format == fmt and result.holder == HOLDER.did_key
    assert [c.name for c in result.checks] == ["holder_proof", "challenge", "domain",
                                                "holder_binding"]
    assert [r.format for r in result.credentials] == ["di", "di", "jwt", "cose", "sd-jwt"]
    assert all(r.verified for r in result.credentials)
    sd = result.credentials[4]
    assert sd.check("key_binding").status is Status.PASSED
    subject = sd.credential["credentialSubject"]  # type: ignore[index]
    assert subject["gpa"] == 4.12 and "birthDate" not in subject
    assert all("grade" not in course for course in subject["courses"])
    assert result.to_json()["credentials"][0]["verified"] is True


def test_korean_text_survives_serialisation_and_p256_holder(every_format: list[Any]) -> None:
    holder = KeyPair.generate(KeyType.P256)
    items = [issue("jwt", holder=holder), shown_sd_jwt(holder)]
    vp = present(items, "di", holder=holder)
    assert vp["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
    text = _json.dumps(vp, pretty=True)
    assert "김민준" not in text  # the credentials are enveloped tokens, so no plain text here
    result = verify(text.encode("utf-8"))
    assert result.verified, result.failures
    assert "김민준" in json.dumps(result.to_json(), ensure_ascii=False)
    assert verify(present(items, "jwt", holder=holder)).verified


def test_data_integrity_credentials_keep_korean_text_exactly() -> None:
    diploma = issue("di-eddsa")
    vp = present([diploma])
    assert vp["verifiableCredential"][0] == diploma
    reread = json.loads(json.dumps(vp, ensure_ascii=False))
    result = verify(reread)
    assert result.verified
    subject = result.credentials[0].credential["credentialSubject"]  # type: ignore[index]
    assert subject["achievement"]["fieldOfStudy"] == "컴퓨터공학 (Computer Science)"


def test_an_empty_presentation_authenticates_the_holder() -> None:
    result = verify(present([], "jwt"))
    assert result.verified and result.credentials == ()


# -- replays and binding -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_replay_with_another_challenge_or_domain_fails(fmt: str) -> None:
    vp = present([issue("jwt")], fmt)
    other_challenge = verify(vp, challenge="c-other")
    assert not other_challenge.verified
    assert failed_names(other_challenge) == {"challenge"}
    assert "another challenge" in other_challenge.check("challenge").reason
    assert other_challenge.check("credentials").status is Status.SKIPPED
    other_domain = verify(vp, domain="https://insurer.example")
    assert failed_names(other_domain) == {"domain"}
    assert "not to https://insurer.example" in other_domain.check("domain").reason


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_someone_elses_credential_fails_holder_binding(fmt: str) -> None:
    theirs = issue("jwt", holder=STRANGER)
    result = verify(present([issue("di-eddsa"), theirs], fmt))
    assert not result.verified
    assert failed_names(result) == {"holder_binding"}
    reason = result.check("holder_binding").reason
    assert "credential[1]" in reason and STRANGER.did_key in reason


def test_someone_elses_sd_jwt_fails_key_binding_and_holder_binding() -> None:
    theirs = shown_sd_jwt(STRANGER)  # genuinely key-bound, but to the stranger's key
    result = verify(present([theirs]))
    assert not result.verified
    assert "holder_binding" in failed_names(result)
    assert "another key than the holder's" in result.check("holder_binding").reason


def test_edited_disclosure_fails() -> None:
    # the holder (or a thief of the token) raises the GPA and key-binds the result properly
    jwt, *disclosures, _ = transcript_sd_jwt().split("~")
    edited = ""
    for text in disclosures:
        salt, *rest = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if rest[0] == "gpa":
            forged = json.dumps([salt, "gpa", 4.5]).encode()
            edited = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    presented = f"{jwt}~{edited}~"
    sd_hash = b64url_encode(hashlib.sha256(presented.encode("ascii")).digest())
    kb = sign_jws({"iat": int(NOW.timestamp()), "aud": DOMAIN, "nonce": CHALLENGE,
                   "sd_hash": sd_hash}, HOLDER, header={"typ": "kb+jwt"})
    result = verify(present([presented + kb], "jwt"))
    assert not result.verified
    assert "credential[0].disclosures" in failed_names(result)
    assert "edited or foreign" in result.credentials[0].check("disclosures").reason
    assert result.credentials[0].check("key_binding").status is Status.SKIPPED


def test_removed_key_binding_fails() -> None:
    stripped = shown_sd_jwt().rsplit("~", 1)[0] + "~"
    result = verify(present([stripped]))
    assert not result.verified
    assert failed_names(result) == {"credential[0].key_binding"}
    assert "no key-binding JWT" in result.credentials[0].check("key_binding").reason


def test_key_binding_for_another_verifier_fails_inside_a_fresh_presentation() -> None:
    elsewhere = shown_sd_jwt(nonce="n-old", audience="https://other.example")
    result = verify(present([elsewhere]))
    assert failed_names(result) == {"credential[0].key_binding"}
    assert "nonce" in result.credentials[0].check("key_binding").reason


# -- tampering -----------------------------------------------------------------------------


def test_tampered_data_integrity_presentation_fails() -> None:
    vp = present([issue("di-eddsa"), issue("jwt")])
    swapped = json.loads(json.dumps(vp))
    swapped["verifiableCredential"][1] = envelope(issue("jwt", holder=STRANGER), "jwt")
    result = verify(swapped)
    assert failed_names(result) == {"holder_proof"}
    assert result.credentials == ()
    # RDF has no order for verifiableCredential: a Data Integrity proof cannot protect it
    # (docs/presentations.md), so a verifier matches credentials by content, not position
    reordered = json.loads(json.dumps(vp))
    reordered["verifiableCredential"].reverse()
    assert verify(reordered).verified
    # the proof's challenge cannot be rewritten without breaking the signature either
    rewritten = json.loads(json.dumps(vp))
    rewritten["proof"]["challenge"] = "c-other"
    assert not verify(rewritten, challenge="c-other").verified


def test_tampered_vp_jwt_fails() -> None:
    token = present([issue("jwt")], "jwt")
    header, _payload, signature = token.split(".")
    claims = unverified_payload(token)
    claims["aud"] = "https://insurer.example"
    forged_payload = base64.urlsafe_b64encode(_json.dumps(claims).encode()).rstrip(b"=").decode()
    result = verify(f"{header}.{forged_payload}.{signature}", domain="https://insurer.example")
    assert failed_names(result) == {"holder_proof"}


def test_presentation_signed_by_someone_else_for_the_holder_fails() -> None:
    credential = issue("jwt")
    vp = present([credential], "di", holder=STRANGER)
    forged = json.loads(json.dumps(vp))
    forged["holder"] = HOLDER.did_key  # claims to be the holder, but the key is the stranger's
    assert "holder_proof" in failed_names(verify(forged))
    # a vp+jwt whose kid is the stranger's while the holder member names our holder
    claims = {"@context": ["https://www.w3.org/ns/credentials/v2"],
              "type": ["VerifiablePresentation"], "holder": HOLDER.did_key,
              "verifiableCredential": [envelope(credential, "jwt")], "nonce": CHALLENGE,
              "aud": DOMAIN, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}
    kid = f"{STRANGER.did_key}#{STRANGER.did_key[8:]}"
    token = sign_jws(claims, STRANGER, header={"typ": "vp+jwt", "kid": kid})
    result = verify(token)
    assert failed_names(result) == {"holder_proof"}
    assert "not by the holder" in result.check("holder_proof").reason


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_did_web_holder_needs_an_authentication_key(fmt: str) -> None:
    did = "did:web:minjun.example"
    document = build_did_web_document(did, [HOLDER.public_key])
    resolver = StaticResolver({did: document}, fallback=DidResolver())
    credential = credentials.issue("diploma", example("diploma"), signer=UNIVERSITY,
                                   issuer_name="한국대학교", holder=did, now=NOW).data
    vp = create_presentation([credential], holder=HOLDER, holder_did=did, challenge=CHALLENGE,
                             domain=DOMAIN, format=fmt, now=NOW)
    result = verify(vp, resolver=resolver)
    assert result.verified, result.failures
    assert result.verification_method == f"{did}#key-1"
    # the same key listed only for assertions may not authenticate the holder
    assertion_only = StaticResolver({did: {**document, "authentication": []}},
                                    fallback=DidResolver())
    refused = verify(vp, resolver=assertion_only)
    assert failed_names(refused) == {"holder_proof"}
    assert "authentication" in refused.check("holder_proof").reason


def test_expired_vp_jwt_fails() -> None:
    token = present([issue("jwt")], "jwt")
    result = verify(token, now=NOW + timedelta(hours=1))
    assert failed_names(result) == {"holder_proof"}
    assert "expired" in result.check("holder_proof").reason


def test_credential_forged_inside_a_validly_signed_presentation_fails() -> None:
    forged = json.loads(json.dumps(issue("di-eddsa")))
    forged["credentialSubject"]["achievement"]["achievementType"] = "DoctoralDegree"
    result = verify(present([forged], "jwt"))
    assert not result.verified
    assert "credential[0].signature" in failed_names(result)
    assert result.check("holder_proof").status is Status.PASSED


# -- malformed input -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [
    b"\xff\xfe",
    "not a presentation",
    "{}",
    '{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiableCredential"}',
    '{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiablePresentation"}',
    "[1, 2]",
    "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
])
def test_malformed_input_raises(bad: Any) -> None:
    with pytest.raises(MalformedDocumentError):
        verify(bad)
    assert not is_presentation(bad)


def test_an_unreadable_credential_in_a_signed_presentation_is_a_failed_result() -> None:
    garbage = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ENVELOPED_TYPE,
               "id": "data:application/vc+jwt,not-a-token"}
    result = verify(present([garbage, issue("jwt")], "jwt"))
    assert not result.verified
    assert [r.verified for r in result.credentials] == [False, True]
    assert result.credentials[0].format == "unreadable"
    assert "credential[0].format" in failed_names(result)


@pytest.mark.parametrize("bad_value", [float("nan"), float("inf"), 2**60, "lone \ud800"])
def test_embedded_credentials_are_strict_json_whatever_the_entry_point(bad_value: Any) -> None:
    """The presentation is walked as strict JSON once, for the credentials it embeds too;
    a credential handed over on its own is still walked by verify_credential."""
    vp = present([issue("di-eddsa"), issue("jwt")])
    vp["verifiableCredential"][0]["credentialSubject"]["note"] = bad_value
    with pytest.raises(MalformedDocumentError):
        verify(vp)
    with pytest.raises(MalformedDocumentError):
        credentials.verify_credential(vp["verifiableCredential"][0], now=NOW)
    text = json.dumps(vp, ensure_ascii=True) if isinstance(bad_value, str) else None
    if text is not None:  # the same presentation as JSON text: refused by the parser
        with pytest.raises(MalformedDocumentError):
            verify(text)


def test_a_verified_proof_stands_for_the_context_check() -> None:
    """Same verdicts and reasons as running the check: passed for a proof that verified,
    and run in full where the proof did not verify."""
    good = issue("di-eddsa")
    result = verify(present([good, issue("jwt")]))
    assert result.verified
    reasons = {r.format: r.check("context").reason for r in result.credentials}
    assert reasons["di"] == reasons["jwt"] == "every context is bundled and every term is defined"
    tampered = json.loads(json.dumps(good))
    tampered["credentialSubject"]["name"] = "다른 사람"
    result = verify(present([tampered]))
    assert result.credentials[0].check("signature").status is Status.FAILED
    assert result.credentials[0].check("context").status is Status.PASSED
    undefined = json.loads(json.dumps(good))
    undefined["credentialSubject"]["favouriteColour"] = "blue"
    result = verify(present([undefined], "jwt"))  # a DI presentation of it cannot be signed
    assert result.credentials[0].check("signature").status is Status.FAILED
    assert result.credentials[0].check("context").status is Status.FAILED
    assert "favouriteColour" in result.credentials[0].check("context").reason


def test_only_data_urls_of_credential_formats_are_opened() -> None:
    token = issue("jwt")
    assert open_envelope(envelope(token, "jwt")) == ("jwt", token)
    for url in ("https://evil.example/vc.jwt", "data:text/plain,hello",
                "data:application/vc+cose,notbase64"):
        with pytest.raises(MalformedDocumentError):
            open_envelope({"id": url, "type": ENVELOPED_TYPE})
    vp = present([token], "jwt")
    assert is_presentation(vp) and not is_presentation(token)


def test_misuse_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="challenge"):
        present([], challenge="")
    with pytest.raises(ValueError, match="format"):
        present([], "ldp")
    with pytest.raises(ValueError):
        create_presentation([], holder=HOLDER, holder_did=STRANGER.did_key, challenge="c",
                            domain="d")
    with pytest.raises(MalformedDocumentError, match="without a proof"):
        present([{"@context": ["https://www.w3.org/ns/credentials/v2"]}])


# -- the wallet answers requests -----------------------------------------------------------


def degree_and_badge_request() -> dict[str, Any]:
    degree = {"id": "cs_degree", "constraints": {"fields": [
        {"path": ["$.credentialSubject.achievement.achievementType"],
         "filter": {"type": "string", "const": "BachelorDegree"}}]}}
    badge = {"id": "sw_badge", "constraints": {"fields": [
        {"path": ["$.credentialSubject.achievement.achievementType"],
         "filter": {"const": "CertificateOfCompletion"}}]}}
    return {"presentation_definition": {"id": "hiring-2026", "name": "신입 개발자 채용",
                                        "input_descriptors": [degree, badge]}}


def gpa_query() -> dict[str, Any]:
    return {"dcql_query": {"credentials": [
        {"id": "transcript", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
         "claims": [{"path": ["credentialSubject", "gpa"]}]}]}}


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("wallet") / "holder.wallet"
    with Wallet.create(path, PASS) as wallet:
        holder = wallet.holder
        wallet.add(credentials.issue("diploma", example("diploma"), signer=UNIVERSITY,
                                     issuer_name="한국대학교", holder=wallet.holder_did,
                                     now=NOW).data, now=NOW)
        wallet.add(credentials.issue("badge", example("badge"), signer=ACADEMY, format="jwt",
                                     holder=wallet.holder_did, now=NOW).data, now=NOW)
        wallet.add(transcript_sd_jwt(holder), now=NOW)
        yield wallet


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_wallet_answers_a_presentation_definition(held: Wallet, fmt: str) -> None:
    answer = held.present(degree_and_badge_request(), challenge=CHALLENGE, domain=DOMAIN,
                          format=fmt, now=NOW)
    assert answer.format == fmt and len(answer.credential_keys) == 2
    submission = answer.presentation_submission
    assert submission is not None and submission["definition_id"] == "hiring-2026"
    nested = [(d["id"], d["path_nested"]["format"], d["path_nested"]["path"]) for d in submission["descriptor_map"]]
    assert nested == [("cs_degree", "ldp_vc", "$.verifiableCredential[0]"),
                      ("sw_badge", "jwt_vc_json", "$.verifiableCredential[1]")]
    assert {d["format"] for d in submission["descriptor_map"]} == {
        "ldp_vp" if fmt == "di" else "jwt_vp_json"}
    result = verify(answer.presentation)
    assert result.verified, result.failures
    assert result.credentials[1].summary and "이서연" in str(result.credentials[1].credential)
    assert answer.response()["presentation_submission"] == submission


def test_wallet_discloses_only_what_a_dcql_query_needs(held: Wallet) -> None:
    answer = held.present(gpa_query(), challenge=CHALLENGE, domain=DOMAIN, now=NOW)
    assert answer.credential_map == {"transcript": ["$.verifiableCredential[0]"]}
    assert answer.presentation_submission is None
    result = verify(answer.to_bytes())
    assert result.verified, result.failures
    (sd,) = result.credentials
    subject = sd.credential["credentialSubject"]  # type: ignore[index]
    assert subject["gpa"] == 4.12 and subject["name"] == "김민준"
    assert "birthDate" not in subject and all("grade" not in c for c in subject["courses"])
    # a replay of the wallet's answer elsewhere fails twice over
    assert failed_names(verify(answer.presentation, domain="https://insurer.example")) == {"domain"}


def test_wallet_names_the_unmet_requirement(held: Wallet) -> None:
    request = degree_and_badge_request()
    fields = request["presentation_definition"]["input_descriptors"][1]["constraints"]["fields"]
    fields[0]["filter"] = {"const": "Certificate"}
    with pytest.raises(UnmetRequirement) as info:
        held.present(request, challenge=CHALLENGE, domain=DOMAIN, now=NOW)
    assert info.value.requirement == "sw_badge"


def test_wallet_refuses_an_sd_jwt_bound_to_another_key(tmp_path: Path) -> None:
    with Wallet.create(tmp_path / "w", PASS) as wallet:
        wallet.add(transcript_sd_jwt(STRANGER), now=NOW)
        with pytest.raises(WalletError, match="cnf"):
            wallet.present(gpa_query(), challenge=CHALLENGE, domain=DOMAIN, now=NOW)
