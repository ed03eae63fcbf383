"""The SW-training badge: an Open Badges 3.0 ``OpenBadgeCredential``.

The subject is an OB3 ``AchievementSubject`` (``achievement`` with ``name``, ``description``,
``criteria``; the recipient as ``id`` (holder DID) and/or ``identifier`` entries); an
optional ``awardedDate`` in the subject is placed at credential level, where OB3 defines it.
The issuer is an OB3 ``Profile``.
"""

from __future__ import annotations

from typing import Any

from ._base import OB3_CONTEXT, SCHEMA_BASE, VC2_CONTEXT, CredentialType, issuer_label
from ._ob3 import describe_parts, shape_achievement_subject


def describe(credential: dict[str, Any], lang: str) -> str:
    """``<achievement> badge, <issuer>, awarded <date> to <recipient>`` (or in Korean)."""
    title, recipient, when, _ = describe_parts(credential)
    issuer = issuer_label(credential)
    if lang == "ko":
        return f"{title} 배지, {issuer}, {when} {recipient}에게 수여"
    return f"{title} badge, {issuer}, awarded {when} to {recipient}"


BADGE = CredentialType(
    name="badge",
    vc_types=("VerifiableCredential", "OpenBadgeCredential"),
    contexts=(VC2_CONTEXT, OB3_CONTEXT),
    schema_id=SCHEMA_BASE + "badge-v1.json",
    schema_file="badge-v1.json",
    shape=shape_achievement_subject,
    describe=describe,
    issuer_profile=True,
)
