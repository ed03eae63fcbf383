"""Trust policies: TOML and code, composition, refusals with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcwallet.errors import MalformedDocumentError, PolicyError
from vcwallet.ledger import verifier_key
from vcwallet.policy import (
    AllOf,
    AnyOf,
    TrustedIssuer,
    TrustPolicy,
    UnsafeAcceptAnyIssuer,
    load_policy,
)

UNIV = "did:web:univ.example"
ACADEMY = "did:web:academy.example"
ASSESSOR = "did:web:evcheck.example"
LOG_KEY = verifier_key("univ.example/ledger", Ed25519PrivateKey.generate().public_key())

TOML = f"""
[[issuer]]
did = "{UNIV}"
name = "한국대학교"
types = ["diploma", "transcript"]
log_key = "{LOG_KEY}"

[[issuer]]
did = "{ASSESSOR}"
name = "이브이체크 배터리진단센터"
types = ["BatteryLifespanCredential"]
"""


def test_toml_policy_trusts_listed_issuers_for_listed_types() -> None:
    policy = TrustPolicy.from_toml(TOML)
    entry = policy.check(UNIV, {"diploma", "OpenBadgeCredential", "VerifiableCredential"})
    assert entry is not None and entry.name == "한국대학교"
    assert policy.check(ASSESSOR, {"battery", "BatteryLifespanCredential"}).did == ASSESSOR
    assert policy.log_key_for(UNIV) == LOG_KEY
    assert policy.log_key_for(ASSESSOR) is None


def test_untrusted_issuer_and_wrong_type_are_refused_with_reasons() -> None:
    policy = TrustPolicy.from_toml(TOML)
    with pytest.raises(PolicyError, match="not a trusted issuer"):
        policy.check(ACADEMY, {"badge"})
    with pytest.raises(PolicyError, match="trusted for diploma, transcript, not for battery"):
        policy.check(UNIV, {"battery", "VerifiableCredential"})


def test_policy_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "trust.toml"
    path.write_text(TOML, encoding="utf-8")
    assert {e.did for e in load_policy(path).issuers} == {UNIV, ASSESSOR}
    example = Path(__file__).parent.parent / "examples" / "trust.toml"
    assert load_policy(example).issuers


@pytest.mark.parametrize("text, message", [
    ("[[issuer]]\ndid = 'did:web:x'\nname = 'X'\n", "types must be a list"),
    ("[[issuer]]\ndid = 'https://x'\nname = 'X'\ntypes = ['diploma']\n", "needs a DID"),
    ("[[issuer]]\ndid = 'did:web:x'\nname = ''\ntypes = ['diploma']\n", "needs a name"),
    ("[[issuer]]\ndid = 'did:web:x'\nname = 'X'\ntypes = []\n", "at least one type"),
    ("[[issuer]]\ndid = 'did:web:x'\nname = 'X'\ntypes = ['a']\nlog_key = 'nope'\n", "log_key"),
    ("[[issuer]]\ndid = 'did:web:x'\nname = 'X'\ntypes = ['a']\ntrust = true\n", "unknown keys"),
    ("issuer = 3\n", "must be tables"),
    ("[[issuer]\n", "not valid TOML"),
    ("accept_all = true\n", "unknown keys"),
])
def test_malformed_policies_are_refused(text: str, message: str) -> None:
    with pytest.raises(MalformedDocumentError, match=message):
        TrustPolicy.from_toml(text)


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(MalformedDocumentError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_any_type_and_korean_names_are_nfc() -> None:
    decomposed = "\u1112\u1161\u11ab"  # 한 as conjoining jamo
    entry = TrustedIssuer(UNIV, decomposed, frozenset({"*"}))
    assert entry.name == "한"
    assert TrustPolicy([entry]).check(UNIV, {"anything"}) is entry


def test_composition() -> None:
    universities = TrustPolicy([TrustedIssuer(UNIV, "한국대학교", frozenset({"diploma"}))])
    assessors = TrustPolicy([TrustedIssuer(ASSESSOR, "이브이체크", frozenset({"battery"}))])
    registry = TrustPolicy([TrustedIssuer(UNIV, "Registry entry", frozenset({"*"}),
                                          LOG_KEY)])
    either = AnyOf([universities, assessors])
    assert either.check(ASSESSOR, {"battery"}).name == "이브이체크"
    with pytest.raises(PolicyError, match="not a trusted issuer"):
        either.check(ACADEMY, {"badge"})
    both = AllOf([universities, registry])
    assert both.check(UNIV, {"diploma"}).name == "한국대학교"
    assert both.log_key_for(UNIV) == LOG_KEY
    with pytest.raises(PolicyError, match="not for transcript"):
        both.check(UNIV, {"transcript"})  # the registry alone is not enough
    with pytest.raises(ValueError):
        AllOf([])
    with pytest.raises(ValueError):
        AnyOf([])


def test_unsafe_policy_is_named_and_trusts_everyone() -> None:
    unsafe = UnsafeAcceptAnyIssuer()
    assert unsafe.check(ACADEMY, {"badge"}) is None
    assert "Unsafe" in repr(unsafe)
    assert AnyOf([TrustPolicy([]), unsafe]).check(ACADEMY, {"x"}) is None
    with pytest.raises(PolicyError):
        TrustPolicy([]).check(UNIV, {"diploma"})  # the empty policy trusts nobody
