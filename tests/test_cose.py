"""vc+cose: COSE_Sign1 round trips, an independent Sig_structure, and every refusal."""

from __future__ import annotations

import json

import cbor2
import pytest

from vcwallet import cose
from vcwallet.did import DidResolver, StaticResolver, did_key_url
from vcwallet.errors import (
    InvalidSignature,
    MalformedDocumentError,
    ProofPurposeError,
    UnsupportedAlgorithm,
)
from vcwallet.keys import KeyPair, KeyType

KOREAN_NAME = "이서연"
KOREAN_ASSESSMENT = "배터리 잔존 수명 평가: 양호 (SOH 91%)"


def credential_for(issuer_id: str, **extra: object) -> dict:
    credential: dict[str, object] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "urn:uuid:0f3a8c2e-1b7d-4c55-9e0a-2d6f4b8a9c11",
        "type": ["VerifiableCredential", "ExampleBatteryCredential"],
        "issuer": {"id": issuer_id, "name": "한국배터리평가원"},
        "validFrom": "2026-05-01T09:00:00+09:00",
        "credentialSubject": {
            "id": "did:example:car-owner",
            "name": KOREAN_NAME,
            "assessment": KOREAN_ASSESSMENT,
        },
    }
    credential.update(extra)
    return credential


@pytest.fixture(params=list(KeyType), ids=lambda k: k.value)
def issuer(request):
    pair = KeyPair.generate(request.param)
    return pair, did_key_url(pair.public_key)


@pytest.fixture()
def resolver():
    return DidResolver()


def cose_alg(pair: KeyPair) -> int:
    return -8 if pair.key_type is KeyType.ED25519 else -7


def vc_protected(pair: KeyPair, kid: str, **changes: object) -> dict:
    header = {1: cose_alg(pair), 3: "application/vc", 4: kid.encode(), 16: "application/vc+cose"}
    for label, value in changes.items():
        key = int(label.lstrip("_"))
        if value is None:
            header.pop(key, None)
        else:
            header[key] = value
    return header


# -- an independent encoder for the RFC 9052 Sig_structure (no cbor2) ----------------------


def _head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * width):
            return bytes([major << 5 | info]) + length.to_bytes(width, "big")
    raise AssertionError("too long")


def independent_to_be_signed(protected: bytes, payload: bytes) -> bytes:
    """Sig_structure = ["Signature1", body_protected, external_aad = h'', payload]."""
    context = b"Signature1"
    return (
        _head(4, 4)
        + _head(3, len(context))
        + context
        + _head(2, len(protected))
        + protected
        + _head(2, 0)
        + _head(2, len(payload))
        + payload
    )


def resign(
    pair: KeyPair,
    protected: dict | bytes,
    payload: bytes | dict,
    unprotected: dict | None = None,
    tag: int | None = 18,
) -> bytes:
    """A COSE_Sign1 with exactly these parts, validly signed by ``pair``."""
    p = protected if isinstance(protected, bytes) else cbor2.dumps(protected, canonical=True)
    body = (
        payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    )
    signature = pair.sign(independent_to_be_signed(p, body))
    array = [p, unprotected or {}, body, signature]
    return cbor2.dumps(cbor2.CBORTag(tag, array) if tag is not None else array)


# -- round trips and structure -------------------------------------------------------------


def test_vc_cose_round_trip_keeps_korean_text_exactly(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    data = cose.sign_vc_cose(credential, pair, kid=kid)
    result = cose.verify_vc_cose(data, resolver=resolver)
    assert result.credential == credential
    assert result.credential["credentialSubject"]["assessment"] == KOREAN_ASSESSMENT
    assert result.protected == vc_protected(pair, kid)
    assert result.verification_method.id == kid


def test_structure_is_a_tagged_cose_sign1_with_deterministic_protected_header(issuer):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    data = cose.sign_vc_cose(credential, pair, kid=kid)
    item = cbor2.loads(data)
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18
    protected, unprotected, payload, signature = item.value
    expected = vc_protected(pair, kid)
    assert protected == cbor2.dumps(expected, canonical=True)
    # deterministic encoding: labels 1, 3, 4, 16 in that order, shortest forms
    assert protected[:3] == bytes([0xA4, 0x01, 0x27 if pair.key_type is KeyType.ED25519 else 0x26])
    assert unprotected == {}
    assert json.loads(payload.decode("utf-8")) == credential
    assert KOREAN_NAME.encode("utf-8") in payload
    assert len(signature) == 64


def test_sig_structure_matches_an_independent_rfc9052_encoding(issuer):
    pair, kid = issuer
    data = cose.sign_vc_cose(credential_for(pair.did_key), pair, kid=kid)
    protected, _, payload, signature = cbor2.loads(data).value
    to_be_signed = independent_to_be_signed(protected, payload)
    assert cose.sig_structure(data) == to_be_signed
    pair.public_key.verify(signature, to_be_signed)


def test_a_cose_sign1_built_independently_verifies(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    data = resign(pair, vc_protected(pair, kid), credential)
    assert cose.verify_vc_cose(data, resolver=resolver).credential == credential


def test_non_canonical_protected_header_from_others_is_accepted(issuer, resolver):
    pair, kid = issuer
    # labels in another order: valid COSE, just not deterministic
    header = vc_protected(pair, kid)
    protected = cbor2.dumps(dict(reversed(list(header.items()))))
    assert protected != cbor2.dumps(header, canonical=True)
    data = resign(pair, protected, credential_for(pair.did_key))
    assert cose.verify_vc_cose(data, resolver=resolver).protected == header


def test_ed25519_and_p256_interoperate_through_one_resolver():
    resolver = StaticResolver({}, fallback=DidResolver())
    for key_type in KeyType:
        pair = KeyPair.generate(key_type)
        data = cose.sign_vc_cose(
            credential_for(pair.did_key), pair, kid=did_key_url(pair.public_key)
        )
        assert (
            cose.verify_vc_cose(data, resolver=resolver).credential["issuer"]["id"] == pair.did_key
        )


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", [-35, -257, -36, 5, -47, "EdDSA", True, [-8], {1: -8}, b"\xf8"])
def test_unknown_alg_is_refused(issuer, resolver, alg):
    pair, kid = issuer
    data = resign(pair, vc_protected(pair, kid, _1=alg), credential_for(pair.did_key))
    with pytest.raises(UnsupportedAlgorithm):
        cose.verify_vc_cose(data, resolver=resolver)


def test_alg_must_fit_the_key(resolver):
    pair = KeyPair.generate(KeyType.ED25519)
    kid = did_key_url(pair.public_key)
    data = resign(pair, vc_protected(pair, kid, _1=-7), credential_for(pair.did_key))
    with pytest.raises(UnsupportedAlgorithm, match="does not fit"):
        cose.verify_vc_cose(data, resolver=resolver)


def test_missing_alg_is_refused(issuer, resolver):
    pair, kid = issuer
    data = resign(pair, vc_protected(pair, kid, _1=None), credential_for(pair.did_key))
    with pytest.raises(MalformedDocumentError, match="alg"):
        cose.verify_vc_cose(data, resolver=resolver)


@pytest.mark.parametrize(
    "changes",
    [
        {"_16": "application/vp+cose"},
        {"_16": "application/cose"},
        {"_16": None},
        {"_3": "application/vp"},
        {"_3": "application/json"},
        {"_3": 50},
    ],
)
def test_wrong_typ_or_content_type_is_refused(issuer, resolver, changes):
    pair, kid = issuer
    data = resign(pair, vc_protected(pair, kid, **changes), credential_for(pair.did_key))
    with pytest.raises(MalformedDocumentError, match=r"typ|content type"):
        cose.verify_vc_cose(data, resolver=resolver)


def test_kid_of_another_did_is_refused(issuer, resolver):
    pair, _ = issuer
    mallory = KeyPair.generate(pair.key_type)
    data = resign(
        mallory,
        vc_protected(mallory, did_key_url(mallory.public_key)),
        credential_for(pair.did_key),
    )
    with pytest.raises(ProofPurposeError, match="not to the credential's issuer"):
        cose.verify_vc_cose(data, resolver=resolver)


@pytest.mark.parametrize("kid", [b"#key-1", b"\xff\xfe", "did:key:text-not-bytes", None])
def test_kid_must_be_a_did_url_in_bytes(issuer, resolver, kid):
    pair, _ = issuer
    data = resign(pair, vc_protected(pair, "did:x:y#z", _4=kid), credential_for(pair.did_key))
    with pytest.raises(MalformedDocumentError, match="kid"):
        cose.verify_vc_cose(data, resolver=resolver)


def test_tampering_with_header_payload_or_signature_fails(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    protected, unprotected, payload, signature = cbor2.loads(
        cose.sign_vc_cose(credential, pair, kid=kid)
    ).value
    altered_header = cbor2.dumps(vc_protected(pair, kid, _5=b"iv"), canonical=True)
    altered = dict(
        credential, credentialSubject=dict(credential["credentialSubject"], assessment="불량")
    )
    altered_payload = json.dumps(altered, ensure_ascii=False).encode()
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    for parts in (
        [altered_header, unprotected, payload, signature],
        [protected, unprotected, altered_payload, signature],
        [protected, unprotected, payload, flipped],
    ):
        with pytest.raises(InvalidSignature):
            cose.verify_vc_cose(cbor2.dumps(cbor2.CBORTag(18, parts)), resolver=resolver)


def test_signature_length_is_exact(issuer, resolver):
    pair, kid = issuer
    protected, unprotected, payload, signature = cbor2.loads(
        cose.sign_vc_cose(credential_for(pair.did_key), pair, kid=kid)
    ).value
    for bad in (signature + b"\x00", signature[:63], b"\x00" + signature):
        with pytest.raises(InvalidSignature, match="64 bytes"):
            cose.verify_vc_cose(
                cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, bad])),
                resolver=resolver,
            )


def test_truncated_garbage_and_trailing_bytes_are_refused(issuer, resolver):
    pair, kid = issuer
    data = cose.sign_vc_cose(credential_for(pair.did_key), pair, kid=kid)
    for bad in (
        data[: len(data) // 2],
        data[:-1],
        data[:1],
        b"",
        b"\xff\xff\xff",
        b"not cbor",
        data + b"\x00",
        bytes([0x9F] * 5000),
    ):
        with pytest.raises(MalformedDocumentError):
            cose.verify_vc_cose(bad, resolver=resolver)
        with pytest.raises(MalformedDocumentError):
            cose.sig_structure(bad)
    with pytest.raises(TypeError):
        cose.verify_vc_cose(data.hex(), resolver=resolver)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "tag, match", [(None, "untagged"), (17, "COSE_Mac0"), (98, "COSE_Sign"), (61, "tag 61")]
)
def test_only_a_tagged_cose_sign1_is_read(issuer, resolver, tag, match):
    pair, kid = issuer
    data = resign(pair, vc_protected(pair, kid), credential_for(pair.did_key), tag=tag)
    with pytest.raises(MalformedDocumentError, match=match):
        cose.verify_vc_cose(data, resolver=resolver)


@pytest.mark.parametrize(
    "body",
    [
        [b"", {}, b"{}", b"x" * 64],
        [b"\xa0", {}, None, b"x" * 64],
        [b"\xa0", [], b"{}", b"x" * 64],
        [{1: -8}, {}, b"{}", b"x" * 64],
        [b"\xa0", {}, "text", b"x" * 64],
        [b"\xa0", {}, b"{}"],
        [b"\x80", {}, b"{}", b"x" * 64],
        [b"\xbf\x01\x27\xff", {}, b"{}", b"x" * 64],
    ],
    ids=[
        "empty-protected",
        "detached",
        "unprotected-array",
        "protected-map-not-bytes",
        "payload-text",
        "three-items",
        "protected-array",
        "protected-indefinite",
    ],
)
def test_malformed_cose_sign1_bodies(resolver, body):
    with pytest.raises(MalformedDocumentError):
        cose.verify_vc_cose(cbor2.dumps(cbor2.CBORTag(18, body)), resolver=resolver)


def test_duplicate_labels_in_protected_header_are_refused(issuer, resolver):
    pair, kid = issuer
    good = cbor2.dumps(vc_protected(pair, kid), canonical=True)
    # one more entry declared, repeating label 16 with another typ (cbor2 keeps the last)
    twin = bytes([good[0] + 1]) + good[1:] + cbor2.dumps(16) + cbor2.dumps("application/vc+cose")
    assert cbor2.loads(twin) == vc_protected(pair, kid)
    data = resign(pair, twin, credential_for(pair.did_key))
    with pytest.raises(MalformedDocumentError, match="repeats"):
        cose.verify_vc_cose(data, resolver=resolver)


@pytest.mark.parametrize(
    "label, value",
    [
        (2, [16]),
        (33, b"\x30\x82"),
        (32, b"\x30"),
        (35, "https://attacker.example/cert"),
    ],
)
def test_crit_and_certificate_headers_are_refused(issuer, resolver, label, value):
    pair, kid = issuer
    header = vc_protected(pair, kid)
    for protected, unprotected in (
        (dict(header, **{str(label): value}), None),
        (header, {label: value}),
    ):
        protected = {int(k): v for k, v in protected.items()}
        data = resign(pair, protected, credential_for(pair.did_key), unprotected=unprotected)
        with pytest.raises(MalformedDocumentError, match="not accepted"):
            cose.verify_vc_cose(data, resolver=resolver)


@pytest.mark.parametrize("label", [1, 3, 4, 16])
def test_security_labels_are_only_read_from_the_protected_bucket(issuer, resolver, label):
    pair, kid = issuer
    header = vc_protected(pair, kid)
    data = resign(pair, header, credential_for(pair.did_key), unprotected={label: header[label]})
    with pytest.raises(MalformedDocumentError, match="must be protected"):
        cose.verify_vc_cose(data, resolver=resolver)


@pytest.mark.parametrize("payload", [b"not json", b'{"a": 1, "a": 2}', b"[1]", b'{"x": NaN}'])
def test_payload_must_be_strict_json(issuer, resolver, payload):
    pair, kid = issuer
    data = resign(pair, vc_protected(pair, kid), payload)
    with pytest.raises(MalformedDocumentError):
        cose.verify_vc_cose(data, resolver=resolver)


def test_payload_must_be_a_credential(issuer, resolver):
    pair, kid = issuer
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "issuer": pair.did_key,
    }
    data = resign(pair, vc_protected(pair, kid), presentation)
    with pytest.raises(MalformedDocumentError, match="VerifiableCredential"):
        cose.verify_vc_cose(data, resolver=resolver)


def test_sign_refuses_a_kid_that_is_not_the_issuers(issuer):
    pair, kid = issuer
    with pytest.raises(ValueError, match="issuer"):
        cose.sign_vc_cose(credential_for("did:example:other"), pair, kid=kid)
    with pytest.raises(ValueError, match="kid"):
        cose.sign_vc_cose(credential_for(pair.did_key), pair, kid="#key-1")


# -- a published vector: cose-wg/Examples ecdsa-examples/ecdsa-sig-01.json -----------------
# A tagged COSE_Sign1 with ES256, protected {1: -7, 3: 0}, kid "11" unprotected, over
# "This is the content.", with its published ToBeSign intermediate.
COSE_WG_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8",
    "y": "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4",
}
COSE_WG_SIGN1 = bytes.fromhex(
    "D28445A201260300A10442313154546869732069732074686520636F6E74656E742E5840EAE868ECC176883766C5"
    "DC5BA5B8DCA25DAB3C2E56A551CE5705B793914348E172727F48461FABBBA2E343492DDECAC3983686250BC68E9F"
    "1A7A07D41225B59F"
)
COSE_WG_TO_BE_SIGNED = bytes.fromhex(
    "846A5369676E61747572653145A2012603004054546869732069732074686520636F6E74656E742E"
)


def test_sig_structure_of_the_cose_wg_vector_matches_byte_for_byte():
    from vcwallet.jose import key_algorithm, verify_signature

    assert cose.sig_structure(COSE_WG_SIGN1) == COSE_WG_TO_BE_SIGNED
    assert (
        independent_to_be_signed(bytes.fromhex("A201260300"), b"This is the content.")
        == COSE_WG_TO_BE_SIGNED
    )
    key, alg = key_algorithm(COSE_WG_KEY)
    signature = cbor2.loads(COSE_WG_SIGN1).value[3]
    verify_signature(key, alg, signature, COSE_WG_TO_BE_SIGNED)
    with pytest.raises(InvalidSignature):
        verify_signature(key, alg, signature, COSE_WG_TO_BE_SIGNED[:-1] + b"!")


def test_the_cose_wg_vector_is_not_a_credential(resolver):
    # valid COSE, but its kid is unprotected and it has no vc typ: refused as a vc+cose
    with pytest.raises(MalformedDocumentError, match="must be protected"):
        cose.verify_vc_cose(COSE_WG_SIGN1, resolver=resolver)


def test_refused_cose_is_refused_before_any_did_web_fetch(issuer):
    pair, _ = issuer
    calls = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        raise AssertionError("no fetch expected")

    resolver = DidResolver(fetch=fetch)
    kid = "did:web:uni.example#key-1"
    credential = credential_for("did:web:uni.example")
    for protected in (
        vc_protected(pair, kid, _1=-257),
        vc_protected(pair, kid, _16="application/vp+cose"),
        vc_protected(pair, kid, _33=b"\x30"),
    ):
        with pytest.raises((UnsupportedAlgorithm, MalformedDocumentError)):
            cose.verify_vc_cose(resign(pair, protected, credential), resolver=resolver)
    assert calls == []


def test_a_thumbprint_hint_is_ignored_not_trusted(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    data = resign(pair, vc_protected(pair, kid), credential, unprotected={34: [-16, b"\x00" * 32]})
    assert cose.verify_vc_cose(data, resolver=resolver).credential == credential


def test_random_mutations_raise_only_vcwallet_errors(resolver):
    import random

    from vcwallet.errors import VcwalletError

    rng = random.Random(20261121)
    pair = KeyPair.generate(KeyType.ED25519)
    data = cose.sign_vc_cose(credential_for(pair.did_key), pair, kid=did_key_url(pair.public_key))
    for _ in range(400):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(mutated))
            action = rng.random()
            if action < 0.6:
                mutated[position] = rng.randrange(256)
            elif action < 0.8:
                del mutated[position]
            else:
                mutated.insert(position, rng.randrange(256))
        if bytes(mutated) == data:
            continue
        with pytest.raises(VcwalletError):
            cose.verify_vc_cose(bytes(mutated), resolver=resolver)
