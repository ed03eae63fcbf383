"""VCDM 2.0 shape checks and the frozen result objects verification returns.

A verification result lists every check with one of three outcomes. ``verified`` is true
only when every *required* check passed and no check failed; a check that could not run is
``skipped`` with its reason, never silently ``passed``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"

# XSD dateTime with a mandatory time zone (VCDM 2.0 requires one for validFrom/validUntil).
_DATETIME = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    """One verification step: its name, outcome and a sentence a person can read."""

    name: str
    status: Status
    reason: str
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status.value, "reason": self.reason,
                "required": self.required}


def passed(name: str, reason: str, *, required: bool = True) -> Check:
    return Check(name, Status.PASSED, reason, required)


def failed(name: str, reason: str, *, required: bool = True) -> Check:
    return Check(name, Status.FAILED, reason, required)


def skipped(name: str, reason: str, *, required: bool = False) -> Check:
    return Check(name, Status.SKIPPED, reason, required)


def all_hold(checks: tuple[Check, ...] | list[Check]) -> bool:
    """True when no check failed and every required check passed."""
    return bool(checks) and all(
        c.status is Status.PASSED if c.required else c.status is not Status.FAILED for c in checks
    )


def find_check(checks: tuple[Check, ...], name: str) -> Check:
    """The check called ``name`` (KeyError if there is none)."""
    for item in checks:
        if item.name == name:
            return item
    raise KeyError(name)


@dataclass(frozen=True)
class CredentialResult:
    """What :func:`vcwallet.credentials.verify_credential` found."""

    verified: bool
    format: str
    checks: tuple[Check, ...]
    credential: dict[str, Any] | None = None
    issuer: str | None = None
    types: tuple[str, ...] = ()
    summary: str | None = None
    verification_method: str | None = None
    # SHA-256 of the bytes the issuer's signature covers (Data Integrity: the canonical
    # credential without its proof; vc+jwt: the JWS signing input), the digest a ledger
    # leaf records; None unless the signature verified
    signed_digest: bytes | None = None

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is Status.FAILED)

    def check(self, name: str) -> Check:
        return find_check(self.checks, name)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "format": self.format,
            "issuer": self.issuer,
            "types": list(self.types),
            "summary": self.summary,
            "verificationMethod": self.verification_method,
            "checks": [c.to_json() for c in self.checks],
            "credential": self.credential,
        }


@dataclass(frozen=True)
class PresentationResult:
    """What :func:`vcwallet.presentations.verify_presentation` found.

    ``checks`` are the presentation's own (holder proof, challenge, domain, holder
    binding); ``credentials`` holds one :class:`CredentialResult` per embedded credential.
    ``verified`` is true only when every presentation check holds and every credential
    verified.
    """

    verified: bool
    format: str
    holder: str | None
    checks: tuple[Check, ...]
    credentials: tuple[CredentialResult, ...] = ()
    verification_method: str | None = None

    @property
    def failures(self) -> tuple[Check, ...]:
        """Failed checks of the presentation and of each credential (the latter prefixed)."""
        own = tuple(c for c in self.checks if c.status is Status.FAILED)
        inner = tuple(
            Check(f"credential[{i}].{c.name}", c.status, c.reason, c.required)
            for i, result in enumerate(self.credentials)
            for c in result.failures
        )
        return own + inner

    def check(self, name: str) -> Check:
        return find_check(self.checks, name)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "format": self.format,
            "holder": self.holder,
            "verificationMethod": self.verification_method,
            "checks": [c.to_json() for c in self.checks],
            "credentials": [c.to_json() for c in self.credentials],
        }


def issuer_id(credential: dict[str, Any]) -> str | None:
    """The issuer's identifier: ``issuer`` as a string, or ``issuer.id``."""
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return issuer["id"]
    return None


def types_of(document: dict[str, Any]) -> tuple[str, ...]:
    value = document.get("type", ())
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def parse_datetime(value: str) -> datetime:
    """Parse an XSD dateTime that carries a time zone; ValueError otherwise."""
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise ValueError(f"{value!r} is not an XSD dateTime with a time zone")
    return datetime.fromisoformat(value)  # the pattern allows "Z" only as the zone, read as UTC


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` if given (it must carry a time zone), else the current time in UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now


def format_datetime(moment: datetime) -> str:
    """UTC, second precision, ``Z`` suffix (the form we issue)."""
    if moment.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def shape_problems(credential: dict[str, Any]) -> list[str]:
    """VCDM 2.0 data model checks that need no cryptography. Empty list = well formed."""
    problems: list[str] = []
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        if isinstance(contexts, list) and contexts and contexts[0] == VC_V1_CONTEXT:
            problems.append("VC Data Model 1.1 credentials are not supported (first @context is v1)")
        else:
            problems.append(f"first @context must be {VC_V2_CONTEXT}")
    if "VerifiableCredential" not in types_of(credential):
        problems.append("type must include VerifiableCredential")
    if issuer_id(credential) is None:
        problems.append("issuer must be a URL or an object with an id")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, (dict, list)) or not subject:
        problems.append("credentialSubject is missing")
    for name in ("validFrom", "validUntil"):
        if name in credential:
            try:
                parse_datetime(credential[name])
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    if "id" in credential and not _looks_like_url(credential["id"]):
        problems.append("id must be a URL")
    return problems


def _looks_like_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value) is not None


def validity_check(credential: dict[str, Any], now: datetime) -> Check:
    """validFrom <= now <= validUntil."""
    try:
        start = parse_datetime(credential["validFrom"]) if "validFrom" in credential else None
        end = parse_datetime(credential["validUntil"]) if "validUntil" in credential else None
    except ValueError as exc:
        return failed("validity_period", str(exc))
    at = format_datetime(now)
    if start is not None and now < start:
        return failed("validity_period", f"not valid before {credential['validFrom']} (checked at {at})")
    if end is not None and now > end:
        return failed("validity_period", f"expired at {credential['validUntil']} (checked at {at})")
    if start is None and end is None:
        return passed("validity_period", "no validity period stated")
    return passed("validity_period", f"valid at {at}")
