"""Request matching: DIF Presentation Exchange 2.x and OpenID4VP DCQL over credentials shaped like ours."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vcwallet.errors import MalformedDocumentError, UnmetRequirement
from vcwallet.queries import (
    Candidate,
    CandidateIndex,
    DcqlQuery,
    Hint,
    PresentationDefinition,
    parse_request,
    resolve_claims_path,
    select,
)

HOLDER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def ob3(
    kind: str, name: str, field: str | None = None, issuer: str = "did:web:snu.example"
) -> dict[str, Any]:
    achievement: dict[str, Any] = {
        "id": f"urn:uuid:{kind}-{name}",
        "type": ["Achievement"],
        "achievementType": kind,
        "name": name,
        "criteria": {"narrative": "졸업 요건 충족"},
    }
    if field is not None:
        achievement["fieldOfStudy"] = field
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", OB3_CONTEXT],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "서울대학교"},
        "validFrom": "2026-02-20T00:00:00Z",
        "credentialSubject": {
            "id": HOLDER,
            "type": ["AchievementSubject"],
            "achievement": achievement,
        },
    }


def transcript_claims() -> dict[str, Any]:
    return {
        "vct": "https://vcwallet.example/vct/transcript",
        "iss": "did:web:snu.example",
        "credentialSubject": {
            "id": HOLDER,
            "name": "김민준",
            "birthDate": "2001-03-04",
            "gpa": 3.9,
            "courses": [
                {"code": "CS101", "title": "자료구조", "grade": "A+"},
                {"code": "CS202", "title": "운영체제", "grade": "A"},
            ],
        },
    }


def battery() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "BatteryAssessmentCredential"],
        "issuer": "did:web:battery.example",
        "credentialSubject": {"id": "did:example:car", "stateOfHealth": 91},
    }


@pytest.fixture
def wallet() -> list[Candidate]:
    return [
        Candidate("battery", "vc+jwt", battery(), alg="ES256"),
        Candidate("highschool", "di", ob3("Diploma", "고등학교 졸업")),
        Candidate("bsc-math", "di", ob3("BachelorDegree", "이학사", "Mathematics")),
        Candidate(
            "bsc-cs",
            "di",
            ob3("BachelorDegree", "공학사", "Computer Science"),
            alg="eddsa-rdfc-2022",
        ),
        Candidate(
            "badge-python",
            "vc+jwt",
            ob3("Badge", "Python 부트캠프", None, "did:web:sw.example"),
            alg="EdDSA",
        ),
        Candidate("transcript", "sd-jwt", transcript_claims(), alg="EdDSA"),
    ]


def degree_descriptor(field: str = "Computer Science") -> dict[str, Any]:
    return {
        "id": "cs_degree",
        "name": "컴퓨터공학 학사",
        "purpose": "We hire software engineers",
        "group": ["A"],
        "constraints": {
            "fields": [
                {
                    "path": ["$.type"],
                    "filter": {"type": "array", "contains": {"const": "OpenBadgeCredential"}},
                },
                {
                    "path": ["$.credentialSubject.achievement.achievementType"],
                    "filter": {"type": "string", "const": "BachelorDegree"},
                },
                {
                    "id": "field",
                    "path": [
                        "$.credentialSubject.achievement.fieldOfStudy",
                        "$.vc.credentialSubject.achievement.fieldOfStudy",
                    ],
                    "filter": {"type": "string", "const": field},
                },
            ]
        },
    }


def badge_descriptor() -> dict[str, Any]:
    return {
        "id": "sw_badge",
        "group": ["A"],
        "format": {
            "jwt_vc_json": {"alg": ["EdDSA", "ES256"]},
            "ldp_vc": {"proof_type": ["DataIntegrityProof"]},
        },
        "constraints": {
            "fields": [
                {
                    "path": ["$.credentialSubject.achievement.achievementType"],
                    "filter": {"const": "Badge"},
                },
                {
                    "path": ["$.issuer.id", "$.issuer"],
                    "filter": {"type": "string", "pattern": "^did:web:sw\\."},
                },
                {"path": ["$.credentialSubject.achievement.criteria.narrative"], "optional": True},
            ]
        },
    }


def employer_request() -> dict[str, Any]:
    return {
        "presentation_definition": {
            "id": "hiring-2026",
            "name": "신입 개발자 채용",
            "input_descriptors": [degree_descriptor(), badge_descriptor()],
        }
    }


# -- Presentation Exchange -----------------------------------------------------------------------


def test_employer_request_picks_cs_degree_and_badge(wallet: list[Candidate]) -> None:
    selection = select(employer_request(), wallet)
    assert selection.kind == "presentation_exchange"
    assert selection["cs_degree"].key == "bsc-cs"
    assert selection["sw_badge"].key == "badge-python"
    assert selection.keys == ("bsc-cs", "badge-python")
    assert selection["cs_degree"].disclose == (
        ("type",),
        ("credentialSubject", "achievement", "achievementType"),
        ("credentialSubject", "achievement", "fieldOfStudy"),
    )
    # the optional field is present in the badge, so it is named for disclosure
    assert ("credentialSubject", "achievement", "criteria", "narrative") in selection[
        "sw_badge"
    ].disclose
    submission = selection.presentation_submission
    assert submission is not None and submission["definition_id"] == "hiring-2026"
    assert submission["id"]
    assert submission["descriptor_map"] == [
        {"id": "cs_degree", "format": "ldp_vc", "path": "$.verifiableCredential[0]"},
        {"id": "sw_badge", "format": "jwt_vc_json", "path": "$.verifiableCredential[1]"},
    ]


def test_same_answer_from_an_index_and_from_a_generator(wallet: list[Candidate]) -> None:
    from_list = select(employer_request(), wallet)
    from_index = select(employer_request(), CandidateIndex.of(wallet))
    from_gen = select(employer_request(), (c for c in wallet))
    assert from_list.matches == from_index.matches == from_gen.matches


def test_unmet_requirement_names_descriptor_and_constraint(wallet: list[Candidate]) -> None:
    request = employer_request()
    request["presentation_definition"]["input_descriptors"][0] = degree_descriptor(
        "Electrical Engineering"
    )
    with pytest.raises(UnmetRequirement) as info:
        select(request, wallet)
    assert info.value.requirement == "cs_degree"
    assert "field 'field'" in info.value.constraint
    assert "Electrical Engineering" in info.value.constraint


def test_unmet_when_no_credential_of_the_type(wallet: list[Candidate]) -> None:
    request = employer_request()
    request["presentation_definition"]["input_descriptors"][1]["constraints"]["fields"][0][
        "filter"
    ] = {"const": "Certificate"}
    for source in (wallet, CandidateIndex.of(wallet)):
        with pytest.raises(UnmetRequirement) as info:
            select(request, source)
        assert info.value.requirement == "sw_badge"
        assert "Certificate" in info.value.constraint


def test_json_schema_filter_with_numbers_and_formats(wallet: list[Candidate]) -> None:
    definition = {
        "id": "gpa",
        "input_descriptors": [
            {
                "id": "good_grades",
                "constraints": {
                    "limit_disclosure": "required",
                    "fields": [
                        {
                            "path": ["$.vct"],
                            "filter": {"const": "https://vcwallet.example/vct/transcript"},
                        },
                        {
                            "path": ["$.credentialSubject.gpa"],
                            "filter": {"type": "number", "minimum": 3.5},
                        },
                        {
                            "path": ["$.credentialSubject.birthDate"],
                            "filter": {"type": "string", "format": "date"},
                        },
                    ],
                },
            }
        ],
    }
    selection = select(definition, wallet)
    match = selection["good_grades"]
    assert (
        match.key == "transcript" and match.format == "dc+sd-jwt" and match.format_id == "dc+sd-jwt"
    )
    assert ("credentialSubject", "gpa") in match.disclose
    definition["input_descriptors"][0]["constraints"]["fields"][1]["filter"]["minimum"] = 4.0
    with pytest.raises(UnmetRequirement, match="gpa"):
        select(definition, wallet)
    # a date that is not a date fails the format check
    bad = copy.deepcopy(wallet)
    bad[-1] = Candidate(
        "transcript",
        "dc+sd-jwt",
        {
            **transcript_claims(),
            "credentialSubject": {
                **transcript_claims()["credentialSubject"],
                "birthDate": "2001-13-45",
            },
        },
    )
    definition["input_descriptors"][0]["constraints"]["fields"][1]["filter"]["minimum"] = 3.0
    with pytest.raises(UnmetRequirement, match="birthDate"):
        select(definition, bad)


def test_wildcard_and_filter_paths_disclose_concrete_elements(wallet: list[Candidate]) -> None:
    definition = {
        "id": "courses",
        "input_descriptors": [
            {
                "id": "os_course",
                "constraints": {
                    "fields": [
                        {"path": ["$.credentialSubject.courses[?(@.code == 'CS202')].grade"]},
                        {
                            "path": ["$.credentialSubject.courses[*].title"],
                            "filter": {"const": "자료구조"},
                        },
                        {"path": ["$.credentialSubject.courses[-1].code"]},
                    ]
                },
            }
        ],
    }
    match = select(definition, wallet)["os_course"]
    assert match.disclose == (
        ("credentialSubject", "courses", 1, "grade"),
        ("credentialSubject", "courses", 0, "title"),
        ("credentialSubject", "courses", 1, "code"),
    )


def test_a_wildcard_path_discloses_every_value_it_selects(wallet: list[Candidate]) -> None:
    definition = {
        "id": "grades",
        "input_descriptors": [
            {
                "id": "grades",
                "constraints": {
                    "limit_disclosure": "required",
                    "fields": [
                        {"path": ["$.credentialSubject.courses[*].grade"]},
                        {
                            "path": ["$.credentialSubject.courses[*].grade"],
                            "filter": {"pattern": "^A$"},
                        },
                    ],
                },
            }
        ],
    }
    match = select(definition, wallet)["grades"]
    assert match.disclose == (
        ("credentialSubject", "courses", 0, "grade"),
        ("credentialSubject", "courses", 1, "grade"),
    )


def test_submission_layouts(wallet: list[Candidate]) -> None:
    selection = select(employer_request(), wallet)
    nested = selection.submission(vp_format="ldp_vp")
    assert nested["definition_id"] == "hiring-2026"
    assert nested["descriptor_map"][1] == {
        "id": "sw_badge",
        "format": "ldp_vp",
        "path": "$",
        "path_nested": {
            "id": "sw_badge",
            "format": "jwt_vc_json",
            "path": "$.verifiableCredential[1]",
        },
    }
    with pytest.raises(ValueError):
        selection.submission(root="$")  # two credentials cannot both be the whole response
    definition = {
        "id": "gpa",
        "input_descriptors": [
            {
                "id": "gpa",
                "format": {"vc+sd-jwt": {}},
                "constraints": {"fields": [{"path": ["$.credentialSubject.gpa"]}]},
            }
        ],
    }
    alone = select(definition, wallet).submission(root="$")
    assert alone["descriptor_map"] == [{"id": "gpa", "format": "vc+sd-jwt", "path": "$"}]
    with pytest.raises(ValueError):
        select(dcql_employer(), wallet).submission()


def test_limit_disclosure_required_refuses_formats_that_cannot(wallet: list[Candidate]) -> None:
    request = employer_request()
    request["presentation_definition"]["input_descriptors"][0]["constraints"][
        "limit_disclosure"
    ] = "required"
    with pytest.raises(UnmetRequirement) as info:
        select(request, wallet)
    assert info.value.requirement == "cs_degree" and "limit_disclosure" in info.value.constraint


def test_format_and_algorithm_restrictions(wallet: list[Candidate]) -> None:
    request = employer_request()
    desc = request["presentation_definition"]["input_descriptors"][1]
    desc["format"] = {"jwt_vc_json": {"alg": ["ES256"]}}
    with pytest.raises(UnmetRequirement, match="algorithm"):
        select(request, wallet)
    desc["format"] = {"mso_mdoc": {"alg": ["ES256"]}}
    with pytest.raises(UnmetRequirement, match="none we hold"):
        select(request, wallet)
    request["presentation_definition"]["input_descriptors"][0]["format"] = {
        "ldp_vc": {"proof_type": ["Ed25519Signature2020"]}
    }
    with pytest.raises(UnmetRequirement) as info:  # vcwallet makes DataIntegrityProof only
        select(request, wallet)
    assert info.value.requirement == "cs_degree"
    request["presentation_definition"]["input_descriptors"][0]["format"] = {
        "di_vc": {"proof_type": ["DataIntegrityProof"], "cryptosuite": ["eddsa-rdfc-2022"]}
    }
    desc["format"] = {"jwt_vc_json": {"alg": ["EdDSA"]}}
    assert select(request, wallet)["cs_degree"].format_id == "di_vc"
    del request["presentation_definition"]["input_descriptors"][0]["format"]
    request["presentation_definition"]["format"] = {"ldp_vc": {}}
    del desc["format"]
    with pytest.raises(UnmetRequirement) as info:  # the badge is a vc+jwt; only ldp_vc accepted
        select(request, wallet)
    assert info.value.requirement == "sw_badge"


def test_submission_requirements_pick_and_all(wallet: list[Candidate]) -> None:
    definition = {
        "id": "either",
        "submission_requirements": [
            {"name": "학위 또는 배지", "rule": "pick", "count": 1, "from": "B"},
            {"name": "고졸", "rule": "all", "from": "C"},
        ],
        "input_descriptors": [
            {**degree_descriptor("Physics"), "group": ["B"]},
            {**badge_descriptor(), "group": ["B"]},
            {
                "id": "diploma",
                "group": ["C"],
                "constraints": {
                    "fields": [
                        {
                            "path": ["$.credentialSubject.achievement.achievementType"],
                            "filter": {"const": "Diploma"},
                        }
                    ]
                },
            },
        ],
    }
    selection = select(definition, wallet)
    assert [m.query_id for m in selection.matches] == ["sw_badge", "diploma"]
    assert selection.keys == ("badge-python", "highschool")
    assert [d["path"] for d in selection.presentation_submission["descriptor_map"]] == [
        "$.verifiableCredential[0]",
        "$.verifiableCredential[1]",
    ]
    definition["submission_requirements"][0]["count"] = 2
    with pytest.raises(UnmetRequirement) as info:
        select(definition, wallet)
    assert info.value.requirement == "학위 또는 배지" and "cs_degree" in info.value.constraint


def test_submission_requirements_nested(wallet: list[Candidate]) -> None:
    definition = {
        "id": "nested",
        "submission_requirements": [
            {
                "name": "one path",
                "rule": "pick",
                "min": 1,
                "from_nested": [
                    {"rule": "all", "from": "B"},
                    {"rule": "all", "from": "C"},
                ],
            }
        ],
        "input_descriptors": [
            {**degree_descriptor("Physics"), "group": ["B"]},
            {**badge_descriptor(), "group": ["C"]},
        ],
    }
    selection = select(definition, wallet)
    assert [m.query_id for m in selection.matches] == ["sw_badge"]
    definition["input_descriptors"][1]["constraints"]["fields"][0]["filter"] = {"const": "Nothing"}
    with pytest.raises(UnmetRequirement) as info:
        select(definition, wallet)
    assert info.value.requirement == "one path"


def test_one_credential_answers_two_descriptors(wallet: list[Candidate]) -> None:
    definition = {
        "id": "two",
        "input_descriptors": [
            {"id": "name", "constraints": {"fields": [{"path": ["$.credentialSubject.name"]}]}},
            {"id": "gpa", "constraints": {"fields": [{"path": ["$.credentialSubject.gpa"]}]}},
        ],
    }
    selection = select(definition, wallet)
    assert selection.keys == ("transcript",)
    assert selection.disclose_for("transcript") == (
        ("credentialSubject", "name"),
        ("credentialSubject", "gpa"),
    )
    assert [d["path"] for d in selection.presentation_submission["descriptor_map"]] == [
        "$.verifiableCredential[0]",
        "$.verifiableCredential[0]",
    ]


@pytest.mark.parametrize(
    "broken, words",
    [
        ({"presentation_definition": []}, "JSON object"),
        ({"presentation_definition": {"input_descriptors": [{"id": "a"}]}}, "id must"),
        ({"presentation_definition": {"id": "x", "input_descriptors": []}}, "input_descriptors"),
        (
            {
                "presentation_definition": {
                    "id": "x",
                    "input_descriptors": [{"id": "a"}, {"id": "a"}],
                }
            },
            "unique",
        ),
        (
            {
                "id": "x",
                "input_descriptors": [
                    {"id": "a", "constraints": {"fields": [{"path": ["$.a[("]}]}}
                ],
            },
            "invalid JSONPath",
        ),
        (
            {
                "id": "x",
                "input_descriptors": [{"id": "a", "constraints": {"fields": [{"path": "$.a"}]}}],
            },
            "path must be",
        ),
        (
            {
                "id": "x",
                "input_descriptors": [
                    {
                        "id": "a",
                        "constraints": {
                            "fields": [{"path": ["$.a"], "filter": {"type": "nonsense"}}]
                        },
                    }
                ],
            },
            "not a valid JSON Schema",
        ),
        (
            {
                "id": "x",
                "input_descriptors": [{"id": "a", "constraints": {"limit_disclosure": "always"}}],
            },
            "limit_disclosure",
        ),
        (
            {
                "id": "x",
                "submission_requirements": [{"rule": "pick", "from": "Z"}],
                "input_descriptors": [{"id": "a", "group": ["A"]}],
            },
            "group 'Z'",
        ),
        (
            {
                "id": "x",
                "submission_requirements": [{"rule": "any", "from": "A"}],
                "input_descriptors": [{"id": "a", "group": ["A"]}],
            },
            "rule must",
        ),
        ({"something": "else"}, "neither"),
        ("not an object", "JSON object"),
    ],
)
def test_malformed_requests_raise_typed_errors(
    broken: Any, words: str, wallet: list[Candidate]
) -> None:
    with pytest.raises(MalformedDocumentError, match=words):
        select(broken, wallet)


def test_filter_with_remote_ref_is_refused_without_fetching(wallet: list[Candidate]) -> None:
    definition = {
        "id": "x",
        "input_descriptors": [
            {
                "id": "a",
                "constraints": {
                    "fields": [
                        {
                            "path": ["$.type"],
                            "filter": {"$ref": "https://schemas.example/evil.json"},
                        }
                    ]
                },
            }
        ],
    }
    with pytest.raises(MalformedDocumentError, match="evil.json"):
        select(definition, wallet)


def test_parse_request_recognises_both_forms() -> None:
    pe = parse_request(employer_request())
    assert isinstance(pe, PresentationDefinition) and pe.id == "hiring-2026"
    assert parse_request(pe) is pe
    dq = parse_request({"dcql_query": {"credentials": [{"id": "a", "format": "ldp_vc"}]}})
    assert isinstance(dq, DcqlQuery)


# -- DCQL ----------------------------------------------------------------------------------------


def dcql_employer() -> dict[str, Any]:
    return {
        "dcql_query": {
            "credentials": [
                {
                    "id": "degree",
                    "format": "ldp_vc",
                    "meta": {
                        "type_values": [
                            [
                                "https://www.w3.org/2018/credentials#VerifiableCredential",
                                "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential",
                            ]
                        ]
                    },
                    "claims": [
                        {
                            "path": ["credentialSubject", "achievement", "achievementType"],
                            "values": ["BachelorDegree"],
                        },
                        {
                            "path": ["credentialSubject", "achievement", "fieldOfStudy"],
                            "values": ["Computer Science"],
                        },
                    ],
                },
                {
                    "id": "badge",
                    "format": "jwt_vc_json",
                    "meta": {"type_values": [["VerifiableCredential", "OpenBadgeCredential"]]},
                    "claims": [
                        {
                            "path": ["credentialSubject", "achievement", "achievementType"],
                            "values": ["Badge"],
                        }
                    ],
                },
                {
                    "id": "grades",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["https://vcwallet.example/vct/transcript"]},
                    "claims": [
                        {"id": "gpa", "path": ["credentialSubject", "gpa"]},
                        {"id": "grades", "path": ["credentialSubject", "courses", None, "grade"]},
                        {"id": "dob", "path": ["credentialSubject", "birthDate"]},
                        {"id": "ranking", "path": ["credentialSubject", "rank"]},
                    ],
                    "claim_sets": [["ranking"], ["gpa", "grades"], ["dob"]],
                },
            ],
            "credential_sets": [
                {"options": [["degree", "badge"]]},
                {"options": [["grades"]], "required": False},
            ],
        }
    }


def test_dcql_employer_query(wallet: list[Candidate]) -> None:
    selection = select(dcql_employer(), wallet)
    assert selection.kind == "dcql" and selection.presentation_submission is None
    assert {q: m.key for q, m in selection.by_id.items()} == {
        "degree": "bsc-cs",
        "badge": "badge-python",
        "grades": "transcript",
    }
    # claim_sets: "ranking" is missing, so the second option (gpa + every grade) is disclosed
    assert selection["grades"].disclose == (
        ("credentialSubject", "gpa"),
        ("credentialSubject", "courses", 0, "grade"),
        ("credentialSubject", "courses", 1, "grade"),
    )
    assert (
        selection["grades"].format == "dc+sd-jwt" and selection["grades"].format_id == "dc+sd-jwt"
    )
    assert selection["degree"].disclose == (
        ("credentialSubject", "achievement", "achievementType"),
        ("credentialSubject", "achievement", "fieldOfStudy"),
    )
    assert select(dcql_employer(), CandidateIndex.of(wallet)).matches == selection.matches


def test_dcql_optional_credential_set_may_be_unmet(wallet: list[Candidate]) -> None:
    without_transcript = [c for c in wallet if c.key != "transcript"]
    selection = select(dcql_employer(), without_transcript)
    assert set(selection.by_id) == {"degree", "badge"}


def test_dcql_required_credential_set_unmet_names_it(wallet: list[Candidate]) -> None:
    without_badge = [c for c in wallet if c.key != "badge-python"]
    with pytest.raises(UnmetRequirement) as info:
        select(dcql_employer(), without_badge)
    assert info.value.requirement == "credential_sets[0]"
    assert "'badge'" in info.value.constraint


def test_dcql_without_credential_sets_every_query_is_required(wallet: list[Candidate]) -> None:
    query = dcql_employer()["dcql_query"]
    del query["credential_sets"]
    query["credentials"][0]["claims"][1]["values"] = ["Physics"]
    with pytest.raises(UnmetRequirement) as info:
        select(query, wallet)
    assert info.value.requirement == "degree"
    assert "Physics" in info.value.constraint


def test_dcql_claims_absent_discloses_nothing_selectively(wallet: list[Candidate]) -> None:
    query = {
        "credentials": [
            {
                "id": "t",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://vcwallet.example/vct/transcript"]},
            }
        ]
    }
    assert select(query, wallet)["t"].disclose == ()


def test_dcql_values_are_type_exact(wallet: list[Candidate]) -> None:
    candidates = [Candidate("n", "dc+sd-jwt", {"vct": "v", "age_over_18": True, "count": 1})]
    ok = {
        "credentials": [
            {
                "id": "q",
                "format": "dc+sd-jwt",
                "claims": [{"path": ["age_over_18"], "values": [True]}],
            }
        ]
    }
    assert select(ok, candidates)["q"].disclose == (("age_over_18",),)
    wrong_type = {
        "credentials": [
            {"id": "q", "format": "dc+sd-jwt", "claims": [{"path": ["count"], "values": [True]}]}
        ]
    }
    with pytest.raises(UnmetRequirement):
        select(wrong_type, candidates)


def test_claims_path_pointer_processing() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}, "s": "text"}
    assert resolve_claims_path(doc, ("a", "b", None, "c")) == [
        (("a", "b", 0, "c"), 1),
        (("a", "b", 1, "c"), 2),
    ]
    assert resolve_claims_path(doc, ("a", "b", 2, "d")) == [(("a", "b", 2, "d"), 3)]
    assert resolve_claims_path(doc, ("a", "b", 7)) == []
    assert resolve_claims_path(doc, ("s", "x")) == []  # a name on a non-object: error
    assert resolve_claims_path(doc, ("a", None)) == []  # null on a non-array: error


@pytest.mark.parametrize(
    "broken, words",
    [
        ({"credentials": []}, "non-empty"),
        ({"credentials": [{"id": "a b", "format": "ldp_vc"}]}, "alphanumerics"),
        (
            {"credentials": [{"id": "a", "format": "ldp_vc"}, {"id": "a", "format": "ldp_vc"}]},
            "unique",
        ),
        ({"credentials": [{"id": "a", "format": "ldp_vc", "claims": [{"path": []}]}]}, "path"),
        (
            {"credentials": [{"id": "a", "format": "ldp_vc", "claims": [{"path": ["x", -1]}]}]},
            "indices",
        ),
        (
            {
                "credentials": [
                    {"id": "a", "format": "ldp_vc", "claims": [{"path": ["x"], "values": [1.5]}]}
                ]
            },
            "values",
        ),
        (
            {
                "credentials": [
                    {
                        "id": "a",
                        "format": "ldp_vc",
                        "claims": [{"path": ["x"]}],
                        "claim_sets": [["x"]],
                    }
                ]
            },
            "unique id",
        ),
        (
            {
                "credentials": [
                    {
                        "id": "a",
                        "format": "ldp_vc",
                        "claims": [{"id": "x", "path": ["x"]}],
                        "claim_sets": [["y"]],
                    }
                ]
            },
            "unknown claim",
        ),
        (
            {
                "credentials": [{"id": "a", "format": "ldp_vc"}],
                "credential_sets": [{"options": [["b"]]}],
            },
            "unknown credential query",
        ),
        (
            {"credentials": [{"id": "a", "format": "ldp_vc", "meta": {"type_values": ["x"]}}]},
            "type_values",
        ),
    ],
)
def test_dcql_malformed(broken: Any, words: str, wallet: list[Candidate]) -> None:
    with pytest.raises(MalformedDocumentError, match=words):
        select({"dcql_query": broken}, wallet)


# -- the index -----------------------------------------------------------------------------------


def test_index_returns_a_superset_and_stays_current(wallet: list[Candidate]) -> None:
    index = CandidateIndex.of(wallet)
    hint = Hint(
        frozenset({"di"}),
        ((("credentialSubject", "achievement", "achievementType"), frozenset({"BachelorDegree"})),),
    )
    assert [c.key for c in index.candidates(hint)] == ["bsc-math", "bsc-cs"]
    index.add(Candidate("bsc-ee", "di", ob3("BachelorDegree", "공학사", "Electrical Engineering")))
    assert [c.key for c in index.candidates(hint)] == ["bsc-math", "bsc-cs", "bsc-ee"]
    index.discard("bsc-math")
    assert [c.key for c in index.candidates(hint)] == ["bsc-cs", "bsc-ee"]
    assert len(index) == len(wallet)
    assert hint.values_at(("type",)) is None


def test_unknown_candidate_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        Candidate("x", "mso_mdoc", {})


@pytest.mark.parametrize(
    "schema",
    [
        {"const": "A"},
        {"type": "string", "const": "A"},
        {"enum": ["A", "B"]},
        {"type": "array", "contains": {"const": "A"}},
        {"contains": {"enum": ["A"]}},
        {"contains": {"type": "string", "const": "A"}},
    ],
)
@pytest.mark.parametrize(
    "value", ["A", "B", "a", 1, True, None, ["A"], ["B", "A"], [], {"A": 1}, [["A"]]]
)
def test_quick_filters_agree_with_json_schema(schema: dict[str, Any], value: Any) -> None:
    import jsonschema

    from vcwallet.queries.presentation_exchange import _quick_test

    quick = _quick_test(schema)
    assert quick is not None
    assert quick(value) == jsonschema.Draft202012Validator(schema).is_valid(value)


@pytest.mark.parametrize(
    "field, key",
    [
        # "contains" without type "array" passes any string: the index must not demand the value
        (
            {
                "path": ["$.credentialSubject.achievement.achievementType"],
                "filter": {"contains": {"const": "Nothing"}},
            },
            "bsc-cs",
        ),
        (
            {
                "path": ["$.type"],
                "filter": {"type": "array", "minContains": 0, "contains": {"const": "Nothing"}},
            },
            "bsc-cs",
        ),
        # a trailing wildcard over an object's members
        (
            {
                "path": ["$.credentialSubject.achievement.*"],
                "filter": {"const": "Computer Science"},
            },
            "bsc-cs",
        ),
    ],
)
def test_index_hints_never_hide_a_match(
    field: dict[str, Any], key: str, wallet: list[Candidate]
) -> None:
    definition = {
        "id": "x",
        "input_descriptors": [
            {
                "id": "d",
                "constraints": {
                    "fields": [
                        {
                            "path": ["$.credentialSubject.achievement.fieldOfStudy"],
                            "filter": {"const": "Computer Science"},
                        },
                        field,
                    ]
                },
            }
        ],
    }
    assert select(definition, wallet)["d"].key == key
    assert select(definition, CandidateIndex.of(wallet))["d"].key == key


def pid_query() -> dict[str, Any]:
    """Modelled on the credential_sets example of OpenID4VP 1.0 (a PID, or two reduced ones)."""

    def query(qid: str, vct: str, *paths: list[str]) -> dict[str, Any]:
        return {
            "id": qid,
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [vct]},
            "claims": [{"path": p} for p in paths],
        }

    return {
        "credentials": [
            query(
                "pid",
                "https://credentials.example.com/identity_credential",
                ["given_name"],
                ["family_name"],
                ["address", "street_address"],
            ),
            query(
                "other_pid",
                "https://othercredentials.example/pid",
                ["given_name"],
                ["family_name"],
                ["address", "street_address"],
            ),
            query(
                "pid_reduced_cred_1",
                "https://credentials.example.com/reduced_identity_credential",
                ["family_name"],
                ["given_name"],
            ),
            query(
                "pid_reduced_cred_2",
                "https://cred.example/residence_credential",
                ["postal_code"],
                ["locality"],
                ["region"],
            ),
            query("nice_to_have", "https://company.example/company_rewards", ["rewards_number"]),
        ],
        "credential_sets": [
            {"options": [["pid"], ["other_pid"], ["pid_reduced_cred_1", "pid_reduced_cred_2"]]},
            {"required": False, "options": [["nice_to_have"]]},
        ],
    }


def sd(key: str, vct: str, **claims: Any) -> Candidate:
    return Candidate(key, "sd-jwt", {"vct": vct, "iss": "did:web:gov.example", **claims})


REDUCED_1 = sd(
    "r1",
    "https://credentials.example.com/reduced_identity_credential",
    given_name="서연",
    family_name="이",
)
REDUCED_2 = sd(
    "r2",
    "https://cred.example/residence_credential",
    postal_code="06236",
    locality="강남구",
    region="서울특별시",
)
REWARDS = sd("rw", "https://company.example/company_rewards", rewards_number="K-1234")
PID = sd(
    "pid",
    "https://credentials.example.com/identity_credential",
    given_name="서연",
    family_name="이",
    address={"street_address": "테헤란로 1", "locality": "강남구"},
)


def test_dcql_credential_sets_pick_the_first_option_the_wallet_can_meet() -> None:
    reduced = select(pid_query(), [REWARDS, REDUCED_2, REDUCED_1])
    assert [m.query_id for m in reduced.matches] == [
        "pid_reduced_cred_1",
        "pid_reduced_cred_2",
        "nice_to_have",
    ]
    assert reduced.keys == ("r1", "r2", "rw")
    full = select(pid_query(), [REDUCED_1, REDUCED_2, PID])
    assert list(full.by_id) == ["pid"]
    assert full["pid"].disclose == (
        ("given_name",),
        ("family_name",),
        ("address", "street_address"),
    )
    with pytest.raises(UnmetRequirement) as info:
        select(pid_query(), [REDUCED_1, REWARDS])
    assert info.value.requirement == "credential_sets[0]" and "'pid'" in info.value.constraint
