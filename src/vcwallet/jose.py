"""Compact JWS and ``application/vc+jwt`` (W3C VC-JOSE-COSE, securing with JOSE).

Low level. The generic part (:func:`sign_jws`, :func:`verify_jws`, :func:`signing_input`,
the ``unverified_*`` peeks) is shared by vc+jwt, vp+jwt, SD-JWT and key-binding JWTs;
:func:`sign_vc_jwt` / :func:`verify_vc_jwt` add the credential rules on top.

The hot path is built directly on ``cryptography`` (jwcrypto's general JWS object costs
more than the signature itself); interoperability with jwcrypto is tested both ways.
Verification is deliberately narrow: an algorithm allow-list (no ``none``, no HMAC), the
``typ`` the caller expects, no ``crit`` / ``b64`` / ``zip`` extensions, no keys carried in
the token (``jwk``, ``jku``, ``x5u``, ``x5c``): the key comes from the caller (for vc+jwt,
from the issuer's DID document). Header and payload are read with vcwallet's strict JSON
(duplicate members, NaN and unsafe integers refused) and base64url must be canonical, so
one token has exactly one meaning and one spelling.

We emit no registered JWT claims in a vc+jwt: the credential is the claims set and its
own ``issuer`` / ``id`` / ``validFrom`` / ``validUntil`` are the single source of truth.
Tokens from others may carry ``iss`` / ``jti`` / ``sub`` / ``nbf`` / ``exp``; each must
agree with its credential property (``nbf`` and ``exp`` need ``validFrom`` / ``validUntil``
to be present, so checking the credential's dates also checks the token's).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from . import _json
from .errors import (
    InvalidSignature,
    MalformedDocumentError,
    ProofPurposeError,
    UnsupportedAlgorithm,
)
from .keys import KeyType, PublicKey, Signer, p1363_to_der

if TYPE_CHECKING:
    import pydid

    from .did import Resolver, VerificationMethod

__all__ = [
    "MAX_TOKEN_CHARS",
    "MIN_RSA_BITS",
    "REFUSED_HEADER_PARAMS",
    "SIGNING_ALGS",
    "VC_CONTEXT_V2",
    "VC_JWT_CTY",
    "VC_JWT_TYP",
    "VERIFY_ALGS",
    "CachingResolver",
    "ReadJws",
    "VerifiedJwt",
    "b64url_decode",
    "b64url_encode",
    "check_credential_shape",
    "check_kid_owner",
    "credential_issuer",
    "key_algorithm",
    "kid_did",
    "lookup_assertion_key",
    "lookup_key",
    "method_key",
    "public_key_from_jwk",
    "sign_jws",
    "sign_vc_jwt",
    "signing_input",
    "unverified_header",
    "unverified_payload",
    "verify_jws",
    "verify_signature",
    "verify_vc_jwt",
]

SIGNING_ALGS = frozenset({"EdDSA", "ES256"})
VERIFY_ALGS = frozenset({"EdDSA", "ES256", "RS256"})

VC_JWT_TYP = "vc+jwt"
VC_JWT_CTY = "vc"
VC_CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"

# Header members that change how the signature must be read, or carry a key inside the
# token itself (which would let the signer choose the key it is checked against).
REFUSED_HEADER_PARAMS = frozenset({"crit", "b64", "zip", "jwk", "jku", "x5u", "x5c", "enc"})

MAX_TOKEN_CHARS = 6 * 1024 * 1024
MIN_RSA_BITS = 2048

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_VALUE = {
    char: value
    for value, char in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
_PKCS1V15 = padding.PKCS1v15()

_VerifyKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


# -- base64url and JSON ----------------------------------------------------------------


def _show(value: Any, limit: int = 120) -> str:
    """``repr`` of an untrusted value, cut short so a hostile token cannot flood the logs."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url; anything else is MalformedDocumentError.

    Padding, whitespace, the ``+/`` alphabet and non-zero trailing bits are refused so a
    token cannot be re-spelled without changing its bytes.
    """
    if not isinstance(text, str) or len(text) % 4 == 1 or not _B64URL.fullmatch(text):
        raise MalformedDocumentError(f"{what} is not canonical base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise MalformedDocumentError(f"{what} is not canonical base64url") from None
    # the last character of a 2- or 3-character tail carries 4 or 2 unused bits: must be 0
    tail = len(text) % 4
    if tail and _B64URL_VALUE[text[-1]] & (0x0F if tail == 2 else 0x03):
        raise MalformedDocumentError(f"{what} is not canonical base64url (trailing bits)")
    return raw


def _json_object(segment: str, what: str) -> dict[str, Any]:
    value = _json.loads(b64url_decode(segment, what=what))
    if not isinstance(value, dict):
        raise MalformedDocumentError(f"{what} is not a JSON object")
    return value


def _json_bytes(value: Mapping[str, Any], what: str) -> bytes:
    _json.check_value(value, where=what)
    return _json.dumps(value).encode("utf-8")


# -- compact serialization -------------------------------------------------------------


def _split(token: str) -> list[str]:
    if not isinstance(token, str):
        raise TypeError(f"a compact JWS is a str, not {type(token).__name__}")
    if len(token) > MAX_TOKEN_CHARS:
        raise MalformedDocumentError(f"token is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) == 5:
        raise MalformedDocumentError("token has 5 parts: a JWE (encrypted) is not accepted")
    if len(parts) != 3:
        raise MalformedDocumentError(
            f"a compact JWS has 3 dot-separated parts, this token has {len(parts)}"
        )
    return parts


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header, parsed strictly but NOT verified: use only to pick a key."""
    return _json_object(_split(token)[0], "JWS header")


def unverified_payload(token: str) -> dict[str, Any]:
    """The payload, parsed strictly but NOT verified: never trust what it says."""
    return _json_object(_split(token)[1], "JWS payload")


class ReadJws:
    """A compact JWS split once, its header and payload parsed strictly on first use but
    NOT verified: for a verifier that reads a token before checking it, so that each part
    is decoded once. Each read gives exactly what :func:`unverified_header` /
    :func:`unverified_payload` give (or raises what they raise); :func:`verify_jws` and
    :func:`verify_vc_jwt` take it in place of the token and still check everything.
    """

    __slots__ = ("_header", "_payload", "parts")

    def __init__(self, token: str) -> None:
        self.parts = _split(token)
        self._header: dict[str, Any] | None = None
        self._payload: dict[str, Any] | None = None

    def header(self) -> dict[str, Any]:
        if self._header is None:
            self._header = _json_object(self.parts[0], "JWS header")
        return self._header

    def payload(self) -> dict[str, Any]:
        if self._payload is None:
            self._payload = _json_object(self.parts[1], "JWS payload")
        return self._payload

    def signing_input(self) -> bytes:
        """As :func:`signing_input` of the token."""
        header, payload, _ = self.parts
        # a payload already read went through b64url_decode, which matched it already
        for segment, what, read in (
            (header, "JWS header", self._header),
            (payload, "JWS payload", self._payload),
        ):
            if read is None and not _B64URL.fullmatch(segment):
                raise MalformedDocumentError(f"{what} is not base64url")
        return f"{header}.{payload}".encode("ascii")


def _read(token: str | ReadJws) -> ReadJws:
    return token if isinstance(token, ReadJws) else ReadJws(token)


def signing_input(token: str) -> bytes:
    """The ASCII bytes ``header.payload`` that the signature covers (RFC 7515 5.1)."""
    header, payload, _ = _split(token)
    for segment, what in ((header, "JWS header"), (payload, "JWS payload")):
        if not _B64URL.fullmatch(segment):
            raise MalformedDocumentError(f"{what} is not base64url")
    return f"{header}.{payload}".encode("ascii")


def _check_header_params(header: Mapping[str, Any]) -> None:
    refused = sorted(REFUSED_HEADER_PARAMS.intersection(header))
    if refused:
        raise MalformedDocumentError(
            f"JWS header parameter {refused[0]!r} is not accepted "
            "(no critical extensions, unencoded or compressed payloads, or embedded keys)"
        )


def sign_jws(payload: Mapping[str, Any], signer: Signer, *, header: Mapping[str, Any]) -> str:
    """Sign ``payload`` as a compact JWS; ``alg`` comes from the signer's key type.

    ``header`` supplies the other protected members (``typ``, ``kid``, ``cty``...). An
    ``alg`` in it must agree with the key. Payload text is UTF-8 JSON with non-ASCII kept
    as is, signed exactly as given (NFC normalisation is the caller's business).
    """
    if not isinstance(payload, Mapping) or not isinstance(header, Mapping):
        raise TypeError("JWS payload and header must be JSON objects (dicts)")
    alg = KeyType(signer.key_type).jws_alg
    if header.get("alg", alg) != alg:
        raise ValueError(f"header alg {header['alg']!r} does not fit a {signer.key_type} key")
    try:
        _check_header_params(header)
    except MalformedDocumentError as exc:
        raise ValueError(str(exc)) from None
    full_header = {"alg": alg, **{k: v for k, v in header.items() if k != "alg"}}
    data = (
        b64url_encode(_json_bytes(full_header, "header"))
        + "."
        + b64url_encode(_json_bytes(payload, "payload"))
    ).encode("ascii")
    signature = signer.sign(data)
    if len(signature) != 64:  # an HSM adapter handing back DER would make unverifiable tokens
        raise ValueError(
            f"signer returned {len(signature)} bytes; {alg} needs 64 (r || s for ES256)"
        )
    return data.decode("ascii") + "." + b64url_encode(signature)


# -- keys ------------------------------------------------------------------------------


def _rsa_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    try:
        n = int.from_bytes(b64url_decode(jwk["n"], what="JWK n"), "big")
        e = int.from_bytes(b64url_decode(jwk["e"], what="JWK e"), "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    except (KeyError, ValueError):
        raise MalformedDocumentError("RSA JWK does not hold a valid public key") from None


def public_key_from_jwk(jwk: Mapping[str, Any]) -> _VerifyKey:
    """A verification key from a public JWK: OKP/Ed25519, EC/P-256 or RSA (RS256 only)."""
    if not isinstance(jwk, Mapping):
        raise MalformedDocumentError("JWK must be a JSON object")
    if jwk.get("use", "sig") != "sig":
        raise MalformedDocumentError(f"JWK use {_show(jwk.get('use'))} is not 'sig'")
    if jwk.get("kty") == "RSA":
        return _rsa_from_jwk(jwk)
    return PublicKey.from_jwk(dict(jwk)).key


def key_algorithm(jwk_or_key: Any) -> tuple[_VerifyKey, str]:
    """Normalise a key (PublicKey, JWK, ``cryptography`` key) and name its one algorithm."""
    key: Any = jwk_or_key
    jwk_alg = None
    if isinstance(key, PublicKey):
        key = key.key
    elif isinstance(key, Mapping):
        jwk_alg = key.get("alg")
        key = public_key_from_jwk(key)
    key, alg = _typed_key(key, jwk_or_key)
    if jwk_alg is not None and jwk_alg != alg:
        # RFC 7517 4.4: a JWK that names its algorithm may be used with that one only
        raise UnsupportedAlgorithm(f"JWK is for alg {_show(jwk_alg)}, not {alg!r}")
    return key, alg


def _typed_key(key: Any, original: Any) -> tuple[_VerifyKey, str]:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key, "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UnsupportedAlgorithm(f"EC curve {key.curve.name} is not accepted (P-256 only)")
        return key, "ES256"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedAlgorithm(
                f"RSA key of {key.key_size} bits is too small (at least {MIN_RSA_BITS})"
            )
        return key, "RS256"
    raise TypeError(f"cannot verify with a {type(original).__name__}")


def verify_signature(key: _VerifyKey, alg: str, signature: bytes, data: bytes) -> None:
    """Check a raw JWS/COSE signature (EdDSA, ES256 as ``r || s``, RS256); None or raise."""
    try:
        if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            if len(signature) != 64:
                raise InvalidSignature("EdDSA signature must be exactly 64 bytes")
            key.verify(signature, data)
        elif alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            # p1363_to_der refuses anything but 64 bytes (RFC 7518 3.4; jwcrypto is laxer)
            key.verify(p1363_to_der(signature), data, _ECDSA_SHA256)
        elif alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            if len(signature) != (key.key_size + 7) // 8:
                raise InvalidSignature("RS256 signature length does not match the key")
            key.verify(signature, data, _PKCS1V15, _SHA256)
        else:
            raise UnsupportedAlgorithm(f"alg {alg!r} does not fit a {type(key).__name__}")
    except _CryptoInvalidSignature:
        raise InvalidSignature(f"{alg} signature does not verify") from None


# -- verification ----------------------------------------------------------------------


def _media_type(value: str) -> str:
    # RFC 7515 4.1.9: "vc+jwt" means "application/vc+jwt"; media types are case-insensitive.
    return value.lower().removeprefix("application/")


def _check_alg(header: Mapping[str, Any], allowed: frozenset[str]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MalformedDocumentError("JWS header has no 'alg'")
    if alg.lower() == "none":
        raise UnsupportedAlgorithm("alg 'none' (an unsecured JWS) is not accepted")
    if alg.upper().startswith("HS"):
        raise UnsupportedAlgorithm(
            f"alg {_show(alg)} is not accepted: an HMAC secret cannot identify an issuer"
        )
    if alg not in allowed:
        raise UnsupportedAlgorithm(f"alg {_show(alg)} is not in the allow-list {sorted(allowed)}")
    return alg


def _check_typ(header: Mapping[str, Any], expected_typ: str) -> None:
    typ = header.get("typ")
    if not isinstance(typ, str):
        raise MalformedDocumentError(f"JWS header has no 'typ' (expected {expected_typ!r})")
    if _media_type(typ) != _media_type(expected_typ):
        raise MalformedDocumentError(
            f"token typ {_show(typ)} is not {expected_typ!r}: refusing to read it as one"
        )


def _allowed(allowed_algs: Iterable[str]) -> frozenset[str]:
    allowed = frozenset(allowed_algs)
    if not allowed <= VERIFY_ALGS:
        raise ValueError(f"unsupported algorithms in allow-list: {sorted(allowed - VERIFY_ALGS)}")
    return allowed


def verify_jws(
    token: str | ReadJws,
    jwk_or_key: PublicKey | Mapping[str, Any] | _VerifyKey,
    *,
    expected_typ: str,
    allowed_algs: Iterable[str] = VERIFY_ALGS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS and return ``(header, payload)``; raise a vcwallet error if not.

    ``jwk_or_key`` is a :class:`~vcwallet.keys.PublicKey`, a public JWK dict, or a
    ``cryptography`` public key (pass a key object, not a JWK, on hot paths). The header's
    ``alg`` must be allowed and must be the one algorithm that key is for. ``token`` may
    be a :class:`ReadJws` of it (the parts it has read are not decoded again).
    """
    if isinstance(token, ReadJws):
        allowed = _allowed(allowed_algs)
        return _verify_parts(token.parts, jwk_or_key, expected_typ, allowed, token)
    return _verify_parts(_split(token), jwk_or_key, expected_typ, _allowed(allowed_algs))


def _verify_parts(
    parts: list[str],
    jwk_or_key: Any,
    expected_typ: str,
    allowed: frozenset[str],
    read: ReadJws | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``read``: the same token's ReadJws (its parts are ``parts``)."""
    header_b64, payload_b64, signature_b64 = parts
    header = read.header() if read is not None else _json_object(header_b64, "JWS header")
    alg = _check_alg(header, allowed)
    _check_typ(header, expected_typ)
    _check_header_params(header)
    key, key_alg = key_algorithm(jwk_or_key)
    if alg != key_alg:
        raise UnsupportedAlgorithm(
            f"header alg {_show(alg)} does not fit the key (a {key_alg} key)"
        )
    # a payload read already went through b64url_decode, which matched it already
    payload = read._payload if read is not None else None
    if payload is None and not _B64URL.fullmatch(payload_b64):
        raise MalformedDocumentError("JWS payload is not canonical base64url")
    signature = b64url_decode(signature_b64, what="JWS signature")
    verify_signature(key, alg, signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    # the payload is parsed only once the signature holds (unless the caller had read it)
    if payload is None:
        payload = _json_object(payload_b64, "JWS payload") if read is None else read.payload()
    return header, payload


# -- vc+jwt ----------------------------------------------------------------------------


def credential_issuer(credential: Mapping[str, Any]) -> str:
    """The credential's ``issuer`` as a string (``issuer`` or ``issuer.id``)."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise MalformedDocumentError("credential has no issuer (a string or an object with id)")
    return issuer


def check_credential_shape(credential: Any) -> None:
    """The minimum that makes a JSON object a VCDM 2.0 credential (type confusion guard)."""
    if not isinstance(credential, Mapping):
        raise MalformedDocumentError("credential is not a JSON object")
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT_V2:
        raise MalformedDocumentError(f"credential @context must start with {VC_CONTEXT_V2!r}")
    types = credential.get("type")
    if types != "VerifiableCredential" and not (
        isinstance(types, list) and "VerifiableCredential" in types
    ):
        raise MalformedDocumentError("credential type does not include 'VerifiableCredential'")
    for claim in ("vc", "vp"):
        if claim in credential:
            raise MalformedDocumentError(
                f"claim {claim!r} belongs to the VCDM 1.1 JWT encoding, which is not accepted"
            )


def kid_did(kid: Any) -> str:
    """The DID of an absolute DID URL with a fragment (``did:web:x#key-1`` -> ``did:web:x``)."""
    if not isinstance(kid, str) or not kid.startswith("did:") or "#" not in kid:
        raise MalformedDocumentError(
            f"kid {_show(kid)} must be an absolute DID URL with a fragment (did:...#...)"
        )
    did = kid.split("#", 1)[0].split("?", 1)[0].split("/", 1)[0]
    if did.count(":") < 2 or not kid.split("#", 1)[1]:
        raise MalformedDocumentError(f"kid {_show(kid)} is not a DID URL with a fragment")
    return did


def check_kid_owner(kid: str, credential: Mapping[str, Any]) -> str:
    """Refuse a key that is not the issuer's; return the issuer."""
    issuer = credential_issuer(credential)
    did = kid_did(kid)
    if did != issuer:
        raise ProofPurposeError(
            f"signing key {_show(kid)} belongs to {_show(did)}, not to the credential's issuer "
            f"{_show(issuer)}"
        )
    return issuer


def method_key(method: VerificationMethod) -> PublicKey | _VerifyKey:
    """The key of a resolved verification method (RSA JWKs included, for RS256)."""
    jwk = getattr(method, "jwk", None)
    if isinstance(jwk, Mapping) and (jwk.get("kty") == "RSA" or "alg" in jwk or "use" in jwk):
        return key_algorithm(jwk)[0]  # honours the JWK's own alg / use restrictions
    key: PublicKey = method.public_key()
    return key


def _epoch(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedDocumentError(f"JWT claim {name!r} must be a NumericDate (a number)")
    return float(value)


def _date_seconds(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise MalformedDocumentError(f"credential {name!r} must be a date-time string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise MalformedDocumentError(
            f"credential {name!r} is not a date-time: {_show(value)}"
        ) from None
    if parsed.tzinfo is None:
        raise MalformedDocumentError(f"credential {name!r} has no time zone: {_show(value)}")
    return parsed.timestamp()


def _check_registered_claims(payload: Mapping[str, Any], issuer: str) -> None:
    """Registered claims, when present, must say what the credential says."""
    if "iss" in payload and payload["iss"] != issuer:
        raise ProofPurposeError(
            f"JWT iss {_show(payload['iss'])} is not the credential's issuer {_show(issuer)}"
        )
    if "jti" in payload and payload["jti"] != payload.get("id"):
        raise MalformedDocumentError("JWT jti does not match the credential id")
    if "sub" in payload:
        subject = payload.get("credentialSubject")
        if not isinstance(subject, Mapping) or subject.get("id") != payload["sub"]:
            raise MalformedDocumentError("JWT sub does not match credentialSubject.id")
    for claim, prop in (("nbf", "validFrom"), ("exp", "validUntil")):
        if claim in payload:
            seconds = _epoch(payload[claim], claim)
            if prop not in payload:
                raise MalformedDocumentError(f"JWT {claim!r} is present but {prop!r} is not")
            if abs(seconds - _date_seconds(payload[prop], prop)) >= 1:
                raise MalformedDocumentError(f"JWT {claim!r} does not match {prop!r}")
    if "iat" in payload:
        _epoch(payload["iat"], "iat")


class _Entry:
    __slots__ = ("key", "method")

    def __init__(self, method: VerificationMethod) -> None:
        self.method = method
        self.key: tuple[_VerifyKey, str] | None = None


class CachingResolver:
    """A resolver wrapper that remembers lookups (and parsed keys) for immutable DIDs.

    A did:key *is* its document, so its answers never change, while resolving it again for
    every token (document expansion, method selection, key parsing: 60-100 us) adds half
    as much again to the signature check. DIDs of other methods pass through to ``resolver`` unless
    their method is listed in ``methods`` (e.g. ``("key", "web")`` for pinned documents,
    accepting that a rotated did:web key is noticed only by a new resolver). Failed lookups
    are never cached; at ``max_entries`` the oldest entry is dropped.
    """

    def __init__(
        self, resolver: Resolver, *, methods: Iterable[str] = ("key",), max_entries: int = 4096
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        if isinstance(methods, str):  # frozenset("key") would be {"k", "e", "y"}
            raise TypeError('methods is a collection of DID method names, e.g. ("key",)')
        self._resolver = resolver
        self._methods = frozenset(methods)
        self._max_entries = max_entries
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def resolve(self, did: str) -> pydid.DIDDocument:
        return self._resolver.resolve(did)

    def verification_method(self, did_url: str, purpose: str) -> VerificationMethod:
        return self._entry(did_url, purpose).method

    def verification_key(
        self, did_url: str, purpose: str
    ) -> tuple[VerificationMethod, _VerifyKey, str]:
        """``(method, key, alg)``: the method, its ``cryptography`` key and its one JWS alg."""
        entry = self._entry(did_url, purpose)
        if entry.key is None:
            entry.key = key_algorithm(method_key(entry.method))
        return entry.method, entry.key[0], entry.key[1]

    def _entry(self, did_url: str, purpose: str) -> _Entry:
        entry = self._entries.get((did_url, purpose))
        if entry is not None:
            return entry
        entry = _Entry(self._resolver.verification_method(did_url, purpose))
        parts = did_url.split(":", 2) if isinstance(did_url, str) else []
        if len(parts) == 3 and parts[1] in self._methods:
            with self._lock:
                while len(self._entries) >= self._max_entries:
                    del self._entries[next(iter(self._entries))]
                self._entries[(did_url, purpose)] = entry
        return entry


def lookup_key(
    resolver: Resolver, kid: str, purpose: str
) -> tuple[VerificationMethod, PublicKey | _VerifyKey]:
    """``(method, key)`` for ``kid`` under ``purpose``, from the cache when the resolver has one."""
    cached = getattr(resolver, "verification_key", None)
    if cached is not None:
        method, key, _ = cached(kid, purpose)
        return method, key
    method = resolver.verification_method(kid, purpose)
    return method, method_key(method)


def lookup_assertion_key(
    resolver: Resolver, kid: str
) -> tuple[VerificationMethod, PublicKey | _VerifyKey]:
    """The issuer's assertionMethod ``(method, key)`` for ``kid``."""
    return lookup_key(resolver, kid, "assertionMethod")


@dataclass(frozen=True)
class VerifiedJwt:
    """A vc+jwt whose signature, key and issuer all check out."""

    credential: dict[str, Any]
    header: dict[str, Any]
    verification_method: VerificationMethod


def sign_vc_jwt(credential: Mapping[str, Any], signer: Signer, *, kid: str) -> str:
    """Secure ``credential`` as ``application/vc+jwt``; ``kid`` is the issuer's DID URL.

    The credential (VCDM 2.0) is the payload, signed as given; no JWT claims are added.
    """
    try:
        check_credential_shape(credential)
        check_kid_owner(kid, credential)
    except (MalformedDocumentError, ProofPurposeError) as exc:
        raise ValueError(f"cannot sign: {exc}") from None
    header = {"kid": kid, "typ": VC_JWT_TYP, "cty": VC_JWT_CTY}
    return sign_jws(credential, signer, header=header)


def check_header(header: Mapping[str, Any], *, expected_typ: str,
                 allowed_algs: Iterable[str] = VERIFY_ALGS) -> None:
    """Refuse a header before any key is looked up (so ``alg: none``, HMAC or an embedded
    key never causes a did:web fetch): typ, algorithm allow-list, forbidden parameters."""
    _check_typ(header, expected_typ)
    _check_alg(header, _allowed(allowed_algs))
    _check_header_params(header)


def verify_vc_jwt(
    token: str | ReadJws, *, resolver: Resolver, allowed_algs: Iterable[str] = VERIFY_ALGS
) -> VerifiedJwt:
    """Verify a vc+jwt: typ, algorithm, the issuer's assertionMethod key, signature, issuer.

    The key is looked up only through ``resolver.verification_method(kid,
    "assertionMethod")`` (wrap the resolver in :class:`CachingResolver` on hot paths);
    dates and status are for the caller to check. ``allowed_algs`` may narrow the
    allow-list (a verifier that refuses RS256, say). ``token`` may be a :class:`ReadJws`
    of it (the parts it has read are not decoded again).
    """
    allowed = _allowed(allowed_algs)
    read = _read(token)
    parts = read.parts
    header = read.header()
    _check_typ(header, VC_JWT_TYP)
    cty = header.get("cty", VC_JWT_CTY)
    if not isinstance(cty, str) or _media_type(cty) != VC_JWT_CTY:
        raise MalformedDocumentError(f"vc+jwt cty {_show(cty)} is not 'vc'")
    kid = header.get("kid")
    kid_did(kid)
    if not isinstance(kid, str):  # kid_did has refused it already; this narrows the type
        raise MalformedDocumentError("kid must be a string")
    _check_alg(header, allowed)
    _check_header_params(header)
    method, key = lookup_assertion_key(resolver, kid)
    header, payload = _verify_parts(parts, key, VC_JWT_TYP, allowed, read)
    check_credential_shape(payload)
    issuer = check_kid_owner(kid, payload)
    _check_registered_claims(payload, issuer)
    return VerifiedJwt(credential=payload, header=header, verification_method=method)
