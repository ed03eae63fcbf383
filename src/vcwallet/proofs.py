"""The generic Data Integrity algorithm: add a ``DataIntegrityProof``, verify one (low level).

Follows W3C VC Data Integrity 1.0 with the ``*-rdfc-*`` cryptosuites of :mod:`vcwallet.suites`:
the proof options (the proof without ``proofValue``, with the document's ``@context``) and
the document without its proof are each canonicalised (RDFC-1.0) and hashed; the signature
covers ``H(options) || H(document)``.

Proof purposes: ``verify_proof`` checks that the proof states the purpose the caller
expects, that the verification method is listed under that relationship in its controller's
DID document (the resolver's job), and that ``challenge`` / ``domain`` match when the
caller gives them (a presentation's holder proof always should).

Controller binding: ``verify_proof`` does NOT compare the key's controller with the
document's issuer or holder. It returns the controller in :class:`VerifiedProof` and the
caller compares (:func:`document_controller` gives the ``issuer`` / ``holder`` id to compare
with); the recipes in :mod:`vcwallet.credentials` do so and report it as its own check.
"""

from __future__ import annotations

import copy
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from . import _json, documents
from .errors import (
    Expired,
    MalformedDocumentError,
    ProofPurposeError,
    UnsupportedAlgorithm,
)
from .keys import PublicKey, Signer
from .suites import Cryptosuite, get_suite

PROOF_TYPE = "DataIntegrityProof"
_DEFAULT_SUITES = {"ed25519": "eddsa-rdfc-2022", "p256": "ecdsa-rdfc-2019"}


class _VerificationMethod(Protocol):
    id: str
    controller: str

    def public_key(self) -> PublicKey: ...


class _Resolver(Protocol):
    def verification_method(self, did_url: str, purpose: str) -> _VerificationMethod: ...


@dataclass(frozen=True)
class VerifiedProof:
    """What a proof that verified says about itself."""

    verification_method: str
    controller: str
    cryptosuite: str
    created: datetime | None
    proof_purpose: str
    # the suite's hash of the canonical document without its proof (the second half of
    # the signed hash data): what a ledger leaf records for a Data Integrity credential
    document_hash: bytes = b""


def add_proof(
    document: dict[str, Any],
    signer: Signer,
    *,
    verification_method: str,
    cryptosuite: str | None = None,
    proof_purpose: str = "assertionMethod",
    created: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    loader: documents.DocumentLoader | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return a new document with a ``DataIntegrityProof``; ``document`` is not changed.

    ``cryptosuite`` defaults by key type (Ed25519 -> eddsa-rdfc-2022, P-256 ->
    ecdsa-rdfc-2019). ``created`` defaults to ``now`` (or the clock), to the second, UTC.
    Raises the errors of :func:`vcwallet.documents.canonize` for a document that is not
    strict JSON-LD, ``ValueError`` for a signer that does not fit the suite.
    """
    if not isinstance(document, dict):
        raise MalformedDocumentError("a document to sign must be a JSON object")
    if "proof" in document:
        raise MalformedDocumentError(
            "document already carries a proof (proof sets are not supported)"
        )
    if not isinstance(verification_method, str) or not verification_method:
        raise ValueError("verification_method must be a non-empty string")
    _json.check_value(document)
    suite = get_suite(cryptosuite or _DEFAULT_SUITES[signer.key_type.value])
    if signer.key_type is not suite.key_type:
        raise ValueError(
            f"{suite.name} needs a {suite.key_type.value} key, not {signer.key_type.value}"
        )
    loader = loader or documents.default_loader()
    unsecured = copy.deepcopy(document)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": suite.name,
        "created": format_datetime(created or now or datetime.now(UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    _json.check_value(proof, where="proof")
    data = _hash_data(suite, unsecured, proof, loader)
    proof["proofValue"] = suite.sign(signer, data)
    unsecured["proof"] = proof
    return unsecured


def verify_proof(
    document: dict[str, Any],
    *,
    resolver: _Resolver,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    loader: documents.DocumentLoader | None = None,
    now: datetime | None = None,
    check_json: bool = True,
) -> VerifiedProof:
    """Verify the document's single ``DataIntegrityProof``; return what it proves.

    ``check_json=False`` skips the strict-JSON walk for a caller that has just made it
    (as :func:`documents.canonize` does).

    Raises :class:`InvalidSignature`, :class:`ProofPurposeError` (wrong purpose,
    challenge / domain mismatch, key not listed under the purpose),
    :class:`UnsupportedAlgorithm` (unknown proof type or cryptosuite), :class:`Expired` (the
    proof's own ``expires`` is past ``now``), :class:`MalformedDocumentError` and its
    subclasses (bad document or proof), :class:`ResolutionError` (key not found).
    """
    if not isinstance(document, dict):
        raise MalformedDocumentError("a secured document must be a JSON object")
    if check_json:
        _json.check_value(document)
    proof = document.get("proof")
    if isinstance(proof, list):
        raise MalformedDocumentError("proof sets and chains are not supported (one proof only)")
    if not isinstance(proof, dict):
        raise MalformedDocumentError("document carries no proof object")
    suite = _suite_of(proof)
    purpose = _text(proof, "proofPurpose")
    method_id = _text(proof, "verificationMethod")
    created = _optional_datetime(proof, "created")
    _check_purpose(proof, purpose, expected_purpose, challenge, domain)
    _check_expiry(proof, now)
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        if options["@context"] != document.get("@context"):
            raise MalformedDocumentError("the proof's @context differs from the document's")
        del options["@context"]
    method = resolver.verification_method(method_id, expected_purpose)
    data = _hash_data(suite, unsecured, options, loader or documents.default_loader())
    suite.verify(method.public_key(), data, proof.get("proofValue"))
    return VerifiedProof(
        verification_method=method_id,
        controller=method.controller,
        cryptosuite=suite.name,
        created=created,
        proof_purpose=purpose,
        document_hash=data[len(data) // 2:],
    )


def document_controller(document: dict[str, Any]) -> str | None:
    """The id a proof's controller must match: ``issuer`` (or ``issuer.id``), else ``holder``."""
    for key in ("issuer", "holder"):
        value = document.get(key)
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, str):
            return value
    return None


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------
def _hash_data(
    suite: Cryptosuite,
    unsecured: dict[str, Any],
    options: dict[str, Any],
    loader: documents.DocumentLoader,
) -> bytes:
    # the proof options are read with the document's contexts (VC DI 1.0, 4.2)
    with_context = dict(options)
    if "@context" in unsecured:
        with_context["@context"] = unsecured["@context"]
    # the callers checked the whole document (proof included) as strict JSON already
    canonical_options = suite.transform(with_context, loader=loader, check_json=False)
    canonical_document = suite.transform(unsecured, loader=loader, check_json=False)
    return suite.hash_data(canonical_options, canonical_document)


def _suite_of(proof: dict[str, Any]) -> Cryptosuite:
    if proof.get("type") != PROOF_TYPE:
        raise UnsupportedAlgorithm(f"unsupported proof type {proof.get('type')!r}")
    return get_suite(proof.get("cryptosuite"))


def _check_purpose(
    proof: dict[str, Any],
    purpose: str,
    expected: str,
    challenge: str | None,
    domain: str | None,
) -> None:
    if purpose != expected:
        raise ProofPurposeError(f"proof purpose is {purpose!r}, expected {expected!r}")
    if challenge is not None and not _same_text(proof.get("challenge"), challenge):
        raise ProofPurposeError("the proof's challenge does not match the expected challenge")
    if domain is not None:
        stated = proof.get("domain")
        domains = stated if isinstance(stated, list) else [stated]
        if not any(_same_text(item, domain) for item in domains):
            raise ProofPurposeError("the proof's domain does not match the expected domain")


def _same_text(stated: Any, expected: str) -> bool:
    # constant time: a challenge is a secret shared with the verifier
    return isinstance(stated, str) and hmac.compare_digest(
        stated.encode("utf-8"), expected.encode("utf-8")
    )


def _check_expiry(proof: dict[str, Any], now: datetime | None) -> None:
    expires = _optional_datetime(proof, "expires")
    if expires is None:
        return
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > expires:
        raise Expired(f"the proof expired at {format_datetime(expires)}")


def _text(proof: dict[str, Any], name: str) -> str:
    value = proof.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedDocumentError(f"proof.{name} must be a non-empty string")
    return value


def _optional_datetime(proof: dict[str, Any], name: str) -> datetime | None:
    value = proof.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedDocumentError(f"proof.{name} must be an XML Schema dateTime string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedDocumentError(f"proof.{name} {value!r} is not a dateTime") from None
    if parsed.tzinfo is None:
        raise MalformedDocumentError(f"proof.{name} {value!r} has no time zone")
    return parsed


__all__ = [
    "PROOF_TYPE",
    "VerifiedProof",
    "add_proof",
    "document_controller",
    "format_datetime",
    "verify_proof",
]
