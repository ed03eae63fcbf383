"""The recipes: issue a credential, verify one in any format.

This is the layer most users need. Everything it does is built from the primitives one
level down (``documents``, ``proofs``, ``jose``, ``cose``, ``did``, ``credential_types``),
and every collaborator is a keyword argument with a safe default: ``resolver=`` (did:key
offline; did:web only through a fetcher you inject), ``document_loader=`` (bundled
contexts only), ``now=`` (the clock).

Formats, by the name the CLI uses:

========== ====================================================================
di-eddsa   JSON with a ``DataIntegrityProof`` (``eddsa-rdfc-2022``, Ed25519)
di-ecdsa   JSON with a ``DataIntegrityProof`` (``ecdsa-rdfc-2019``, P-256)
jwt        ``application/vc+jwt`` compact JWS (EdDSA or ES256 by key type)
cose       ``application/vc+cose`` COSE_Sign1 bytes
========== ====================================================================
"""

from __future__ import annotations

import base64
import functools
import hashlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import _json
from .credential_types import CredentialType, credential_type, detect_type
from .errors import (
    CanonicalizationLimitError,
    Expired,
    InvalidSignature,
    MalformedDocumentError,
    NotYetValid,
    ProofPurposeError,
    ResolutionError,
    SchemaValidationError,
    UndefinedTermError,
    UnknownContextError,
    UnsupportedAlgorithm,
    VerificationError,
)
from .keys import KeyType, Signer
from .model import (
    Check,
    CredentialResult,
    all_hold,
    failed,
    issuer_id,
    passed,
    shape_problems,
    skipped,
    types_of,
    utc_now,
    validity_check,
)

ISSUE_FORMATS = ("di-eddsa", "di-ecdsa", "jwt", "cose")
_CRYPTOSUITES = {"di-eddsa": "eddsa-rdfc-2022", "di-ecdsa": "ecdsa-rdfc-2019"}
_SUITE_KEY_TYPES = {"di-eddsa": KeyType.ED25519, "di-ecdsa": KeyType.P256}


@dataclass(frozen=True)
class SecuredCredential:
    """An issued credential: its secured form and the plain credential JSON inside it."""

    format: str  # "di" | "jwt" | "cose"
    data: dict[str, Any] | str | bytes
    credential: dict[str, Any]

    def to_bytes(self) -> bytes:
        """What a file holding this credential contains (JSON, token text, or COSE bytes)."""
        if isinstance(self.data, bytes):
            return self.data
        if isinstance(self.data, str):
            return (self.data + "\n").encode("ascii")
        return (_json.dumps(self.data, pretty=True) + "\n").encode("utf-8")


@functools.cache
def default_resolver() -> Any:
    """did:key resolved offline (cached: a did:key document depends only on the DID);
    did:web only through the default https fetcher, never cached here."""
    from .did import DidResolver
    from .jose import CachingResolver

    return CachingResolver(DidResolver(), methods=("key",))


def default_verification_method(issuer: str, signer: Signer) -> str:
    """did:key issuers sign with ``did:key:z..#z..``; other DIDs with ``#key-1``."""
    if issuer.startswith("did:key:"):
        if issuer != signer.public_key.did_key:
            raise ValueError("the issuer did:key is not the signing key's did:key")
        return f"{issuer}#{issuer[len('did:key:'):]}"
    return f"{issuer}#key-1"


def default_issuer_name(subject: dict[str, Any], issuer: str) -> str:
    """Open Badges / CLR issuers are named Profiles: take the achievement creator's name
    when the subject carries one whose id is the issuer or unset, else the issuer id itself."""
    for holder_key in ("achievement", "programme"):
        part = subject.get(holder_key)
        creator = part.get("creator") if isinstance(part, dict) else None
        if isinstance(creator, dict) and isinstance(creator.get("name"), str):
            return creator["name"]
    return issuer


# --------------------------------------------------------------------------------------
# issuing
# --------------------------------------------------------------------------------------
def issue(
    type_name: str | CredentialType,
    subject: dict[str, Any],
    *,
    signer: Signer,
    format: str = "di-eddsa",
    issuer: str | None = None,
    issuer_name: str | None = None,
    verification_method: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    holder: str | None = None,
    credential_id: str | None = None,
    now: datetime | None = None,
    document_loader: Any = None,
) -> SecuredCredential:
    """Build one of the four credential types, validate it, and sign it.

    ``issuer`` defaults to the signer's did:key. Raises :class:`SchemaValidationError` for a
    subject its schema refuses and :class:`MalformedDocumentError` (or a subclass) for
    anything that would not survive JSON-LD processing.
    """
    kind = type_name if isinstance(type_name, CredentialType) else credential_type(type_name)
    moment = utc_now(now)
    issuer = issuer or signer.public_key.did_key
    credential = kind.build(
        subject,
        issuer=issuer,
        issuer_name=issuer_name or default_issuer_name(subject, issuer),
        valid_from=valid_from,
        valid_until=valid_until,
        credential_id=credential_id,
        holder=holder,
        now=moment,
    )
    return secure(
        credential,
        signer=signer,
        format=format,
        verification_method=verification_method,
        now=moment,
        document_loader=document_loader,
    )


def secure(
    credential: dict[str, Any],
    *,
    signer: Signer,
    format: str = "di-eddsa",
    verification_method: str | None = None,
    now: datetime | None = None,
    document_loader: Any = None,
) -> SecuredCredential:
    """Sign any unsigned VCDM 2.0 credential (ours or not) in one of :data:`ISSUE_FORMATS`.

    The credential is checked first: strict JSON values, VCDM 2.0 shape, and strict JSON-LD
    expansion (an undefined term is an error, never silently dropped and signed).
    """
    from . import documents

    if format not in ISSUE_FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(ISSUE_FORMATS)}")
    needed = _SUITE_KEY_TYPES.get(format)
    if needed is not None and signer.key_type is not needed:
        raise ValueError(f"format {format} needs a {needed.value} key, not {signer.key_type.value}")
    credential = _json.nfc_strict(credential)
    problems = shape_problems(credential)
    if problems:
        raise MalformedDocumentError("not a VCDM 2.0 credential: " + "; ".join(problems))
    if "proof" in credential:
        raise MalformedDocumentError("credential already carries a proof")
    loader = document_loader or documents.default_loader()
    strict_expand_once(credential, loader=loader)
    issuer = issuer_id(credential)
    assert issuer is not None  # shape_problems guarantees it
    method = verification_method or default_verification_method(issuer, signer)
    if format in _CRYPTOSUITES:
        from . import proofs

        signed = proofs.add_proof(
            credential,
            signer,
            verification_method=method,
            cryptosuite=_CRYPTOSUITES[format],
            proof_purpose="assertionMethod",
            created=utc_now(now),
            loader=loader,
        )
        return SecuredCredential("di", signed, credential)
    if format == "jwt":
        from . import jose

        return SecuredCredential("jwt", jose.sign_vc_jwt(credential, signer, kid=method), credential)
    from . import cose

    return SecuredCredential("cose", cose.sign_vc_cose(credential, signer, kid=method), credential)


# --------------------------------------------------------------------------------------
# reading any secured form
# --------------------------------------------------------------------------------------
def detect_format(data: str | bytes | dict[str, Any]) -> str:
    """Name the securing mechanism of ``data``: ``di``, ``jwt``, ``sd-jwt``, ``cose`` or ``json``.

    ``json`` is a JSON credential without a proof (not verifiable). Raises
    :class:`MalformedDocumentError` when ``data`` is none of these.
    """
    if isinstance(data, dict):
        return "di" if "proof" in data else "json"
    if isinstance(data, bytes):
        if data[:1] == b"\xd2" or data[:2] == b"\xd8\x12":  # CBOR tag 18 (COSE_Sign1)
            return "cose"
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedDocumentError("input is neither JSON, a JWT nor COSE_Sign1") from None
    text = data.strip().lstrip("\ufeff")
    if text.startswith("{"):
        document = _json.loads(text)
        return "di" if isinstance(document, dict) and "proof" in document else "json"
    if "~" in text:
        return "sd-jwt"
    if text.count(".") == 2:
        return "jwt"
    if text.count(".") == 4:
        raise MalformedDocumentError("input is a JWE; encrypted credentials are not accepted")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raw = b""
    if raw[:1] == b"\xd2" or raw[:2] == b"\xd8\x12":
        return "cose"
    raise MalformedDocumentError("input is neither JSON, a JWT nor COSE_Sign1")


def _as_text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise MalformedDocumentError("input is not UTF-8 text") from None
    return data.strip()


def _encoded(data: str | bytes | dict[str, Any]) -> str | bytes:
    """``data`` for a format that :func:`detect_format` names only for text or bytes."""
    if isinstance(data, dict):
        raise MalformedDocumentError("a JSON object is neither a JWT, an SD-JWT nor COSE_Sign1")
    return data


def _as_cose_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes) and (data[:1] == b"\xd2" or data[:2] == b"\xd8\x12"):
        return data
    try:
        return base64.b64decode(_as_text(data), validate=True)
    except ValueError:
        raise MalformedDocumentError("COSE input is neither binary nor base64") from None


# --------------------------------------------------------------------------------------
# verifying
# --------------------------------------------------------------------------------------
@dataclass
class _Evidence:
    """What the format-specific step learned, before the shared checks run."""

    credential: dict[str, Any] | None = None
    verification_method: str | None = None
    controller: str | None = None
    signature: Check | None = None
    key: Check | None = None
    # the proof's canonicalization strictly expanded the credential with this loader
    expanded: bool = False
    signed_digest: bytes | None = None  # SHA-256 of what the verified signature covers


def verify_credential(
    data: str | bytes | dict[str, Any],
    *,
    resolver: Any = None,
    document_loader: Any = None,
    now: datetime | None = None,
) -> CredentialResult:
    """Verify a credential in any supported form and report every check.

    Returns a :class:`CredentialResult` (an invalid credential is a result, not an
    exception). Raises :class:`MalformedDocumentError` only when ``data`` cannot be read
    as any credential format at all.
    """
    return _verify_credential(
        data, resolver=resolver, document_loader=document_loader, now=now, json_checked=False
    )


def _verify_credential(
    data: str | bytes | dict[str, Any],
    *,
    resolver: Any,
    document_loader: Any,
    now: datetime | None,
    json_checked: bool,
) -> CredentialResult:
    """:func:`verify_credential`. ``json_checked``: the caller has walked a ``dict`` ``data``
    as strict JSON already (a presentation's check covers the credentials it embeds)."""
    from . import documents

    moment = utc_now(now)
    resolver = resolver or default_resolver()
    loader = document_loader or documents.default_loader()
    kind = detect_format(data)
    if kind == "json":
        document = data if isinstance(data, dict) else _json.loads(_as_text(data))
        return _unsecured_result(document)
    if kind == "sd-jwt":
        return _sd_jwt_result(_encoded(data), resolver=resolver, now=moment)
    evidence = _Evidence()
    checks: list[Check] = []
    if kind == "di":
        document = data if isinstance(data, dict) else _json.loads(_as_text(data))
        if not isinstance(document, dict):
            raise MalformedDocumentError("a Data Integrity credential must be a JSON object")
        if not (json_checked and document is data):
            _json.check_value(document)
        evidence.credential = {k: v for k, v in document.items() if k != "proof"}
        _verify_di(document, evidence, resolver=resolver, loader=loader)
    elif kind == "jwt":
        _verify_jwt(_as_text(_encoded(data)), evidence, resolver=resolver)
    else:
        _verify_cose(_as_cose_bytes(_encoded(data)), evidence, resolver=resolver)
    credential = evidence.credential
    if credential is None:
        checks.append(failed("format", "the secured form could not be opened"))
        checks.extend(c for c in (evidence.key, evidence.signature) if c is not None)
        return CredentialResult(False, kind, tuple(checks))

    problems = shape_problems(credential)
    checks.append(
        failed("format", "; ".join(problems)) if problems
        else passed("format", f"VCDM 2.0 credential secured as {_FORMAT_NAMES[kind]}")
    )
    checks.append(
        passed("context", _CLEAN_CONTEXT) if evidence.expanded
        else _context_check(credential, loader, documents)
    )
    issuer = issuer_id(credential)
    checks.append(_issuer_key_check(evidence, issuer))
    checks.append(evidence.signature or failed("signature", "no signature was checked"))
    checks.append(validity_check(credential, moment))
    found = detect_type(credential)
    checks.append(_schema_check(credential, found))
    checks.append(_status_check(credential))
    summary = _safe_summary(found, credential)
    return CredentialResult(
        verified=all_hold(checks),
        format=kind,
        checks=tuple(checks),
        credential=credential,
        issuer=issuer,
        types=types_of(credential),
        summary=summary,
        verification_method=evidence.verification_method,
        signed_digest=evidence.signed_digest,
    )


_FORMAT_NAMES = {"di": "Data Integrity", "jwt": "vc+jwt", "cose": "vc+cose", "sd-jwt": "SD-JWT"}


def _unsecured_result(document: Any) -> CredentialResult:
    if not isinstance(document, dict):
        raise MalformedDocumentError("a credential must be a JSON object")
    checks = (
        failed("format", "the document carries no proof and is not a JWT or COSE credential"),
        skipped("signature", "there is no signature to check", required=True),
    )
    return CredentialResult(False, "json", checks, credential=document,
                            issuer=issuer_id(document), types=types_of(document))


def _verify_di(document: dict[str, Any], evidence: _Evidence, *, resolver: Any, loader: Any) -> None:
    from . import proofs

    try:
        found = proofs.verify_proof(  # verify_credential has checked the JSON already
            document, resolver=resolver, expected_purpose="assertionMethod", loader=loader,
            check_json=False,
        )
    except (UnknownContextError, UndefinedTermError, CanonicalizationLimitError) as exc:
        evidence.signature = failed("signature", f"could not canonicalise the document: {exc}")
        return
    except (ProofPurposeError, ResolutionError) as exc:
        evidence.key = failed("issuer_key", str(exc))
        evidence.signature = skipped("signature", "no usable issuer key", required=True)
        return
    except UnsupportedAlgorithm as exc:
        evidence.signature = failed("signature", str(exc))
        return
    except (InvalidSignature, MalformedDocumentError, VerificationError) as exc:
        evidence.signature = failed("signature", str(exc) or "signature does not verify")
        return
    evidence.verification_method = found.verification_method
    evidence.controller = found.controller
    evidence.signature = passed("signature", f"{found.cryptosuite} proof verifies")
    if len(found.document_hash) == hashlib.sha256().digest_size:  # both suites hash with SHA-256
        evidence.signed_digest = found.document_hash
    # the proof covers documents.canonize of the credential without its proof, with this
    # loader: exactly what the context check runs (documents.validate), and it passed
    evidence.expanded = True


def _verify_jwt(token: str, evidence: _Evidence, *, resolver: Any) -> None:
    from . import jose

    read = jose.ReadJws(token)  # split and decoded once, for the look and the check
    payload = read.payload()  # unreadable token: MalformedDocumentError
    if isinstance(payload, dict):
        evidence.credential = payload
    try:
        found = jose.verify_vc_jwt(read, resolver=resolver)
    except (ProofPurposeError, ResolutionError) as exc:
        evidence.key = failed("issuer_key", str(exc))
        evidence.signature = skipped("signature", "no usable issuer key", required=True)
        return
    except (VerificationError, MalformedDocumentError) as exc:
        evidence.signature = failed("signature", str(exc) or "signature does not verify")
        return
    evidence.credential = found.credential
    evidence.verification_method = found.verification_method.id
    evidence.controller = found.verification_method.controller
    evidence.signature = passed("signature", f"{found.header.get('alg')} JWS verifies")
    evidence.signed_digest = hashlib.sha256(read.signing_input()).digest()


def _verify_cose(data: bytes, evidence: _Evidence, *, resolver: Any) -> None:
    from . import cose

    try:
        found = cose.verify_vc_cose(data, resolver=resolver)
    except (ProofPurposeError, ResolutionError) as exc:
        evidence.key = failed("issuer_key", str(exc))
        evidence.signature = skipped("signature", "no usable issuer key", required=True)
        evidence.credential = _unverified_cose_payload(data)
        return
    except (VerificationError, MalformedDocumentError) as exc:
        evidence.signature = failed("signature", str(exc) or "signature does not verify")
        evidence.credential = _unverified_cose_payload(data)
        return
    evidence.credential = found.credential
    evidence.verification_method = found.verification_method.id
    evidence.controller = found.verification_method.controller
    evidence.signature = passed("signature", "COSE_Sign1 signature verifies")


def _unverified_cose_payload(data: bytes) -> dict[str, Any] | None:
    import cbor2

    try:
        item = cbor2.loads(data)
        value = item.value if isinstance(item, cbor2.CBORTag) else item
        payload = _json.loads(value[2])
    except Exception:  # noqa: BLE001 - only shows what the failed credential claimed
        return None
    return payload if isinstance(payload, dict) else None


def _issuer_key_check(evidence: _Evidence, issuer: str | None) -> Check:
    if evidence.key is not None:
        return evidence.key
    if evidence.controller is None:
        return skipped("issuer_key", "the signature could not be checked, so neither could its key",
                       required=True)
    if issuer is None or evidence.controller != issuer:
        return failed(
            "issuer_key",
            f"key {evidence.verification_method} is controlled by {evidence.controller}, "
            f"not by the issuer {issuer}",
        )
    return passed("issuer_key", f"{evidence.verification_method} is an assertionMethod of {issuer}")


def _context_check(credential: dict[str, Any], loader: Any, documents: Any) -> Check:
    try:
        strict_expand_once(credential, loader=loader)
    except UnknownContextError as exc:
        return failed("context", str(exc))
    except UndefinedTermError as exc:
        return failed("context", str(exc))
    except MalformedDocumentError as exc:
        return failed("context", f"JSON-LD processing failed: {exc}")
    return passed("context", _CLEAN_CONTEXT)


_CLEAN_CONTEXT = "every context is bundled and every term is defined"


# Strict expansion costs milliseconds, but whether JSON-LD drops a term depends only on the
# document's shape (member names, `@context` and `type` values, nesting), never on other
# values. So a shape that expanded cleanly once is remembered per loader; JWT and COSE
# credentials of a known shape then skip the expansion. Data Integrity proofs still expand
# and canonicalise in full: their signature covers the RDF.
_clean_shapes: weakref.WeakKeyDictionary[Any, set[Any]] = weakref.WeakKeyDictionary()
_SHAPE_MEMO_LIMIT = 4096
_VALUE_KEYS = frozenset({"@context", "type", "@type"})


def shape_fingerprint(value: Any) -> Any:
    """A hashable description of everything JSON-LD term definitions depend on.

    Member order is kept (a reordered document is merely a cache miss), which keeps this
    walk cheap: it runs on every JWT / COSE credential issued or verified.
    """
    kind = type(value)
    if kind is dict:
        return tuple(
            (key, _freeze(item) if key in _VALUE_KEYS else shape_fingerprint(item))
            for key, item in value.items()
        )
    if kind is list:
        return ("[", *map(shape_fingerprint, value))
    return kind


def _freeze(value: Any) -> Any:
    if type(value) is list:
        return tuple(map(_freeze, value))
    if type(value) is dict:
        return tuple((key, _freeze(item)) for key, item in value.items())
    return value


def strict_expand_once(document: dict[str, Any], *, loader: Any) -> None:
    """Strictly expand ``document`` (raising on undefined terms) unless its shape is known clean."""
    from . import documents

    fingerprint = shape_fingerprint(document)
    known = _clean_shapes.setdefault(loader, set())
    if fingerprint in known:
        return
    documents.validate(document, loader=loader)
    if len(known) >= _SHAPE_MEMO_LIMIT:
        known.clear()
    known.add(fingerprint)


def _schema_check(credential: dict[str, Any], found: CredentialType | None) -> Check:
    """``found`` is ``detect_type(credential)``; the credential is strict JSON already
    (checked, or parsed strictly from a token) on every path of verify_credential."""
    declared = credential.get("credentialSchema")
    if declared is None:
        return skipped("schema", "the credential names no credentialSchema")
    entries = declared if isinstance(declared, list) else [declared]
    known_ids = {found.schema_id} if found else set()
    unknown = [e.get("id") for e in entries if isinstance(e, Mapping) and e.get("id") not in known_ids]
    if found is None or found.schema_id not in {e.get("id") for e in entries if isinstance(e, Mapping)}:
        return skipped("schema", f"schema {unknown[0] if unknown else declared!r} is not bundled "
                                 "(schemas are never fetched)")
    try:
        found.validate_credential(credential, check_json=False)
    except SchemaValidationError as exc:
        return failed("schema", f"credential does not match {found.schema_id}: {exc}")
    note = f"; also names {', '.join(map(str, unknown))} (not bundled)" if unknown else ""
    return passed("schema", f"credential matches {found.schema_id}{note}")


def _status_check(credential: dict[str, Any]) -> Check:
    if "credentialStatus" in credential:
        return skipped("status", "credentialStatus present but no status checker was given "
                                 "(offline verification)")
    return skipped("status", "the credential names no credentialStatus")


def _safe_summary(found: CredentialType | None, credential: dict[str, Any]) -> str | None:
    if found is None:
        return None
    try:
        return found.summary(credential)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _sd_jwt_result(data: str | bytes, *, resolver: Any, now: datetime) -> CredentialResult:
    """An SD-JWT VC as issued (all disclosures, no key binding): issuer signature, every
    disclosure's digest, dates. One with a key-binding JWT is a presentation: it needs the
    verifier's nonce and audience (vcwallet.presentations / sdjwt.verify_sd_jwt)."""
    from . import sdjwt

    token = _as_text(data)
    if not token.endswith("~"):
        refusal = failed("format", "this SD-JWT carries a key-binding JWT: verify it as a "
                                  "presentation, with the verifier's nonce and audience")
        return CredentialResult(False, "sd-jwt", (refusal,))
    checks: list[Check] = [passed("format", "SD-JWT VC (dc+sd-jwt) as issued")]
    try:
        found = sdjwt.verify_sd_jwt(token, resolver=resolver, nonce=None, audience=None,
                                    now=now, require_key_binding=False)
    except (ProofPurposeError, ResolutionError) as exc:
        checks += [failed("issuer_key", str(exc)),
                   skipped("signature", "no usable issuer key", required=True)]
        return CredentialResult(False, "sd-jwt", tuple(checks))
    except (NotYetValid, Expired) as exc:
        checks.append(failed("validity_period", str(exc)))
        return CredentialResult(False, "sd-jwt", tuple(checks))
    except (VerificationError, MalformedDocumentError) as exc:
        checks.append(failed("signature", str(exc) or "SD-JWT does not verify"))
        return CredentialResult(False, "sd-jwt", tuple(checks))
    claims = found.claims
    method = found.verification_method
    checks += [
        skipped("context", "SD-JWT VC claims are plain JSON, not JSON-LD"),
        passed("issuer_key", f"{method.id} is an assertionMethod of {claims.get('iss')}"),
        passed("signature", f"issuer signature and {len(found.disclosed)} disclosure digests hold"),
        passed("validity_period", "nbf / exp hold at the time of verification"),
        skipped("schema", "SD-JWT VC type metadata (vct) is not fetched"),
        _status_check(claims),
    ]
    vct = claims.get("vct")
    return CredentialResult(
        verified=all_hold(checks), format="sd-jwt", checks=tuple(checks), credential=claims,
        issuer=claims.get("iss") if isinstance(claims.get("iss"), str) else None,
        types=(vct,) if isinstance(vct, str) else (), verification_method=method.id,
    )
