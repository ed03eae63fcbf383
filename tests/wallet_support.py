"""Real, minimal vc+jwt and vc+cose signing and verification for the wallet tests.

Until the recipe layer (``vcwallet.credentials``) is importable in every checkout, the
wallet tests verify with this: genuine Ed25519 / P-256 signatures checked against the
issuer's did:key, validity dates checked against ``now``. It refuses what a real
verifier refuses (bad signature, wrong key, expired), so it is no always-yes fake.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2

from vcwallet.errors import InvalidSignature, MalformedDocumentError
from vcwallet.keys import KeyPair, PublicKey

_COSE_ALGS = {"EdDSA": -8, "ES256": -7}


@dataclass(frozen=True)
class SupportCheck:
    name: str
    status: str
    reason: str


@dataclass(frozen=True)
class SupportResult:
    verified: bool
    format: str
    checks: tuple[SupportCheck, ...]
    credential: dict[str, Any] | None
    issuer: str | None
    types: tuple[str, ...]


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise MalformedDocumentError("bad base64url") from None


def sign_jwt(issuer: KeyPair, credential: dict[str, Any]) -> str:
    header = {"alg": issuer.key_type.jws_alg, "typ": "vc+jwt",
              "kid": f"{issuer.did_key}#{issuer.did_key[8:]}"}
    signing_input = (_b64u(json.dumps(header).encode()) + "."
                     + _b64u(json.dumps(credential, ensure_ascii=False).encode()))
    return signing_input + "." + _b64u(issuer.sign(signing_input.encode("ascii")))


def sign_cose(issuer: KeyPair, credential: dict[str, Any]) -> bytes:
    protected = cbor2.dumps({1: _COSE_ALGS[issuer.key_type.jws_alg], 3: "application/vc"})
    payload = json.dumps(credential, ensure_ascii=False).encode()
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, issuer.sign(to_sign)]))


def verify(data: str | bytes | dict[str, Any], *, now: datetime | None = None) -> SupportResult:
    """Verify a vc+jwt (text) or vc+cose (bytes) credential; raise for unreadable input."""
    if isinstance(data, bytes) and data[:1] == b"\xd2":
        fmt, credential, signed, signature = "cose", *_open_cose(data)
    elif isinstance(data, (str, bytes)):
        fmt, credential, signed, signature = "jwt", *_open_jwt(data)
    else:
        raise MalformedDocumentError("this verifier reads vc+jwt and vc+cose only")
    issuer = credential.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    types = tuple(credential.get("type", ()))
    checks = [_signature_check(issuer, signed, signature), _validity_check(credential, now)]
    ok = all(c.status == "passed" for c in checks)
    return SupportResult(ok, fmt, tuple(checks), credential, issuer, types)


def _open_jwt(data: str | bytes) -> tuple[dict[str, Any], bytes, bytes]:
    text = data.decode() if isinstance(data, bytes) else data
    parts = text.strip().split(".")
    if len(parts) != 3:
        raise MalformedDocumentError("not a compact JWS")
    try:
        header = json.loads(_b64u_decode(parts[0]))
        credential = json.loads(_b64u_decode(parts[1]))
    except ValueError:
        raise MalformedDocumentError("JWS header or payload is not JSON") from None
    if header.get("alg") not in _COSE_ALGS or not isinstance(credential, dict):
        raise MalformedDocumentError("unsupported JWS")
    return credential, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64u_decode(parts[2])


def _open_cose(data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    try:
        protected, _unprotected, payload, signature = cbor2.loads(data).value
        credential = json.loads(payload)
    except (ValueError, TypeError, AttributeError, cbor2.CBORDecodeError):
        raise MalformedDocumentError("not a COSE_Sign1 credential") from None
    return credential, cbor2.dumps(["Signature1", protected, b"", payload]), signature


def _signature_check(issuer: Any, signed: bytes, signature: bytes) -> SupportCheck:
    try:
        PublicKey.from_did_key(issuer).verify(signature, signed)
    except (InvalidSignature, MalformedDocumentError) as exc:
        return SupportCheck("signature", "failed", str(exc))
    return SupportCheck("signature", "passed", "signed by the issuer's did:key")


def _validity_check(credential: dict[str, Any], now: datetime | None) -> SupportCheck:
    moment = now or datetime.now(UTC)
    until = credential.get("validUntil")
    if until and datetime.fromisoformat(until) < moment:
        return SupportCheck("validity_period", "failed", f"expired at {until}")
    return SupportCheck("validity_period", "passed", "within its validity period")
