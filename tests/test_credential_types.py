"""The four credential types: schemas, builders, JSON-LD soundness, summaries, detection."""

from __future__ import annotations

import copy
import json
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pyld import jsonld

from vcwallet import _json, documents, proofs
from vcwallet.credential_types import (
    CREDENTIAL_TYPES,
    credential_type,
    detect_type,
    previous_report_link,
)
from vcwallet.did import DidResolver, did_key_url
from vcwallet.errors import (
    InvalidSignature,
    MalformedDocumentError,
    SchemaValidationError,
    UndefinedTermError,
    UnknownContextError,
)
from vcwallet.keys import KeyPair, KeyType

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT / "examples"
NOW = datetime(2026, 3, 3, 1, 2, 3, 456789, tzinfo=UTC)
ISSUER = "did:web:www.hankook.ac.kr"
HOLDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
NAMES = ("diploma", "transcript", "badge", "battery")


# ---- JSON-LD: vcwallet.documents (offline, strict) plus our own "nothing dropped" check ------


def expand(document: dict[str, Any]) -> list[Any]:
    return documents.expand(copy.deepcopy(document))


def _input_keys(value: Any) -> int:
    """Members that must survive expansion: all but @-keywords, their aliases and @context."""
    if isinstance(value, dict):
        return sum(
            (0 if key.startswith("@") or key in ("id", "type") else 1) + _input_keys(item)
            for key, item in value.items()
            if key != "@context"
        )
    if isinstance(value, list):
        return sum(_input_keys(item) for item in value)
    return 0


def _expanded_keys(value: Any) -> int:
    if isinstance(value, dict):
        return sum(
            (0 if key.startswith("@") else 1) + _expanded_keys(item) for key, item in value.items()
        )
    if isinstance(value, list):
        return sum(_expanded_keys(item) for item in value)
    return 0


def _leaves(value: Any, *, skip: tuple[str, ...]) -> Counter[Any]:
    found: Counter[Any] = Counter()
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                found += _leaves(item, skip=skip)
    elif isinstance(value, list):
        for item in value:
            found += _leaves(item, skip=skip)
    else:
        found[json.dumps(value, ensure_ascii=False)] += 1
    return found


def _types_and_properties(value: Any) -> tuple[set[str], set[str]]:
    """Node types and property IRIs of an expanded document (datatypes are not checked:
    the published OB3 / CLR contexts themselves coerce to ``xsd:...`` without the prefix)."""
    types: set[str] = set()
    props: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@type" and "@value" not in value:
                types.update(item if isinstance(item, list) else [item])
            elif not key.startswith("@"):
                props.add(key)
            sub_types, sub_props = _types_and_properties(item)
            types |= sub_types
            props |= sub_props
    elif isinstance(value, list):
        for item in value:
            sub_types, sub_props = _types_and_properties(item)
            types |= sub_types
            props |= sub_props
    return types, props


def assert_fully_expands(document: dict[str, Any]) -> list[Any]:
    """Expansion keeps every member and every value, and every IRI it makes is absolute."""
    expanded = expand(document)
    assert _input_keys(document) == _expanded_keys(expanded), "expansion dropped a member"
    # every value we wrote (other than type names, which become IRIs) is still there
    wrote = _leaves(document, skip=("@context", "type"))
    kept = _leaves(expanded, skip=("@type",))
    missing = wrote - kept
    assert not missing, f"values lost in expansion: {missing}"
    types, props = _types_and_properties(expanded)
    for iri in types | props:
        assert iri.startswith(("https://", "http://")), f"not an absolute IRI: {iri}"
    return expanded


# ---- fixtures --------------------------------------------------------------------------


def example(name: str) -> dict[str, Any]:
    return _json.loads((EXAMPLES / f"{name}.json").read_bytes())


def build(name: str, subject: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "issuer": ISSUER,
        "issuer_name": "한국대학교",
        "holder": HOLDER,
        "now": NOW,
    }
    options.update(kwargs)
    return credential_type(name).build(example(name) if subject is None else subject, **options)


# ---- every example builds, validates, expands and canonicalises -------------------------


@pytest.mark.parametrize("name", NAMES)
def test_example_builds_a_valid_credential(name: str) -> None:
    kind = credential_type(name)
    credential = build(name)
    kind.validate_credential(credential)
    assert credential["@context"] == list(kind.contexts)
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["type"] == list(kind.vc_types)
    assert credential["credentialSchema"] == {"id": kind.schema_id, "type": "JsonSchema"}
    assert credential["credentialSubject"]["id"] == HOLDER
    assert credential["validFrom"] == "2026-03-03T01:02:03Z"
    assert credential["id"].startswith("urn:uuid:")
    assert "proof" not in credential


@pytest.mark.parametrize("name", NAMES)
def test_example_expands_without_dropping_anything(name: str) -> None:
    expanded = assert_fully_expands(build(name))
    top = expanded[0]
    schema = top["https://www.w3.org/2018/credentials#credentialSchema"][0]
    # credentialSchema and JsonSchema come from the VC 2.0 context itself
    assert schema["@id"] == credential_type(name).schema_id
    assert schema["@type"] == ["https://www.w3.org/2018/credentials#JsonSchema"]


@pytest.mark.parametrize("name", NAMES)
def test_example_canonicalises_with_rdfc(name: str) -> None:
    credential = build(name)
    # pyld's own RDFC-1.0 (URDNA2015) over the offline loader ...
    nquads = jsonld.normalize(
        copy.deepcopy(credential),
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": documents.DocumentLoader(),
        },
    )
    lines = nquads.splitlines()
    assert len(lines) > 10
    assert lines == sorted(lines)
    assert f"<{credential['id']}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>" in nquads
    # Korean text survives canonicalisation byte for byte
    assert "한국대학교" in nquads
    # ... agrees with vcwallet's bounded canonicaliser (what the proofs sign)
    assert documents.canonize(credential) == nquads


def test_an_undefined_member_is_caught_twice() -> None:
    credential = build("battery")
    credential["credentialSubject"]["stateOfHealth"] = 93
    with pytest.raises(UndefinedTermError):
        expand(credential)
    # our own check, independent of the strict loader, sees the dropped member too
    lenient = jsonld.expand(
        copy.deepcopy(credential), {"documentLoader": documents.DocumentLoader()}
    )
    assert _input_keys(credential) == _expanded_keys(lenient) + 1


def test_contexts_are_bundled_and_never_fetched() -> None:
    loader = documents.DocumentLoader()
    for kind in CREDENTIAL_TYPES.values():
        for url in kind.contexts:
            assert url in loader.urls
    credential = build("badge")
    credential["@context"].append("https://example.com/not-bundled")
    with pytest.raises(UnknownContextError):
        expand(credential)


def test_ob3_badge_shape() -> None:
    credential = build("badge")
    assert credential["issuer"] == {"id": ISSUER, "type": ["Profile"], "name": "한국대학교"}
    assert credential["name"] == "Python 백엔드 개발자 과정 수료"
    assert credential["awardedDate"] == "2026-02-06T10:00:00+09:00"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert "awardedDate" not in subject
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["criteria"]["narrative"].startswith("출석")
    expanded = expand(credential)[0]
    ob = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
    assert ob + "OpenBadgeCredential" in expanded["@type"]
    assert ob + "awardedDate" in expanded


def test_diploma_shape_and_honours_as_an_ob3_result() -> None:
    credential = build("diploma")
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "BachelorDegree"
    assert achievement["fieldOfStudy"] == "컴퓨터공학 (Computer Science)"
    assert achievement["creator"]["type"] == ["Profile"]
    assert "honours" not in subject
    description = achievement["resultDescription"][0]
    assert description["name"] == "Honours"
    assert subject["result"] == [
        {"type": ["Result"], "resultDescription": description["id"], "value": "최우등"}
    ]
    expanded = expand(credential)[0]
    ob = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
    assert expanded[ob + "awardedDate"][0]["@value"] == "2026-02-20T00:00:00+09:00"
    result = expanded["https://www.w3.org/2018/credentials#credentialSubject"][0][ob + "result"][0]
    assert result["https://schema.org/value"] == [{"@value": "최우등"}]


def test_diploma_without_honours_still_describes_them() -> None:
    subject = example("diploma")
    del subject["honours"]
    credential = build("diploma", subject)
    assert "result" not in credential["credentialSubject"]
    assert (
        credential["credentialSubject"]["achievement"]["resultDescription"][0]["name"] == "Honours"
    )
    assert credential_type("diploma").summary(credential).endswith("to 김민준")


def test_achievement_without_id_gets_a_stable_one() -> None:
    subject = example("badge")
    del subject["achievement"]["id"]
    first = build("badge", subject)["credentialSubject"]["achievement"]["id"]
    second = build("badge", subject)["credentialSubject"]["achievement"]["id"]
    assert first == second and first.startswith("urn:uuid:")


def test_transcript_is_a_clr_with_courses_results_and_totals() -> None:
    credential = build("transcript")
    subject = credential["credentialSubject"]
    assert subject["type"] == ["ClrSubject"]
    achievements = subject["achievement"]
    assert [a["achievementType"] for a in achievements] == ["BachelorDegree"] + ["Course"] * 5
    assert achievements[1]["humanCode"] == "CSE2010" and achievements[1]["creditsAvailable"] == 3
    assert len(subject["association"]) == 5
    assert {a["targetId"] for a in subject["association"]} == {a["id"] for a in achievements[1:]}
    records = subject["verifiableCredential"]
    assert len(records) == 6
    programme = records[0]["credentialSubject"]
    assert programme["creditsEarned"] == 132
    assert programme["result"][0]["value"] == "4.12"
    gpa_rd = achievements[0]["resultDescription"][0]
    assert (gpa_rd["resultType"], gpa_rd["valueMax"]) == ("GradePointAverage", "4.5")
    assert programme["result"][0]["resultDescription"] == gpa_rd["id"]
    course = records[1]["credentialSubject"]
    assert (course["term"], course["result"][0]["value"], course["creditsEarned"]) == (
        "2023-1",
        "A+",
        3,
    )
    assert course["achievement"]["id"] == achievements[1]["id"]
    expanded = expand(credential)[0]
    clr = "https://purl.imsglobal.org/spec/vc/clr/vocab.html#"
    assert clr + "ClrCredential" in expanded["@type"]
    clr_subject = expanded["https://www.w3.org/2018/credentials#credentialSubject"][0]
    assert len(clr_subject[clr + "achievement"]) == 6
    assert len(clr_subject[clr + "verifiableCredential"]) == 6


def test_transcript_totals_are_computed_when_absent_and_failures_earn_nothing() -> None:
    subject = example("transcript")
    del subject["creditsEarned"]
    subject["courses"][1]["grade"] = "F"
    credential = build("transcript", subject)
    records = credential["credentialSubject"]["verifiableCredential"]
    assert records[0]["credentialSubject"]["creditsEarned"] == 3 + 3 + 4 + 2
    assert records[2]["credentialSubject"]["creditsEarned"] == 0
    assert records[2]["credentialSubject"]["result"][0]["value"] == "F"


def test_battery_shape_quantities_and_units() -> None:
    credential = build("battery", issuer_name="이브이체크 배터리진단센터")
    assert credential["issuer"] == {"id": ISSUER, "name": "이브이체크 배터리진단센터"}
    subject = credential["credentialSubject"]
    assert subject["type"] == ["Battery"]
    assert subject["ratedEnergy"] == {"value": 77.4, "unit": "kWh"}
    expanded = expand(credential)[0]
    battery = expanded["https://www.w3.org/2018/credentials#credentialSubject"][0]
    vocab = "https://w3id.org/vcwallet/vocab#"
    soce = battery[vocab + "stateOfCertifiedEnergy"][0]
    assert soce["https://schema.org/value"] == [{"@value": 91.2}]
    assert soce["https://schema.org/unitText"] == [{"@value": "%"}]
    assert soce[vocab + "lastUpdate"][0]["@type"] == "http://www.w3.org/2001/XMLSchema#dateTime"
    assert battery["https://schema.org/vehicleIdentificationNumber"] == [
        {"@value": "KMHK381GFPU123456"}
    ]


def test_battery_without_issuer_name_keeps_a_plain_issuer() -> None:
    credential = credential_type("battery").build(example("battery"), issuer=ISSUER, now=NOW)
    assert credential["issuer"] == ISSUER
    assert "id" not in credential["credentialSubject"]
    assert_fully_expands(credential)


def test_battery_reports_form_a_history() -> None:
    first = build("battery")
    link = previous_report_link(first)
    assert link["id"] == first["id"] and link["digestMultibase"].startswith("z")
    subject = example("battery")
    subject["previousReport"] = link
    second = build("battery", subject, now=NOW + timedelta(days=365))
    assert second["credentialSubject"]["previousReport"] == link
    assert_fully_expands(second)
    # a changed earlier report no longer matches the digest
    altered = copy.deepcopy(first)
    altered["credentialSubject"]["capacityFade"]["value"] = 1.0
    assert previous_report_link(altered)["digestMultibase"] != link["digestMultibase"]
    with pytest.raises(MalformedDocumentError):
        previous_report_link({"type": ["VerifiableCredential"]})


# ---- schema violations carry the path ---------------------------------------------------


def _drop(path: list[Any]):
    def mutate(subject: dict[str, Any]) -> None:
        target = subject
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


def _set(path: list[Any], value: Any):
    def mutate(subject: dict[str, Any]) -> None:
        target = subject
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


VIOLATIONS = [
    ("diploma", _drop(["achievement", "fieldOfStudy"]), "$.achievement.fieldOfStudy"),
    ("diploma", _drop(["awardedDate"]), "$.awardedDate"),
    ("diploma", _set(["achievement", "achievementType"], "Badge"), "$.achievement.achievementType"),
    ("diploma", _set(["achievement", "name"], 42), "$.achievement.name"),
    ("diploma", _set(["awardedDate"], "20 Feb 2026"), "$.awardedDate"),
    ("badge", _drop(["achievement", "criteria"]), "$.achievement.criteria"),
    ("badge", _set(["achievement", "level"], "gold"), "$.achievement"),
    ("badge", _set(["identifier", 0, "identityType"], "nickname"), "$.identifier[0].identityType"),
    ("transcript", _set(["courses", 0, "grade"], "A++"), "$.courses[0].grade"),
    ("transcript", _set(["courses", 1, "creditsAvailable"], -3), "$.courses[1].creditsAvailable"),
    (
        "transcript",
        _set(["courses", 1, "creditsAvailable"], "three"),
        "$.courses[1].creditsAvailable",
    ),
    ("transcript", _set(["courses", 2, "creditsAvailable"], 3.3), "$.courses[2].creditsAvailable"),
    ("transcript", _set(["gpa", "value"], 4.7), "$.gpa.value"),
    ("transcript", _set(["courses"], []), "$.courses"),
    ("transcript", _drop(["courses", 0, "term"]), "$.courses[0].term"),
    ("battery", _set(["remainingCapacity", "value"], -5), "$.remainingCapacity.value"),
    ("battery", _set(["ratedCapacity", "value"], -180), "$.ratedCapacity.value"),
    ("battery", _set(["ratedEnergy", "unit"], "Wh"), "$.ratedEnergy.unit"),
    ("battery", _drop(["capacityFade", "lastUpdate"]), "$.capacityFade.lastUpdate"),
    ("battery", _set(["stateOfCertifiedEnergy", "value"], 130), "$.stateOfCertifiedEnergy.value"),
    ("battery", _set(["vehicleIdentificationNumber"], "KMH-123"), "$.vehicleIdentificationNumber"),
    ("battery", _set(["batteryStatus"], "like new"), "$.batteryStatus"),
    ("battery", _drop(["batteryPassportIdentifier"]), "$.batteryPassportIdentifier"),
    ("battery", _set(["expectedNumberOfCycles"], 2000.5), "$.expectedNumberOfCycles"),
]


@pytest.mark.parametrize(("name", "mutate", "path"), VIOLATIONS)
def test_schema_violation_names_the_path(name: str, mutate: Any, path: str) -> None:
    subject = example(name)
    mutate(subject)
    kind = credential_type(name)
    with pytest.raises(SchemaValidationError) as info:
        kind.validate_subject(subject)
    assert info.value.path == path
    with pytest.raises(SchemaValidationError) as again:
        kind.build(subject, issuer=ISSUER, issuer_name="X", now=NOW)
    assert again.value.path == path
    assert str(again.value).startswith(path + ": ")


def test_transcript_course_listed_twice_in_a_term() -> None:
    subject = example("transcript")
    subject["courses"].append(dict(subject["courses"][0]))
    with pytest.raises(SchemaValidationError) as info:
        credential_type("transcript").validate_subject(subject)
    assert info.value.path == "$.courses[5]"


def test_ob3_recipient_must_be_named_by_id_or_identifier() -> None:
    subject = example("badge")
    del subject["identifier"]
    with pytest.raises(SchemaValidationError) as info:
        build("badge", subject, holder=None)
    assert info.value.path == "$.credentialSubject"
    assert build("badge", subject)["credentialSubject"]["id"] == HOLDER


@pytest.mark.parametrize("bad", [["not", "an", "object"], "text", None])
def test_non_object_subject_is_a_schema_error(bad: Any) -> None:
    with pytest.raises(SchemaValidationError):
        credential_type("badge").build(bad, issuer=ISSUER, issuer_name="X")


def test_non_json_values_in_the_subject_are_refused() -> None:
    subject = example("battery")
    subject["ratedEnergy"]["value"] = float("nan")
    with pytest.raises(MalformedDocumentError) as info:
        credential_type("battery").validate_subject(subject)
    assert "$.ratedEnergy.value" in str(info.value)


# ---- Korean text and NFC ------------------------------------------------------------------


def test_decomposed_hangul_comes_out_composed_and_input_is_untouched() -> None:
    subject = example("diploma")
    decomposed = unicodedata.normalize("NFD", "김민준")
    assert decomposed != "김민준" and len(decomposed) == 9
    subject["identifier"][0]["identityHash"] = decomposed
    subject["achievement"]["creator"]["name"] = unicodedata.normalize("NFD", "한국대학교")
    credential = build("diploma", subject, issuer_name=unicodedata.normalize("NFD", "한국대학교"))
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == "김민준"
    assert credential["issuer"]["name"] == "한국대학교"
    assert subject["identifier"][0]["identityHash"] == decomposed
    text = _json.dumps(credential)
    assert unicodedata.is_normalized("NFC", text)
    # round trip through strict JSON bytes is exact
    assert _json.loads(text.encode("utf-8")) == credential
    assert "김민준".encode() in text.encode("utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_builders_do_not_mutate_their_input(name: str) -> None:
    subject = example(name)
    subject["identifier" if name != "battery" else "assessor"] = copy.deepcopy(
        subject.get("identifier" if name != "battery" else "assessor")
    )
    before = copy.deepcopy(subject)
    issuer = {"id": ISSUER, "name": "한국대학교"}
    issuer_before = copy.deepcopy(issuer)
    build(name, subject, issuer=issuer, issuer_name=None)
    assert subject == before
    assert issuer == issuer_before


# ---- summaries ----------------------------------------------------------------------------


def test_summaries_in_english_and_korean() -> None:
    diploma = credential_type("diploma")
    credential = build("diploma")
    assert diploma.summary(credential) == (
        "Bachelor of Science in Computer Science, 한국대학교, awarded 2026-02-20 to 김민준 (최우등)"
    )
    assert diploma.summary(credential, lang="ko") == (
        "Bachelor of Science in Computer Science, 한국대학교, 2026-02-20 김민준에게 수여 (최우등)"
    )
    badge = build("badge", issuer_name="SW아카데미")
    assert credential_type("badge").summary(badge) == (
        "Python 백엔드 개발자 과정 수료 badge, SW아카데미, awarded 2026-02-06 to 이서연"
    )
    assert credential_type("badge").summary(badge, lang="ko") == (
        "Python 백엔드 개발자 과정 수료 배지, SW아카데미, 2026-02-06 이서연에게 수여"
    )
    transcript = build("transcript")
    assert credential_type("transcript").summary(transcript) == (
        "Transcript of 김민준: 컴퓨터공학과 학사과정, 한국대학교, 5 courses, 132 credits, GPA 4.12/4.5"
    )
    assert credential_type("transcript").summary(transcript, lang="ko") == (
        "김민준 성적증명서: 컴퓨터공학과 학사과정, 한국대학교, 5과목 132학점, 평점 4.12/4.5"
    )
    battery = build("battery")
    english = credential_type("battery").summary(battery)
    assert english.startswith(
        "Battery lifespan report, 한국배터리셀 주식회사 NCM811 77.4 kWh 팩 (urn:uuid:"
    )
    assert (
        "state of certified energy 91.2% (2026-03-02), capacity fade 6.5%, 312 full cycles"
        in english
    )
    korean = credential_type("battery").summary(battery, lang="ko")
    assert "인증 에너지 상태(SOCE) 91.2% (2026-03-02), 용량 감소 6.5%, 완전 충방전 312회" in korean


def test_summary_of_a_sparse_credential_does_not_crash() -> None:
    for kind in CREDENTIAL_TYPES.values():
        assert "?" in kind.summary({"type": ["VerifiableCredential"]})
    with pytest.raises(ValueError):
        credential_type("badge").summary(build("badge"), lang="fr")


def test_recipient_falls_back_to_the_holder_id() -> None:
    subject = example("badge")
    del subject["identifier"]
    assert credential_type("badge").summary(build("badge", subject)).endswith(f"to {HOLDER}")


# ---- registry and detection -----------------------------------------------------------


def test_registry() -> None:
    assert tuple(CREDENTIAL_TYPES) == NAMES
    for name, kind in CREDENTIAL_TYPES.items():
        assert kind.name == name and credential_type(name) is kind
    with pytest.raises(ValueError) as info:
        credential_type("passport")
    assert "diploma, transcript, badge, battery" in str(info.value)
    with pytest.raises(TypeError):
        CREDENTIAL_TYPES["x"] = CREDENTIAL_TYPES["badge"]  # type: ignore[index]


@pytest.mark.parametrize("name", NAMES)
def test_detect_type(name: str) -> None:
    assert detect_type(build(name)) is credential_type(name)


def test_detect_type_needs_both_type_and_schema() -> None:
    badge = build("badge")
    foreign = copy.deepcopy(badge)
    foreign["credentialSchema"] = [{"id": "https://example.org/other.json", "type": "JsonSchema"}]
    assert detect_type(foreign) is None
    mistyped = copy.deepcopy(badge)
    mistyped["type"] = ["VerifiableCredential"]
    assert detect_type(mistyped) is None
    as_list = copy.deepcopy(badge)
    as_list["credentialSchema"] = [badge["credentialSchema"]]
    assert detect_type(as_list) is credential_type("badge")
    assert detect_type("not a credential") is None  # type: ignore[arg-type]
    assert detect_type({}) is None


# ---- build options ------------------------------------------------------------------------


def test_dates_ids_and_validity() -> None:
    seoul = timezone(timedelta(hours=9))
    credential = build(
        "badge",
        valid_from=datetime(2026, 3, 3, 10, 0, 0, 999, tzinfo=seoul),
        valid_until=datetime(2031, 3, 3, tzinfo=UTC),
        credential_id="https://swacademy.example.kr/credentials/1",
    )
    assert credential["validFrom"] == "2026-03-03T01:00:00Z"
    assert credential["validUntil"] == "2031-03-03T00:00:00Z"
    assert credential["id"] == "https://swacademy.example.kr/credentials/1"
    assert build("badge")["id"] != build("badge")["id"]
    with pytest.raises(ValueError):
        build("badge", now=datetime(2026, 3, 3))
    with pytest.raises(ValueError):
        build("badge", valid_until=NOW - timedelta(days=1))


def test_issuer_rules() -> None:
    with pytest.raises(ValueError):
        credential_type("badge").build(example("badge"), issuer=ISSUER, now=NOW)
    with pytest.raises(ValueError):
        build("badge", issuer="not-an-iri")
    with pytest.raises(TypeError):
        build("badge", issuer=42)
    profile = build(
        "badge",
        issuer={"id": ISSUER, "name": "SW아카데미", "url": "https://swacademy.example.kr"},
        issuer_name=None,
    )
    assert profile["issuer"] == {
        "id": ISSUER,
        "type": ["Profile"],
        "name": "SW아카데미",
        "url": "https://swacademy.example.kr",
    }
    assert_fully_expands(profile)


def test_holder_must_agree_with_a_subject_id() -> None:
    subject = example("battery")
    subject["id"] = "did:example:other"
    with pytest.raises(ValueError):
        build("battery", subject)
    assert build("battery", subject, holder=None)["credentialSubject"]["id"] == "did:example:other"


# ---- the schema files ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_schema_files_are_2020_12_and_shipped_in_the_package(name: str) -> None:
    kind = credential_type(name)
    schema = kind.schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == kind.schema_id
    assert schema["properties"]["credentialSchema"]["properties"]["id"] == {"const": kind.schema_id}
    top = json.loads((PROJECT / "schemas" / f"{name}-v1.json").read_text(encoding="utf-8"))
    assert top == schema
    schema["title"] = "changed"
    assert kind.schema()["title"] != "changed"


def test_battery_issuer_object_may_only_carry_defined_terms() -> None:
    with pytest.raises(SchemaValidationError) as info:
        build(
            "battery",
            issuer={"id": ISSUER, "name": "이브이체크", "url": "https://evcheck.example.kr"},
        )
    assert info.value.path == "$.issuer"
    named = build(
        "battery",
        issuer={"id": ISSUER, "name": "이브이체크", "description": "배터리 진단"},
        issuer_name=None,
    )
    assert named["issuer"] == {"id": ISSUER, "name": "이브이체크", "description": "배터리 진단"}
    assert_fully_expands(named)


# ---- the built credentials are signable as they are --------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_built_credential_signs_and_verifies_with_eddsa_rdfc_2022(name: str) -> None:
    key = KeyPair.generate(KeyType.ED25519)
    issuer = key.public_key.did_key
    credential = credential_type(name).build(
        example(name), issuer=issuer, issuer_name="한국대학교", holder=HOLDER, now=NOW
    )
    secured = proofs.add_proof(
        credential, key, verification_method=did_key_url(key.public_key), now=NOW
    )
    proofs.verify_proof(secured, resolver=DidResolver())
    assert detect_type(secured) is credential_type(name)
    # the same text in decomposed form is a different signed document
    tampered = copy.deepcopy(secured)
    tampered["issuer"]["name"] = unicodedata.normalize("NFD", "한국대학교")
    with pytest.raises(InvalidSignature):
        proofs.verify_proof(tampered, resolver=DidResolver())


def test_a_retaken_course_is_one_achievement_with_two_results() -> None:
    subject = example("transcript")
    retake = dict(subject["courses"][2], term="2025-1", grade="A0")
    subject["courses"].append(retake)
    credential = build("transcript", subject)
    clr_subject = credential["credentialSubject"]
    assert len(clr_subject["achievement"]) == 6
    assert len(clr_subject["association"]) == 5
    records = [
        r["credentialSubject"]
        for r in clr_subject["verifiableCredential"]
        if r["credentialSubject"]["achievement"].get("humanCode") == "CSE3150"
    ]
    assert [(r["term"], r["result"][0]["value"]) for r in records] == [
        ("2024-2", "B+"),
        ("2025-1", "A0"),
    ]
    assert_fully_expands(credential)
