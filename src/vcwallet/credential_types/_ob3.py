"""Open Badges 3.0 pieces shared by the badge and diploma types (AchievementSubject shaping)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import (
    BuildParts,
    Shaped,
    day,
    recipient_name,
    stable_id,
    subject_of,
    type_list,
    with_type,
)

# Subject members that OB3 places on the credential, not on the AchievementSubject.
_CREDENTIAL_LEVEL = ("awardedDate",)


def achievement_node(achievement: Mapping[str, Any], parts: BuildParts) -> dict[str, Any]:
    """An OB3 Achievement with ``id`` and ``type`` filled in (the id stable per issuer + name)."""
    node = with_type(dict(achievement), "Achievement")
    if "id" not in node:
        node["id"] = stable_id(parts.issuer_id, "achievement", str(node["name"]))
    if isinstance(node.get("creator"), Mapping):
        node["creator"] = with_type(dict(node["creator"]), "Profile")
    # id and type first: easier to read, and what the OB3 examples do
    return {"id": node.pop("id"), "type": node.pop("type"), **node}


def shape_achievement_subject(subject: dict[str, Any], parts: BuildParts) -> Shaped:
    """Turn a validated subject into an OB3 AchievementSubject plus credential members."""
    rest = {k: v for k, v in subject.items() if k not in ("id", "type", *_CREDENTIAL_LEVEL)}
    credential_subject: dict[str, Any] = {}
    if parts.holder:
        credential_subject["id"] = parts.holder
    credential_subject["type"] = type_list(subject.get("type"), "AchievementSubject")
    rest["achievement"] = achievement_node(subject["achievement"], parts)
    credential_subject.update(rest)
    top: dict[str, Any] = {"name": rest["achievement"]["name"]}
    for key in _CREDENTIAL_LEVEL:
        if key in subject:
            top[key] = subject[key]
    return Shaped(credential_subject, top)


def describe_parts(credential: Mapping[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """(achievement name, recipient, date awarded, subject) read from an OB3 credential."""
    subject = subject_of(credential)
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    title = str(achievement.get("name") or credential.get("name") or "?")
    recipient = recipient_name(subject) or str(subject.get("id") or "?")
    when = day(credential.get("awardedDate") or credential.get("validFrom"))
    return title, recipient, when, dict(achievement)
