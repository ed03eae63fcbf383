"""The four credential types vcwallet issues: diploma, transcript, badge and battery.

Each type is a :class:`CredentialType` value: its VC types, JSON-LD contexts (VC 2.0 first),
JSON Schema (2020-12, bundled in ``vcwallet/schemas``, referenced from ``credentialSchema``),
a builder for the UNSIGNED credential and a one-line summary. Signing happens elsewhere.

    >>> credential_type("diploma").build(subject, issuer=did, issuer_name="한국대학교")
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._base import CredentialType, as_list
from .badge import BADGE
from .battery import BATTERY, previous_report_link
from .diploma import DIPLOMA
from .transcript import TRANSCRIPT

CREDENTIAL_TYPES: Mapping[str, CredentialType] = MappingProxyType(
    {t.name: t for t in (DIPLOMA, TRANSCRIPT, BADGE, BATTERY)}
)


def credential_type(name: str) -> CredentialType:
    """The credential type called ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return CREDENTIAL_TYPES[name]
    except (KeyError, TypeError):
        valid = ", ".join(CREDENTIAL_TYPES)
        raise ValueError(f"unknown credential type {name!r}: valid types are {valid}") from None


def detect_type(credential: Mapping[str, Any]) -> CredentialType | None:
    """The type of ``credential`` judged by its ``type`` and ``credentialSchema``, else None.

    This only reads the document (no signature check): both members must match, so an
    OpenBadgeCredential from another issuer's schema is not taken for a vcwallet badge.
    """
    if not isinstance(credential, Mapping):
        return None
    types = {t for t in as_list(credential.get("type")) if isinstance(t, str)}
    schema_ids = {
        s.get("id") for s in as_list(credential.get("credentialSchema")) if isinstance(s, Mapping)
    }
    for candidate in CREDENTIAL_TYPES.values():
        if candidate.schema_id in schema_ids and set(candidate.vc_types) <= types:
            return candidate
    return None


__all__ = [
    "CREDENTIAL_TYPES",
    "CredentialType",
    "credential_type",
    "detect_type",
    "previous_report_link",
]
