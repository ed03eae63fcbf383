"""``application/vc+cose``: a credential secured as a COSE_Sign1 (RFC 9052) built with cbor2.

Low level. What we emit: ``18([protected, {}, payload, signature])`` where ``protected`` is
the deterministic CBOR encoding (RFC 8949 4.2.1) of ``{1: alg, 3: "application/vc", 4:
kid, 16: "application/vc+cose"}`` (alg -8 EdDSA or -7 ES256, kid the issuer's DID URL as
UTF-8 bytes), ``payload`` is the credential's UTF-8 JSON, and ``signature`` is over the
``Sig_structure`` ``["Signature1", protected, h'', payload]`` (64 bytes; ES256 as
``r || s``). The same refusals as vc+jwt apply (see :mod:`vcwallet.jose`): algorithm
allow-list, typ, no ``crit``, no certificate chains, no key but the issuer's
assertionMethod, the kid's DID must be the issuer. Security-relevant header parameters
are accepted only in the protected bucket, and a protected map with repeated labels is
refused (cbor2 would keep the last one silently).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import cbor2

from . import _json
from .errors import MalformedDocumentError, ProofPurposeError, UnsupportedAlgorithm
from .jose import (
    _show,
    check_credential_shape,
    check_kid_owner,
    key_algorithm,
    kid_did,
    lookup_assertion_key,
    verify_signature,
)
from .keys import KeyType, Signer

if TYPE_CHECKING:
    from .did import Resolver, VerificationMethod

__all__ = [
    "CONTENT_TYPE_VC",
    "COSE_ALGS",
    "MAX_COSE_BYTES",
    "TYP_VC_COSE",
    "VerifiedCose",
    "sig_structure",
    "sign_vc_cose",
    "verify_vc_cose",
]

COSE_SIGN1_TAG = 18
ALG, CRIT, CONTENT_TYPE, KID, TYP = 1, 2, 3, 4, 16
X5BAG, X5CHAIN, X5U = 32, 33, 35  # x5t (34) is only a thumbprint hint: ignored
COSE_ALGS: Mapping[int, str] = MappingProxyType({-8: "EdDSA", -7: "ES256"})
CONTENT_TYPE_VC = "application/vc"
TYP_VC_COSE = "application/vc+cose"
MAX_COSE_BYTES = 4 * 1024 * 1024

_OTHER_COSE_TAGS = {
    16: "COSE_Encrypt0",
    17: "COSE_Mac0",
    96: "COSE_Encrypt",
    97: "COSE_Mac",
    98: "COSE_Sign",
}
# labels that say how to read or whom to trust; never honoured from the unprotected bucket
_PROTECTED_ONLY = frozenset({ALG, CRIT, CONTENT_TYPE, KID, TYP})
_REFUSED_LABELS = {CRIT: "crit", X5BAG: "x5bag", X5CHAIN: "x5chain", X5U: "x5u"}


@dataclass(frozen=True)
class VerifiedCose:
    """A vc+cose whose signature, key and issuer all check out."""

    credential: dict[str, Any]
    protected: dict[Any, Any]
    verification_method: VerificationMethod


@dataclass(frozen=True)
class _Sign1:
    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes


def _to_be_signed(protected_bytes: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected_bytes, b"", payload])


def _decode_all(data: bytes, what: str) -> Any:
    """Decode exactly one CBOR item, refusing trailing bytes."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    # cbor2 raises several types for hostile input (bad UTF-8, huge lengths, deep nesting)
    except Exception:  # noqa: BLE001
        raise MalformedDocumentError(f"{what} is not valid CBOR") from None
    if stream.tell() != len(data):
        raise MalformedDocumentError(f"{what} has {len(data) - stream.tell()} trailing bytes")
    return value


def _declared_map_size(encoded: bytes) -> int:
    """The entry count in a definite-length CBOR map's head."""
    head = encoded[0]
    info = head & 0x1F
    if head >> 5 != 5 or info == 31:
        raise MalformedDocumentError("protected header is not a definite-length CBOR map")
    if info < 24:
        return info
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if width is None or len(encoded) < 1 + width:
        raise MalformedDocumentError("protected header has a malformed map head")
    return int.from_bytes(encoded[1 : 1 + width], "big")


def _parse_protected(encoded: bytes) -> dict[Any, Any]:
    if not encoded:
        raise MalformedDocumentError("protected header is empty (alg must be protected)")
    header = _decode_all(encoded, "protected header")
    if not isinstance(header, dict):
        raise MalformedDocumentError("protected header is not a CBOR map")
    if _declared_map_size(encoded) != len(header):
        raise MalformedDocumentError("protected header repeats a label")
    return header


def _parse_sign1(data: bytes) -> _Sign1:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"a COSE_Sign1 is bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise MalformedDocumentError("COSE_Sign1 is empty")
    if len(data) > MAX_COSE_BYTES:
        raise MalformedDocumentError(f"COSE_Sign1 is larger than {MAX_COSE_BYTES} bytes")
    item = _decode_all(data, "COSE_Sign1")
    if not isinstance(item, cbor2.CBORTag) or item.tag != COSE_SIGN1_TAG:
        tag = getattr(item, "tag", None)
        name = _OTHER_COSE_TAGS.get(tag) if isinstance(tag, int) else None
        name = name or (f"tag {tag}" if tag is not None else "untagged CBOR")
        raise MalformedDocumentError(f"expected a tagged COSE_Sign1 (tag 18), found {name}")
    body = item.value  # cbor2 decodes tagged content as immutable (tuple, frozendict)
    if not isinstance(body, list | tuple) or len(body) != 4:
        raise MalformedDocumentError("COSE_Sign1 must be an array of 4 items")
    protected_bytes, unprotected, payload, signature = body
    if not isinstance(protected_bytes, bytes):
        raise MalformedDocumentError("COSE_Sign1 protected header must be a byte string")
    if not isinstance(unprotected, Mapping):
        raise MalformedDocumentError("COSE_Sign1 unprotected header must be a map")
    if payload is None:
        raise MalformedDocumentError("detached COSE payloads are not accepted")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise MalformedDocumentError("COSE_Sign1 payload and signature must be byte strings")
    protected = _parse_protected(protected_bytes)
    return _Sign1(protected_bytes, protected, dict(unprotected), payload, signature)


def sig_structure(data: bytes) -> bytes:
    """The ToBeSigned bytes (``Sig_structure`` for ``Signature1``, RFC 9052 4.4) of a COSE_Sign1."""
    sign1 = _parse_sign1(data)
    return _to_be_signed(sign1.protected_bytes, sign1.payload)


def sign_vc_cose(credential: Mapping[str, Any], signer: Signer, *, kid: str) -> bytes:
    """Secure ``credential`` as ``application/vc+cose`` (tagged COSE_Sign1, see module doc)."""
    try:
        check_credential_shape(credential)
        check_kid_owner(kid, credential)
    except (MalformedDocumentError, ProofPurposeError) as exc:
        raise ValueError(f"cannot sign: {exc}") from None
    alg = -8 if KeyType(signer.key_type) is KeyType.ED25519 else -7
    protected_bytes = cbor2.dumps(
        {ALG: alg, CONTENT_TYPE: CONTENT_TYPE_VC, KID: kid.encode("utf-8"), TYP: TYP_VC_COSE},
        canonical=True,
    )
    _json.check_value(credential)
    payload = _json.dumps(credential).encode("utf-8")
    signature = signer.sign(_to_be_signed(protected_bytes, payload))
    if len(signature) != 64:  # RFC 9053: Ed25519 and ES256 (r || s) signatures are 64 bytes
        raise ValueError(f"signer returned {len(signature)} bytes; COSE alg {alg} needs 64")
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected_bytes, {}, payload, signature]))


def _check_labels(sign1: _Sign1) -> None:
    for bucket, name in ((sign1.protected, "protected"), (sign1.unprotected, "unprotected")):
        for label, label_name in _REFUSED_LABELS.items():
            if label in bucket:
                raise MalformedDocumentError(
                    f"COSE header parameter {label_name} ({label}) in the {name} header "
                    "is not accepted (no critical extensions or certificate chains)"
                )
    misplaced = sorted(_PROTECTED_ONLY.intersection(sign1.unprotected))
    if misplaced:
        raise MalformedDocumentError(
            f"COSE header label {misplaced[0]} must be protected, found it unprotected"
        )


def _header_alg(protected: Mapping[Any, Any]) -> str:
    alg = protected.get(ALG)
    if alg is None:
        raise MalformedDocumentError("COSE protected header has no alg (1)")
    # an int test first: a CBOR array or map here is unhashable and would crash a dict lookup
    if not isinstance(alg, int) or isinstance(alg, bool) or alg not in COSE_ALGS:
        raise UnsupportedAlgorithm(
            f"COSE alg {_show(alg)} is not in the allow-list {sorted(COSE_ALGS)} (EdDSA, ES256)"
        )
    return COSE_ALGS[alg]


def _header_kid(protected: Mapping[Any, Any]) -> str:
    kid = protected.get(KID)
    if not isinstance(kid, bytes):
        raise MalformedDocumentError("COSE protected header needs kid (4) as a byte string")
    try:
        text = kid.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedDocumentError("COSE kid is not UTF-8 text") from None
    kid_did(text)
    return text


def _check_types(protected: Mapping[Any, Any]) -> None:
    typ = protected.get(TYP)
    if typ != TYP_VC_COSE:
        raise MalformedDocumentError(f"COSE typ (16) {_show(typ)} is not {TYP_VC_COSE!r}")
    if CONTENT_TYPE in protected and protected[CONTENT_TYPE] != CONTENT_TYPE_VC:
        raise MalformedDocumentError(
            f"COSE content type (3) {_show(protected[CONTENT_TYPE])} is not {CONTENT_TYPE_VC!r}"
        )


def verify_vc_cose(data: bytes, *, resolver: Resolver) -> VerifiedCose:
    """Verify a vc+cose: structure, typ, alg, the issuer's assertionMethod key, signature
    and issuer; return the credential or raise a named error (dates are the caller's)."""
    sign1 = _parse_sign1(data)
    _check_labels(sign1)
    _check_types(sign1.protected)
    alg = _header_alg(sign1.protected)
    kid = _header_kid(sign1.protected)
    method, method_key = lookup_assertion_key(resolver, kid)
    key, key_alg = key_algorithm(method_key)
    if alg != key_alg:
        raise UnsupportedAlgorithm(f"COSE alg {alg} does not fit the issuer's key ({key_alg})")
    tbs = _to_be_signed(sign1.protected_bytes, sign1.payload)
    verify_signature(key, alg, sign1.signature, tbs)
    credential = _json.loads(sign1.payload)
    check_credential_shape(credential)
    check_kid_owner(kid, credential)
    return VerifiedCose(
        credential=credential, protected=dict(sign1.protected), verification_method=method
    )
