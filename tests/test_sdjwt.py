"""SD-JWT VC: issue, present with key binding, verify; RFC 9901 example disclosures as vectors."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vcwallet.did import StaticResolver, build_did_web_document
from vcwallet.errors import (
    DisclosureError,
    Expired,
    InvalidSignature,
    MalformedDocumentError,
    NotYetValid,
    ProofPurposeError,
    ResolutionError,
    UnsupportedAlgorithm,
)
from vcwallet.jose import b64url_decode, b64url_encode, sign_jws, unverified_payload
from vcwallet.keys import KeyPair, KeyType
from vcwallet.sdjwt import (
    decode_disclosure,
    digest,
    issue_sd_jwt,
    issuer_jwt,
    parse_path,
    present_sd_jwt,
    sd_jwt_signing_input,
    unverified_claims,
    verify_sd_jwt,
)

ISSUER = "did:web:snu.example"
KID = ISSUER + "#key-1"
VCT = "https://vcwallet.example/vct/transcript"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NONCE = "n-0S6_WzA2Mj"
AUD = "https://hr.employer.example"


@pytest.fixture(scope="module")
def issuer_key() -> KeyPair:
    return KeyPair.generate(KeyType.ED25519)


@pytest.fixture(scope="module")
def holder() -> KeyPair:
    return KeyPair.generate(KeyType.P256)


@pytest.fixture(scope="module")
def resolver(issuer_key: KeyPair) -> StaticResolver:
    return StaticResolver({ISSUER: build_did_web_document(ISSUER, [issuer_key.public_key])})


def transcript(holder: KeyPair) -> dict[str, Any]:
    return {
        "sub": holder.did_key,
        "credentialSubject": {
            "id": holder.did_key,
            "name": "김민준",
            "birthDate": "2001-03-04",
            "degree": {
                "type": "BachelorDegree",
                "name": "공학사",
                "fieldOfStudy": "Computer Science",
            },
            "gpa": 3.9,
            "courses": [
                {"code": "CS101", "title": "자료구조", "grade": "A+"},
                {"code": "CS202", "title": "운영체제", "grade": "A"},
                {"code": "CS303", "title": "컴파일러", "grade": "B+"},
            ],
        },
    }


DISCLOSABLE = [
    "credentialSubject.birthDate",
    "credentialSubject.gpa",
    "credentialSubject.courses[*].grade",
    "credentialSubject.degree",
]


@pytest.fixture
def issued(issuer_key: KeyPair, holder: KeyPair) -> str:
    return issue_sd_jwt(
        transcript(holder),
        issuer_key,
        kid=KID,
        disclosable=DISCLOSABLE,
        holder_jwk=holder.public_key.to_jwk(),
        vct=VCT,
        issuer=ISSUER,
        now=NOW,
    )


def present(token: str, holder: KeyPair, paths: list[Any], **kw: Any) -> str:
    args: dict[str, Any] = {"holder": holder, "nonce": NONCE, "audience": AUD, "now": NOW}
    args.update(kw)
    return present_sd_jwt(token, disclose=paths, **args)


def verify(token: str, resolver: StaticResolver, **kw: Any) -> Any:
    args: dict[str, Any] = {"resolver": resolver, "nonce": NONCE, "audience": AUD, "now": NOW}
    args.update(kw)
    return verify_sd_jwt(token, **args)


# -- RFC 9901 published example -------------------------------------------------------------------

RFC_GIVEN_NAME = "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd"
RFC_GIVEN_NAME_DIGEST = "jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4"
RFC_US = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0"
RFC_US_DIGEST = "pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo"


def test_rfc9901_example_disclosures_and_digests() -> None:
    given = decode_disclosure(RFC_GIVEN_NAME)
    assert (given.salt, given.name, given.value) == ("2GLC42sKQveCfGfryNRN9w", "given_name", "John")
    assert digest(RFC_GIVEN_NAME) == given.digest == RFC_GIVEN_NAME_DIGEST
    us = decode_disclosure(RFC_US)
    assert (us.salt, us.name, us.value) == ("lklxF5jMYlGTPUovMNIvCA", None, "US")
    assert digest(RFC_US) == RFC_US_DIGEST


def test_rfc9901_disclosures_verify_inside_our_token(
    issuer_key: KeyPair, resolver: StaticResolver
) -> None:
    """The spec's own disclosure strings, referenced by their published digests, are accepted."""
    payload = {
        "iss": ISSUER,
        "iat": int(NOW.timestamp()),
        "vct": "https://example.com/person",
        "_sd": [RFC_GIVEN_NAME_DIGEST, "decoy" + "A" * 38],
        "nationalities": [{"...": RFC_US_DIGEST}],
        "_sd_alg": "sha-256",
    }
    jwt = sign_jws(payload, issuer_key, header={"typ": "dc+sd-jwt", "kid": KID})
    result = verify(f"{jwt}~{RFC_GIVEN_NAME}~{RFC_US}~", resolver, require_key_binding=False)
    assert result.claims["given_name"] == "John" and result.claims["nationalities"] == ["US"]
    assert set(result.disclosed) == {("given_name",), ("nationalities", 0)}
    # without the US disclosure the array element disappears
    assert (
        verify(f"{jwt}~{RFC_GIVEN_NAME}~", resolver, require_key_binding=False).claims[
            "nationalities"
        ]
        == []
    )


# -- round trips ----------------------------------------------------------------------------------


def test_issued_token_shape(issued: str, holder: KeyPair) -> None:
    assert issued.endswith("~") and issued.count("~") == 1 + 1 + 1 + 3 + 1
    payload = unverified_payload(issuer_jwt(issued))
    assert payload["_sd_alg"] == "sha-256" and payload["iss"] == ISSUER and payload["vct"] == VCT
    assert payload["iat"] == int(NOW.timestamp())
    assert payload["cnf"] == {"jwk": holder.public_key.to_jwk()}
    subject = payload["credentialSubject"]
    assert "gpa" not in subject and "birthDate" not in subject and "degree" not in subject
    assert subject["name"] == "김민준"
    assert subject["_sd"] == sorted(subject["_sd"]) and len(subject["_sd"]) == 3
    assert all(set(c) == {"code", "title", "_sd"} for c in subject["courses"])
    # the full claim set a wallet indexes is the original
    full = unverified_claims(issued)
    assert full["credentialSubject"] == transcript(holder)["credentialSubject"]


def test_present_only_what_is_asked(issued: str, holder: KeyPair, resolver: StaticResolver) -> None:
    vp = present(
        issued, holder, ["credentialSubject.gpa", ("credentialSubject", "courses", 1, "grade")]
    )
    result = verify(vp, resolver)
    subject = result.claims["credentialSubject"]
    assert subject["gpa"] == 3.9
    assert [c.get("grade") for c in subject["courses"]] == [None, "A", None]
    assert "birthDate" not in subject and "degree" not in subject
    assert set(result.disclosed) == {
        ("credentialSubject", "gpa"),
        ("credentialSubject", "courses", 1, "grade"),
    }
    assert result.key_binding["nonce"] == NONCE and result.key_binding["aud"] == AUD
    assert result.header["kid"] == KID and result.verification_method.id == KID
    assert result.issuer_jwt == issuer_jwt(issued)


def test_present_wildcard_and_nothing(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    every_grade = verify(present(issued, holder, ["credentialSubject.courses[*].grade"]), resolver)
    assert [c["grade"] for c in every_grade.claims["credentialSubject"]["courses"]] == [
        "A+",
        "A",
        "B+",
    ]
    bare = verify(present(issued, holder, []), resolver)
    assert bare.disclosed == () and bare.claims["credentialSubject"]["name"] == "김민준"
    # always-visible claims may be named; they add no disclosure
    assert (
        verify(present(issued, holder, ["vct", "credentialSubject.name"]), resolver).disclosed == ()
    )


def test_nested_disclosure_brings_its_parent(
    issuer_key: KeyPair, holder: KeyPair, resolver: StaticResolver
) -> None:
    token = issue_sd_jwt(
        transcript(holder),
        issuer_key,
        kid=KID,
        holder_jwk=holder.public_key.to_jwk(),
        disclosable=["credentialSubject.degree", "credentialSubject.degree.fieldOfStudy"],
        vct=VCT,
        issuer=ISSUER,
        now=NOW,
    )
    inner = verify(present(token, holder, ["credentialSubject.degree.fieldOfStudy"]), resolver)
    assert inner.claims["credentialSubject"]["degree"] == {
        "type": "BachelorDegree",
        "name": "공학사",
        "fieldOfStudy": "Computer Science",
    }
    outer_only = verify(present(token, holder, [("credentialSubject", "degree", "type")]), resolver)
    assert "fieldOfStudy" not in outer_only.claims["credentialSubject"]["degree"]


def test_korean_values_round_trip_nfc(
    issuer_key: KeyPair, holder: KeyPair, resolver: StaticResolver
) -> None:
    decomposed = unicodedata.normalize("NFD", "김민준")
    claims = {"credentialSubject": {"name": decomposed, "전공": "컴퓨터공학"}}
    token = issue_sd_jwt(
        claims,
        issuer_key,
        kid=KID,
        disclosable=["credentialSubject.name", "credentialSubject.전공"],
        holder_jwk=holder.public_key.to_jwk(),
        vct=VCT,
        issuer=ISSUER,
        now=NOW,
    )
    result = verify(
        present(token, holder, ["credentialSubject.name", "credentialSubject.전공"]), resolver
    )
    assert result.claims["credentialSubject"] == {"name": "김민준", "전공": "컴퓨터공학"}
    assert result.claims["credentialSubject"]["name"] == unicodedata.normalize("NFC", decomposed)
    raw = b64url_decode(token.split("~")[1])
    assert "김민준".encode() in raw or "컴퓨터공학".encode() in raw  # UTF-8, not \\u escapes


def test_p256_issuer_and_no_holder_binding(holder: KeyPair) -> None:
    key = KeyPair.generate(KeyType.P256)
    resolver = StaticResolver({ISSUER: build_did_web_document(ISSUER, [key.public_key])})
    token = issue_sd_jwt(
        {"age_over_18": True},
        key,
        kid=KID,
        disclosable=["age_over_18"],
        holder_jwk=None,
        vct=VCT,
        issuer=ISSUER,
        now=NOW,
    )
    shown = present_sd_jwt(token, disclose=["age_over_18"], holder=None, nonce=None, audience=None)
    result = verify_sd_jwt(
        shown, resolver=resolver, nonce=None, audience=None, now=NOW, require_key_binding=False
    )
    assert result.claims["age_over_18"] is True and result.key_binding is None
    with pytest.raises(ProofPurposeError, match="no key-binding"):
        verify_sd_jwt(shown, resolver=resolver, nonce=NONCE, audience=AUD, now=NOW)
    with pytest.raises(ValueError, match="cnf.jwk"):
        present_sd_jwt(token, disclose=[], holder=holder, nonce=NONCE, audience=AUD)


def test_signing_input_is_the_issuer_jwt_prefix(issued: str, holder: KeyPair) -> None:
    jwt = issuer_jwt(issued)
    assert sd_jwt_signing_input(issued) == jwt.rsplit(".", 1)[0].encode("ascii")
    assert sd_jwt_signing_input(
        present(issued, holder, ["credentialSubject.gpa"])
    ) == sd_jwt_signing_input(issued)


# -- refusals -------------------------------------------------------------------------------------


def test_edited_disclosure_is_refused(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    vp = present(issued, holder, ["credentialSubject.gpa"])
    jwt, disclosure, kb = vp.split("~")
    salt, name, _ = json.loads(b64url_decode(disclosure))
    forged = b64url_encode(json.dumps([salt, name, 4.3]).encode())
    with pytest.raises(DisclosureError, match="match no digest"):
        verify(f"{jwt}~{forged}~{kb}", resolver)


def test_removed_key_binding_is_refused(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    vp = present(issued, holder, ["credentialSubject.gpa"])
    stripped = vp[: vp.rindex("~") + 1]
    with pytest.raises(ProofPurposeError, match="no key-binding"):
        verify(stripped, resolver)


def test_wrong_nonce_or_audience(issued: str, holder: KeyPair, resolver: StaticResolver) -> None:
    vp = present(issued, holder, ["credentialSubject.gpa"])
    with pytest.raises(ProofPurposeError, match="nonce"):
        verify(vp, resolver, nonce="another-nonce")
    with pytest.raises(ProofPurposeError, match="aud"):
        verify(vp, resolver, audience="https://elsewhere.example")


def test_stale_or_future_key_binding(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    vp = present(issued, holder, ["credentialSubject.gpa"])
    with pytest.raises(Expired, match="stale"):
        verify(vp, resolver, now=NOW + timedelta(minutes=30))
    with pytest.raises(NotYetValid):
        verify(vp, resolver, now=NOW - timedelta(minutes=30))


def test_disclosure_added_after_binding_breaks_sd_hash(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    vp = present(issued, holder, ["credentialSubject.gpa"])
    extra = issued.split("~")[1:-1]
    jwt, shown, kb = vp.split("~")
    other = next(d for d in extra if d != shown)
    with pytest.raises(ProofPurposeError, match="sd_hash"):
        verify(f"{jwt}~{shown}~{other}~{kb}", resolver)


def test_duplicated_disclosure_is_refused(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    shown = present_sd_jwt(
        issued, disclose=["credentialSubject.gpa"], holder=None, nonce=None, audience=None
    )
    jwt, disclosure, _ = shown.split("~")
    with pytest.raises(DisclosureError, match="twice"):
        verify(f"{jwt}~{disclosure}~{disclosure}~", resolver, require_key_binding=False)


def test_unreferenced_disclosure_is_refused(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    foreign = b64url_encode(json.dumps(["c2FsdHNhbHRzYWx0", "gpa", 4.5]).encode())
    with pytest.raises(DisclosureError, match="match no digest"):
        verify(issued[:-1] + "~" + foreign + "~", resolver, require_key_binding=False)


def _signed(issuer_key: KeyPair, payload: dict[str, Any], disclosures: list[str]) -> str:
    base = {"iss": ISSUER, "vct": VCT, "_sd_alg": "sha-256"}
    jwt = sign_jws({**base, **payload}, issuer_key, header={"typ": "dc+sd-jwt", "kid": KID})
    return "~".join([jwt, *disclosures, ""])


def _disc(*items: Any) -> str:
    return b64url_encode(json.dumps(list(items)).encode())


def test_structural_refusals(issuer_key: KeyPair, resolver: StaticResolver) -> None:
    name = _disc("salt1", "name", "Kim")
    # the same digest referenced twice in the signed payload
    with pytest.raises(DisclosureError, match="more than once"):
        verify(
            _signed(issuer_key, {"_sd": [digest(name)], "a": {"_sd": [digest(name)]}}, [name]),
            resolver,
            require_key_binding=False,
        )
    # a disclosed name that collides with a plain claim
    with pytest.raises(DisclosureError, match="already exists"):
        verify(
            _signed(issuer_key, {"name": "Lee", "_sd": [digest(name)]}, [name]),
            resolver,
            require_key_binding=False,
        )
    # reserved claim names inside disclosures
    for reserved in ("_sd", "..."):
        bad = _disc("salt2", reserved, ["x"])
        with pytest.raises(DisclosureError, match="reserved"):
            verify(
                _signed(issuer_key, {"_sd": [digest(bad)]}, [bad]),
                resolver,
                require_key_binding=False,
            )
    # an array-element disclosure referenced from _sd, and an object one from an array
    element = _disc("salt3", "US")
    with pytest.raises(DisclosureError, match="array-element"):
        verify(
            _signed(issuer_key, {"_sd": [digest(element)]}, [element]),
            resolver,
            require_key_binding=False,
        )
    with pytest.raises(DisclosureError, match="object-member"):
        verify(
            _signed(issuer_key, {"xs": [{"...": digest(name)}]}, [name]),
            resolver,
            require_key_binding=False,
        )
    # only sha-256
    with pytest.raises(UnsupportedAlgorithm):
        verify(_signed(issuer_key, {"_sd_alg": "md5"}, []), resolver, require_key_binding=False)
    for broken in (_disc("only-salt"), _disc(1, "n", "v"), "not base64!", b64url_encode(b"{}")):
        with pytest.raises(MalformedDocumentError):
            verify(_signed(issuer_key, {}, [broken]), resolver, require_key_binding=False)
    # a claim SD-JWT VC keeps in the clear, smuggled into a disclosure
    hidden_exp = _disc("salt4", "exp", 1)
    with pytest.raises(DisclosureError, match="'exp' must not"):
        verify(
            _signed(issuer_key, {"_sd": [digest(hidden_exp)]}, [hidden_exp]),
            resolver,
            require_key_binding=False,
        )
    # disclosures nested in disclosures without end: refused, not a RecursionError
    chain: list[str] = []
    inner: dict[str, Any] = {"leaf": 1}
    for level in range(200):
        text = _disc(f"s{level}", "n", inner)
        chain.append(text)
        inner = {"_sd": [digest(text)]}
    with pytest.raises(MalformedDocumentError, match="deeper"):
        verify(_signed(issuer_key, inner, chain), resolver, require_key_binding=False)
    with pytest.raises(MalformedDocumentError, match="empty disclosure"):
        verify(_signed(issuer_key, {}, [])[:-1] + "~~", resolver, require_key_binding=False)


def test_issuer_and_key_checks(
    issued: str, issuer_key: KeyPair, holder: KeyPair, resolver: StaticResolver
) -> None:
    # iss must be the kid's DID
    other = sign_jws(
        {"iss": "did:web:fake.example", "vct": VCT},
        issuer_key,
        header={"typ": "dc+sd-jwt", "kid": KID},
    )
    with pytest.raises(ProofPurposeError, match="iss"):
        verify(other + "~", resolver, require_key_binding=False)
    # a token signed by someone else's key under the issuer's kid
    mallory = KeyPair.generate(KeyType.ED25519)
    forged = sign_jws(
        unverified_payload(issuer_jwt(issued)), mallory, header={"typ": "dc+sd-jwt", "kid": KID}
    )
    with pytest.raises(InvalidSignature):
        verify(forged + "~", resolver, require_key_binding=False)
    # a key not under assertionMethod, or an unknown issuer
    doc = build_did_web_document(ISSUER, [issuer_key.public_key])
    doc["assertionMethod"] = []
    with pytest.raises((ProofPurposeError, ResolutionError)):
        verify(issued, StaticResolver({ISSUER: doc}), require_key_binding=False)
    with pytest.raises(ResolutionError):
        verify(issued, StaticResolver({}), require_key_binding=False)
    # the KB-JWT must be signed by the cnf key
    vp = present(issued, holder, [])
    impostor = KeyPair.generate(KeyType.P256)
    fake_kb = sign_jws(unverified_payload(vp.rsplit("~", 1)[1]), impostor, header={"typ": "kb+jwt"})
    with pytest.raises(InvalidSignature):
        verify(vp.rsplit("~", 1)[0] + "~" + fake_kb, resolver)
    # a typ other than dc+sd-jwt is not read as one
    vc_jwt = sign_jws({"iss": ISSUER, "vct": VCT}, issuer_key, header={"typ": "vc+jwt", "kid": KID})
    with pytest.raises(MalformedDocumentError, match="typ"):
        verify(vc_jwt + "~", resolver, require_key_binding=False)


def test_expiry_and_not_before(issuer_key: KeyPair, resolver: StaticResolver) -> None:
    stamp = int(NOW.timestamp())
    with pytest.raises(Expired):
        verify(_signed(issuer_key, {"exp": stamp - 3600}, []), resolver, require_key_binding=False)
    with pytest.raises(NotYetValid):
        verify(_signed(issuer_key, {"nbf": stamp + 3600}, []), resolver, require_key_binding=False)


def test_issuer_mistakes_are_value_errors(issuer_key: KeyPair, holder: KeyPair) -> None:
    def issue(claims: dict[str, Any], disclosable: list[str], **kw: Any) -> str:
        args: dict[str, Any] = {"kid": KID, "holder_jwk": None, "vct": VCT, "issuer": ISSUER}
        args.update(kw)
        return issue_sd_jwt(claims, issuer_key, disclosable=disclosable, **args)

    with pytest.raises(ValueError, match="names no claim"):
        issue({"a": 1}, ["b"])
    with pytest.raises(ValueError, match="must not be selectively disclosable"):
        issue({"exp": 1}, ["exp"])
    with pytest.raises(ValueError, match="reserved"):
        issue({"a": {"_sd": []}}, [])
    with pytest.raises(ValueError, match="does not belong"):
        issue({"a": 1}, [], kid="did:web:other.example#key-1")
    with pytest.raises(ValueError, match="cannot read"):
        issue({"a": 1}, ["a[x]"])
    token = issue({"a": 1}, ["a"], holder_jwk=holder.public_key.to_jwk())
    with pytest.raises(ValueError, match="names no claim"):
        present_sd_jwt(token, disclose=["nothing.here"], holder=holder, nonce=NONCE, audience=AUD)
    with pytest.raises(ValueError, match="not the credential's cnf"):
        present_sd_jwt(token, disclose=["a"], holder=KeyPair.generate(), nonce=NONCE, audience=AUD)
    with pytest.raises(ValueError, match="nonce and audience"):
        present_sd_jwt(token, disclose=["a"], holder=holder, nonce=None, audience=AUD)


def test_path_syntax() -> None:
    assert parse_path("credentialSubject.courses[*].grade") == (
        "credentialSubject",
        "courses",
        None,
        "grade",
    )
    assert parse_path("$.a[0][2]") == ("a", 0, 2)
    assert parse_path(["a", None, 3]) == ("a", None, 3)
    for bad in ("", "a..b", "a[", "a[-1]", "a]"):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_salt_is_fresh_and_injectable(issuer_key: KeyPair) -> None:
    def issue(**kw: Any) -> str:
        return issue_sd_jwt(
            {"a": 1},
            issuer_key,
            kid=KID,
            disclosable=["a"],
            holder_jwk=None,
            vct=VCT,
            issuer=ISSUER,
            now=NOW,
            **kw,
        )

    assert issue().split("~")[1] != issue().split("~")[1]
    fixed = issue(salt=lambda: "2GLC42sKQveCfGfryNRN9w").split("~")[1]
    assert decode_disclosure(fixed).salt == "2GLC42sKQveCfGfryNRN9w"


def test_answer_a_dcql_request_with_only_the_needed_disclosures(
    issued: str, holder: KeyPair, resolver: StaticResolver
) -> None:
    from vcwallet.queries import Candidate, select

    candidate = Candidate("transcript", "dc+sd-jwt", unverified_claims(issued))
    query = {
        "credentials": [
            {
                "id": "grades",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [VCT]},
                "claims": [
                    {"path": ["credentialSubject", "gpa"]},
                    {
                        "path": ["credentialSubject", "courses", None, "grade"],
                        "values": ["A+", "A"],
                    },
                ],
            }
        ]
    }
    selection = select(query, [candidate])
    vp = present(issued, holder, list(selection.disclose_for("transcript")))
    result = verify(vp, resolver)
    assert (
        set(result.disclosed)
        == set(selection["grades"].disclose)
        == {
            ("credentialSubject", "gpa"),
            ("credentialSubject", "courses", 0, "grade"),
            ("credentialSubject", "courses", 1, "grade"),
        }
    )
    assert "birthDate" not in result.claims["credentialSubject"]


def test_decoy_digests_hide_the_claim_count(
    issuer_key: KeyPair, holder: KeyPair, resolver: StaticResolver
) -> None:
    token = issue_sd_jwt(
        transcript(holder),
        issuer_key,
        kid=KID,
        disclosable=DISCLOSABLE,
        holder_jwk=holder.public_key.to_jwk(),
        vct=VCT,
        issuer=ISSUER,
        now=NOW,
        decoys=4,
    )
    subject = unverified_payload(issuer_jwt(token))["credentialSubject"]
    assert len(subject["_sd"]) == 3 + 4 and all(len(c["_sd"]) == 1 + 4 for c in subject["courses"])
    assert len(token.split("~")) - 2 == 3 + 3  # decoys have no disclosure
    result = verify(present(token, holder, ["credentialSubject.gpa"]), resolver)
    assert result.claims["credentialSubject"]["gpa"] == 3.9 and len(result.disclosed) == 1
    with pytest.raises(ValueError, match="decoys"):
        issue_sd_jwt(
            {"a": 1},
            issuer_key,
            kid=KID,
            disclosable=[],
            holder_jwk=None,
            vct=VCT,
            issuer=ISSUER,
            decoys=-1,
        )


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_refused_algorithm_is_refused_before_any_key_lookup(alg: str) -> None:
    # the kid names a did:web no resolver knows: a lookup would raise ResolutionError first
    from vcwallet.errors import UnsupportedAlgorithm

    header = {"alg": alg, "typ": "dc+sd-jwt", "kid": "did:web:issuer.example#key-1"}
    payload = {"iss": "did:web:issuer.example", "vct": "https://example/vct", "_sd_alg": "sha-256"}
    token = (b64url_encode(json.dumps(header).encode()) + "."
             + b64url_encode(json.dumps(payload).encode()) + "." + "~")
    with pytest.raises(UnsupportedAlgorithm):
        verify_sd_jwt(token, resolver=StaticResolver({}), nonce=None, audience=None,
                      require_key_binding=False)
