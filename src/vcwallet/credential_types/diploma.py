"""The diploma: an Open Badges 3.0 achievement credential for a degree or diploma.

The achievement's ``achievementType`` is a degree or diploma (``BachelorDegree``,
``MasterDegree``, ``Diploma``, ...) with its ``fieldOfStudy``; the awarding institution is the
achievement's ``creator`` Profile (default: the issuer); ``awardedDate`` (required here) is
placed at credential level as in OB3; ``honours`` is vcwallet's term (OB3 has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import (
    OB3_CONTEXT,
    SCHEMA_BASE,
    VC2_CONTEXT,
    VCWALLET_CONTEXT,
    CredentialType,
    issuer_label,
    subject_of,
)
from ._ob3 import describe_parts, shape_achievement_subject


def describe(credential: dict[str, Any], lang: str) -> str:
    """``<degree>, <institution>, awarded <date> to <graduate>[ (<honours>)]`` (or Korean)."""
    title, recipient, when, achievement = describe_parts(credential)
    creator = achievement.get("creator")
    institution = (
        str(creator["name"])
        if isinstance(creator, Mapping) and creator.get("name")
        else issuer_label(credential)
    )
    honours = subject_of(credential).get("honours")
    suffix = f" ({honours})" if isinstance(honours, str) and honours else ""
    if lang == "ko":
        return f"{title}, {institution}, {when} {recipient}에게 수여{suffix}"
    return f"{title}, {institution}, awarded {when} to {recipient}{suffix}"


DIPLOMA = CredentialType(
    name="diploma",
    vc_types=("VerifiableCredential", "OpenBadgeCredential"),
    contexts=(VC2_CONTEXT, OB3_CONTEXT, VCWALLET_CONTEXT),
    schema_id=SCHEMA_BASE + "diploma-v1.json",
    schema_file="diploma-v1.json",
    shape=shape_achievement_subject,
    describe=describe,
    issuer_profile=True,
)
