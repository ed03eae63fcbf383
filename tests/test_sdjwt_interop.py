"""SD-JWT interoperability with the IETF reference implementation (the ``sd-jwt`` package).

Both directions: the reference verifier accepts what vcwallet issues and presents, and
vcwallet verifies what the reference issuer and holder produce (typ and kid set as SD-JWT VC
needs). The reference library checks KB-JWTs with ES256 only, so holders use P-256 keys.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from vcwallet.did import StaticResolver, build_did_web_document
from vcwallet.errors import DisclosureError, ProofPurposeError
from vcwallet.keys import KeyPair, KeyType
from vcwallet.sdjwt import issue_sd_jwt, present_sd_jwt, verify_sd_jwt

sd_jwt_common = pytest.importorskip("sd_jwt.common")
from jwcrypto.jwk import JWK
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

ISSUER = "did:web:sw-academy.example"
KID = ISSUER + "#key-1"
VCT = "https://vcwallet.example/vct/badge"
NONCE = "8f2Kq0"
AUD = "https://hr.employer.example"


def jwk(pair: KeyPair, *, private: bool) -> JWK:
    return JWK(**(pair.private_jwk() if private else pair.public_key.to_jwk()))


@pytest.fixture(params=[KeyType.ED25519, KeyType.P256], ids=["EdDSA-issuer", "ES256-issuer"])
def issuer_key(request: pytest.FixtureRequest) -> KeyPair:
    return KeyPair.generate(request.param)


@pytest.fixture
def holder() -> KeyPair:
    return KeyPair.generate(KeyType.P256)


def test_reference_verifier_accepts_our_presentation(issuer_key: KeyPair, holder: KeyPair) -> None:
    claims = {
        "credentialSubject": {
            "name": "이서연",
            "badge": "Python 심화",
            "score": 97,
            "skills": ["Django", "FastAPI", "SQL"],
        }
    }
    token = issue_sd_jwt(
        claims,
        issuer_key,
        kid=KID,
        issuer=ISSUER,
        vct=VCT,
        disclosable=["credentialSubject.score", "credentialSubject.skills[*]"],
        holder_jwk=holder.public_key.to_jwk(),
    )
    shown = present_sd_jwt(
        token, disclose=["credentialSubject.skills[1]"], holder=holder, nonce=NONCE, audience=AUD
    )

    def issuer_public_key(iss: str, header: dict[str, Any]) -> JWK:
        assert iss == ISSUER and header["kid"] == KID and header["typ"] == "dc+sd-jwt"
        return jwk(issuer_key, private=False)

    verifier = SDJWTVerifier(shown, issuer_public_key, expected_aud=AUD, expected_nonce=NONCE)
    payload = verifier.get_verified_payload()
    assert payload["credentialSubject"] == {
        "name": "이서연",
        "badge": "Python 심화",
        "skills": ["FastAPI"],
    }
    assert payload["vct"] == VCT
    with pytest.raises(ValueError, match="nonce"):
        SDJWTVerifier(shown, issuer_public_key, expected_aud=AUD, expected_nonce="other")


def test_we_verify_the_reference_issuer_and_holder(issuer_key: KeyPair, holder: KeyPair) -> None:
    SDObj = sd_jwt_common.SDObj
    user_claims = {
        "iss": ISSUER,
        "iat": int(time.time()),
        "vct": VCT,
        "credentialSubject": {
            "name": "박지훈",
            SDObj("birthDate"): "1999-12-31",
            SDObj("courses"): [
                SDObj({"code": "SW101", "grade": "A"}),
                {"code": "SW102", "grade": "B"},
            ],
        },
    }
    alg = issuer_key.key_type.jws_alg
    issued = SDJWTIssuer(
        user_claims,
        jwk(issuer_key, private=True),
        jwk(holder, private=False),
        sign_alg=alg,
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": KID},
    )
    resolver = StaticResolver({ISSUER: build_did_web_document(ISSUER, [issuer_key.public_key])})

    wallet = SDJWTHolder(issued.sd_jwt_issuance)
    wallet.create_presentation(
        {"credentialSubject": {"courses": [True]}},
        nonce=NONCE,
        aud=AUD,
        holder_key=jwk(holder, private=True),
        sign_alg="ES256",
    )
    result = verify_sd_jwt(
        wallet.sd_jwt_presentation,
        resolver=resolver,
        nonce=NONCE,
        audience=AUD,
        now=datetime.now(UTC),
    )
    subject = result.claims["credentialSubject"]
    assert subject == {
        "name": "박지훈",
        "courses": [{"code": "SW101", "grade": "A"}, {"code": "SW102", "grade": "B"}],
    }
    assert set(result.disclosed) == {
        ("credentialSubject", "courses"),
        ("credentialSubject", "courses", 0),
    }
    with pytest.raises(ProofPurposeError, match="aud"):
        verify_sd_jwt(
            wallet.sd_jwt_presentation,
            resolver=resolver,
            nonce=NONCE,
            audience="https://elsewhere.example",
        )
    # a disclosure the reference issuer made for the birth date, spliced into the presentation
    birth = next(d for d in issued.sd_jwt_issuance.split("~")[1:-1] if "birth" in _decoded(d))
    jwt, *shown, kb = wallet.sd_jwt_presentation.split("~")
    spliced = "~".join([jwt, *shown, birth, kb])
    with pytest.raises(ProofPurposeError, match="sd_hash"):
        verify_sd_jwt(spliced, resolver=resolver, nonce=NONCE, audience=AUD)
    with pytest.raises(DisclosureError):
        verify_sd_jwt(
            "~".join([jwt, *shown, shown[0], ""]),
            resolver=resolver,
            nonce=None,
            audience=None,
            require_key_binding=False,
        )


def _decoded(disclosure: str) -> str:
    from vcwallet.jose import b64url_decode

    return b64url_decode(disclosure).decode("utf-8")
