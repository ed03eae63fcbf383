"""DIDs: resolve did:key and did:web, and find a verification method for a proof purpose.

Low level. This module owns the :class:`Resolver` protocol and its two implementations:
:class:`DidResolver` (did:key, expanded locally; did:web, fetched through an injected
``fetch(url) -> bytes`` callable) and :class:`StaticResolver` (pinned documents, for offline
verification and tests). Documents are parsed with pydid after strict JSON checks, and a
document is refused when its ``id`` is not the DID asked for or when it carries private key
material. :meth:`Resolver.verification_method` is the one question verifiers ask: "is this
DID URL a key the DID authorises for this purpose?" It answers with a
:class:`VerificationMethod` (public JWK included) or raises a named error.

It also builds documents: :func:`did_key_document` (the did:key expansion, Multikey form) and
:func:`build_did_web_document` (the ``did.json`` an issuer publishes).
"""

from __future__ import annotations

import copy
import dataclasses
import http.client
import re
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pydid
from multiformats import multicodec

from . import _json
from ._base58 import b58decode as _b58decode
from ._base58 import b58encode as _b58encode
from .errors import (
    MalformedDocumentError,
    ProofPurposeError,
    ResolutionError,
    UnsupportedAlgorithm,
    VcwalletError,
)
from .keys import KeyType, PublicKey, _b64u

__all__ = [
    "DidResolver",
    "HttpsFetcher",
    "Resolver",
    "StaticResolver",
    "VerificationMethod",
    "absolute_did_url",
    "build_did_web_document",
    "check_did",
    "did_key_document",
    "did_key_url",
    "did_web_to_url",
    "multikey",
    "parse_document",
    "select_verification_method",
    "split_did_url",
    "url_to_did_web",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_TIMEOUT = 10.0

# The verification relationships of DID Core; any of them may be asked for as a purpose.
RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)
# Method types whose key material we can turn into a JWK.
MULTIBASE_TYPES = ("Multikey", "Ed25519VerificationKey2020")
JWK_TYPES = ("JsonWebKey", "JsonWebKey2020")
# JWK members that only a private (or symmetric) key has (RFC 7518 section 6).
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Members that would put private key material into a published document.
_PRIVATE_METHOD_MEMBERS = frozenset(
    {"privateKeyJwk", "privateKeyMultibase", "privateKeyBase58", "privateKeyHex", "privateKeyPem"}
)
_ED25519_P = 2**255 - 19
MAX_MULTIBASE_CHARS = 1024
MAX_DID_CHARS = 2048
_BASE58BTC_RE = re.compile(r"z[1-9A-HJ-NP-Za-km-z]+")

Fetch = Callable[[str], bytes]


# -- verification methods ------------------------------------------------------------------
@dataclass(frozen=True)
class VerificationMethod:
    """A verification method the resolver vouched for, with its public key as a JWK."""

    id: str
    type: str
    controller: str
    jwk: dict[str, Any] = field(hash=False)

    def public_key(self) -> PublicKey:
        """The key as a :class:`PublicKey` (Ed25519 or P-256); others raise UnsupportedAlgorithm."""
        kty, crv = self.jwk.get("kty"), self.jwk.get("crv")
        if (kty, crv) not in (("OKP", "Ed25519"), ("EC", "P-256")):
            raise UnsupportedAlgorithm(
                f"{self.id}: key kty={kty!r} crv={crv!r} is not an Ed25519 or P-256 signing key"
            )
        return PublicKey.from_jwk(self.jwk)

    @classmethod
    def from_dict(cls, method: Mapping[str, Any], *, did: str) -> VerificationMethod:
        """Read one verification method of ``did``'s document (relative ids made absolute).

        Raises MalformedDocumentError (missing or contradictory members, private key material),
        UnsupportedAlgorithm (a method type or key type we cannot use).
        """
        method_id = absolute_did_url(_text(method, "id"), did)
        method_type = _text(method, "type")
        controller = method.get("controller", did)
        if not isinstance(controller, str):
            raise MalformedDocumentError(f"{method_id}: controller must be a single DID")
        _refuse_private_members(method, method_id)
        if method_type in MULTIBASE_TYPES:
            if "publicKeyJwk" in method:
                raise MalformedDocumentError(
                    f"{method_id}: {method_type} must use publicKeyMultibase"
                )
            jwk = _multibase_to_jwk(_text(method, "publicKeyMultibase"), method_id)
            if method_type == "Ed25519VerificationKey2020" and jwk.get("crv") != "Ed25519":
                raise MalformedDocumentError(
                    f"{method_id}: Ed25519VerificationKey2020 holds a {jwk.get('crv')} key"
                )
        elif method_type in JWK_TYPES:
            if "publicKeyMultibase" in method:
                raise MalformedDocumentError(f"{method_id}: {method_type} must use publicKeyJwk")
            jwk = _checked_public_jwk(method.get("publicKeyJwk"), method_id)
        else:
            raise UnsupportedAlgorithm(
                f"{method_id}: verification method type {method_type!r} is not supported"
            )
        return cls(id=method_id, type=method_type, controller=controller, jwk=jwk)


def _text(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedDocumentError(
            f"verification method member {name!r} must be a non-empty string"
        )
    return value


def _refuse_private_members(method: Mapping[str, Any], method_id: str) -> None:
    found = _PRIVATE_METHOD_MEMBERS & set(method)
    if found:
        raise MalformedDocumentError(
            f"{method_id}: DID document carries private key material ({sorted(found)})"
        )
    value = method.get("publicKeyMultibase")
    if isinstance(value, str):
        try:
            codec, _ = _unwrap_multikey(value, method_id)
        except MalformedDocumentError:
            pass  # reported when the method is used; here we only look for private keys
        else:
            if codec.tag == "key" and codec.name.endswith("-priv"):
                raise MalformedDocumentError(f"{method_id}: publicKeyMultibase holds a private key")
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, Mapping):
        private = _PRIVATE_JWK_MEMBERS & set(jwk)
        if private:
            raise MalformedDocumentError(
                f"{method_id}: publicKeyJwk carries private members {sorted(private)}"
            )


def _checked_public_jwk(jwk: Any, method_id: str) -> dict[str, Any]:
    """Check a public JWK from a DID document; RSA keys are kept for the JOSE module."""
    if not isinstance(jwk, dict):
        raise MalformedDocumentError(f"{method_id}: publicKeyJwk must be a JSON object")
    kty = jwk.get("kty")
    if kty in ("OKP", "EC"):
        if not isinstance(jwk.get("crv"), str) or not isinstance(jwk.get("x"), str):
            raise MalformedDocumentError(f"{method_id}: {kty} JWK needs string 'crv' and 'x'")
        if (kty, jwk["crv"]) in (("OKP", "Ed25519"), ("EC", "P-256")):
            PublicKey.from_jwk(jwk)  # refuses points that are not on the curve
    elif kty == "RSA":
        if not isinstance(jwk.get("n"), str) or not isinstance(jwk.get("e"), str):
            raise MalformedDocumentError(f"{method_id}: RSA JWK needs string 'n' and 'e'")
    elif kty == "oct":
        raise MalformedDocumentError(f"{method_id}: a symmetric key has no place in a DID document")
    else:
        raise UnsupportedAlgorithm(f"{method_id}: JWK key type {kty!r} is not supported")
    return copy.deepcopy(jwk)


def _multibase_to_jwk(value: str, method_id: str) -> dict[str, Any]:
    codec, raw = _unwrap_multikey(value, method_id)
    if not _is_public_key_codec(codec):
        raise MalformedDocumentError(f"{method_id}: publicKeyMultibase does not hold a public key")
    if codec.name in ("ed25519-pub", "p256-pub"):
        return PublicKey.from_raw(codec.name, raw).to_jwk()
    if codec.name == "x25519-pub":
        if len(raw) != 32:
            raise MalformedDocumentError(f"{method_id}: X25519 key must be 32 bytes")
        return {"kty": "OKP", "crv": "X25519", "x": _b64u(raw)}
    raise UnsupportedAlgorithm(f"{method_id}: key type {codec.name!r} is not supported")


def _unwrap_multikey(value: str, where: str) -> tuple[multicodec.Multicodec, bytes]:
    """Decode base58btc multibase + multicodec; raise MalformedDocumentError."""
    # base58 decoding is quadratic, so the length is capped before decoding
    if len(value) > MAX_MULTIBASE_CHARS or not _BASE58BTC_RE.fullmatch(value):
        raise MalformedDocumentError(
            f"{where}: key is not base58btc multibase ('z...', {MAX_MULTIBASE_CHARS} chars at most)"
        )
    data = _b58decode(value[1:])
    for header, codec in _KNOWN_CODECS:
        if data.startswith(header):
            return codec, data[len(header) :]
    try:
        return multicodec.unwrap(data)
    except (ValueError, KeyError):  # varint errors and MulticodecKeyError among them
        raise MalformedDocumentError(f"{where}: key is not a multicodec value") from None


# multicodec headers are varints; base58 is our own (see _base58)
_MULTICODEC_HEADERS = {
    "ed25519-pub": b"\xed\x01",
    "p256-pub": b"\x80\x24",
    "x25519-pub": b"\xec\x01",
}
_KNOWN_CODECS = tuple(
    (header, multicodec.get(name)) for name, header in _MULTICODEC_HEADERS.items()
)


def multikey(codec_name: str, raw: bytes) -> str:
    """``publicKeyMultibase`` for a key: ``z`` + base58btc(multicodec header + raw key)."""
    return "z" + _b58encode(_MULTICODEC_HEADERS[codec_name] + raw)


def _is_public_key_codec(codec: multicodec.Multicodec) -> bool:
    # a private key or a non-key codec (ip4, sha2-256...) in a public key slot is malformed
    return codec.tag == "key" and codec.name.endswith("-pub")


# -- DIDs and DID URLs ---------------------------------------------------------------------
_DID_RE = re.compile(
    r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
)


def check_did(did: str) -> str:
    """Return ``did`` if it is a DID (no path, query or fragment); else raise ResolutionError."""
    if not isinstance(did, str) or len(did) > MAX_DID_CHARS or _DID_RE.fullmatch(did) is None:
        raise ResolutionError(f"not a DID: {str(did)[:200]!r}")
    return did


def split_did_url(did_url: str) -> tuple[str, str]:
    """Split an absolute ``did:...#fragment`` into (DID, fragment); raise ResolutionError."""
    if not isinstance(did_url, str) or "#" not in did_url:
        raise ResolutionError(
            f"verification method {str(did_url)[:200]!r} is not a DID URL with a fragment"
        )
    did, fragment = did_url.split("#", 1)
    if not did:
        raise ResolutionError(
            f"verification method {did_url[:200]!r} is relative; an absolute DID URL is needed"
        )
    if not fragment or "#" in fragment:
        raise ResolutionError(
            f"verification method {did_url[:200]!r} has an empty or malformed fragment"
        )
    return check_did(did), fragment


def absolute_did_url(reference: str, did: str) -> str:
    """Resolve a reference found in ``did``'s document (``#frag`` is relative to the DID)."""
    return did + reference if reference.startswith("#") else reference


# -- parsing documents ---------------------------------------------------------------------
def parse_document(document: Any, *, did: str) -> pydid.DIDDocument:
    """Check ``document`` (JSON object) as the DID document of ``did`` and parse it with pydid.

    Raises MalformedDocumentError: not strict JSON, not a DID document, ``id`` other than
    ``did``, private key material, or two different methods under one id.
    """
    if not isinstance(document, dict):
        raise MalformedDocumentError(f"DID document of {did} is not a JSON object")
    _json.check_value(document)
    if document.get("id") != did:
        raise MalformedDocumentError(
            f"DID document id {str(document.get('id'))[:200]!r} is not the requested DID {did!r}"
        )
    for method in _all_methods(document, did):
        _refuse_private_members(method, absolute_did_url(str(method.get("id", "")), did))
    try:
        return pydid.DIDDocument.deserialize(document)
    except (ValueError, pydid.DIDError, pydid.DIDDocumentError) as exc:
        raise MalformedDocumentError(
            f"DID document of {did} is malformed: {_pydid_reason(exc)}"
        ) from None


def _pydid_reason(exc: Exception) -> str:
    """The first failing location and its reason, without pydantic's echo of the input value."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "validation error" in line and index + 2 < len(lines):
            return f"{lines[index + 1]}: {lines[index + 2].split(' [type=')[0]}"
    return lines[0][:200] if lines else type(exc).__name__


def _all_methods(document: Mapping[str, Any], did: str) -> list[Mapping[str, Any]]:
    """Every method object in the document: in verificationMethod and embedded in relationships."""
    methods: list[Mapping[str, Any]] = []
    for name in ("verificationMethod", *RELATIONSHIPS):
        entries = document.get(name)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise MalformedDocumentError(f"DID document of {did}: {name} must be an array")
        for entry in entries:
            if isinstance(entry, dict):
                methods.append(entry)
            elif not isinstance(entry, str) or name == "verificationMethod":
                raise MalformedDocumentError(f"DID document of {did}: bad entry in {name}")
    return methods


def select_verification_method(
    document: pydid.DIDDocument, did_url: str, purpose: str
) -> VerificationMethod:
    """Find ``did_url`` in ``document`` and check that it is listed under ``purpose``.

    ``document`` must already be the resolved document of the DID in ``did_url``. Raises
    ResolutionError (no such method), ProofPurposeError (not listed under ``purpose``, or
    controlled by another DID), MalformedDocumentError, UnsupportedAlgorithm.
    """
    return _select(document.serialize(), did_url, purpose)


def _select(raw: Mapping[str, Any], did_url: str, purpose: str) -> VerificationMethod:
    """:func:`select_verification_method` over the document's JSON (already checked)."""
    if purpose not in RELATIONSHIPS:
        raise ValueError(f"unknown proof purpose {purpose!r}; expected one of {RELATIONSHIPS}")
    did, _ = split_did_url(did_url)
    if raw.get("id") != did:
        raise MalformedDocumentError(
            f"document {str(raw.get('id'))[:200]!r} is not the document of {did}"
        )
    method = _find_method(raw, did, did_url)
    if not _listed_under(raw, did, did_url, purpose):
        raise ProofPurposeError(f"{did_url} is not authorised for {purpose}")
    result = VerificationMethod.from_dict(method, did=did)
    if result.controller != did:
        raise ProofPurposeError(f"{did_url} is controlled by {result.controller!r}, not by {did}")
    return result


def _find_method(raw: Mapping[str, Any], did: str, did_url: str) -> Mapping[str, Any]:
    found: Mapping[str, Any] | None = None
    for method in _all_methods(raw, did):
        if absolute_did_url(str(method.get("id", "")), did) != did_url:
            continue
        if found is not None and _normalised(found, did) != _normalised(method, did):
            raise MalformedDocumentError(f"{did_url} names two different verification methods")
        found = method
    if found is None:
        raise ResolutionError(f"{did_url}: no such verification method in the DID document")
    return found


def _normalised(method: Mapping[str, Any], did: str) -> dict[str, Any]:
    result = dict(method)
    result["id"] = absolute_did_url(str(method.get("id", "")), did)
    result.setdefault("controller", did)
    return result


def _listed_under(raw: Mapping[str, Any], did: str, did_url: str, purpose: str) -> bool:
    for entry in raw.get(purpose) or []:
        reference = entry if isinstance(entry, str) else entry.get("id", "")
        if isinstance(reference, str) and absolute_did_url(reference, did) == did_url:
            return True
    return False


# -- did:key -------------------------------------------------------------------------------
def did_key_url(key: PublicKey) -> str:
    """The verification method id of a did:key: ``did:key:<mb>#<mb>``."""
    value = multikey(key.key_type.multicodec_name, key.raw)
    return f"did:key:{value}#{value}"


def did_key_document(did: str, *, key_agreement: bool = True) -> dict[str, Any]:
    """Expand a did:key (Ed25519 ``z6Mk...`` or P-256 ``zDna...``) into its DID document.

    Multikey form, as in the did:key specification's example: one verification method
    ``<did>#<multibase>`` referenced from authentication, assertionMethod,
    capabilityDelegation and capabilityInvocation; for Ed25519 (when ``key_agreement``), an
    embedded X25519 keyAgreement method derived from the Ed25519 key. Raises ResolutionError
    (not a did:key, bad key bytes) or UnsupportedAlgorithm (a key type other than these two).
    """
    key = _did_key_public_key(did)
    value = did[len("did:key:") :]  # canonical: checked by _did_key_public_key
    method_id = f"{did}#{value}"
    method = {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": value}
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [method],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityDelegation": [method_id],
        "capabilityInvocation": [method_id],
    }
    if key_agreement and key.key_type is KeyType.ED25519:
        x25519 = _x25519_multibase(key.raw, did)
        document["keyAgreement"] = [
            {
                "id": f"{did}#{x25519}",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": x25519,
            }
        ]
    return document


def _did_key_public_key(did: str) -> PublicKey:
    if not isinstance(did, str) or not did.startswith("did:key:"):
        raise ResolutionError(f"not a did:key: {str(did)[:200]!r}")
    try:
        codec, raw = _unwrap_multikey(did[len("did:key:") :], "did:key")
    except MalformedDocumentError as exc:
        raise ResolutionError(f"{exc}: {did[:200]!r}") from None
    if not _is_public_key_codec(codec):  # not echoed: it could be a private key
        raise ResolutionError(f"did:key holds a {codec.name!r} value, not a public key")
    if codec.name not in ("ed25519-pub", "p256-pub"):
        raise UnsupportedAlgorithm(
            f"did:key key type {codec.name!r} is not supported (Ed25519, P-256 only)"
        )
    try:
        key = PublicKey.from_raw(codec.name, raw)
    except MalformedDocumentError as exc:
        raise ResolutionError(f"did:key holds an invalid key: {exc}") from None
    if multikey(codec.name, key.raw) != did[len("did:key:") :]:  # one key must have one DID
        raise ResolutionError(f"did:key is not in canonical form: {did[:200]!r}")
    return key


def _x25519_multibase(ed25519_raw: bytes, did: str) -> str:
    """Map an Ed25519 public key to its X25519 (Montgomery u) form: u = (1 + y) / (1 - y)."""
    y = int.from_bytes(ed25519_raw, "little") & ((1 << 255) - 1)
    if y >= _ED25519_P or y == 1:
        raise ResolutionError(f"did:key Ed25519 key has no X25519 form: {did[:200]!r}")
    u = (1 + y) * pow(1 - y, -1, _ED25519_P) % _ED25519_P
    return multikey("x25519-pub", u.to_bytes(32, "little"))


# -- did:web -------------------------------------------------------------------------------
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_PATH_SEGMENT_RE = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+")


def did_web_to_url(did: str) -> str:
    """The HTTPS URL of a did:web's document (did:web spec, "Read").

    ``did:web:example.edu`` -> ``https://example.edu/.well-known/did.json``;
    ``did:web:example.edu:dept:x`` -> ``https://example.edu/dept/x/did.json``;
    ``did:web:127.0.0.1%3A8443`` -> ``https://127.0.0.1:8443/.well-known/did.json``.
    Raises ResolutionError for anything that is not a plain did:web.
    """
    if not isinstance(did, str) or not did.startswith("did:web:"):
        raise ResolutionError(f"not a did:web: {str(did)[:200]!r}")
    segments = did[len("did:web:") :].split(":")
    host = _web_host(segments[0], did)
    path = segments[1:]
    for segment in path:
        if not _PATH_SEGMENT_RE.fullmatch(segment):
            raise ResolutionError(
                f"did:web path segment {segment[:100]!r} is not allowed in {did[:200]!r}"
            )
        decoded = urllib.parse.unquote(segment)
        if decoded in (".", "..") or any(c in decoded for c in "/\\?#"):
            raise ResolutionError(
                f"did:web path segment {segment[:100]!r} is not allowed in {did[:200]!r}"
            )
    if path:
        return f"https://{host}/{'/'.join(path)}/did.json"
    return f"https://{host}/.well-known/did.json"


def _web_host(segment: str, did: str) -> str:
    host, sep, port = segment.partition("%3A")
    if not sep:
        host, sep, port = segment.partition("%3a")
    if not _HOST_RE.fullmatch(host) or len(host) > 253:
        raise ResolutionError(
            f"did:web host {segment[:100]!r} is not a domain name in {did[:200]!r}"
        )
    if sep:
        if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            raise ResolutionError(
                f"did:web port {port[:20]!r} is not a port number in {did[:200]!r}"
            )
        return f"{host.lower()}:{int(port)}"
    return host.lower()


def url_to_did_web(url_or_host: str) -> str:
    """The did:web for an HTTPS origin (with optional path), or a bare ``host[:port]``.

    ``https://127.0.0.1:8443`` -> ``did:web:127.0.0.1%3A8443``;
    ``https://example.edu/dept/x/did.json`` -> ``did:web:example.edu:dept:x``.
    Raises ValueError for anything else (http URLs, queries, userinfo...).
    """
    if not isinstance(url_or_host, str) or not url_or_host:
        raise ValueError("expected an https URL or a host name")
    text = url_or_host if "://" in url_or_host else "https://" + url_or_host
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "https":
        raise ValueError(f"did:web needs an https URL, not {url_or_host!r}")
    if parts.query or parts.fragment or parts.username or parts.password or not parts.hostname:
        raise ValueError(f"{url_or_host!r} cannot be expressed as a did:web")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url_or_host!r} has an invalid port") from None
    path = [urllib.parse.quote(s, safe="%") for s in parts.path.split("/") if s]
    if path[-2:] == [".well-known", "did.json"] and len(path) == 2:
        path = []
    elif path and path[-1] == "did.json":
        path = path[:-1]
    host = parts.hostname + (f"%3A{port}" if port is not None else "")
    did = ":".join(["did:web", host, *path])
    try:
        did_web_to_url(did)
    except ResolutionError as exc:
        raise ValueError(str(exc)) from None
    return did


def build_did_web_document(did: str, keys: Sequence[PublicKey]) -> dict[str, Any]:
    """The ``did.json`` an issuer publishes: Multikey methods ``#key-1``.. listed in
    assertionMethod and authentication. Raises ValueError for a bad DID or key list."""
    try:
        did_web_to_url(did)
    except ResolutionError as exc:
        raise ValueError(str(exc)) from None
    if not keys:
        raise ValueError("a did:web document needs at least one key")
    if any(not isinstance(key, PublicKey) for key in keys):
        raise TypeError("keys must be PublicKey objects")
    if len(set(keys)) != len(keys):
        raise ValueError("the same key is listed twice")
    methods = [
        {
            "id": f"{did}#key-{n}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(key.key_type.multicodec_name, key.raw),
        }
        for n, key in enumerate(keys, start=1)
    ]
    ids = [method["id"] for method in methods]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": list(ids),
        "authentication": list(ids),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A did:web document is served at its own URL; a redirect could leave HTTPS or the host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise ResolutionError(f"{req.full_url}: refusing HTTP redirect ({code}) to {newurl[:200]}")


class HttpsFetcher:
    """The production fetcher: HTTPS only, no redirects, a timeout and a size limit."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._ssl_context = ssl_context
        self._opener: urllib.request.OpenerDirector | None = None

    def _open(self, request: urllib.request.Request) -> Any:
        # built on first use: loading the system CA store takes tens of milliseconds, and
        # most resolvers only ever see did:key
        if self._opener is None:
            context = self._ssl_context or ssl.create_default_context()
            self._opener = urllib.request.build_opener(
                _NoRedirect, urllib.request.HTTPSHandler(context=context)
            )
        return self._opener.open(request, timeout=self.timeout)

    def __call__(self, url: str) -> bytes:
        if urllib.parse.urlsplit(url).scheme != "https":
            raise ResolutionError(f"refusing to fetch {url[:200]!r}: only https URLs are fetched")
        request = urllib.request.Request(
            url, headers={"Accept": "application/did+json, application/json"}
        )
        try:
            with self._open(request) as response:
                body: bytes = response.read(self.max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise ResolutionError(f"{url}: HTTP {exc.code}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ResolutionError(f"{url}: cannot fetch ({exc})") from None
        if len(body) > self.max_bytes:
            raise MalformedDocumentError(
                f"{url}: DID document is larger than {self.max_bytes} bytes"
            )
        return body


# -- resolvers -----------------------------------------------------------------------------
class Resolver(Protocol):
    """Anything that turns a DID into its document and vouches for its verification methods."""

    def resolve(self, did: str) -> pydid.DIDDocument: ...

    def verification_method(self, did_url: str, purpose: str) -> VerificationMethod: ...


class DidResolver:
    """The default resolver: did:key locally, did:web through ``fetch(url) -> bytes``."""

    def __init__(self, *, fetch: Fetch | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._fetch: Fetch = fetch if fetch is not None else HttpsFetcher(max_bytes=max_bytes)

    def resolve(self, did: str) -> pydid.DIDDocument:
        return parse_document(self._document(did), did=did)

    def verification_method(self, did_url: str, purpose: str) -> VerificationMethod:
        known = _did_key_answer(did_url, purpose)
        if known is not None:
            return known
        did, fragment = split_did_url(did_url)
        # the derived X25519 key (a modular inversion) matters only when it is the one asked for
        document = self._document(did, key_agreement=fragment != did[len("did:key:") :])
        if not did.startswith("did:key:"):  # a did:key document is ours, built well-formed
            parse_document(document, did=did)
        method = _select(document, did_url, purpose)
        if did.startswith("did:key:"):
            _remember_did_key_answer(did_url, purpose, method)
        return method

    def _document(self, did: str, *, key_agreement: bool = True) -> Any:
        check_did(did)
        if did.startswith("did:key:"):
            return did_key_document(did, key_agreement=key_agreement)
        if did.startswith("did:web:"):
            return self._fetch_did_web(did)
        method = did.split(":", 2)[1]
        raise ResolutionError(f"DID method {method!r} is not supported (did:key and did:web are)")

    def _fetch_did_web(self, did: str) -> Any:
        url = did_web_to_url(did)
        try:
            body = self._fetch(url)
        except (ResolutionError, MalformedDocumentError):
            raise
        except (OSError, ValueError, http.client.HTTPException, VcwalletError) as exc:
            # whatever the fetcher's failure (socket, HTTP, our TransportError), the DID is
            # unresolvable; the cause stays chained for debugging
            raise ResolutionError(
                f"{did}: cannot fetch {url} ({type(exc).__name__}: {exc})"
            ) from exc
        if not isinstance(body, bytes):
            raise TypeError("fetch(url) must return bytes")
        return _json.loads(body, max_bytes=self.max_bytes)


# did:key answers of every DidResolver, per exact (DID URL, purpose): a did:key *is* its
# document, so the method found once (base58, multicodec, key checks) is found every time.
# Only methods that were found are stored (a refusal is worked out again, with its message);
# bounded, oldest out first, as the DID URLs are the presenter's choice.
_DID_KEY_ANSWERS: dict[tuple[str, str], VerificationMethod] = {}
_MAX_DID_KEY_ANSWERS = 1024
_DID_KEY_LOCK = threading.Lock()


def _did_key_answer(did_url: Any, purpose: Any) -> VerificationMethod | None:
    if type(did_url) is not str or type(purpose) is not str:
        return None  # not a key (and the full path gives the refusal)
    method = _DID_KEY_ANSWERS.get((did_url, purpose))
    if method is None:
        return None
    # the caller's own JWK dict: a caller that edits it must not edit the remembered one
    return dataclasses.replace(method, jwk=dict(method.jwk))


def _remember_did_key_answer(did_url: str, purpose: str, method: VerificationMethod) -> None:
    remembered = dataclasses.replace(method, jwk=dict(method.jwk))
    with _DID_KEY_LOCK:
        while len(_DID_KEY_ANSWERS) >= _MAX_DID_KEY_ANSWERS:
            del _DID_KEY_ANSWERS[next(iter(_DID_KEY_ANSWERS))]
        _DID_KEY_ANSWERS[(did_url, purpose)] = remembered


class StaticResolver:
    """Pinned DID documents (offline verification); unknown DIDs go to ``fallback`` if given."""

    def __init__(
        self, documents: Mapping[str, dict[str, Any]], *, fallback: Resolver | None = None
    ) -> None:
        self._documents = {did: copy.deepcopy(doc) for did, doc in documents.items()}
        self._fallback = fallback
        self._checked: set[str] = set()  # pinned copies never change: check each one once

    def resolve(self, did: str) -> pydid.DIDDocument:
        check_did(did)
        document = self._documents.get(did)
        if document is not None:
            return parse_document(document, did=did)
        if self._fallback is not None:
            return self._fallback.resolve(did)
        raise ResolutionError(f"{did}: not among the pinned DID documents")

    def verification_method(self, did_url: str, purpose: str) -> VerificationMethod:
        did, _ = split_did_url(did_url)
        document = self._documents.get(did)
        if document is not None:
            if did not in self._checked:
                parse_document(document, did=did)
                self._checked.add(did)
            return _select(document, did_url, purpose)
        if self._fallback is not None:
            return self._fallback.verification_method(did_url, purpose)
        raise ResolutionError(f"{did}: not among the pinned DID documents")
