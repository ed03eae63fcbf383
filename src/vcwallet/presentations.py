"""Verifiable Presentations (recipe level): build one bound to a verifier, verify one.

A presentation wraps the holder's credentials, is signed by the holder, and names the
verifier's ``challenge`` (a nonce) and ``domain`` (its audience), so it cannot be replayed
to another verifier or a second time. Two securing mechanisms:

========== ==========================================================================
di         VCDM 2.0 ``VerifiablePresentation`` with a ``DataIntegrityProof``
           (``eddsa-rdfc-2022``, or ``ecdsa-rdfc-2019`` for a P-256 holder), proofPurpose
           ``authentication``, ``challenge`` and ``domain`` in the proof
jwt        ``vp+jwt`` compact JWS (VC-JOSE-COSE): the presentation is the claims set, plus
           ``nonce`` (= challenge), ``aud`` (= domain), ``iat`` and a short ``exp``
========== ==========================================================================

Data Integrity credentials are embedded as JSON objects; vc+jwt, SD-JWT and vc+cose
credentials as ``EnvelopedVerifiableCredential`` objects whose ``id`` is a ``data:`` URL
(VCDM 2.0 section 4.13): ``data:application/vc+jwt,<token>``,
``data:application/dc+sd-jwt,<token>``, ``data:application/vc+cose;base64,<bytes>``.

:func:`verify_presentation` checks the presentation first (the holder's proof with a key
listed under ``authentication`` of the ``holder`` DID, then challenge and domain, compared
in constant time); only a presentation whose own checks hold has its credentials verified
(each as :func:`vcwallet.credentials.verify_credential` does; an SD-JWT with
:func:`vcwallet.sdjwt.verify_sd_jwt` and the same nonce and audience), and then holder
binding: the holder is the ``credentialSubject.id`` of each credential, or for an SD-JWT
the ``cnf`` key is the holder's own key.

:func:`present_from_wallet` answers a verifier's request (Presentation Exchange or DCQL)
from a wallet: :meth:`vcwallet.wallet.Wallet.present` calls it.
"""

from __future__ import annotations

import base64
import copy
import hmac
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from . import _json
from .credentials import SecuredCredential, default_verification_method, detect_format
from .errors import (
    DisclosureError,
    Expired,
    MalformedDocumentError,
    NotYetValid,
    ResolutionError,
    VcwalletError,
    VerificationError,
    WalletError,
)
from .keys import KeyPair, PublicKey, Signer
from .model import (
    VC_V2_CONTEXT,
    Check,
    CredentialResult,
    PresentationResult,
    all_hold,
    failed,
    passed,
    skipped,
    types_of,
    utc_now,
)

if TYPE_CHECKING:
    from . import jose

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_LIFETIME",
    "ENVELOPED_TYPE",
    "PRESENTATION_FORMATS",
    "VP_JWT_TYP",
    "Presentation",
    "create_presentation",
    "envelope",
    "is_presentation",
    "open_envelope",
    "present_from_wallet",
    "verify_presentation",
]

PRESENTATION_FORMATS = ("di", "jwt")
VP_TYPE = "VerifiablePresentation"
VP_JWT_TYP = "vp+jwt"
VP_JWT_CTY = "vp"
ENVELOPED_TYPE = "EnvelopedVerifiableCredential"
DEFAULT_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=60)
_VP_ALGS = frozenset({"EdDSA", "ES256"})

# media type of each enveloped format, and the spellings accepted when reading
_MEDIA_TYPES = {"jwt": "application/vc+jwt", "sd-jwt": "application/dc+sd-jwt",
                "cose": "application/vc+cose"}
_MEDIA_FORMATS = {"application/vc+jwt": "jwt", "application/dc+sd-jwt": "sd-jwt",
                  "application/vc+sd-jwt": "sd-jwt", "application/vc+cose": "cose"}
# what a wallet answers with, per presentation format (PE 2.x claim format registry)
_PE_VP_FORMATS = {"di": "ldp_vp", "jwt": "jwt_vp_json"}
_NO_KEY_BINDING = ("the SD-JWT carries no key-binding JWT, so nothing shows the holder "
                   "presented it for this challenge and domain")

SecuredForm = SecuredCredential | dict[str, Any] | str | bytes


# --------------------------------------------------------------------------------------
# envelopes
# --------------------------------------------------------------------------------------
def envelope(data: str | bytes, kind: str) -> dict[str, Any]:
    """An ``EnvelopedVerifiableCredential`` for a vc+jwt / SD-JWT token or vc+cose bytes."""
    if kind == "cose":
        raw = data if isinstance(data, bytes) else base64.b64decode(data, validate=True)
        url = f"data:{_MEDIA_TYPES['cose']};base64,{base64.b64encode(raw).decode('ascii')}"
    elif kind in _MEDIA_TYPES:
        token = data.decode("ascii") if isinstance(data, bytes) else data
        url = f"data:{_MEDIA_TYPES[kind]},{token.strip()}"
    else:
        raise ValueError(f"only vc+jwt, SD-JWT and vc+cose credentials are enveloped, not {kind!r}")
    return {"@context": [VC_V2_CONTEXT], "id": url, "type": ENVELOPED_TYPE}


def open_envelope(item: Mapping[str, Any]) -> tuple[str, str | bytes]:
    """``(format, secured form)`` of an ``EnvelopedVerifiableCredential``.

    Raises :class:`MalformedDocumentError` for anything but a ``data:`` URL of a vc+jwt,
    SD-JWT or vc+cose credential (nothing is ever fetched).
    """
    url = item.get("id")
    if ENVELOPED_TYPE not in types_of(dict(item)):
        raise MalformedDocumentError(f"not an {ENVELOPED_TYPE}")
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        raise MalformedDocumentError("an enveloped credential's id must be a data: URL")
    header, payload = url[len("data:"):].split(",", 1)
    media, _, flags = header.partition(";")
    kind = _MEDIA_FORMATS.get(media.strip().lower())
    if kind is None:
        raise MalformedDocumentError(f"enveloped media type {media!r} is not a credential "
                                     "format vcwallet reads")
    payload = urllib.parse.unquote(payload) if "%" in payload else payload
    if "base64" in flags.lower().split(";"):
        try:
            raw = base64.b64decode(payload, validate=True)
        except ValueError:
            raise MalformedDocumentError("enveloped credential: bad base64 in data: URL") from None
        if kind == "cose":
            return kind, raw
        try:
            return kind, raw.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedDocumentError("enveloped token is not ASCII") from None
    if kind == "cose":
        raise MalformedDocumentError("an enveloped vc+cose credential must be base64")
    return kind, payload


def _embed(credential: SecuredForm) -> dict[str, Any]:
    if isinstance(credential, SecuredCredential):
        credential = credential.data
    if isinstance(credential, dict):
        if ENVELOPED_TYPE in types_of(credential):
            open_envelope(credential)  # refuse a broken envelope now, not at the verifier
            return copy.deepcopy(credential)
        if "proof" not in credential:
            raise MalformedDocumentError("a credential without a proof cannot be presented")
        return copy.deepcopy(credential)
    if not isinstance(credential, str | bytes):
        raise TypeError("a credential is a dict, str, bytes or SecuredCredential")
    kind = detect_format(credential)
    if kind == "di":
        text = credential.decode("utf-8") if isinstance(credential, bytes) else credential
        document = _json.loads(text)
        assert isinstance(document, dict)  # detect_format said so
        return document
    if kind == "json":
        raise MalformedDocumentError("a credential without a proof cannot be presented")
    if kind == "cose" and isinstance(credential, str):
        return envelope(base64.b64decode(credential.strip(), validate=True), "cose")
    return envelope(credential, kind)


# --------------------------------------------------------------------------------------
# creating
# --------------------------------------------------------------------------------------
def _binding_value(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def create_presentation(
    credentials: Sequence[SecuredForm],
    *,
    holder: Signer,
    holder_did: str,
    challenge: str,
    domain: str,
    format: str = "di",
    verification_method: str | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
    now: datetime | None = None,
    document_loader: Any = None,
) -> dict[str, Any] | str:
    """Wrap ``credentials`` in a presentation signed by ``holder`` for one verifier.

    ``credentials`` are secured forms as issued or held: Data Integrity JSON (dict or
    text), vc+jwt tokens, SD-JWT presentations (with their key-binding JWT), vc+cose bytes,
    or :class:`~vcwallet.credentials.SecuredCredential`; none is changed. ``format`` is
    ``"di"`` (returns the JSON document) or ``"jwt"`` (returns the ``vp+jwt`` token, valid
    for ``lifetime``). ``verification_method`` defaults to the did:key's own key, or
    ``<holder_did>#key-1``; it must be listed under ``authentication``.
    """
    if format not in PRESENTATION_FORMATS:
        raise ValueError(f"unknown presentation format {format!r}; use 'di' or 'jwt'")
    _binding_value(challenge, "challenge")
    _binding_value(domain, "domain")
    if isinstance(credentials, str | bytes | dict):
        raise TypeError("credentials must be a sequence of secured credentials")
    moment = utc_now(now)
    method = verification_method or default_verification_method(holder_did, holder)
    presentation: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "type": [VP_TYPE],
        "holder": holder_did,
        "verifiableCredential": [_embed(c) for c in credentials],
    }
    if format == "di":
        from . import documents, proofs

        return proofs.add_proof(
            presentation, holder, verification_method=method,
            proof_purpose="authentication", challenge=challenge, domain=domain,
            created=moment, loader=document_loader or documents.default_loader(),
        )
    from . import jose

    issued_at = int(moment.timestamp())
    claims = {**presentation, "nonce": challenge, "aud": domain, "iat": issued_at,
              "exp": issued_at + int(lifetime.total_seconds())}
    return jose.sign_jws(claims, holder, header={"kid": method, "typ": VP_JWT_TYP,
                                                  "cty": VP_JWT_CTY})


# --------------------------------------------------------------------------------------
# verifying
# --------------------------------------------------------------------------------------
@dataclass
class _HolderEvidence:
    """What checking the presentation's own proof established."""

    presentation: dict[str, Any]
    holder: str | None
    checks: list[Check]
    verification_method: str | None = None
    holder_key: PublicKey | None = None


def verify_presentation(
    vp: dict[str, Any] | str | bytes,
    *,
    challenge: str,
    domain: str,
    resolver: Any = None,
    document_loader: Any = None,
    now: datetime | None = None,
) -> PresentationResult:
    """Verify a presentation made for this ``challenge`` and ``domain``; report every check.

    Returns a :class:`~vcwallet.model.PresentationResult`: a replay, a tampered
    presentation, someone else's credential, an edited disclosure or a missing key binding
    is a result that is not verified, with the reason in its checks. Raises
    :class:`MalformedDocumentError` only for input that is not a presentation at all.
    """
    from . import documents
    from .did import DidResolver
    from .jose import CachingResolver

    _binding_value(challenge, "challenge")
    _binding_value(domain, "domain")
    moment = utc_now(now)
    if not isinstance(resolver, CachingResolver):  # a caching one (a Verifier's) is kept:
        resolver = CachingResolver(resolver or DidResolver())  # its parsed keys are reused
    loader = document_loader or documents.default_loader()
    kind, document = _read_presentation(vp)
    if kind == "di":
        evidence = _check_di_holder(document, challenge, domain, resolver, loader, moment)
    else:
        evidence = _check_jwt_holder(document, challenge, domain, resolver, moment)
    items = _credential_items(evidence.presentation)
    checks = evidence.checks
    if not all_hold(checks):
        checks.append(skipped("credentials", "not checked: the presentation itself does not hold"))
        return PresentationResult(False, kind, evidence.holder, tuple(checks),
                                  verification_method=evidence.verification_method)
    results = tuple(
        _verify_readable(item, challenge=challenge, domain=domain, resolver=resolver,
                         loader=loader, now=moment)
        for item in items
    )
    checks.append(_holder_binding(results, evidence.holder, evidence.holder_key))
    return PresentationResult(
        verified=all_hold(checks) and all(r.verified for r in results),
        format=kind,
        holder=evidence.holder,
        checks=tuple(checks),
        credentials=results,
        verification_method=evidence.verification_method,
    )


def _read_presentation(vp: dict[str, Any] | str | bytes) -> tuple[str, Any]:
    """``("di", document)`` or ``("jwt", token)`` (a :class:`jose.ReadJws`, header and
    payload read once); MalformedDocumentError for anything else."""
    from . import jose

    if isinstance(vp, dict):
        _check_shape(vp)
        return "di", vp
    if isinstance(vp, bytes):
        try:
            vp = vp.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedDocumentError("a presentation is JSON or a vp+jwt token") from None
    if not isinstance(vp, str):
        raise MalformedDocumentError("a presentation is JSON or a vp+jwt token")
    text = vp.strip().lstrip("\ufeff")
    if text.startswith("{"):
        document = _json.loads(text)
        if not isinstance(document, dict):
            raise MalformedDocumentError("a presentation must be a JSON object")
        _check_shape(document, parsed_strictly=True)
        return "di", document
    if text.count(".") != 2 or "~" in text:
        raise MalformedDocumentError("input is neither a JSON presentation nor a vp+jwt token")
    token = jose.ReadJws(text)
    typ = token.header().get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != VP_JWT_TYP:
        raise MalformedDocumentError(f"token typ {typ!r} is not {VP_JWT_TYP!r}")
    _check_shape(token.payload(), parsed_strictly=True)
    return "jwt", token


def is_presentation(data: dict[str, Any] | str | bytes) -> bool:
    """True when ``data`` reads as a presentation (JSON of type VerifiablePresentation, or
    a token whose header says ``vp+jwt``), without verifying anything."""
    try:
        _read_presentation(data)
    except (MalformedDocumentError, TypeError):
        return False
    return True


def _check_shape(document: dict[str, Any], *, parsed_strictly: bool = False) -> None:
    """``parsed_strictly``: ``document`` comes straight from :func:`_json.loads`, which
    refuses what the strict-JSON walk refuses."""
    if not parsed_strictly:
        _json.check_value(document)
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        raise MalformedDocumentError(f"a presentation's first @context must be {VC_V2_CONTEXT}")
    if VP_TYPE not in types_of(document):
        raise MalformedDocumentError("type must include VerifiablePresentation")
    holder = document.get("holder")
    if isinstance(holder, dict):
        holder = holder.get("id")
    if not isinstance(holder, str) or not holder:
        raise MalformedDocumentError("a presentation must name its holder (a DID)")
    _credential_items(document)


def _holder_id(document: dict[str, Any]) -> str:
    holder = document["holder"]
    return holder["id"] if isinstance(holder, dict) else holder


def _credential_items(document: dict[str, Any]) -> list[dict[str, Any]]:
    value = document.get("verifiableCredential", [])
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) for item in items):
        raise MalformedDocumentError("verifiableCredential must hold JSON objects")
    return items


def _same(stated: Any, expected: str) -> bool:
    """Constant-time comparison, so timing tells an attacker nothing about the expected value."""
    if not isinstance(stated, str):
        return False
    return hmac.compare_digest(stated.encode("utf-8"), expected.encode("utf-8"))


def _binding_checks(stated_challenge: Any, stated_domain: Any, challenge: str,
                    domain: str, where: str) -> list[Check]:
    checks = []
    if _same(stated_challenge, challenge):
        checks.append(passed("challenge", f"the {where} answers this challenge"))
    else:
        checks.append(failed("challenge", f"the {where} was made for another challenge "
                                          "(a replay, or for another request)"))
    domains = stated_domain if isinstance(stated_domain, list) else [stated_domain]
    if any(_same(d, domain) for d in domains):
        checks.append(passed("domain", f"the {where} is addressed to {domain}"))
    else:
        shown = ", ".join(str(d) for d in domains)[:200]
        checks.append(failed("domain", f"the {where} is addressed to {shown}, not to {domain}"))
    return checks


def _method_key(resolver: Any, method_id: str) -> PublicKey | None:
    try:
        key: PublicKey = resolver.verification_method(method_id, "authentication").public_key()
    except VcwalletError:
        return None
    return key


def _check_di_holder(document: dict[str, Any], challenge: str, domain: str, resolver: Any,
                     loader: Any, now: datetime) -> _HolderEvidence:
    from . import proofs

    holder = _holder_id(document)
    proof = document.get("proof")
    stated = proof if isinstance(proof, dict) else {}
    evidence = _HolderEvidence(document, holder, [])
    try:
        # _check_shape walked the whole presentation as strict JSON already
        found = proofs.verify_proof(document, resolver=resolver, expected_purpose="authentication",
                                    loader=loader, now=now, check_json=False)
    except (VerificationError, MalformedDocumentError, ResolutionError) as exc:
        evidence.checks.append(failed("holder_proof", str(exc) or "the holder's proof does not verify"))
    else:
        evidence.verification_method = found.verification_method
        if found.controller != holder:
            evidence.checks.append(failed(
                "holder_proof", f"key {found.verification_method} is controlled by "
                                f"{found.controller}, not by the holder {holder}"))
        else:
            evidence.holder_key = _method_key(resolver, found.verification_method)
            evidence.checks.append(passed(
                "holder_proof", f"{found.cryptosuite} proof by {found.verification_method}, "
                                "an authentication key of the holder"))
    evidence.checks.extend(_binding_checks(stated.get("challenge"), stated.get("domain"),
                                           challenge, domain, "proof"))
    return evidence


def _check_jwt_holder(token: jose.ReadJws, challenge: str, domain: str, resolver: Any,
                      now: datetime) -> _HolderEvidence:
    from . import jose

    claims = token.payload()  # trusted only once the signature holds
    holder = _holder_id(claims)
    evidence = _HolderEvidence(claims, holder, [])
    kid = token.header().get("kid")
    try:
        did = jose.kid_did(kid)
        method, key = jose.lookup_key(resolver, str(kid), "authentication")
        header, claims = jose.verify_jws(token, key, expected_typ=VP_JWT_TYP, allowed_algs=_VP_ALGS)
        _check_times(claims, now)
    except (VerificationError, MalformedDocumentError, ResolutionError) as exc:
        evidence.checks.append(failed("holder_proof", str(exc) or "the vp+jwt does not verify"))
    else:
        evidence.presentation = claims
        evidence.verification_method = str(kid)
        if did != holder or method.controller != holder:
            evidence.checks.append(failed(
                "holder_proof", f"key {kid} is controlled by {method.controller}, "
                                f"not by the holder {holder}"))
        else:
            evidence.holder_key = _method_key(resolver, str(kid))
            evidence.checks.append(passed(
                "holder_proof", f"{header.get('alg')} vp+jwt signed by {kid}, "
                                "an authentication key of the holder"))
    evidence.checks.extend(_binding_checks(claims.get("nonce"), claims.get("aud"),
                                           challenge, domain, "vp+jwt"))
    return evidence


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    moment = now.timestamp()
    skew = CLOCK_SKEW.total_seconds()
    for name in ("iat", "exp", "nbf"):
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise MalformedDocumentError(f"vp+jwt claim {name!r} must be a number")
    if "exp" in claims and claims["exp"] <= moment - skew:
        raise Expired(f"the vp+jwt expired at {claims['exp']} (now {int(moment)})")
    for name in ("iat", "nbf"):
        if name in claims and claims[name] > moment + skew:
            raise NotYetValid(f"the vp+jwt {name} {claims[name]} lies in the future "
                              f"(now {int(moment)})")


def _verify_readable(item: dict[str, Any], **options: Any) -> CredentialResult:
    """A credential the holder signed but nobody can read is a failed credential, reported
    beside the others, not an exception that hides them."""
    try:
        return _verify_item(item, **options)
    except MalformedDocumentError as exc:
        return CredentialResult(False, "unreadable", (failed("format", str(exc)),))


def _verify_item(item: dict[str, Any], *, challenge: str, domain: str, resolver: Any,
                 loader: Any, now: datetime) -> CredentialResult:
    from .credentials import _verify_credential, verify_credential

    if ENVELOPED_TYPE not in types_of(item):
        # the item is part of a presentation walked as strict JSON already: by
        # _check_shape, or parsed strictly from the verified vp+jwt
        return _verify_credential(item, resolver=resolver, document_loader=loader, now=now,
                                  json_checked=True)
    kind, data = open_envelope(item)
    if kind == "sd-jwt":
        assert isinstance(data, str)
        return _verify_sd_jwt(data, challenge=challenge, domain=domain, resolver=resolver, now=now)
    return verify_credential(data, resolver=resolver, document_loader=loader, now=now)


def _verify_sd_jwt(token: str, *, challenge: str, domain: str, resolver: Any,
                   now: datetime) -> CredentialResult:
    """The whole presentation of the SD-JWT in one pass; only when that fails, the issuer's
    part alone (the token without its KB-JWT), so the failure lands on its own check."""
    from . import sdjwt

    issued, _, kb_jwt = token.rpartition("~")
    checks: list[Check] = []
    claims: dict[str, Any] | None = None
    method: str | None = None
    binding: Check | None = None
    base: Any = None
    problem = _NO_KEY_BINDING
    if kb_jwt:
        try:
            base = sdjwt.verify_sd_jwt(token, resolver=resolver, nonce=challenge,
                                       audience=domain, now=now)
            binding = passed("key_binding", "KB-JWT signed by the cnf key for this challenge "
                                            "and domain, covering exactly what was presented")
        except (VerificationError, MalformedDocumentError, ResolutionError) as exc:
            problem = str(exc)
    if binding is None:
        try:
            base = sdjwt.verify_sd_jwt(issued + "~", resolver=resolver, nonce=None,
                                       audience=None, now=now, require_key_binding=False)
        except DisclosureError as exc:
            checks.append(failed("disclosures", str(exc)))
        except (NotYetValid, Expired) as exc:
            checks.append(failed("validity_period", str(exc)))
        except (VerificationError, MalformedDocumentError, ResolutionError) as exc:
            checks.append(failed("signature", str(exc) or "the SD-JWT does not verify"))
        else:  # the issuer's part holds, so what failed is the key binding
            binding = failed("key_binding", problem)
    if binding is not None:
        claims, method = base.claims, getattr(base.verification_method, "id", None)
        checks.append(passed("signature", f"{base.header.get('alg')} SD-JWT signed by {method}, "
                                          f"an assertionMethod of {claims.get('iss')}"))
        checks.append(passed("disclosures", f"{len(base.disclosed)} disclosure(s), each "
                                            "referenced once by a signed digest"))
        checks.append(passed("validity_period", "within nbf / exp"))
        checks.append(binding)
        checks.append(skipped("status", "status present but no status checker was given")
                      if "status" in claims else skipped("status", "the SD-JWT names no status"))
    else:
        checks.append(skipped("key_binding", "not checked: the SD-JWT itself does not verify",
                              required=True))
        claims = _unverified_sd_claims(token)
    vct = claims.get("vct") if claims else None
    return CredentialResult(
        verified=all_hold(checks), format="sd-jwt", checks=tuple(checks), credential=claims,
        issuer=claims.get("iss") if claims and isinstance(claims.get("iss"), str) else None,
        types=(vct,) if isinstance(vct, str) else (), summary=_sd_summary(claims),
        verification_method=method,
    )


def _unverified_sd_claims(token: str) -> dict[str, Any] | None:
    from . import sdjwt

    try:
        return sdjwt.unverified_claims(token)
    except (VcwalletError, ValueError, TypeError):  # only used to show what it claimed
        return None


def _sd_summary(claims: dict[str, Any] | None) -> str | None:
    if not claims:
        return None
    subject = claims.get("credentialSubject")
    name = subject.get("name") if isinstance(subject, dict) else claims.get("name")
    vct = claims.get("vct")
    title = vct.rstrip("/").rsplit("/", 1)[-1] if isinstance(vct, str) else "SD-JWT VC"
    return f"{title}: {name}" if isinstance(name, str) else title


def _holder_binding(results: tuple[CredentialResult, ...], holder: str | None,
                    holder_key: PublicKey | None) -> Check:
    if not results:
        return passed("holder_binding", "the presentation carries no credentials")
    problems = []
    for index, result in enumerate(results):
        problem = _binding_problem(result, holder, holder_key)
        if problem:
            problems.append(f"credential[{index}] ({result.summary or result.format}) {problem}")
    if problems:
        return failed("holder_binding", "; ".join(problems))
    return passed("holder_binding", f"{holder} is the subject of every credential")


def _binding_problem(result: CredentialResult, holder: str | None,
                     holder_key: PublicKey | None) -> str | None:
    claims = result.credential or {}
    if result.format == "sd-jwt":
        cnf = claims.get("cnf")
        jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
        if not isinstance(jwk, dict):
            return "names no holder key (cnf)"
        try:
            bound = PublicKey.from_jwk(dict(jwk))
        except (VcwalletError, ValueError, TypeError):
            return "has an unreadable cnf key"
        if holder_key is None or bound != holder_key:
            return "is bound to another key than the holder's"
        return None
    subjects = claims.get("credentialSubject")
    entries = subjects if isinstance(subjects, list) else [subjects]
    ids = [s.get("id") for s in entries if isinstance(s, dict)]
    if holder is not None and holder in ids:
        return None
    named = ", ".join(str(i) for i in ids if i) or "no subject id"
    return f"is about {named}, not the holder {holder}"


# --------------------------------------------------------------------------------------
# answering a request from a wallet
# --------------------------------------------------------------------------------------
class _HolderWallet(Protocol):
    """What :func:`present_from_wallet` needs of a wallet (``vcwallet.wallet.Wallet`` fits)."""

    @property
    def holder(self) -> KeyPair: ...

    @property
    def holder_did(self) -> str: ...

    def request_index(self) -> Any: ...

    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class Presentation:
    """A presentation answering a request, with how its credentials answer it.

    ``presentation`` is the JSON document (``format="di"``) or the vp+jwt token.
    ``presentation_submission`` answers a Presentation Exchange request;
    ``credential_map`` answers a DCQL query (credential query id -> JSONPaths of the
    presentation's credentials that answer it). ``credential_keys`` are the wallet keys of
    the credentials, in ``verifiableCredential`` order.
    """

    presentation: dict[str, Any] | str
    format: str
    credential_keys: tuple[str, ...]
    presentation_submission: dict[str, Any] | None = None
    credential_map: dict[str, list[str]] | None = None

    def to_bytes(self) -> bytes:
        """What a file holding the presentation contains (JSON, or the token and a newline)."""
        if isinstance(self.presentation, str):
            return (self.presentation + "\n").encode("ascii")
        return (_json.dumps(self.presentation, pretty=True) + "\n").encode("utf-8")

    def response(self) -> dict[str, Any]:
        """The answer as a verifier's endpoint takes it: the presentation and the submission
        (PE) or the query-id mapping (DCQL)."""
        answer: dict[str, Any] = {"vp_token": self.presentation}
        if self.presentation_submission is not None:
            answer["presentation_submission"] = self.presentation_submission
        if self.credential_map is not None:
            answer["credential_map"] = self.credential_map
        return answer


def present_from_wallet(
    wallet: _HolderWallet,
    request: Any,
    *,
    challenge: str,
    domain: str,
    format: str = "di",
    now: datetime | None = None,
    document_loader: Any = None,
) -> Presentation:
    """Answer ``request`` (PE definition or DCQL query) with a presentation from ``wallet``.

    Picks credentials with :func:`vcwallet.queries.select` over the wallet's request index;
    SD-JWT credentials keep only the disclosures the request needs and get a key-binding
    JWT for ``challenge`` / ``domain``. Raises :class:`~vcwallet.errors.UnmetRequirement`
    naming a requirement no held credential meets, :class:`MalformedDocumentError` for a
    bad request, :class:`WalletError` for a credential the holder cannot key-bind.
    """
    from .queries import parse_request, select

    if format not in PRESENTATION_FORMATS:
        raise ValueError(f"unknown presentation format {format!r}; use 'di' or 'jwt'")
    _binding_value(challenge, "challenge")
    _binding_value(domain, "domain")
    moment = utc_now(now)
    selection = select(parse_request(request), wallet.request_index())
    secured = [
        _held_form(wallet, key, selection.disclose_for(key), challenge, domain, moment)
        for key in selection.keys
    ]
    vp = create_presentation(secured, holder=wallet.holder, holder_did=wallet.holder_did,
                             challenge=challenge, domain=domain, format=format, now=moment,
                             document_loader=document_loader)
    if selection.kind == "presentation_exchange":
        submission = selection.submission(vp_format=_PE_VP_FORMATS[format])
        return Presentation(vp, format, selection.keys, presentation_submission=submission)
    position = {key: i for i, key in enumerate(selection.keys)}
    mapping: dict[str, list[str]] = {}
    for match in selection.matches:
        mapping.setdefault(match.query_id, []).append(
            f"$.verifiableCredential[{position[match.key]}]")
    return Presentation(vp, format, selection.keys, credential_map=mapping)


def _held_form(wallet: _HolderWallet, key: str, disclose: Sequence[Any], challenge: str,
               domain: str, now: datetime) -> SecuredForm:
    from . import sdjwt

    stored = wallet.get(key)
    if stored.format == "di":
        document = _json.loads(stored.raw)
        assert isinstance(document, dict)
        return document
    if stored.format != "sd-jwt":
        raw: str | bytes = stored.raw
        return raw
    try:
        shown: str = sdjwt.present_sd_jwt(stored.raw, disclose=disclose, holder=wallet.holder,
                                          nonce=challenge, audience=domain, now=now)
    except ValueError as exc:
        raise WalletError(f"credential {key}: cannot present it bound to this holder: "
                          f"{exc}") from None
    return shown
