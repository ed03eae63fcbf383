"""Every Wycheproof case for Ed25519 and ECDSA P-256/SHA-256 through PublicKey.verify.

The vectors (C2SP/wycheproof, see vectors/wycheproof/PROVENANCE.md) hold only "valid" and
"invalid" results for these three files. Should an "acceptable" case appear in a later
snapshot, vcwallet's documented choice is to reject it (strict verification: a signature
two implementations might disagree about is no signature), and this test asserts that.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from vcwallet.errors import InvalidSignature
from vcwallet.keys import KeyType, PublicKey

FILES = {
    # file name -> (PublicKey.verify encoding, expected schema)
    "ed25519_test.json": ("raw", "eddsa_verify_schema_v1.json"),
    "ecdsa_secp256r1_sha256_test.json": ("der", "ecdsa_verify_schema_v1.json"),
    "ecdsa_secp256r1_sha256_p1363_test.json": ("raw", "ecdsa_p1363_verify_schema_v1.json"),
}


def _load(vectors: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors / "wycheproof" / name).read_text(encoding="utf-8"))
    return data


def _public_key(group: dict[str, Any]) -> PublicKey:
    key = group["publicKey"]
    if key.get("curve") == "edwards25519":
        return PublicKey.from_raw("ed25519-pub", bytes.fromhex(key["pk"]))
    assert key["curve"] == "secp256r1"
    return PublicKey.from_ec_point(bytes.fromhex(key["uncompressed"]))


def _verdict(public_key: PublicKey, test: dict[str, Any], encoding: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]), encoding=encoding)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_case_matches_its_verdict(vectors: Path, name: str) -> None:
    encoding, schema = FILES[name]
    data = _load(vectors, name)
    assert data["schema"] == schema
    mismatches: list[str] = []
    counts: Counter[str] = Counter()
    for group in data["testGroups"]:
        public_key = _public_key(group)
        for test in group["tests"]:
            counts[test["result"]] += 1
            verified = _verdict(public_key, test, encoding)
            expected = test["result"] == "valid"  # "acceptable" is rejected on purpose
            if verified != expected:
                mismatches.append(
                    f"tcId {test['tcId']} ({test['result']}, {test['flags']}): verified={verified}"
                )
    assert sum(counts.values()) == data["numberOfTests"]
    assert counts["valid"] > 0 and counts["invalid"] > 0
    assert mismatches == []


def test_group_keys_match_their_jwk_and_der(vectors: Path) -> None:
    """The key we build from the raw point is the key of the group's JWK / SPKI (where given)."""
    from cryptography.hazmat.primitives import serialization

    for name in FILES:
        for group in _load(vectors, name)["testGroups"]:
            public_key = _public_key(group)
            expected_der = bytes.fromhex(group["publicKeyDer"])
            der = public_key.key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            assert der == expected_der
            jwk = group.get("publicKeyJwk")
            if jwk is not None:
                assert PublicKey.from_jwk(jwk) == public_key


def test_p1363_signature_size_cases_are_rejected(vectors: Path) -> None:
    """RFC 7518 3.4: an ES256 signature is exactly 64 bytes (jwcrypto is lenient; we are not)."""
    data = _load(vectors, "ecdsa_secp256r1_sha256_p1363_test.json")
    size_cases = [
        (group, test)
        for group in data["testGroups"]
        for test in group["tests"]
        if "SignatureSize" in test["flags"]
    ]
    assert size_cases, "the snapshot should contain SignatureSize vectors"
    for group, test in size_cases:
        assert len(bytes.fromhex(test["sig"])) != 64
        assert test["result"] == "invalid"
        with pytest.raises(InvalidSignature):
            _public_key(group).verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))


def test_der_signature_is_refused_where_p1363_is_expected(vectors: Path) -> None:
    """A valid DER signature is not a valid wire-format (raw) signature."""
    data = _load(vectors, "ecdsa_secp256r1_sha256_test.json")
    group = data["testGroups"][0]
    test = next(t for t in group["tests"] if t["result"] == "valid")
    key = _public_key(group)
    assert key.key_type is KeyType.P256
    key.verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]), encoding="der")
    with pytest.raises(InvalidSignature):
        key.verify(bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))


def test_from_ec_point_compressed_equals_uncompressed(vectors: Path) -> None:
    group = _load(vectors, "ecdsa_secp256r1_sha256_test.json")["testGroups"][0]
    key = _public_key(group)
    assert PublicKey.from_ec_point(key.raw) == key


@pytest.mark.parametrize(
    "point",
    [b"", b"\x04" + b"\x00" * 64, b"\x04" + b"\x01" * 64, b"\x02" + b"\xff" * 32, b"\x04" * 10],
)
def test_from_ec_point_refuses_bad_points(point: bytes) -> None:
    from vcwallet.errors import MalformedDocumentError

    with pytest.raises(MalformedDocumentError):
        PublicKey.from_ec_point(point)


# -- beyond the vectors: Ed25519 public keys of small order ---------------------------------
# The eight points of the 8-torsion subgroup (canonical encodings, both signs of x) and the
# non-canonical encodings y = p and y = p + 1. With any of them as the public key, a signature
# R = identity, s = 0 satisfies the cofactorless equation for many or all messages.
_SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


@pytest.mark.parametrize("encoding", _SMALL_ORDER)
@pytest.mark.parametrize("sign", [0x00, 0x80])
def test_small_order_ed25519_keys_are_refused(encoding: str, sign: int) -> None:
    from vcwallet.errors import MalformedDocumentError
    from vcwallet.keys import _b64u

    raw = bytearray.fromhex(encoding)
    raw[31] |= sign
    with pytest.raises(MalformedDocumentError):
        PublicKey.from_raw("ed25519-pub", bytes(raw))
    with pytest.raises(MalformedDocumentError):
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": _b64u(bytes(raw))})


def test_identity_key_forgery_never_reaches_verify() -> None:
    """The universal forgery (identity key, R = identity, s = 0) is stopped at key import."""
    from multiformats import multibase, multicodec

    from vcwallet.did import DidResolver
    from vcwallet.errors import ResolutionError

    identity = bytes([1]) + bytes(31)
    did = "did:key:" + multibase.encode(multicodec.wrap("ed25519-pub", identity), "base58btc")
    with pytest.raises(ResolutionError):
        DidResolver().verification_method(f"{did}#{did[8:]}", "assertionMethod")
