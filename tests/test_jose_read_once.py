"""A token read once (jose.ReadJws) is refused exactly where the token itself is refused.

Verifiers read a vc+jwt / vp+jwt before checking it (to report on it, to pick the key)
and hand that reading to verify_vc_jwt / verify_jws so the token is decoded once. Each
token below, good or bad, must give the same answer (value or error class and message)
however it is handed over: as text, as a fresh ReadJws, or as a ReadJws whose header and
payload were read before the check.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from vcwallet import jose
from vcwallet.credentials import issue, verify_credential
from vcwallet.demo import example_subject
from vcwallet.did import DidResolver, did_key_url
from vcwallet.errors import InvalidSignature, MalformedDocumentError, VcwalletError
from vcwallet.keys import KeyPair
from vcwallet.presentations import create_presentation, verify_presentation


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, pair: KeyPair) -> str:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    data = f"{b64(h)}.{b64(p)}"
    return f"{data}.{b64(pair.sign(data.encode()))}"


def _flip_last(segment: str) -> str:
    return segment[:-1] + ("A" if segment[-1] != "A" else "B")


def _flip_middle(segment: str) -> str:
    """Another character in the middle: unlike the last one, it never leaves stray bits,
    so the segment still reads (and only the signature check can refuse it)."""
    middle = len(segment) // 2
    return segment[:middle] + ("A" if segment[middle] != "A" else "B") + segment[middle + 1:]


def _tokens() -> dict[str, str]:
    pair, other = KeyPair.generate(), KeyPair.generate()
    kid = did_key_url(pair.public_key)
    good = issue("badge", {**example_subject("badge"), "id": other.did_key}, signer=pair,
                 format="jwt").data
    assert isinstance(good, str)
    h, p, s = good.split(".")
    header = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    other_payload = {**payload, "issuer": other.did_key}
    # a payload segment with non-zero trailing bits decodes to the same bytes
    tail = len(p) % 4
    respelled = p[:-1] + chr(ord(p[-1]) + 1) if tail in (2, 3) else None
    tokens = {
        "good": good,
        "payload tampered": f"{h}.{_flip_last(p)}.{s}",
        "signature tampered": f"{h}.{p}.{_flip_last(s)}",
        "signature short": f"{h}.{p}.{s[:-4]}",
        "payload padded": f"{h}.{p}==.{s}",
        "payload of another token": f"{h}.{b64(json.dumps(other_payload).encode())}.{s}",
        "payload not an object": forge(header, b"[1, 2]", pair),
        "payload not JSON": forge(header, b"{\"a\": ", pair),
        "payload with duplicate names": forge(header, b'{"a": 1, "a": 2}', pair),
        "payload with a lone surrogate": forge(header, b'{"a": "\\ud800"}', pair),
        "payload NaN": forge(header, b'{"a": NaN}', pair),
        "alg none": forge({**header, "alg": "none"}, payload, pair),
        "alg HS256": forge({**header, "alg": "HS256"}, payload, pair),
        "typ vp+jwt": forge({**header, "typ": "vp+jwt"}, payload, pair),
        "embedded jwk": forge({**header, "jwk": pair.public_key.to_jwk()}, payload, pair),
        "crit": forge({**header, "crit": ["b64"], "b64": False}, payload, pair),
        "kid of another key": forge({**header, "kid": did_key_url(other.public_key)}, payload,
                                    pair),
        "kid of another issuer": forge(header, other_payload, pair),
        "signed by another key": forge(header, payload, other),
        "header not JSON": f"{b64(b'{')}.{p}.{s}",
        "two parts": f"{h}.{p}",
        "five parts": f"{h}.{p}.{s}.x.y",
        "kid missing": forge({k: v for k, v in header.items() if k != "kid"}, payload, pair),
    }
    if "-" in p or "_" in p:
        tokens["payload with +/"] = f"{h}.{p.replace('-', '+').replace('_', '/')}.{s}"
    if respelled is not None:
        tokens["payload with trailing bits"] = f"{h}.{respelled}.{s}"
    assert kid == header["kid"]
    return tokens


TOKENS = _tokens()


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("value", call())
    except (VcwalletError, TypeError, ValueError) as exc:
        return ("error", type(exc), str(exc))


def _readings(token: str) -> list[Callable[[], Any]]:
    """The token as text, as a fresh ReadJws, and as one whose parts were read already."""
    def read_before() -> jose.ReadJws:
        read = jose.ReadJws(token)
        for part in (read.header, read.payload):
            try:
                part()
            except MalformedDocumentError:
                pass
        return read
    return [lambda: token, lambda: jose.ReadJws(token), read_before]


def _vc_result(found: jose.VerifiedJwt) -> Any:
    return found.credential, found.header, found.verification_method


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_verify_vc_jwt_same_answer_however_handed_over(name: str) -> None:
    token = TOKENS[name]
    answers = []
    for reading in _readings(token):
        def check(reading: Callable[[], Any] = reading) -> Any:
            return _vc_result(jose.verify_vc_jwt(reading(), resolver=DidResolver()))
        answers.append(_outcome(check))
    assert answers[0] == answers[1] == answers[2], name
    assert (answers[0][0] == "value") == (name == "good"), answers[0]


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_verify_jws_same_answer_however_handed_over(name: str) -> None:
    token = TOKENS[name]
    key = KeyPair.generate().public_key if name == "signed by another key" else None
    answers = []
    for reading in _readings(token):
        def check(reading: Callable[[], Any] = reading) -> Any:
            header = jose.unverified_header(token)
            used = key or jose.lookup_key(DidResolver(), str(header.get("kid")),
                                          "assertionMethod")[1]
            return jose.verify_jws(reading(), used, expected_typ="vc+jwt")
        answers.append(_outcome(check))
    assert answers[0] == answers[1] == answers[2], name


def test_a_read_payload_is_still_checked_against_the_signature() -> None:
    read = jose.ReadJws(TOKENS["payload of another token"])
    assert read.payload()  # readable, but not what was signed
    with pytest.raises(InvalidSignature):
        jose.verify_vc_jwt(read, resolver=DidResolver())


def test_signing_input_of_a_reading_is_the_tokens() -> None:
    for name in ("good", "payload tampered", "header not JSON"):
        token = TOKENS[name]
        for reading in _readings(token)[1:]:
            read = reading()
            assert read.signing_input() == jose.signing_input(token)


def test_verify_credential_reports_every_refusal() -> None:
    """What verify_credential says of each token (it reads the token once)."""
    for name, token in TOKENS.items():
        outcome = _outcome(lambda token=token: verify_credential(token))
        if name == "good":
            assert outcome[0] == "value" and outcome[1].verified
        elif outcome[0] == "value":
            result = outcome[1]
            assert not result.verified, name
            assert any(c.status.value == "failed" for c in result.checks), name
            expected = jose_refusal(token)
            if expected is not None:
                messages = [c.reason for c in result.checks if c.name in ("signature",
                                                                           "issuer_key")]
                assert expected in messages, (name, messages)
        else:
            assert outcome[1] in (MalformedDocumentError, TypeError), (name, outcome)


def jose_refusal(token: str) -> str | None:
    """The message verify_vc_jwt refuses the text token with (None: no refusal, or an
    error verify_credential reports otherwise)."""
    outcome = _outcome(lambda: jose.verify_vc_jwt(token, resolver=DidResolver()))
    return outcome[2] if outcome[0] == "error" else None


def test_a_vp_jwt_read_once_refuses_a_tampered_presentation() -> None:
    holder, pair = KeyPair.generate(), KeyPair.generate()
    item = issue("badge", {**example_subject("badge"), "id": holder.did_key}, signer=pair,
                 format="jwt")
    vp = create_presentation([item], holder=holder, holder_did=holder.did_key, challenge="c",
                             domain="d", format="jwt")
    assert isinstance(vp, str)
    assert verify_presentation(vp, challenge="c", domain="d").verified
    h, p, s = vp.split(".")
    for bad in (f"{h}.{p}.{_flip_middle(s)}", f"{h}.{_flip_middle(p)}.{s}"):
        try:
            result = verify_presentation(bad, challenge="c", domain="d")
        except MalformedDocumentError:
            continue  # the changed payload no longer reads as a presentation
        assert not result.verified
        holder_check = next(c for c in result.checks if c.name == "holder_proof")
        assert holder_check.status.value == "failed"
        assert "signature does not verify" in holder_check.reason
