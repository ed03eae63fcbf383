"""The recipes end to end: every type in every format, tampering, Korean text, bad input."""

from __future__ import annotations

import base64
import copy
import json
import unicodedata
from datetime import UTC, datetime, timedelta

import cbor2
import pytest

from vcwallet.credentials import ISSUE_FORMATS, detect_format, issue, secure, verify_credential
from vcwallet.demo import example_subject
from vcwallet.errors import MalformedDocumentError, SchemaValidationError, UndefinedTermError
from vcwallet.keys import KeyPair, KeyType
from vcwallet.model import Status

TYPES = ("diploma", "transcript", "badge", "battery")
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys():
    return {KeyType.ED25519: KeyPair.generate(KeyType.ED25519),
            KeyType.P256: KeyPair.generate(KeyType.P256)}


def _key_for(fmt, keys):
    return keys[KeyType.P256 if fmt == "di-ecdsa" else KeyType.ED25519]


@pytest.mark.parametrize("fmt", ISSUE_FORMATS)
@pytest.mark.parametrize("type_name", TYPES)
def test_every_type_round_trips_in_every_format(type_name, fmt, keys):
    signer = _key_for(fmt, keys)
    secured = issue(type_name, example_subject(type_name), signer=signer, format=fmt,
                    issuer_name="한국대학교", now=NOW)
    result = verify_credential(secured.to_bytes(), now=NOW)
    assert result.verified, [c for c in result.checks if c.status is not Status.PASSED]
    assert result.issuer == signer.did_key
    assert result.credential == secured.credential
    assert result.check("schema").status is Status.PASSED
    assert result.check("status").status is Status.SKIPPED  # reported, never silently passed
    assert result.summary


@pytest.mark.parametrize("key_type", list(KeyType))
@pytest.mark.parametrize("fmt", ["jwt", "cose"])
def test_jose_and_cose_work_with_both_key_types(key_type, fmt):
    signer = KeyPair.generate(key_type)
    secured = issue("badge", example_subject("badge"), signer=signer, format=fmt, now=NOW)
    assert verify_credential(secured.data, now=NOW).verified


def test_korean_text_round_trips_exactly_and_is_nfc(keys):
    subject = example_subject("diploma")
    decomposed = unicodedata.normalize("NFD", "김민준")
    assert decomposed != "김민준"
    subject["identifier"][0]["identityHash"] = decomposed
    secured = issue("diploma", subject, signer=keys[KeyType.ED25519], format="jwt",
                    issuer_name=unicodedata.normalize("NFD", "한국대학교"), now=NOW)
    result = verify_credential(secured.to_bytes(), now=NOW)
    assert result.verified
    assert result.credential["credentialSubject"]["identifier"][0]["identityHash"] == "김민준"
    assert result.credential["issuer"]["name"] == "한국대학교"
    assert "김민준" in result.summary


def _di(keys, fmt="di-eddsa"):
    return issue("diploma", example_subject("diploma"), signer=_key_for(fmt, keys), format=fmt,
                 now=NOW).data


TAMPERS = {
    "subject value": lambda d: d["credentialSubject"]["achievement"].__setitem__("name", "Doctor"),
    "issuer": lambda d: d["issuer"].__setitem__("id", KeyPair.generate().did_key),
    "issuer name": lambda d: d["issuer"].__setitem__("name", "가짜대학교"),
    "date": lambda d: d.__setitem__("validFrom", "2020-01-01T00:00:00Z"),
    "proof created": lambda d: d["proof"].__setitem__("created", "2020-01-01T00:00:00Z"),
    "proof purpose": lambda d: d["proof"].__setitem__("proofPurpose", "authentication"),
    "proof value": lambda d: d["proof"].__setitem__(
        "proofValue", d["proof"]["proofValue"][:-2] + ("11" if d["proof"]["proofValue"][-2:] != "11" else "22")),
    # replacing a context changes what the terms mean, so the canonical RDF and the signature
    "context": lambda d: d["@context"].__setitem__(
        1, "https://www.w3.org/ns/credentials/examples/v2"),
    "context order": lambda d: d["@context"].reverse(),
    "added property": lambda d: d["credentialSubject"].__setitem__("nickname", "mj"),
    "type": lambda d: d["type"].append("EndorsementCredential"),
}


@pytest.mark.parametrize("fmt", ["di-eddsa", "di-ecdsa"])
@pytest.mark.parametrize("change", sorted(TAMPERS))
def test_any_change_to_a_data_integrity_credential_fails(change, fmt, keys):
    document = copy.deepcopy(_di(keys, fmt))
    assert verify_credential(document, now=NOW).verified
    TAMPERS[change](document)
    result = verify_credential(document, now=NOW)
    assert not result.verified
    assert result.failures


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("field", ["validFrom", "issuer", "credentialSubject"])
def test_changing_a_jwt_payload_fails(field, keys):
    token = issue("badge", example_subject("badge"), signer=keys[KeyType.ED25519], format="jwt",
                  now=NOW).data
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[field] = "2020-01-01T00:00:00Z" if field == "validFrom" else {"id": "did:example:x"}
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    result = verify_credential(forged, now=NOW)
    assert not result.verified


def test_changing_a_cose_payload_fails(keys):
    data = issue("battery", example_subject("battery"), signer=keys[KeyType.P256], format="cose",
                 now=NOW).data
    tag = cbor2.loads(data)
    protected, unprotected, payload, signature = tag.value
    forged_payload = payload.replace(b"91.2", b"99.2")
    assert forged_payload != payload
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, forged_payload, signature]))
    assert not verify_credential(forged, now=NOW).verified


def test_validity_period_is_checked_against_now(keys):
    secured = issue("badge", example_subject("badge"), signer=keys[KeyType.ED25519], format="jwt",
                    now=NOW, valid_until=NOW + timedelta(days=30))
    assert verify_credential(secured.data, now=NOW + timedelta(days=29)).verified
    late = verify_credential(secured.data, now=NOW + timedelta(days=31))
    assert not late.verified and late.check("validity_period").status is Status.FAILED
    early = verify_credential(secured.data, now=NOW - timedelta(days=1))
    assert not early.verified and "not valid before" in early.check("validity_period").reason


def test_a_credential_signed_by_another_key_of_the_wrong_issuer_fails(keys):
    secured = issue("badge", example_subject("badge"), signer=keys[KeyType.ED25519],
                    format="di-eddsa", now=NOW)
    other = KeyPair.generate()
    document = copy.deepcopy(secured.data)
    # keep the signature but claim another issuer that controls a different key
    document["issuer"]["id"] = other.did_key
    result = verify_credential(document, now=NOW)
    assert not result.verified


def test_generic_vcdm2_credential_with_examples_context_verifies(keys):
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "name": "Alumni Credential",
        "issuer": keys[KeyType.ED25519].did_key,
        "validFrom": "2023-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    }
    for fmt in ("di-eddsa", "jwt", "cose"):
        secured = secure(credential, signer=keys[KeyType.ED25519], format=fmt, now=NOW)
        result = verify_credential(secured.data, now=NOW)
        assert result.verified, result.failures
        assert result.check("schema").status is Status.SKIPPED


def test_undefined_term_is_refused_at_issuance(keys):
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": keys[KeyType.ED25519].did_key,
        "credentialSubject": {"id": "did:example:abc", "undefinedClaim": "x"},
    }
    with pytest.raises(UndefinedTermError):
        secure(credential, signer=keys[KeyType.ED25519], format="jwt")


def test_unknown_context_is_a_failed_check_not_a_fetch(keys):
    secured = issue("badge", example_subject("badge"), signer=keys[KeyType.ED25519],
                    format="di-eddsa", now=NOW)
    document = copy.deepcopy(secured.data)
    document["@context"].append("https://evil.example/context.jsonld")
    result = verify_credential(document, now=NOW)
    assert not result.verified
    assert "unknown JSON-LD context" in result.check("context").reason


def test_schema_violation_is_refused_at_issuance(keys):
    subject = example_subject("battery")
    subject["ratedCapacity"]["value"] = -5
    with pytest.raises(SchemaValidationError):
        issue("battery", subject, signer=keys[KeyType.ED25519], format="jwt")


def test_format_key_mismatch_is_a_usage_error(keys):
    with pytest.raises(ValueError, match="needs a p256 key"):
        issue("badge", example_subject("badge"), signer=keys[KeyType.ED25519], format="di-ecdsa")


@pytest.mark.parametrize("bad", [
    b"", b"{", b"[1,2]x", b"not a credential", b"\xff\xfe\x00", b'{"a": NaN}',
    b'{"a": 1, "a": 2}', b'{"n": 12345678901234567890}', b"a.b.c.d.e",
])
def test_unreadable_input_raises_the_documented_error(bad):
    with pytest.raises(MalformedDocumentError):
        result = verify_credential(bad, now=NOW)
        # some inputs parse as JSON but are not credentials: those must not verify
        assert not result.verified
        raise MalformedDocumentError("not verified")


def test_huge_input_is_refused():
    with pytest.raises(MalformedDocumentError):
        verify_credential(b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}')


def test_detect_format(keys):
    signer = keys[KeyType.ED25519]
    for fmt, expected in (("di-eddsa", "di"), ("jwt", "jwt"), ("cose", "cose")):
        secured = issue("badge", example_subject("badge"), signer=signer, format=fmt, now=NOW)
        assert detect_format(secured.to_bytes()) == expected
    with pytest.raises(MalformedDocumentError):
        detect_format(b"a.b.c.d.e")


def _sd_jwt(keys, holder_jwk=None):
    from vcwallet.sdjwt import issue_sd_jwt

    signer = keys[KeyType.ED25519]
    claims = {"credentialSubject": {"name": "김민준", "gpa": 4.12, "birthDate": "2000-03-01"}}
    return issue_sd_jwt(claims, signer, kid=f"{signer.did_key}#{signer.did_key[8:]}",
                        disclosable=["credentialSubject.gpa", "credentialSubject.birthDate"],
                        holder_jwk=holder_jwk, vct="https://w3id.org/vcwallet/vct/transcript",
                        issuer=signer.did_key, now=NOW)


def test_sd_jwt_as_issued_verifies_and_an_edited_disclosure_fails(keys):
    token = _sd_jwt(keys)
    result = verify_credential(token, now=NOW)
    assert result.verified, result.failures
    assert result.format == "sd-jwt"
    assert result.credential["credentialSubject"]["gpa"] == 4.12
    assert result.check("context").status is Status.SKIPPED
    jwt, *disclosures, last = token.split("~")
    edited = base64.urlsafe_b64decode(disclosures[0] + "=" * (-len(disclosures[0]) % 4))
    forged_disclosure = _b64(edited.replace(b"4.12", b"4.5").replace(b"2000-03-01", b"1990-01-01"))
    forged = "~".join([jwt, forged_disclosure, *disclosures[1:], last])
    assert not verify_credential(forged, now=NOW).verified


def test_sd_jwt_with_key_binding_needs_a_presentation_check(keys):
    from vcwallet.sdjwt import present_sd_jwt

    holder = KeyPair.generate()
    token = _sd_jwt(keys, holder_jwk=holder.public_key.to_jwk())
    presented = present_sd_jwt(token, disclose=["credentialSubject.gpa"], holder=holder,
                               nonce="n-1", audience="https://employer.example", now=NOW)
    result = verify_credential(presented, now=NOW)
    assert not result.verified and "presentation" in result.check("format").reason
