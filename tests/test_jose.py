"""vc+jwt and the generic compact JWS: round trips, jwcrypto interop, and every refusal."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwk, jws

from vcwallet import jose
from vcwallet.did import DidResolver, StaticResolver, did_key_url
from vcwallet.errors import (
    InvalidSignature,
    MalformedDocumentError,
    ProofPurposeError,
    ResolutionError,
    UnsupportedAlgorithm,
)
from vcwallet.keys import KeyPair, KeyType

KOREAN_NAME = "김민준"
KOREAN_DEGREE = "컴퓨터공학 학사 (우등)"
ISSUER_NAME = "한국기술대학교"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def credential_for(issuer_id: str, **extra: object) -> dict:
    credential: dict[str, object] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": {"id": issuer_id, "name": ISSUER_NAME},
        "validFrom": "2026-03-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:holder-1",
            "name": KOREAN_NAME,
            "degree": {"type": "ExampleBachelorDegree", "name": KOREAN_DEGREE},
        },
    }
    credential.update(extra)
    return credential


def forge(header: dict | bytes, payload: dict | bytes, pair: KeyPair) -> str:
    """A token signed by ``pair`` with exactly the given header and payload bytes."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    data = f"{b64(h)}.{b64(p)}"
    return f"{data}.{b64(pair.sign(data.encode()))}"


@pytest.fixture(params=list(KeyType), ids=lambda k: k.value)
def issuer(request):
    pair = KeyPair.generate(request.param)
    return pair, did_key_url(pair.public_key)


@pytest.fixture()
def resolver():
    return DidResolver()


def vc_header(pair: KeyPair, kid: str, **extra: object) -> dict:
    header: dict[str, object] = {
        "alg": pair.key_type.jws_alg,
        "typ": "vc+jwt",
        "cty": "vc",
        "kid": kid,
    }
    header.update(extra)
    return header


# -- round trips ---------------------------------------------------------------------------


def test_vc_jwt_round_trip_keeps_korean_text_exactly(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    token = jose.sign_vc_jwt(credential, pair, kid=kid)
    result = jose.verify_vc_jwt(token, resolver=resolver)
    assert result.credential == credential
    assert result.credential["credentialSubject"]["degree"]["name"] == KOREAN_DEGREE
    assert result.header == {"alg": pair.key_type.jws_alg, "kid": kid, "typ": "vc+jwt", "cty": "vc"}
    assert result.verification_method.id == kid
    # the payload is UTF-8 JSON with the Korean text unescaped
    assert KOREAN_NAME.encode("utf-8") in base64.urlsafe_b64decode(token.split(".")[1] + "==")


def test_sign_vc_jwt_adds_no_claims_and_leaves_input_alone(issuer):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    snapshot = json.loads(json.dumps(credential))
    token = jose.sign_vc_jwt(credential, pair, kid=kid)
    assert credential == snapshot
    assert jose.unverified_payload(token) == snapshot


def test_signing_input_is_what_the_signature_covers(issuer):
    pair, kid = issuer
    token = jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=kid)
    data = jose.signing_input(token)
    assert data == token.rsplit(".", 1)[0].encode("ascii")
    pair.public_key.verify(jose.b64url_decode(token.rsplit(".", 1)[1]), data)


def test_issuer_as_string_works(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key, issuer=pair.did_key)
    assert jose.verify_vc_jwt(jose.sign_vc_jwt(credential, pair, kid=kid), resolver=resolver)


def test_generic_jws_with_other_typ(issuer):
    pair, _ = issuer
    token = jose.sign_jws(
        {"nonce": "n-1", "aud": "https://verifier.example"}, pair, header={"typ": "kb+jwt"}
    )
    header, payload = jose.verify_jws(token, pair.public_key, expected_typ="kb+jwt")
    assert header == {"alg": pair.key_type.jws_alg, "typ": "kb+jwt"}
    assert payload["nonce"] == "n-1"
    # the same key as a JWK and as a cryptography object
    assert jose.verify_jws(token, pair.public_key.to_jwk(), expected_typ="kb+jwt")[1] == payload
    assert jose.verify_jws(token, pair.public_key.key, expected_typ="kb+jwt")[1] == payload


def test_typ_with_application_prefix_is_the_same_media_type(issuer, resolver):
    pair, kid = issuer
    token = forge(
        vc_header(pair, kid, typ="application/vc+jwt"), credential_for(pair.did_key), pair
    )
    assert jose.verify_vc_jwt(token, resolver=resolver).credential["id"]


# -- jwcrypto interop ----------------------------------------------------------------------


def test_our_tokens_verify_in_jwcrypto(issuer):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    token = jose.sign_vc_jwt(credential, pair, kid=kid)
    theirs = jws.JWS()
    theirs.deserialize(token)
    theirs.verify(jwk.JWK(**pair.public_key.to_jwk()))
    assert json.loads(theirs.payload.decode("utf-8")) == credential


def test_jwcrypto_tokens_verify_in_ours(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    theirs = jws.JWS(json.dumps(credential, ensure_ascii=False).encode("utf-8"))
    theirs.add_signature(
        jwk.JWK(**pair.private_jwk()),
        None,
        json.dumps({"alg": pair.key_type.jws_alg, "typ": "vc+jwt", "kid": kid}),
    )
    token = theirs.serialize(compact=True)
    result = jose.verify_vc_jwt(token, resolver=resolver)
    assert result.credential == credential


@pytest.fixture(scope="module")
def rsa_issuer():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = jwk.JWK.from_pyca(private)
    public = key.export_public(as_dict=True)
    did = "did:web:badges.example"
    document = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": {"kty": "RSA", "n": public["n"], "e": public["e"]},
            },
            {
                "id": f"{did}#key-2",
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": {"kty": "RSA", "n": public["n"], "e": public["e"], "alg": "PS256"},
            },
        ],
        "assertionMethod": [f"{did}#key-1", f"{did}#key-2"],
    }
    return key, did, StaticResolver({did: document})


def jwcrypto_token(key: jwk.JWK, header: dict, payload: dict) -> str:
    token = jws.JWS(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    token.add_signature(key, None, json.dumps(header))
    return token.serialize(compact=True)


def test_rs256_open_badge_from_did_web_verifies(rsa_issuer):
    key, did, static = rsa_issuer
    badge = credential_for(did, iss=did, type=["VerifiableCredential", "OpenBadgeCredential"])
    token = jwcrypto_token(key, {"alg": "RS256", "typ": "vc+jwt", "kid": f"{did}#key-1"}, badge)
    result = jose.verify_vc_jwt(token, resolver=static)
    assert result.credential == badge
    assert result.verification_method.jwk["kty"] == "RSA"
    tampered = token[:-6] + ("AAAAAA" if token[-6:] != "AAAAAA" else "BBBBBB")
    with pytest.raises((InvalidSignature, MalformedDocumentError)):
        jose.verify_vc_jwt(tampered, resolver=static)


def test_rsa_key_published_for_another_alg_is_refused(rsa_issuer):
    key, did, static = rsa_issuer
    token = jwcrypto_token(
        key, {"alg": "RS256", "typ": "vc+jwt", "kid": f"{did}#key-2"}, credential_for(did)
    )
    with pytest.raises(UnsupportedAlgorithm, match="PS256"):
        jose.verify_vc_jwt(token, resolver=static)


def test_rs256_needs_a_2048_bit_key():
    small = jwk.JWK.from_pyca(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    token = jwcrypto_token(small, {"alg": "RS256", "typ": "vc+jwt"}, {"a": 1})
    with pytest.raises(UnsupportedAlgorithm, match="too small"):
        jose.verify_jws(token, small.export_public(as_dict=True), expected_typ="vc+jwt")


class RsaSigner:
    """An RSA signer: verifiable RS256 is read, never produced."""

    key_type = "rsa"

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_rs256_is_verified_but_never_signed():
    assert "RS256" not in jose.SIGNING_ALGS and "RS256" in jose.VERIFY_ALGS
    with pytest.raises(ValueError):
        jose.sign_jws({"a": 1}, RsaSigner(), header={"typ": "vc+jwt"})  # type: ignore[arg-type]


# -- algorithm refusals --------------------------------------------------------------------


def test_alg_none_is_refused(issuer, resolver):
    pair, kid = issuer
    header = b64(json.dumps({"alg": "none", "typ": "vc+jwt", "kid": kid}).encode())
    payload = b64(json.dumps(credential_for(pair.did_key)).encode())
    with pytest.raises(UnsupportedAlgorithm, match="none"):
        jose.verify_vc_jwt(f"{header}.{payload}.", resolver=resolver)
    with pytest.raises(UnsupportedAlgorithm):
        jose.verify_jws(f"{header}.{payload}.", pair.public_key, expected_typ="vc+jwt")


def test_hmac_is_refused_even_with_the_public_key_as_secret(issuer, resolver):
    pair, kid = issuer
    secret = jwk.JWK(kty="oct", k=b64(json.dumps(pair.public_key.to_jwk()).encode()))
    token = jwcrypto_token(
        secret, {"alg": "HS256", "typ": "vc+jwt", "kid": kid}, credential_for(pair.did_key)
    )
    with pytest.raises(UnsupportedAlgorithm, match="HMAC"):
        jose.verify_vc_jwt(token, resolver=resolver)


@pytest.mark.parametrize("alg", ["ES512", "PS256", "ES256K", "Ed25519", "eddsa"])
def test_unknown_algs_are_refused(issuer, resolver, alg):
    pair, kid = issuer
    token = forge(vc_header(pair, kid, alg=alg), credential_for(pair.did_key), pair)
    with pytest.raises(UnsupportedAlgorithm):
        jose.verify_vc_jwt(token, resolver=resolver)


def test_alg_must_fit_the_key(resolver):
    ed = KeyPair.generate(KeyType.ED25519)
    kid = did_key_url(ed.public_key)
    token = forge(vc_header(ed, kid, alg="ES256"), credential_for(ed.did_key), ed)
    with pytest.raises(UnsupportedAlgorithm, match="does not fit"):
        jose.verify_vc_jwt(token, resolver=resolver)


def test_a_jwk_that_names_another_alg_or_use_is_refused(issuer):
    pair, _ = issuer
    token = jose.sign_jws({"a": 1}, pair, header={"typ": "vc+jwt"})
    other = "ES256" if pair.key_type is KeyType.ED25519 else "EdDSA"
    jwk_dict = pair.public_key.to_jwk()
    assert jose.verify_jws(token, dict(jwk_dict, alg=pair.key_type.jws_alg), expected_typ="vc+jwt")
    with pytest.raises(UnsupportedAlgorithm, match="JWK is for"):
        jose.verify_jws(token, dict(jwk_dict, alg=other), expected_typ="vc+jwt")
    with pytest.raises(MalformedDocumentError, match="use"):
        jose.verify_jws(token, dict(jwk_dict, use="enc"), expected_typ="vc+jwt")
    with pytest.raises(TypeError):
        jose.verify_jws(token, "not a key", expected_typ="vc+jwt")  # type: ignore[arg-type]


def test_allow_list_can_be_narrowed_not_widened(issuer):
    pair, _ = issuer
    token = jose.sign_jws({"a": 1}, pair, header={"typ": "vc+jwt"})
    other = "ES256" if pair.key_type is KeyType.ED25519 else "EdDSA"
    with pytest.raises(UnsupportedAlgorithm, match="allow-list"):
        jose.verify_jws(token, pair.public_key, expected_typ="vc+jwt", allowed_algs={other})
    with pytest.raises(ValueError):
        jose.verify_jws(token, pair.public_key, expected_typ="vc+jwt", allowed_algs={"HS256"})


# -- typ and header refusals ---------------------------------------------------------------


@pytest.mark.parametrize("typ", ["vp+jwt", "kb+jwt", "JWT", "vc+sd-jwt", None])
def test_only_vc_jwt_is_read_as_a_credential(issuer, resolver, typ):
    pair, kid = issuer
    header = vc_header(pair, kid, typ=typ)
    if typ is None:
        del header["typ"]
    token = forge(header, credential_for(pair.did_key), pair)
    with pytest.raises(MalformedDocumentError, match="typ"):
        jose.verify_vc_jwt(token, resolver=resolver)
    with pytest.raises(MalformedDocumentError, match="typ"):
        jose.verify_jws(token, pair.public_key, expected_typ="vc+jwt")


def test_cty_other_than_vc_is_refused(issuer, resolver):
    pair, kid = issuer
    token = forge(vc_header(pair, kid, cty="vp"), credential_for(pair.did_key), pair)
    with pytest.raises(MalformedDocumentError, match="cty"):
        jose.verify_vc_jwt(token, resolver=resolver)


@pytest.mark.parametrize(
    "member, value",
    [
        ("crit", ["exp"]),
        ("b64", False),
        ("zip", "DEF"),
        (
            "jwk",
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        ),
        ("jku", "https://attacker.example/keys.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("x5c", ["MIIB"]),
    ],
)
def test_extension_and_embedded_key_headers_are_refused(issuer, resolver, member, value):
    pair, kid = issuer
    token = forge(vc_header(pair, kid, **{member: value}), credential_for(pair.did_key), pair)
    with pytest.raises(MalformedDocumentError, match=member):
        jose.verify_vc_jwt(token, resolver=resolver)
    with pytest.raises(MalformedDocumentError, match=member):
        jose.verify_jws(token, pair.public_key, expected_typ="vc+jwt")
    with pytest.raises(ValueError, match=member):
        jose.sign_jws({"a": 1}, pair, header={"typ": "vc+jwt", member: value})


def test_duplicate_header_member_is_refused(issuer, resolver):
    pair, kid = issuer
    header = json.dumps(vc_header(pair, kid))[:-1] + ', "typ": "vp+jwt"}'
    token = forge(header.encode(), credential_for(pair.did_key), pair)
    with pytest.raises(MalformedDocumentError, match="duplicate"):
        jose.verify_vc_jwt(token, resolver=resolver)


def test_duplicate_payload_member_is_refused(issuer, resolver):
    pair, kid = issuer
    payload = json.dumps(credential_for(pair.did_key))[:-1] + ', "issuer": "did:example:evil"}'
    token = forge(vc_header(pair, kid), payload.encode(), pair)
    with pytest.raises(MalformedDocumentError, match="duplicate"):
        jose.verify_vc_jwt(token, resolver=resolver)


@pytest.mark.parametrize(
    "payload", [b'{"a": NaN}', b'{"a": 9007199254740993}', b"[1, 2]", b'"text"', b"\xff\xfe", b"{"]
)
def test_payload_that_is_not_strict_json_object_is_refused(issuer, payload):
    pair, _ = issuer
    token = forge({"alg": pair.key_type.jws_alg, "typ": "vc+jwt"}, payload, pair)
    with pytest.raises(MalformedDocumentError):
        jose.verify_jws(token, pair.public_key, expected_typ="vc+jwt")


@pytest.mark.parametrize("header", [b"[]", b'"vc+jwt"', b"null", b"{,}"])
def test_header_that_is_not_a_json_object_is_refused(issuer, header):
    pair, _ = issuer
    token = forge(header, {"a": 1}, pair)
    with pytest.raises(MalformedDocumentError):
        jose.verify_jws(token, pair.public_key, expected_typ="vc+jwt")
    with pytest.raises(MalformedDocumentError):
        jose.unverified_header(token)


# -- malformed tokens ----------------------------------------------------------------------


def test_segment_counts(issuer):
    pair, _ = issuer
    token = jose.sign_jws({"a": 1}, pair, header={"typ": "vc+jwt"})
    h, p, s = token.split(".")
    with pytest.raises(MalformedDocumentError, match="JWE"):
        jose.verify_jws(f"{h}.{p}.{s}.{s}.{s}", pair.public_key, expected_typ="vc+jwt")
    for bad in (f"{h}.{p}", f"{h}.{p}.{s}.{s}", "", token + ".", "abc"):
        with pytest.raises(MalformedDocumentError, match=r"parts|JWE"):
            jose.verify_jws(bad, pair.public_key, expected_typ="vc+jwt")
        with pytest.raises(MalformedDocumentError):
            jose.signing_input(bad)
    with pytest.raises(TypeError):
        jose.verify_jws(token.encode(), pair.public_key, expected_typ="vc+jwt")  # type: ignore[arg-type]


def test_non_canonical_base64url_is_refused(issuer):
    pair, _ = issuer
    token = jose.sign_jws({"a": 1}, pair, header={"typ": "vc+jwt"})
    h, p, s = token.split(".")
    # the last character of an 86-char signature carries 4 unused bits: a re-spelling
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = s[:-1] + alphabet[alphabet.index(s[-1]) ^ 1]
    assert base64.urlsafe_b64decode(twin + "==") == base64.urlsafe_b64decode(s + "==")
    for bad in (
        f"{h}.{p}.{twin}",
        f"{h}==.{p}.{s}",
        f"{h}.{p}.{s}==",
        f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}"
        if ("-" in s or "_" in s)
        else f"{h}.{p}.+{s[1:]}",
        f"{h}.{p} .{s}",
        f"{h}.{p}.{s[:-1]}",
        f"{h}.{p}.!{s[1:]}",
    ):
        with pytest.raises(MalformedDocumentError):
            jose.verify_jws(bad, pair.public_key, expected_typ="vc+jwt")


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("length", [2, 3, 4, 6, 7])
def test_base64url_accepts_exactly_the_canonical_spellings(length):
    for last in ALPHABET:
        for prefix in ("A" * (length - 1), "_" * (length - 1)):
            text = prefix + last
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if b64(raw) == text:
                assert jose.b64url_decode(text) == raw
            else:
                with pytest.raises(MalformedDocumentError, match="canonical"):
                    jose.b64url_decode(text)
    assert jose.b64url_decode("") == b""


class DerSigner:
    """A signer that hands back DER-encoded ECDSA (a common HSM mistake)."""

    def __init__(self) -> None:
        self.pair = KeyPair.generate(KeyType.P256)
        self.key_type = KeyType.P256
        self.public_key = self.pair.public_key

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self.pair.private_key.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]


def test_a_signer_returning_der_is_caught_at_signing():
    signer = DerSigner()
    with pytest.raises(ValueError, match="64"):
        jose.sign_jws({"a": 1}, signer, header={"typ": "vc+jwt"})
    from vcwallet import cose

    kid = did_key_url(signer.public_key)
    with pytest.raises(ValueError, match="64"):
        cose.sign_vc_cose(credential_for(signer.public_key.did_key), signer, kid=kid)


def test_unverified_peeks(issuer):
    pair, kid = issuer
    token = jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=kid)
    assert jose.unverified_header(token)["kid"] == kid
    assert jose.unverified_payload(token)["issuer"]["name"] == ISSUER_NAME
    for peek, bad in (
        (jose.unverified_header, "a.b"),
        (jose.unverified_header, "!!.e30.x"),
        (jose.unverified_payload, "e30.!!.x"),
        (jose.unverified_payload, "e30.W10.x"),  # payload [] is not an object
    ):
        with pytest.raises(MalformedDocumentError):
            peek(bad)


# -- signature checks ----------------------------------------------------------------------


def test_tampering_with_header_payload_or_signature_fails(issuer, resolver):
    pair, kid = issuer
    credential = credential_for(pair.did_key)
    token = jose.sign_vc_jwt(credential, pair, kid=kid)
    h, p, s = token.split(".")
    new_header = b64(json.dumps(vc_header(pair, kid, extra="x")).encode())
    altered = dict(
        credential, credentialSubject=dict(credential["credentialSubject"], name="김민수")
    )
    new_payload = b64(json.dumps(altered, ensure_ascii=False).encode())
    signature = bytearray(jose.b64url_decode(s))
    signature[10] ^= 0x01
    for bad in (
        f"{new_header}.{p}.{s}",
        f"{h}.{new_payload}.{s}",
        f"{h}.{p}.{b64(bytes(signature))}",
    ):
        with pytest.raises(InvalidSignature):
            jose.verify_vc_jwt(bad, resolver=resolver)


def test_es256_signature_must_be_exactly_64_bytes(resolver):
    pair = KeyPair.generate(KeyType.P256)
    kid = did_key_url(pair.public_key)
    token = jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=kid)
    h, p, s = token.split(".")
    raw = jose.b64url_decode(s)
    # r padded to 33 bytes: the same integers, a longer encoding that lax parsers accept
    for bad_sig in (b"\x00" + raw, raw[:32] + b"\x00" + raw[32:], raw[:63], raw + b"\x00"):
        with pytest.raises(InvalidSignature, match="64 bytes"):
            jose.verify_vc_jwt(f"{h}.{p}.{b64(bad_sig)}", resolver=resolver)


def test_ed25519_signature_must_be_exactly_64_bytes(resolver):
    pair = KeyPair.generate(KeyType.ED25519)
    token = jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=did_key_url(pair.public_key))
    h, p, s = token.split(".")
    with pytest.raises(InvalidSignature, match="64 bytes"):
        jose.verify_vc_jwt(f"{h}.{p}.{b64(jose.b64url_decode(s) + b'0')}", resolver=resolver)


# -- key and issuer binding ----------------------------------------------------------------


def test_key_of_another_did_is_refused(issuer, resolver):
    pair, _ = issuer
    mallory = KeyPair.generate(pair.key_type)
    # Mallory signs a credential naming the victim as issuer, with her own (valid) key
    token = forge(
        vc_header(mallory, did_key_url(mallory.public_key)), credential_for(pair.did_key), mallory
    )
    with pytest.raises(ProofPurposeError, match="not to the credential's issuer"):
        jose.verify_vc_jwt(token, resolver=resolver)


def test_kid_pointing_at_the_issuer_with_a_foreign_signature_fails(issuer, resolver):
    pair, kid = issuer
    mallory = KeyPair.generate(pair.key_type)
    token = forge(vc_header(mallory, kid), credential_for(pair.did_key), mallory)
    with pytest.raises(InvalidSignature):
        jose.verify_vc_jwt(token, resolver=resolver)


@pytest.mark.parametrize(
    "kid", ["#key-1", "did:key:z6Mk", "https://issuer.example/keys/1", None, 7]
)
def test_kid_must_be_an_absolute_did_url_with_fragment(issuer, resolver, kid):
    pair, _ = issuer
    header = vc_header(pair, "x")
    header["kid"] = kid
    token = forge(header, credential_for(pair.did_key), pair)
    with pytest.raises(MalformedDocumentError, match="kid"):
        jose.verify_vc_jwt(token, resolver=resolver)


def test_key_not_listed_for_assertion_is_refused():
    pair = KeyPair.generate(KeyType.ED25519)
    did = "did:web:uni.example"
    document = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#auth",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": pair.public_key.multibase,
            }
        ],
        "authentication": [f"{did}#auth"],
    }
    token = forge(vc_header(pair, f"{did}#auth"), credential_for(did), pair)
    with pytest.raises(ProofPurposeError):
        jose.verify_vc_jwt(token, resolver=StaticResolver({did: document}))
    with pytest.raises(ResolutionError):
        jose.verify_vc_jwt(token, resolver=StaticResolver({}))


def test_iss_must_be_the_issuer(issuer, resolver):
    pair, kid = issuer
    good = forge(vc_header(pair, kid), credential_for(pair.did_key, iss=pair.did_key), pair)
    assert jose.verify_vc_jwt(good, resolver=resolver).credential["iss"] == pair.did_key
    bad = forge(vc_header(pair, kid), credential_for(pair.did_key, iss="did:example:other"), pair)
    with pytest.raises(ProofPurposeError, match="iss"):
        jose.verify_vc_jwt(bad, resolver=resolver)


@pytest.mark.parametrize(
    "claims, ok",
    [
        ({"jti": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33"}, True),
        ({"jti": "urn:uuid:other"}, False),
        ({"sub": "did:example:holder-1"}, True),
        ({"sub": "did:example:holder-2"}, False),
        ({"nbf": 1772323200}, True),  # 2026-03-01T00:00:00Z
        ({"nbf": 1772323300}, False),
        ({"exp": 1803859200, "validUntil": "2027-03-01T00:00:00Z"}, True),
        ({"exp": 1803859200}, False),  # exp without validUntil would go unchecked
        ({"exp": "2027"}, False),
        ({"iat": 1772323200}, True),
        ({"iat": "yesterday"}, False),
    ],
)
def test_registered_claims_must_agree_with_the_credential(issuer, resolver, claims, ok):
    pair, kid = issuer
    token = forge(vc_header(pair, kid), credential_for(pair.did_key, **claims), pair)
    if ok:
        assert jose.verify_vc_jwt(token, resolver=resolver).credential == credential_for(
            pair.did_key, **claims
        )
    else:
        with pytest.raises(MalformedDocumentError):
            jose.verify_vc_jwt(token, resolver=resolver)


@pytest.mark.parametrize(
    "payload",
    [
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"]},
        {"vc": {"type": ["VerifiableCredential"]}, "iss": "did:example:x"},
        {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential"]},
    ],
)
def test_payload_must_be_a_vcdm2_credential(issuer, resolver, payload):
    pair, kid = issuer
    token = forge(vc_header(pair, kid), dict(payload, issuer=pair.did_key), pair)
    with pytest.raises(MalformedDocumentError):
        jose.verify_vc_jwt(token, resolver=resolver)


def test_sign_refuses_misuse(issuer):
    pair, kid = issuer
    other = "ES256" if pair.key_type is KeyType.ED25519 else "EdDSA"
    with pytest.raises(ValueError, match="does not fit"):
        jose.sign_jws({"a": 1}, pair, header={"alg": other})
    with pytest.raises(TypeError):
        jose.sign_jws([1, 2], pair, header={})  # type: ignore[arg-type]
    with pytest.raises(MalformedDocumentError):
        jose.sign_jws({"a": float("nan")}, pair, header={})
    with pytest.raises(MalformedDocumentError):
        jose.sign_jws({"a": 2**60}, pair, header={})
    with pytest.raises(ValueError, match="issuer"):
        jose.sign_vc_jwt(credential_for("did:example:someone-else"), pair, kid=kid)
    with pytest.raises(ValueError, match="kid"):
        jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=pair.did_key)
    with pytest.raises(ValueError, match="VerifiableCredential"):
        jose.sign_vc_jwt(credential_for(pair.did_key, type=["Thing"]), pair, kid=kid)


def test_errors_never_show_private_key_material(issuer):
    pair, kid = issuer
    secret = pair.private_jwk()["d"]
    messages = []
    for call in (
        lambda: jose.sign_vc_jwt(credential_for("did:example:x"), pair, kid=kid),
        lambda: jose.sign_jws({"a": 1}, pair, header={"jwk": pair.private_jwk()}),
    ):
        with pytest.raises(ValueError) as info:
            call()
        messages.append(str(info.value))
    assert all(secret not in message for message in messages)


# -- caching resolver ----------------------------------------------------------------------


class CountingFetch:
    def __init__(self, documents: dict[str, dict]) -> None:
        self.documents = documents
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        return json.dumps(self.documents[url]).encode()


def test_caching_resolver_remembers_did_key_only(issuer):
    pair, kid = issuer
    web_pair = KeyPair.generate(KeyType.ED25519)
    did = "did:web:uni.example"
    document = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": web_pair.public_key.multibase,
            }
        ],
        "assertionMethod": [f"{did}#key-1"],
    }
    fetch = CountingFetch({"https://uni.example/.well-known/did.json": document})
    cache = jose.CachingResolver(DidResolver(fetch=fetch), max_entries=2)
    first = cache.verification_method(kid, "assertionMethod")
    assert cache.verification_method(kid, "assertionMethod") is first
    method, key, alg = cache.verification_key(kid, "assertionMethod")
    assert key is cache.verification_key(kid, "assertionMethod")[1]
    assert method is first and alg == pair.key_type.jws_alg
    for _ in range(3):
        token = jose.sign_vc_jwt(credential_for(did), web_pair, kid=f"{did}#key-1")
        assert jose.verify_vc_jwt(token, resolver=cache).credential["issuer"]["id"] == did
    assert fetch.calls == 3  # did:web documents can change: never cached by default
    pinned = jose.CachingResolver(DidResolver(fetch=fetch), methods=("key", "web"))
    for _ in range(3):
        jose.verify_vc_jwt(token, resolver=pinned)
    assert fetch.calls == 4
    with pytest.raises(ProofPurposeError):  # failures are not cached, and not swallowed
        cache.verification_method(
            kid, "keyAgreement"
        ) if pair.key_type is KeyType.P256 else cache.verification_method(
            f"{did}#key-1", "authentication"
        )
    with pytest.raises(TypeError):
        jose.CachingResolver(DidResolver(), methods="key")
    with pytest.raises(ValueError):
        jose.CachingResolver(DidResolver(), max_entries=0)
    # bounded: a third did:key pushes out the oldest
    for _ in range(3):
        other = KeyPair.generate(KeyType.ED25519)
        cache.verification_method(did_key_url(other.public_key), "assertionMethod")
    assert cache.verification_method(kid, "assertionMethod") is not first


def test_refused_tokens_are_refused_before_any_did_web_fetch(issuer):
    pair, _ = issuer
    fetch = CountingFetch({})
    resolver = DidResolver(fetch=fetch)
    did = "did:web:uni.example"
    credential = credential_for(did)
    for header in (
        vc_header(pair, f"{did}#key-1", alg="none"),
        vc_header(pair, f"{did}#key-1", alg="HS256"),
        vc_header(pair, f"{did}#key-1", typ="vp+jwt"),
        vc_header(pair, f"{did}#key-1", jku="https://attacker.example/jwks"),
        vc_header(pair, "#key-1"),
    ):
        with pytest.raises((UnsupportedAlgorithm, MalformedDocumentError)):
            jose.verify_vc_jwt(forge(header, credential, pair), resolver=resolver)
    assert fetch.calls == 0


def test_text_is_signed_exactly_as_given_never_renormalised(issuer, resolver):
    import unicodedata

    pair, kid = issuer
    decomposed = unicodedata.normalize("NFD", KOREAN_NAME)  # conjoining jamo, 9 code points
    assert decomposed != KOREAN_NAME
    credential = credential_for(pair.did_key)
    credential["credentialSubject"]["name"] = decomposed
    result = jose.verify_vc_jwt(jose.sign_vc_jwt(credential, pair, kid=kid), resolver=resolver)
    assert result.credential["credentialSubject"]["name"] == decomposed


def test_error_messages_cut_hostile_values_short(issuer, resolver):
    pair, _ = issuer
    flood = "x" * 100_000
    token = forge(vc_header(pair, flood), credential_for(pair.did_key), pair)
    with pytest.raises(MalformedDocumentError, match="kid") as info:
        jose.verify_vc_jwt(token, resolver=resolver)
    assert len(str(info.value)) < 300
    token = forge(vc_header(pair, "did:key:z#k", alg=flood), credential_for(pair.did_key), pair)
    with pytest.raises(UnsupportedAlgorithm) as info:
        jose.verify_vc_jwt(token, resolver=resolver)
    assert len(str(info.value)) < 300


def test_verify_vc_jwt_allow_list_can_be_narrowed(issuer, resolver):
    pair, kid = issuer
    token = jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=kid)
    assert jose.verify_vc_jwt(token, resolver=resolver, allowed_algs={pair.key_type.jws_alg})
    with pytest.raises(UnsupportedAlgorithm, match="allow-list"):
        jose.verify_vc_jwt(token, resolver=resolver, allowed_algs={"RS256"})


def test_random_mutations_raise_only_vcwallet_errors(resolver):
    import random

    from vcwallet.errors import VcwalletError

    rng = random.Random(20261121)
    pair = KeyPair.generate(KeyType.P256)
    token = jose.sign_vc_jwt(credential_for(pair.did_key), pair, kid=did_key_url(pair.public_key))
    alphabet = ALPHABET + ".=+/ ~\x00é"
    for _ in range(400):
        chars = list(token)
        for _ in range(rng.randint(1, 3)):
            position = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.6:
                chars[position] = rng.choice(alphabet)
            elif action < 0.8:
                del chars[position]
            else:
                chars.insert(position, rng.choice(alphabet))
        mutated = "".join(chars)
        if mutated == token:
            continue
        with pytest.raises(VcwalletError):
            jose.verify_vc_jwt(mutated, resolver=resolver)
