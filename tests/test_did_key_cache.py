"""The did:key answers DidResolver remembers: per exact DID URL and purpose, found ones only."""

from __future__ import annotations

import pytest

from vcwallet import did as didmod
from vcwallet.did import DidResolver, VerificationMethod, did_key_url
from vcwallet.errors import ProofPurposeError, ResolutionError
from vcwallet.keys import KeyPair, KeyType


@pytest.fixture(autouse=True)
def _fresh_answers() -> None:
    didmod._DID_KEY_ANSWERS.clear()


def test_two_keys_are_never_confused() -> None:
    pairs = [KeyPair.generate(kind) for kind in (KeyType.ED25519, KeyType.ED25519, KeyType.P256)]
    resolver = DidResolver()
    for _ in range(2):  # the second round is answered from what the first remembered
        for pair in pairs:
            method_id = did_key_url(pair.public_key)
            method = resolver.verification_method(method_id, "assertionMethod")
            assert method == VerificationMethod(
                method_id, "Multikey", pair.did_key, pair.public_key.to_jwk()
            )
            assert method.public_key() == pair.public_key
    assert len(didmod._DID_KEY_ANSWERS) == len(pairs)


def test_a_remembered_method_is_not_shared_with_the_caller() -> None:
    pair = KeyPair.generate()
    method_id = did_key_url(pair.public_key)
    first = DidResolver().verification_method(method_id, "authentication")
    first.jwk["x"] = "tampered"
    again = DidResolver().verification_method(method_id, "authentication")
    assert again.jwk == pair.public_key.to_jwk()
    again.jwk.clear()
    assert DidResolver().verification_method(method_id, "authentication").public_key() == (
        pair.public_key
    )


def test_refusals_are_worked_out_every_time() -> None:
    pair = KeyPair.generate()
    method_id = did_key_url(pair.public_key)
    resolver = DidResolver()
    resolver.verification_method(method_id, "assertionMethod")
    for _ in range(2):
        # the same DID URL for a purpose it is not listed under, or another fragment
        with pytest.raises(ProofPurposeError):
            resolver.verification_method(method_id, "keyAgreement")
        with pytest.raises(ResolutionError):
            resolver.verification_method(f"{pair.did_key}#other", "assertionMethod")
        with pytest.raises(ValueError, match="unknown proof purpose"):
            resolver.verification_method(method_id, "signing")
        with pytest.raises(ResolutionError):
            resolver.verification_method(method_id[:-1] + "#" + method_id[-1], "assertionMethod")
    assert list(didmod._DID_KEY_ANSWERS) == [(method_id, "assertionMethod")]


def test_non_text_arguments_are_refused_as_before() -> None:
    with pytest.raises(ResolutionError):
        DidResolver().verification_method(["did:key:z6Mk#z6Mk"], "assertionMethod")  # type: ignore[arg-type]


def test_the_answers_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(didmod, "_MAX_DID_KEY_ANSWERS", 3)
    pairs = [KeyPair.generate() for _ in range(5)]
    resolver = DidResolver()
    for pair in pairs:
        resolver.verification_method(did_key_url(pair.public_key), "authentication")
    assert list(didmod._DID_KEY_ANSWERS) == [
        (did_key_url(pair.public_key), "authentication") for pair in pairs[-3:]
    ]
    # the one pushed out is worked out again, still right
    first = resolver.verification_method(did_key_url(pairs[0].public_key), "authentication")
    assert first.public_key() == pairs[0].public_key
