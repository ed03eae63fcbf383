"""The diploma: an Open Badges 3.0 achievement credential for a degree or diploma.

The achievement's ``achievementType`` is a degree or diploma (``BachelorDegree``,
``MasterDegree``, ``Diploma``, ...) with its ``fieldOfStudy``; the awarding institution is the
achievement's ``creator`` Profile (default: the issuer); ``awardedDate`` (required here) is
placed at credential level as in OB3. OB3 has no honours member, and its AchievementSubject
admits no extra members, so ``honours`` in the subject becomes an OB3 ``Result`` against the
degree's ``ResultDescription`` named "Honours" (which every vcwallet degree carries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import (
    OB3_CONTEXT,
    SCHEMA_BASE,
    VC2_CONTEXT,
    BuildParts,
    CredentialType,
    Shaped,
    as_list,
    issuer_label,
    stable_id,
    subject_of,
)
from ._ob3 import describe_parts, shape_achievement_subject

HONOURS = "Honours"


def shape(subject: dict[str, Any], parts: BuildParts) -> Shaped:
    """OB3 AchievementSubject for the degree; ``honours`` becomes a Result (module docstring)."""
    honours = subject.get("honours")
    shaped = shape_achievement_subject({k: v for k, v in subject.items() if k != "honours"}, parts)
    achievement = shaped.credential_subject["achievement"]
    descriptions = as_list(achievement.get("resultDescription"))
    found = [d for d in descriptions if d.get("name") == HONOURS]
    if found:
        honours_id = found[0]["id"]
    else:
        honours_id = stable_id(achievement["id"], "honours")
        descriptions.append(
            {
                "id": honours_id,
                "type": ["ResultDescription"],
                "name": HONOURS,
                "resultType": "Result",
            }
        )
        achievement["resultDescription"] = descriptions
    if honours:
        results = as_list(shaped.credential_subject.get("result"))
        results.append({"type": ["Result"], "resultDescription": honours_id, "value": honours})
        shaped.credential_subject["result"] = results
    return shaped


def honours_of(credential: Mapping[str, Any]) -> str | None:
    """The honours a diploma records (the Result against the "Honours" description)."""
    subject = subject_of(credential)
    achievement = subject.get("achievement")
    if not isinstance(achievement, Mapping):
        return None
    ids = {
        d.get("id")
        for d in as_list(achievement.get("resultDescription"))
        if isinstance(d, Mapping) and d.get("name") == HONOURS
    }
    for result in as_list(subject.get("result")):
        if isinstance(result, Mapping) and result.get("resultDescription") in ids:
            value = result.get("value")
            return value if isinstance(value, str) else None
    return None


def describe(credential: dict[str, Any], lang: str) -> str:
    """``<degree>, <institution>, awarded <date> to <graduate>[ (<honours>)]`` (or Korean)."""
    title, recipient, when, achievement = describe_parts(credential)
    creator = achievement.get("creator")
    institution = (
        str(creator["name"])
        if isinstance(creator, Mapping) and creator.get("name")
        else issuer_label(credential)
    )
    honours = honours_of(credential)
    suffix = f" ({honours})" if honours else ""
    if lang == "ko":
        return f"{title}, {institution}, {when} {recipient}에게 수여{suffix}"
    return f"{title}, {institution}, awarded {when} to {recipient}{suffix}"


DIPLOMA = CredentialType(
    name="diploma",
    vc_types=("VerifiableCredential", "OpenBadgeCredential"),
    contexts=(VC2_CONTEXT, OB3_CONTEXT),
    schema_id=SCHEMA_BASE + "diploma-v1.json",
    schema_file="diploma-v1.json",
    shape=shape,
    describe=describe,
    issuer_profile=True,
)
