"""did.py: did:key against the specification's examples, did:web over a real loopback server,
verification-method lookup by purpose, and every way a document can be refused."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pydid
import pytest
from multiformats import multibase, multicodec

from vcwallet import did as didmod
from vcwallet.did import (
    DidResolver,
    HttpsFetcher,
    StaticResolver,
    VerificationMethod,
    build_did_web_document,
    did_key_document,
    did_key_url,
    did_web_to_url,
    url_to_did_web,
)
from vcwallet.errors import (
    InvalidSignature,
    MalformedDocumentError,
    ProofPurposeError,
    ResolutionError,
    UnsupportedAlgorithm,
)
from vcwallet.keys import KeyPair, KeyType, PublicKey

# -- data from the did:key specification (w3c-ccg/did-key-spec, index.html, v0.7) ----------
SPEC_ED25519_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
# "An did:key DID Document expressing an Ed25519 public key and an X25519 public key" (Multikey)
SPEC_ED25519_DOCUMENT = {
    "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
    "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "verificationMethod": [
        {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "type": "Multikey",
            "controller": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        }
    ],
    "authentication": [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    ],
    "assertionMethod": [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    ],
    "capabilityDelegation": [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    ],
    "capabilityInvocation": [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    ],
    "keyAgreement": [
        {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p",
            "type": "Multikey",
            "controller": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "publicKeyMultibase": "z6LSj72tK8brWgZja8NLRwPigth2T9QRiG1uH9oKZuKjdh9p",
        }
    ],
}
# Test-vector appendix of the spec: the Ed25519 and P-256 example DIDs.
SPEC_ED25519_VECTOR = "did:key:z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP"
SPEC_P256_VECTOR = "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"
# Key types the spec lists that vcwallet does not sign with.
SPEC_UNSUPPORTED = [
    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1
    "did:key:z82LkvCwHNreneWpsgPEbV3gu1C6NFJEBg4srfJ5gdxEsMGRJUz2sG9FE42shbn2xkZJh54",  # P-384
    "did:key:zUC7EK3ZakmukHhuncwkbySmomv3FmrkmS36E4Ks5rsb6VQSRpoCrx6Hb8e2Nk6UvJFSdyw9NK1scFXJp21gNNYFjVWNgaqyGnkyhtagagCpQb5B7tagJu3HDbjQ8h5ypoHjwBb",  # BLS12-381 G2
]
# w3c-ccg/did-method-key test-vectors/nist-curves.json: P-256 did:key -> public JWK.
P256_VECTORS = {
    "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv": (
        "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
        "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
    ),
    "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169": (
        "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
        "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
    ),
}
# w3c-ccg/did-method-key test-vectors/ed25519-x25519.json: seed -> did:key, derived X25519 key.
ED25519_X25519_VECTORS = [
    (
        "00" * 32,
        "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW",
    ),
    (
        "00" * 31 + "01",
        "z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        "z6LSrHyXiPBhUbvPUtyUCdf32sniiMGPTAesgHrtEa4FePtr",
    ),
    (
        "00" * 31 + "02",
        "z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        "z6LSkkqoZRC34AEpbkhZCqLDcHQVAxuLpQ7kC8XCXMVUfvjE",
    ),
    (
        "00" * 31 + "03",
        "z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        "z6LSiUo6AEDat8Ze4nQzDo67SGuHLLwsUGkxndHGUjsywHow",
    ),
    (
        "00" * 31 + "04",
        "z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
        "z6LSrGb3qm4xMCEBjvwkLb2WEcXfTM94Tu1RyGCbT5wbg8i9",
    ),
]
# An ed25519-priv multikey (seed 00..00): a private key where a public key belongs.
PRIVATE_MULTIBASE = multibase.encode(multicodec.wrap("ed25519-priv", bytes(32)), "base58btc")
RSA_JWK = {
    "kty": "RSA",
    "e": "AQAB",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
}


# -- helpers ---------------------------------------------------------------------------------
def _method(did: str, frag: str, key: PublicKey, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{did}#{frag}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": key.multibase,
        **extra,
    }


def _document(did: str, **members: Any) -> dict[str, Any]:
    return {"@context": [didmod.DID_CONTEXT, didmod.MULTIKEY_CONTEXT], "id": did, **members}


WEB_DID = "did:web:issuer.example.ac.kr"


@pytest.fixture(scope="module")
def auth_key() -> KeyPair:
    return KeyPair.generate(KeyType.ED25519)


@pytest.fixture(scope="module")
def assert_key() -> KeyPair:
    return KeyPair.generate(KeyType.P256)


@pytest.fixture(scope="module")
def split_document(auth_key: KeyPair, assert_key: KeyPair) -> dict[str, Any]:
    """#auth only under authentication, #assert only under assertionMethod (by relative ref)."""
    return _document(
        WEB_DID,
        verificationMethod=[
            _method(WEB_DID, "auth", auth_key.public_key),
            _method(WEB_DID, "assert", assert_key.public_key),
        ],
        authentication=[f"{WEB_DID}#auth"],
        assertionMethod=["#assert"],
    )


# -- did:key ---------------------------------------------------------------------------------
def test_did_key_document_matches_the_spec_example() -> None:
    assert did_key_document(SPEC_ED25519_DID) == SPEC_ED25519_DOCUMENT
    # and member order, so the JSON text matches too
    assert json.dumps(did_key_document(SPEC_ED25519_DID)) == json.dumps(SPEC_ED25519_DOCUMENT)


def test_did_key_document_without_key_agreement() -> None:
    document = did_key_document(SPEC_ED25519_DID, key_agreement=False)
    expected = {k: v for k, v in SPEC_ED25519_DOCUMENT.items() if k != "keyAgreement"}
    assert document == expected


@pytest.mark.parametrize(("seed", "mb", "x25519"), ED25519_X25519_VECTORS)
def test_ed25519_seed_vectors_and_derived_x25519(seed: str, mb: str, x25519: str) -> None:
    pair = KeyPair.from_ed25519_seed(bytes.fromhex(seed))
    assert pair.did_key == f"did:key:{mb}"
    document = did_key_document(pair.did_key)
    assert document["keyAgreement"][0]["id"] == f"did:key:{mb}#{x25519}"
    assert document["keyAgreement"][0]["publicKeyMultibase"] == x25519


@pytest.mark.parametrize(("did", "xy"), sorted(P256_VECTORS.items()))
def test_p256_did_key_vectors(did: str, xy: tuple[str, str]) -> None:
    method_id = f"{did}#{did[len('did:key:') :]}"
    method = DidResolver().verification_method(method_id, "assertionMethod")
    assert method.jwk == {"kty": "EC", "crv": "P-256", "x": xy[0], "y": xy[1]}
    assert method.public_key().key_type is KeyType.P256
    document = did_key_document(did)
    assert "keyAgreement" not in document  # the spec derives key agreement keys from Ed25519 only
    assert document["verificationMethod"] == [
        {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": did[8:]}
    ]
    for relationship in (
        "authentication",
        "assertionMethod",
        "capabilityDelegation",
        "capabilityInvocation",
    ):
        assert document[relationship] == [method_id]


def test_spec_vector_dids_resolve() -> None:
    resolver = DidResolver()
    for did in (SPEC_ED25519_DID, SPEC_ED25519_VECTOR, SPEC_P256_VECTOR):
        document = resolver.resolve(did)
        assert isinstance(document, pydid.DIDDocument)
        assert str(document.id) == did


@pytest.mark.parametrize("did", SPEC_UNSUPPORTED)
def test_spec_key_types_we_do_not_support(did: str) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        DidResolver().resolve(did)


@pytest.mark.parametrize("key_type", list(KeyType))
def test_did_key_round_trip(key_type: KeyType) -> None:
    pair = KeyPair.generate(key_type)
    method_id = did_key_url(pair.public_key)
    assert method_id == f"{pair.did_key}#{pair.public_key.multibase}"
    resolver = DidResolver()
    for purpose in (
        "assertionMethod",
        "authentication",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        method = resolver.verification_method(method_id, purpose)
        assert method == VerificationMethod(
            method_id, "Multikey", pair.did_key, pair.public_key.to_jwk()
        )
        assert method.public_key() == pair.public_key
    message = "홍길동 학위증명".encode()
    method.public_key().verify(pair.sign(message), message)
    with pytest.raises(InvalidSignature):
        method.public_key().verify(pair.sign(message), message + b".")
    assert PublicKey.from_did_key(pair.did_key) == pair.public_key


def test_did_key_x25519_is_for_key_agreement_only() -> None:
    x25519_id = SPEC_ED25519_DOCUMENT["keyAgreement"][0]["id"]  # type: ignore[index]
    resolver = DidResolver()
    method = resolver.verification_method(x25519_id, "keyAgreement")
    assert method.jwk["crv"] == "X25519"
    with pytest.raises(UnsupportedAlgorithm):
        method.public_key()
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(x25519_id, "assertionMethod")
    signing_id = f"{SPEC_ED25519_DID}#{SPEC_ED25519_DID[8:]}"
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(signing_id, "keyAgreement")


@pytest.mark.parametrize(
    "did",
    [
        "did:key:",
        "did:key:6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # no multibase prefix
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do",  # one character short
        "did:key:z0OIl",  # not base58
        "did:key:1:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # version form not supported
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/path",
    ],
)
def test_bad_did_keys(did: str) -> None:
    with pytest.raises(ResolutionError):
        DidResolver().resolve(did)


def test_did_key_with_an_off_curve_p256_point() -> None:
    bad = multibase.encode(multicodec.wrap("p256-pub", b"\x02" + b"\xff" * 32), "base58btc")
    with pytest.raises(ResolutionError):
        DidResolver().resolve("did:key:" + bad)
    with pytest.raises(
        ResolutionError
    ) as info:  # a private key is not a did:key, and is not echoed
        DidResolver().resolve("did:key:" + PRIVATE_MULTIBASE)
    assert PRIVATE_MULTIBASE not in str(info.value)


def test_did_key_document_contexts_are_bundled() -> None:
    """Documents we produce can be expanded by the offline loader (no unknown contexts)."""
    index = json.loads(
        (Path(didmod.__file__).parent / "contexts" / "index.json").read_text(encoding="utf-8")
    )
    for context in did_key_document(SPEC_ED25519_DID)["@context"]:
        assert context in index


# -- purposes ----------------------------------------------------------------------------------
def test_key_only_under_authentication_is_refused_for_assertion(
    split_document: dict[str, Any], auth_key: KeyPair, assert_key: KeyPair
) -> None:
    resolver = StaticResolver({WEB_DID: split_document})
    assert (
        resolver.verification_method(f"{WEB_DID}#auth", "authentication").public_key()
        == auth_key.public_key
    )
    assert (
        resolver.verification_method(f"{WEB_DID}#assert", "assertionMethod").public_key()
        == assert_key.public_key
    )
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(f"{WEB_DID}#auth", "assertionMethod")
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(f"{WEB_DID}#assert", "authentication")
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(f"{WEB_DID}#assert", "capabilityInvocation")


def test_embedded_methods_count_for_their_relationship_only(auth_key: KeyPair) -> None:
    embedded = {
        "id": "#emb",
        "type": "Multikey",
        "controller": WEB_DID,
        "publicKeyMultibase": auth_key.public_key.multibase,
    }
    resolver = StaticResolver({WEB_DID: _document(WEB_DID, assertionMethod=[embedded])})
    method = resolver.verification_method(f"{WEB_DID}#emb", "assertionMethod")
    assert method.id == f"{WEB_DID}#emb"
    assert method.public_key() == auth_key.public_key
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(f"{WEB_DID}#emb", "authentication")
    # DID Core requires a controller; a relative method without one cannot be attributed
    del embedded["controller"]
    with pytest.raises(MalformedDocumentError):
        StaticResolver({WEB_DID: _document(WEB_DID, assertionMethod=[embedded])}).resolve(WEB_DID)


def test_lookup_errors(split_document: dict[str, Any]) -> None:
    resolver = StaticResolver({WEB_DID: split_document})
    with pytest.raises(ResolutionError):
        resolver.verification_method(f"{WEB_DID}#missing", "assertionMethod")
    with pytest.raises(ResolutionError):  # a relative DID URL cannot be resolved on its own
        resolver.verification_method("#assert", "assertionMethod")
    with pytest.raises(ResolutionError):  # no fragment
        resolver.verification_method(WEB_DID, "assertionMethod")
    with pytest.raises(ResolutionError):
        resolver.verification_method(f"{WEB_DID}#", "assertionMethod")
    with pytest.raises(ResolutionError):  # not pinned and no fallback
        resolver.verification_method("did:web:other.example#key-1", "assertionMethod")
    with pytest.raises(ValueError):
        resolver.verification_method(f"{WEB_DID}#assert", "signing")


def test_reference_to_an_undefined_method(auth_key: KeyPair) -> None:
    document = _document(
        WEB_DID,
        verificationMethod=[_method(WEB_DID, "a", auth_key.public_key)],
        assertionMethod=["#ghost"],
    )
    with pytest.raises(ResolutionError):
        StaticResolver({WEB_DID: document}).verification_method(
            f"{WEB_DID}#ghost", "assertionMethod"
        )


def test_method_controlled_by_another_did_is_refused(auth_key: KeyPair) -> None:
    method = _method(WEB_DID, "k", auth_key.public_key, controller="did:web:attacker.example")
    document = _document(WEB_DID, verificationMethod=[method], assertionMethod=["#k"])
    with pytest.raises(ProofPurposeError):
        StaticResolver({WEB_DID: document}).verification_method(f"{WEB_DID}#k", "assertionMethod")


def test_same_id_for_two_different_methods_is_refused(
    auth_key: KeyPair, assert_key: KeyPair
) -> None:
    embedded = _method(WEB_DID, "k", assert_key.public_key)
    document = _document(
        WEB_DID,
        verificationMethod=[_method(WEB_DID, "k", auth_key.public_key)],
        assertionMethod=[embedded],
    )
    with pytest.raises(MalformedDocumentError):
        StaticResolver({WEB_DID: document}).verification_method(f"{WEB_DID}#k", "assertionMethod")


# -- method types ------------------------------------------------------------------------------
def _single(method: dict[str, Any]) -> StaticResolver:
    return StaticResolver(
        {WEB_DID: _document(WEB_DID, verificationMethod=[method], assertionMethod=["#k"])}
    )


@pytest.mark.parametrize("method_type", ["JsonWebKey", "JsonWebKey2020"])
@pytest.mark.parametrize("key_type", list(KeyType))
def test_jwk_methods(method_type: str, key_type: KeyType) -> None:
    pair = KeyPair.generate(key_type)
    method = {
        "id": "#k",
        "type": method_type,
        "controller": WEB_DID,
        "publicKeyJwk": pair.public_key.to_jwk(),
    }
    found = _single(method).verification_method(f"{WEB_DID}#k", "assertionMethod")
    assert found.type == method_type
    assert found.public_key() == pair.public_key


def test_rsa_jwk_is_kept_for_jose_but_is_no_public_key() -> None:
    method = {
        "id": "#k",
        "type": "JsonWebKey2020",
        "controller": WEB_DID,
        "publicKeyJwk": dict(RSA_JWK),
    }
    found = _single(method).verification_method(f"{WEB_DID}#k", "assertionMethod")
    assert found.jwk == RSA_JWK
    with pytest.raises(UnsupportedAlgorithm):
        found.public_key()


def test_ed25519_verification_key_2020() -> None:
    pair = KeyPair.generate(KeyType.ED25519)
    method = {
        "id": "#k",
        "type": "Ed25519VerificationKey2020",
        "controller": WEB_DID,
        "publicKeyMultibase": pair.public_key.multibase,
    }
    found = _single(method).verification_method(f"{WEB_DID}#k", "assertionMethod")
    assert found.public_key() == pair.public_key
    p256 = KeyPair.generate(KeyType.P256).public_key.multibase
    with pytest.raises(MalformedDocumentError):
        _single({**method, "publicKeyMultibase": p256}).verification_method(
            f"{WEB_DID}#k", "assertionMethod"
        )


@pytest.mark.parametrize(
    ("method", "error"),
    [
        (
            {
                "type": "EcdsaSecp256k1VerificationKey2019",
                "publicKeyMultibase": "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            },
            UnsupportedAlgorithm,
        ),
        (
            {
                "type": "Multikey",
                "publicKeyMultibase": "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            },
            UnsupportedAlgorithm,
        ),
        (
            {"type": "JsonWebKey", "publicKeyJwk": {"kty": "oct"}},
            MalformedDocumentError,
        ),  # "k"-less but symmetric
        (
            {
                "type": "JsonWebKey",
                "publicKeyJwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
            },
            MalformedDocumentError,
        ),
        (
            {"type": "JsonWebKey", "publicKeyJwk": {"kty": "RSA", "e": "AQAB"}},
            MalformedDocumentError,
        ),
        ({"type": "JsonWebKey", "publicKeyJwk": "not an object"}, MalformedDocumentError),
        ({"type": "Multikey", "publicKeyMultibase": "uNotBase58"}, MalformedDocumentError),
        (
            {"type": "Multikey", "publicKeyMultibase": "z111"},
            MalformedDocumentError,
        ),  # identity codec
        (
            {"type": "Multikey", "publicKeyMultibase": "z" + "2" * 5000},
            MalformedDocumentError,
        ),  # too long
        ({"type": "Multikey", "publicKeyMultibase": PRIVATE_MULTIBASE}, MalformedDocumentError),
        (
            {
                "type": "Multikey",
                "publicKeyMultibase": KeyPair.generate().public_key.multibase[:-1] + "0",
            },
            MalformedDocumentError,
        ),
        (
            {"type": "Multikey", "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}},
            MalformedDocumentError,
        ),
    ],
)
def test_unusable_methods(method: dict[str, Any], error: type[Exception]) -> None:
    full = {"id": "#k", "controller": WEB_DID, **method}
    with pytest.raises(error):
        _single(full).verification_method(f"{WEB_DID}#k", "assertionMethod")


def test_verification_method_is_hashable_and_comparable() -> None:
    pair = KeyPair.generate()
    a = VerificationMethod("did:x:1#k", "Multikey", "did:x:1", pair.public_key.to_jwk())
    b = VerificationMethod("did:x:1#k", "Multikey", "did:x:1", pair.public_key.to_jwk())
    assert a == b and hash(a) == hash(b)


# -- refused documents -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d, k: {**d, "id": "did:web:someone.else"}, id="wrong-id"),
        pytest.param(lambda d, k: {k2: v for k2, v in d.items() if k2 != "id"}, id="no-id"),
        pytest.param(
            lambda d, k: {**d, "verificationMethod": {"id": "#k"}}, id="methods-not-a-list"
        ),
        pytest.param(
            lambda d, k: {**d, "verificationMethod": [{"id": "#k", "type": "Multikey"}]},
            id="no-key-material",
        ),
        pytest.param(
            lambda d, k: {**d, "verificationMethod": ["#k"]}, id="reference-in-verificationMethod"
        ),
        pytest.param(lambda d, k: {**d, "assertionMethod": [17]}, id="number-in-relationship"),
        pytest.param(lambda d, k: {**d, "assertionMethod": "#k"}, id="relationship-not-a-list"),
        pytest.param(
            lambda d, k: {
                **d,
                "verificationMethod": [{**d["verificationMethod"][0], "id": "not a url"}],
            },
            id="bad-method-id",
        ),
        pytest.param(lambda d, k: {**d, "extra": float("nan")}, id="nan"),
        pytest.param(
            lambda d, k: {
                **d,
                "verificationMethod": [
                    {
                        "id": "#k",
                        "type": "JsonWebKey",
                        "controller": WEB_DID,
                        "publicKeyJwk": k.private_jwk(),
                    }
                ],
            },
            id="private-jwk",
        ),
        pytest.param(
            lambda d, k: {
                **d,
                "assertionMethod": [
                    {"id": "#k", "type": "JsonWebKey2020", "publicKeyJwk": k.private_jwk()}
                ],
            },
            id="private-jwk-embedded",
        ),
        pytest.param(
            lambda d, k: {
                **d,
                "verificationMethod": [
                    {
                        **d["verificationMethod"][0],
                        "privateKeyMultibase": "z3u2en7t5LR2WtQH5PfsqMWo",
                    }
                ],
            },
            id="private-multibase",
        ),
        pytest.param(
            lambda d, k: {
                **d,
                "capabilityInvocation": [
                    {
                        "id": "#p",
                        "type": "Multikey",
                        "controller": WEB_DID,
                        "publicKeyMultibase": PRIVATE_MULTIBASE,
                    }
                ],
            },
            id="private-key-as-public-multibase-in-another-method",
        ),
    ],
)
def test_refused_documents(mutate: Callable[[dict[str, Any], KeyPair], Any]) -> None:
    pair = KeyPair.generate()
    good = _document(
        WEB_DID, verificationMethod=[_method(WEB_DID, "k", pair.public_key)], assertionMethod=["#k"]
    )
    StaticResolver({WEB_DID: good}).verification_method(f"{WEB_DID}#k", "assertionMethod")
    resolver = StaticResolver({WEB_DID: mutate(good, pair)})
    with pytest.raises(MalformedDocumentError) as info:
        resolver.verification_method(f"{WEB_DID}#k", "assertionMethod")
    with pytest.raises(MalformedDocumentError):  # refused again: a failed check is not remembered
        resolver.verification_method(f"{WEB_DID}#k", "assertionMethod")
    with pytest.raises(MalformedDocumentError):
        resolver.resolve(WEB_DID)
    private_d = pair.private_jwk()["d"]
    assert private_d not in str(info.value)
    assert PRIVATE_MULTIBASE not in str(info.value)


@pytest.mark.parametrize("did", ["did:example:123", "did:ethr:0xabc", "did:peer:2.Ez6LS"])
def test_unknown_did_methods(did: str) -> None:
    with pytest.raises(ResolutionError):
        DidResolver().resolve(did)
    with pytest.raises(ResolutionError):
        DidResolver().verification_method(did + "#key-1", "assertionMethod")


@pytest.mark.parametrize(
    "text", ["", "did", "did:", "did:key", "DID:key:z6Mk", "did:web:example.com#frag", "http://x"]
)
def test_not_dids(text: str) -> None:
    with pytest.raises(ResolutionError):
        DidResolver().resolve(text)


# -- StaticResolver ----------------------------------------------------------------------------
def test_static_resolver_falls_back_and_pins_a_copy(split_document: dict[str, Any]) -> None:
    attempted: list[str] = []

    def offline(url: str) -> bytes:  # never touch the network from tests
        attempted.append(url)
        raise ConnectionRefusedError("offline")

    documents = {WEB_DID: json.loads(json.dumps(split_document))}
    resolver = StaticResolver(documents, fallback=DidResolver(fetch=offline))
    # the caller's later edit has no effect on the pinned copy
    documents[WEB_DID]["assertionMethod"] = [f"{WEB_DID}#auth"]
    with pytest.raises(ProofPurposeError):
        resolver.verification_method(f"{WEB_DID}#auth", "assertionMethod")
    assert str(resolver.resolve(WEB_DID).id) == WEB_DID
    pair = KeyPair.generate()
    method = resolver.verification_method(did_key_url(pair.public_key), "assertionMethod")
    assert method.public_key() == pair.public_key
    assert str(resolver.resolve(pair.did_key).id) == pair.did_key
    assert attempted == []  # pinned DIDs and did:key need no fetch
    with pytest.raises(ResolutionError):
        resolver.resolve("did:web:unpinned.example")
    with pytest.raises(ResolutionError):
        resolver.verification_method("did:web:unpinned.example#key-1", "assertionMethod")
    assert attempted == ["https://unpinned.example/.well-known/did.json"] * 2


# -- did:web syntax ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.edu", "https://example.edu/.well-known/did.json"),
        ("did:web:example.edu:dept:x", "https://example.edu/dept/x/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
        ("did:web:127.0.0.1%3A8443", "https://127.0.0.1:8443/.well-known/did.json"),
        ("did:web:Example.EDU", "https://example.edu/.well-known/did.json"),
        (
            "did:web:example.edu:%ED%95%99%EA%B3%BC",
            "https://example.edu/%ED%95%99%EA%B3%BC/did.json",
        ),
    ],
)
def test_did_web_to_url(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:key:z6Mk",
        "did:web:example.com:",
        "did:web:example.com::x",
        "did:web:exa_mple.com",
        "did:web:example.com%3A",
        "did:web:example.com%3A99999",
        "did:web:example.com%3Aabc",
        "did:web:user@example.com",
        "did:web:example.com:..",
        "did:web:example.com:%2E%2E",
        "did:web:example.com:a%2Fb",
        "did:web:example.com:a/b",
        "did:web:example.com?x=1",
        "did:web:example.com#k",
        "did:web:-bad.example",
        "did:web:[::1]",
    ],
)
def test_did_web_to_url_refuses(did: str) -> None:
    with pytest.raises(ResolutionError):
        did_web_to_url(did)


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://127.0.0.1:8443", "did:web:127.0.0.1%3A8443"),
        ("127.0.0.1:8443", "did:web:127.0.0.1%3A8443"),
        ("example.edu", "did:web:example.edu"),
        ("https://example.edu/", "did:web:example.edu"),
        ("https://example.edu/.well-known/did.json", "did:web:example.edu"),
        ("https://example.edu/dept/x/did.json", "did:web:example.edu:dept:x"),
        ("https://example.edu/dept/x", "did:web:example.edu:dept:x"),
        ("https://example.edu/학과/did.json", "did:web:example.edu:%ED%95%99%EA%B3%BC"),
    ],
)
def test_url_to_did_web(url: str, did: str) -> None:
    assert url_to_did_web(url) == did
    assert url_to_did_web(did_web_to_url(did)) == did


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://example.edu",
        "https://example.edu?x=1",
        "https://u:p@example.edu",
        "https://example.edu:0",
        "https://example.edu:abc",
        "ftp://example.edu",
        "https://exa_mple.edu",
    ],
)
def test_url_to_did_web_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        url_to_did_web(url)


def test_build_did_web_document(auth_key: KeyPair, assert_key: KeyPair) -> None:
    did = "did:web:example.edu:registrar"
    document = build_did_web_document(did, [auth_key.public_key, assert_key.public_key])
    ids = [f"{did}#key-1", f"{did}#key-2"]
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": ids[0],
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": auth_key.public_key.multibase,
            },
            {
                "id": ids[1],
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": assert_key.public_key.multibase,
            },
        ],
        "assertionMethod": ids,
        "authentication": ids,
    }
    resolver = StaticResolver({did: document})
    for method_id, pair in zip(ids, (auth_key, assert_key), strict=True):
        for purpose in ("assertionMethod", "authentication"):
            assert resolver.verification_method(method_id, purpose).public_key() == pair.public_key
        with pytest.raises(ProofPurposeError):
            resolver.verification_method(method_id, "capabilityInvocation")


def test_build_did_web_document_refuses(auth_key: KeyPair) -> None:
    with pytest.raises(ValueError):
        build_did_web_document("did:web:example.edu", [])
    with pytest.raises(ValueError):
        build_did_web_document("did:web:example.edu", [auth_key.public_key, auth_key.public_key])
    with pytest.raises(ValueError):
        build_did_web_document("did:key:" + auth_key.public_key.multibase, [auth_key.public_key])
    with pytest.raises(TypeError):
        build_did_web_document("did:web:example.edu", [auth_key])  # type: ignore[list-item]


# -- did:web over a real loopback HTTP server ---------------------------------------------------
class _Site:
    """What the loopback server serves: path -> (status, headers, body); records requests."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[str] = []

    def put(
        self, path: str, body: bytes | dict[str, Any], status: int = 200, **headers: str
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.pages[path] = (status, headers, data)


def _handler(site: _Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            status, headers, body = site.pages.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


@pytest.fixture()
def site() -> Iterator[tuple[_Site, int]]:
    site = _Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield site, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _loopback_fetcher(port: int, seen: list[str]) -> Callable[[str], bytes]:
    """Serve every did:web host from the loopback server (plain HTTP: tests only)."""

    def fetch(url: str) -> bytes:
        seen.append(url)
        path = url.split("/", 3)[3]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=5) as response:
            body: bytes = response.read()
            return body

    return fetch


def test_did_web_resolution(
    site: tuple[_Site, int], auth_key: KeyPair, assert_key: KeyPair
) -> None:
    pages, port = site
    did = "did:web:univ.example.ac.kr:registrar"
    pages.put("/registrar/did.json", build_did_web_document(did, [assert_key.public_key]))
    seen: list[str] = []
    resolver = DidResolver(fetch=_loopback_fetcher(port, seen))
    method = resolver.verification_method(f"{did}#key-1", "assertionMethod")
    assert seen == ["https://univ.example.ac.kr/registrar/did.json"]
    assert pages.requests == ["/registrar/did.json"]
    message = "졸업증명서".encode()
    method.public_key().verify(assert_key.sign(message), message)
    with pytest.raises(InvalidSignature):
        method.public_key().verify(auth_key.sign(message), message)


def test_did_web_with_port_from_url(site: tuple[_Site, int], assert_key: KeyPair) -> None:
    pages, port = site
    did = url_to_did_web(f"https://127.0.0.1:{port}")
    pages.put("/.well-known/did.json", build_did_web_document(did, [assert_key.public_key]))
    seen: list[str] = []
    document = DidResolver(fetch=_loopback_fetcher(port, seen)).resolve(did)
    assert seen == [f"https://127.0.0.1:{port}/.well-known/did.json"]
    assert str(document.id) == did


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", MalformedDocumentError),
        (b'{"id": "a", "id": "b"}', MalformedDocumentError),
        (b"\xff\xfe", MalformedDocumentError),
        (b"[]", MalformedDocumentError),
        (b'{"id": "did:web:other.example"}', MalformedDocumentError),
        (b" " * 4096 + b"{}", MalformedDocumentError),  # over max_bytes=4096
    ],
)
def test_did_web_bad_bodies(site: tuple[_Site, int], body: bytes, error: type[Exception]) -> None:
    pages, port = site
    pages.put("/.well-known/did.json", body)
    resolver = DidResolver(fetch=_loopback_fetcher(port, []), max_bytes=4096)
    with pytest.raises(error):
        resolver.resolve("did:web:issuer.example")


def test_did_web_size_limit_is_exact(site: tuple[_Site, int], assert_key: KeyPair) -> None:
    pages, port = site
    did = "did:web:issuer.example"
    body = json.dumps(build_did_web_document(did, [assert_key.public_key])).encode()
    pages.put("/.well-known/did.json", body)
    assert DidResolver(fetch=_loopback_fetcher(port, []), max_bytes=len(body)).resolve(did)
    with pytest.raises(MalformedDocumentError):
        DidResolver(fetch=_loopback_fetcher(port, []), max_bytes=len(body) - 1).resolve(did)


def test_did_web_private_key_in_published_document(
    site: tuple[_Site, int], assert_key: KeyPair
) -> None:
    pages, port = site
    did = "did:web:issuer.example"
    document = _document(
        did,
        verificationMethod=[
            {
                "id": "#k",
                "type": "JsonWebKey",
                "controller": did,
                "publicKeyJwk": assert_key.private_jwk(),
            }
        ],
        assertionMethod=["#k"],
    )
    pages.put("/.well-known/did.json", document)
    with pytest.raises(MalformedDocumentError) as info:
        DidResolver(fetch=_loopback_fetcher(port, [])).verification_method(
            f"{did}#k", "assertionMethod"
        )
    assert assert_key.private_jwk()["d"] not in str(info.value)


def test_did_web_not_found_is_a_resolution_error(site: tuple[_Site, int]) -> None:
    _, port = site
    with pytest.raises(ResolutionError):
        DidResolver(fetch=_loopback_fetcher(port, [])).resolve("did:web:issuer.example:nobody")


def test_did_web_fetch_failure_is_a_resolution_error() -> None:
    def refused(url: str) -> bytes:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(ResolutionError):
        DidResolver(fetch=refused).resolve("did:web:issuer.example")


# -- the production fetcher against a real loopback HTTPS server --------------------------------
def _self_signed(tmp_path: Path) -> tuple[Path, Path, ssl.SSLContext]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    client = ssl.create_default_context(cafile=str(cert_path))
    return cert_path, key_path, client


@pytest.fixture()
def https_site(tmp_path: Path) -> Iterator[tuple[_Site, int, ssl.SSLContext]]:
    cert_path, key_path, client = _self_signed(tmp_path)
    site = _Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield site, server.server_address[1], client
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_fetcher_end_to_end(
    https_site: tuple[_Site, int, ssl.SSLContext], assert_key: KeyPair
) -> None:
    pages, port, client = https_site
    did = url_to_did_web(f"https://127.0.0.1:{port}/issuers/battery")
    pages.put("/issuers/battery/did.json", build_did_web_document(did, [assert_key.public_key]))
    resolver = DidResolver(fetch=HttpsFetcher(ssl_context=client, timeout=5))
    method = resolver.verification_method(f"{did}#key-1", "assertionMethod")
    assert method.public_key() == assert_key.public_key


def test_https_fetcher_refusals(
    https_site: tuple[_Site, int, ssl.SSLContext], assert_key: KeyPair
) -> None:
    pages, port, client = https_site
    base = f"https://127.0.0.1:{port}"
    fetch = HttpsFetcher(ssl_context=client, timeout=5, max_bytes=100)
    pages.put("/big", b"x" * 101)
    pages.put("/exact", b"x" * 100)
    pages.put("/moved", b"", status=302, Location="http://127.0.0.1/elsewhere")
    pages.put("/error", b"oops", status=500)
    assert fetch(f"{base}/exact") == b"x" * 100
    with pytest.raises(MalformedDocumentError):
        fetch(f"{base}/big")
    with pytest.raises(ResolutionError):
        fetch(f"{base}/moved")
    with pytest.raises(ResolutionError):
        fetch(f"{base}/error")
    with pytest.raises(ResolutionError):
        fetch(f"{base}/missing")
    with pytest.raises(ResolutionError):  # plain http is never fetched
        fetch(f"http://127.0.0.1:{port}/exact")
    with pytest.raises(ResolutionError):  # an untrusted certificate is refused
        HttpsFetcher(timeout=5)(f"{base}/exact")


# -- our base58btc agrees with multiformats -----------------------------------------------------
@pytest.mark.parametrize(
    "data", [b"", b"\0", b"\0\0\x01", b"\x01\0", bytes(range(256)), b"\xff" * 40]
)
def test_base58btc_matches_multiformats(data: bytes) -> None:
    expected = multibase.encode(data, "base58btc")
    assert "z" + didmod._b58encode(data) == expected
    assert didmod._b58decode(expected[1:]) == data


@pytest.mark.parametrize("key_type", list(KeyType))
def test_multikey_matches_public_key_multibase(key_type: KeyType) -> None:
    for _ in range(20):
        key = KeyPair.generate(key_type).public_key
        assert didmod.multikey(key_type.multicodec_name, key.raw) == key.multibase
