"""The transcript: a 1EdTech CLR 2.0 ``ClrCredential``.

The user supplies a transcript record (``programme``, ``courses`` with ``humanCode``,
``name``, ``term``, ``creditsAvailable``, ``grade``, an optional total ``creditsEarned`` and
the ``gpa`` with its scale). The builder writes it the way CLR 2.0 wallets read it: the
``ClrSubject`` lists the programme and each course as an OB3 ``Achievement``, links them with
``isParentOf`` associations, and carries one embedded ``AchievementCredential`` per
achievement holding the learner's ``Result`` (grade or GPA), ``creditsEarned`` and ``term``.
The embedded credentials carry no proof of their own: the transcript's proof covers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import (
    CLR2_CONTEXT,
    OB3_CONTEXT,
    SCHEMA_BASE,
    VC2_CONTEXT,
    BuildParts,
    CredentialType,
    Shaped,
    as_list,
    fail,
    issuer_label,
    recipient_name,
    stable_id,
    subject_of,
)

FAILING_GRADES = frozenset({"F", "NP"})


def _number(value: float) -> str:
    """A number as OB3 result text: ``4`` not ``4.0``, ``4.12`` as given."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def check_record(subject: dict[str, Any]) -> None:
    """What the schema cannot say: GPA within its scale, each course listed once per term."""
    gpa = subject["gpa"]
    if gpa["value"] > gpa["valueMax"]:
        raise fail(
            "$.gpa.value", f"GPA {gpa['value']} is above its scale maximum {gpa['valueMax']}"
        )
    seen: set[tuple[str, str]] = set()
    for index, course in enumerate(subject["courses"]):
        key = (course["humanCode"], course["term"])
        if key in seen:
            raise fail(f"$.courses[{index}]", f"course {key[0]} appears twice in term {key[1]}")
        seen.add(key)


def _recipient(subject: dict[str, Any], parts: BuildParts) -> dict[str, Any]:
    """How each AchievementSubject names the learner: the holder DID and/or identifiers."""
    who: dict[str, Any] = {}
    if parts.holder:
        who["id"] = parts.holder
    if "identifier" in subject:
        who["identifier"] = subject["identifier"]
    return who


def _programme(subject: dict[str, Any], parts: BuildParts) -> tuple[dict[str, Any], str]:
    prog = subject["programme"]
    prog_id = prog.get("id") or stable_id(parts.issuer_id, "programme", prog["name"])
    gpa_rd = stable_id(prog_id, "gpa")
    node: dict[str, Any] = {
        "id": prog_id,
        "type": ["Achievement"],
        "achievementType": prog["achievementType"],
        "name": prog["name"],
        "description": prog.get("description", prog["name"]),
        "criteria": {"narrative": prog.get("description", prog["name"])},
        "fieldOfStudy": prog["fieldOfStudy"],
    }
    for key in ("humanCode", "creditsAvailable"):
        if key in prog:
            node[key] = prog[key]
    node["resultDescription"] = [
        {
            "id": gpa_rd,
            "type": ["ResultDescription"],
            "name": "GPA",
            "resultType": "GradePointAverage",
            "valueMin": "0",
            "valueMax": _number(subject["gpa"]["valueMax"]),
        }
    ]
    return node, gpa_rd


def _course(course: dict[str, Any], parts: BuildParts) -> tuple[dict[str, Any], str]:
    course_id = course.get("id") or stable_id(parts.issuer_id, "course", course["humanCode"])
    grade_rd = stable_id(course_id, "grade")
    node = {
        "id": course_id,
        "type": ["Achievement"],
        "achievementType": "Course",
        "name": course["name"],
        "description": course.get("description", course["name"]),
        "criteria": {"narrative": f"{course['humanCode']} {course['name']}"},
        "humanCode": course["humanCode"],
        "creditsAvailable": course["creditsAvailable"],
        "resultDescription": [
            {
                "id": grade_rd,
                "type": ["ResultDescription"],
                "name": "Grade",
                "resultType": "LetterGrade",
            }
        ],
    }
    return node, grade_rd


def _embedded(
    parts: BuildParts, cred_id: str, achievement: dict[str, Any], who: dict[str, Any], **claims: Any
) -> dict[str, Any]:
    """One AchievementCredential inside the CLR (no proof: the CLR's proof covers it)."""
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        "id": cred_id,
        "type": ["VerifiableCredential", "AchievementCredential"],
        "issuer": parts.issuer,
        "validFrom": parts.valid_from,
        "name": achievement["name"],
        "credentialSubject": {
            **who,
            "type": ["AchievementSubject"],
            "achievement": achievement,
            **claims,
        },
    }


def shape(subject: dict[str, Any], parts: BuildParts) -> Shaped:
    """Write the transcript record as a CLR 2.0 ClrSubject (see module docstring)."""
    who = _recipient(subject, parts)
    programme, gpa_rd = _programme(subject, parts)
    earned_total = subject.get("creditsEarned")
    if earned_total is None:
        earned_total = sum(
            c["creditsAvailable"] for c in subject["courses"] if c["grade"] not in FAILING_GRADES
        )
    achievements = [programme]
    credentials = [
        _embedded(
            parts,
            stable_id(parts.credential_id, "programme"),
            programme,
            who,
            creditsEarned=earned_total,
            result=[
                {
                    "type": ["Result"],
                    "resultDescription": gpa_rd,
                    "value": _number(subject["gpa"]["value"]),
                }
            ],
        )
    ]
    associations = []
    listed = {programme["id"]}
    for course in subject["courses"]:
        node, grade_rd = _course(course, parts)
        new = node["id"] not in listed
        listed.add(node["id"])
        earned = 0 if course["grade"] in FAILING_GRADES else course["creditsAvailable"]
        credentials.append(
            _embedded(
                parts,
                stable_id(parts.credential_id, "course", course["humanCode"], course["term"]),
                node,
                who,
                creditsEarned=earned,
                term=course["term"],
                result=[
                    {"type": ["Result"], "resultDescription": grade_rd, "value": course["grade"]}
                ],
            )
        )
        if new:  # a retaken course is one achievement with two results
            achievements.append(node)
            associations.append(
                {
                    "type": "Association",
                    "associationType": "isParentOf",
                    "sourceId": programme["id"],
                    "targetId": node["id"],
                }
            )
    clr_subject: dict[str, Any] = {}
    if parts.holder:
        clr_subject["id"] = parts.holder
    clr_subject["type"] = ["ClrSubject"]
    if "identifier" in subject:
        clr_subject["identifier"] = subject["identifier"]
    clr_subject["achievement"] = achievements
    clr_subject["verifiableCredential"] = credentials
    clr_subject["association"] = associations
    return Shaped(clr_subject, {"name": f"Transcript: {programme['name']}"})


def _programme_record(subject: Mapping[str, Any]) -> dict[str, Any]:
    for embedded in as_list(subject.get("verifiableCredential")):
        inner = subject_of(embedded) if isinstance(embedded, Mapping) else {}
        achievement = inner.get("achievement")
        if isinstance(achievement, Mapping) and achievement.get("achievementType") != "Course":
            return inner
    return {}


def describe(credential: dict[str, Any], lang: str) -> str:
    """``Transcript of <learner>: <programme>, <institution>, <n> courses, <c> credits, GPA x/y``."""
    subject = subject_of(credential)
    record = _programme_record(subject)
    found = record.get("achievement")
    achievement: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    programme = str(achievement.get("name") or "?")
    courses = sum(
        1
        for a in as_list(subject.get("achievement"))
        if isinstance(a, Mapping) and a.get("achievementType") == "Course"
    )
    results = [r for r in as_list(record.get("result")) if isinstance(r, Mapping)]
    gpa = str(results[0].get("value")) if results else "?"
    scales = [d for d in as_list(achievement.get("resultDescription")) if isinstance(d, Mapping)]
    scale = str(scales[0].get("valueMax")) if scales else "?"
    credits = record.get("creditsEarned", "?")
    credits_text = _number(credits) if isinstance(credits, int | float) else str(credits)
    learner = recipient_name(subject) or str(subject.get("id") or "?")
    institution = issuer_label(credential)
    if lang == "ko":
        return (
            f"{learner} 성적증명서: {programme}, {institution}, "
            f"{courses}과목 {credits_text}학점, 평점 {gpa}/{scale}"
        )
    return (
        f"Transcript of {learner}: {programme}, {institution}, "
        f"{courses} courses, {credits_text} credits, GPA {gpa}/{scale}"
    )


TRANSCRIPT = CredentialType(
    name="transcript",
    vc_types=("VerifiableCredential", "ClrCredential"),
    contexts=(VC2_CONTEXT, CLR2_CONTEXT, OB3_CONTEXT),
    schema_id=SCHEMA_BASE + "transcript-v1.json",
    schema_file="transcript-v1.json",
    shape=shape,
    describe=describe,
    issuer_profile=True,
    extra_check=check_record,
)
