"""Interoperability with the W3C reference implementations (issue 2), both directions.

Node runs the digitalbazaar libraries the W3C VC test suites use (``@digitalbazaar/vc``
with the eddsa-rdfc-2022 / ecdsa-rdfc-2019 cryptosuites) and panva ``jose`` for vc+jwt,
pinned in tests/interop/package-lock.json and driven by tests/interop/reference.mjs. The
Node side loads JSON-LD contexts only from ``vcwallet contexts export`` and resolves
did:key with the did-method-key driver: nothing is fetched from the network.

Without Node or without ``npm ci --prefix tests/interop`` every test here skips, saying so.
Each test makes a few batched Node runs (about a second each), not one per credential.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vcwallet import _json
from vcwallet.cli import main as cli_main
from vcwallet.credential_types import credential_type
from vcwallet.credentials import issue, verify_credential
from vcwallet.jose import b64url_decode, b64url_encode
from vcwallet.keys import KeyPair, KeyType, PublicKey
from vcwallet.model import VC_V2_CONTEXT, CredentialResult
from vcwallet.presentations import create_presentation, verify_presentation

PROJECT = Path(__file__).resolve().parent.parent
INTEROP = PROJECT / "tests" / "interop"
EXAMPLES = PROJECT / "examples"
TYPES = ("diploma", "transcript", "badge", "battery")
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
NOT_INSTALLED = "reference implementation not installed: run npm ci --prefix tests/interop"
CHALLENGE = "8f0c2d1e-interop"
DOMAIN = "https://hr.employer.example"
NODE_TIMEOUT = 60  # seconds for one batch; a batch normally takes about one

Reference = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


# --------------------------------------------------------------------------------------
# driving Node
# --------------------------------------------------------------------------------------
def _pinned_versions() -> dict[str, str]:
    manifest = json.loads((INTEROP / "package.json").read_text(encoding="utf-8"))
    return dict(manifest["dependencies"])


def _installed_version(package: str) -> str | None:
    found = INTEROP / "node_modules" / package / "package.json"
    if not found.is_file():
        return None
    return str(json.loads(found.read_text(encoding="utf-8"))["version"])


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Run a batch of jobs through tests/interop/reference.mjs; one result per job."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"{NOT_INSTALLED} (node is not on PATH)")
    stale = {p: (v, _installed_version(p)) for p, v in _pinned_versions().items()
             if _installed_version(p) != v}
    if stale and all(have is None for _, have in stale.values()):
        pytest.skip(NOT_INSTALLED)
    if stale:
        missing = ", ".join(f"{p} (want {want}, have {have})" for p, (want, have) in stale.items())
        pytest.skip(f"{NOT_INSTALLED}: {missing}")
    work = tmp_path_factory.mktemp("interop")
    contexts = work / "contexts"
    assert cli_main(["contexts", "export", str(contexts)]) == 0
    counter = iter(range(1_000_000))

    def run(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        n = next(counter)
        jobs_file, results_file = work / f"jobs-{n}.json", work / f"results-{n}.json"
        jobs_file.write_text(json.dumps(jobs, ensure_ascii=False), encoding="utf-8")
        done = subprocess.run(
            [node, str(INTEROP / "reference.mjs"), str(contexts), str(jobs_file),
             str(results_file)],
            capture_output=True, text=True, timeout=NODE_TIMEOUT, check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"reference.mjs exited {done.returncode}: {done.stderr[-2000:]}")
        results: list[dict[str, Any]] = json.loads(results_file.read_text(encoding="utf-8"))
        assert len(results) == len(jobs)
        return results

    return run


@pytest.fixture(scope="module")
def reference_keys(reference: Reference) -> dict[str, dict[str, Any]]:
    """Keys made by the reference: an issuer per cryptosuite and a holder per cryptosuite."""
    names = {"eddsa-rdfc-2022": "eddsa-rdfc-2022", "ecdsa-rdfc-2019": "ecdsa-rdfc-2019",
             "holder": "eddsa-rdfc-2022", "holder-p256": "ecdsa-rdfc-2019"}
    made = reference([{"op": "generate", "cryptosuite": suite} for suite in names.values()])
    for result in made:
        assert "error" not in result, result
    return dict(zip(names, made, strict=True))


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in result, result["error"]
    return result


def _assert_reference_verified(result: dict[str, Any], what: str) -> None:
    assert "error" not in result, f"{what}: {result['error']}"
    assert result["verified"] is True, f"{what}: the reference says {result['errors']}"


def _assert_reference_refused(result: dict[str, Any], what: str) -> None:
    assert "error" not in result, f"{what}: {result['error']}"
    assert result["verified"] is False, f"{what}: the reference accepted it"
    assert result["errors"], f"{what}: refused without a reason"


def _failed_checks(result: CredentialResult) -> list[str]:
    return [f"{c.name}: {c.reason}" for c in result.failures]


# --------------------------------------------------------------------------------------
# documents
# --------------------------------------------------------------------------------------
def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def _tamper(document: dict[str, Any]) -> dict[str, Any]:
    """A copy whose first Korean string under credentialSubject has one syllable changed."""
    forged = copy.deepcopy(document)

    def edit(value: Any) -> bool:
        items = value.items() if isinstance(value, dict) else enumerate(value) \
            if isinstance(value, list) else ()
        for key, item in items:
            if isinstance(item, str) and _has_hangul(item):
                old = next(c for c in item if _has_hangul(c))
                value[key] = item.replace(old, "위" if old != "위" else "아", 1)
                return True
            if isinstance(item, dict | list) and edit(item):
                return True
        return False

    assert edit(forged["credentialSubject"]), "no Korean text to tamper with"
    return forged


def _tamper_token(token: str) -> str:
    """The same JWS with a payload whose Korean text was edited (signature kept)."""
    header, payload, signature = token.split(".")
    claims = _json.loads(b64url_decode(payload).decode("utf-8"))
    forged = _tamper(claims)
    return ".".join((header, b64url_encode(_json.dumps(forged).encode("utf-8")), signature))


def _examples_credential(issuer: str, holder: str) -> dict[str, Any]:
    """A plain VC 2.0 + examples-context credential carrying Korean text."""
    return {
        "@context": [VC_V2_CONTEXT, EXAMPLES_V2],
        "id": "urn:uuid:0b1c6a52-7d0e-4c55-9a70-3e1d9f2b8c41",
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": {"id": issuer, "name": "한국대학교"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": holder,
            "name": "김민준",
            "degree": {"type": "ExampleBachelorDegree", "name": "컴퓨터공학 학사"},
        },
    }


# --------------------------------------------------------------------------------------
# 1. vcwallet issues, the reference verifies
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "key_type"), [("di-eddsa", KeyType.ED25519),
                                                ("di-ecdsa", KeyType.P256)])
def test_reference_verifies_what_vcwallet_issues(reference: Reference, fmt: str,
                                                 key_type: KeyType) -> None:
    issuer = KeyPair.generate(key_type)
    holder = KeyPair.generate(KeyType.ED25519)
    issued = {name: issue(name, _example(name), signer=issuer, format=fmt, holder=holder.did_key)
              for name in TYPES}
    documents = [sc.data for sc in issued.values() if isinstance(sc.data, dict)]
    assert len(documents) == len(TYPES)
    jobs = [{"op": "verifyCredential", "credential": d} for d in documents]
    jobs += [{"op": "verifyCredential", "credential": _tamper(d)} for d in documents]
    results = reference(jobs)
    for name, result in zip(TYPES, results[:4], strict=True):
        _assert_reference_verified(result, f"{fmt} {name}")
    for name, result in zip(TYPES, results[4:], strict=True):
        _assert_reference_refused(result, f"tampered {fmt} {name}")


# --------------------------------------------------------------------------------------
# 2. the reference issues, vcwallet verifies
# --------------------------------------------------------------------------------------
def test_vcwallet_verifies_what_the_reference_issues(
        reference: Reference, reference_keys: dict[str, dict[str, Any]]) -> None:
    holder = reference_keys["holder"]["did"]
    unsigned: list[tuple[str, dict[str, Any]]] = []
    for suite in ("eddsa-rdfc-2022", "ecdsa-rdfc-2019"):
        did = reference_keys[suite]["did"]
        ours = credential_type("diploma").build(_example("diploma"), issuer=did,
                                               issuer_name="한국대학교", holder=holder)
        unsigned += [(suite, _examples_credential(did, holder)), (suite, ours)]
    # signed as decomposed jamo (NFD): vcwallet must verify the bytes as signed, not re-normalise
    decomposed = _examples_credential(reference_keys["eddsa-rdfc-2022"]["did"], holder)
    decomposed["credentialSubject"]["name"] = unicodedata.normalize("NFD", "김민준")
    unsigned.append(("eddsa-rdfc-2022", decomposed))
    issued = reference([
        {"op": "issue", "cryptosuite": suite, "key": reference_keys[suite]["key"],
         "credential": credential}
        for suite, credential in unsigned
    ])
    signed = [_ok(result)["credential"] for result in issued]

    for (suite, credential), document in zip(unsigned, signed, strict=True):
        assert document["proof"]["cryptosuite"] == suite
        result = verify_credential(document)
        assert result.verified, f"{suite} {credential['type']}: {_failed_checks(result)}"
        assert result.issuer == reference_keys[suite]["did"]
        assert result.credential is not None
        assert result.credential["credentialSubject"] == credential["credentialSubject"]

        forged = verify_credential(_tamper(document))
        assert not forged.verified
        assert any(c.name == "signature" for c in forged.failures), _failed_checks(forged)

    # the tampered copies fail in the reference too, the originals still pass there
    checked = reference([{"op": "verifyCredential", "credential": d} for d in signed]
                        + [{"op": "verifyCredential", "credential": _tamper(d)} for d in signed])
    for answer in checked[:len(signed)]:
        _assert_reference_verified(answer, "reference-issued credential")
    for answer in checked[len(signed):]:
        _assert_reference_refused(answer, "tampered reference-issued credential")


# --------------------------------------------------------------------------------------
# 3. presentations, both directions
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("holder_type", [KeyType.ED25519, KeyType.P256])
def test_reference_verifies_a_vcwallet_presentation(reference: Reference,
                                                    holder_type: KeyType) -> None:
    issuer = KeyPair.generate(KeyType.ED25519)
    holder = KeyPair.generate(holder_type)
    credential = issue("badge", _example("badge"), signer=issuer, holder=holder.did_key)
    vp = create_presentation([credential], holder=holder, holder_did=holder.did_key,
                             challenge=CHALLENGE, domain=DOMAIN)
    assert isinstance(vp, dict)
    results = reference([
        {"op": "verifyPresentation", "presentation": vp, "challenge": CHALLENGE,
         "domain": DOMAIN},
        {"op": "verifyPresentation", "presentation": vp, "challenge": "another-challenge",
         "domain": DOMAIN},
        {"op": "verifyPresentation", "presentation": vp, "challenge": CHALLENGE,
         "domain": "https://elsewhere.example"},
    ])
    _assert_reference_verified(results[0], f"{holder_type.value} presentation")
    _assert_reference_refused(results[1], "presentation replayed with another challenge")
    _assert_reference_refused(results[2], "presentation replayed to another domain")


@pytest.mark.parametrize(("holder_name", "holder_suite"), [("holder", "eddsa-rdfc-2022"),
                                                          ("holder-p256", "ecdsa-rdfc-2019")])
def test_vcwallet_verifies_a_reference_presentation(
        reference: Reference, reference_keys: dict[str, dict[str, Any]], holder_name: str,
        holder_suite: str) -> None:
    holder = reference_keys[holder_name]
    issued = reference([
        {"op": "issue", "cryptosuite": suite, "key": reference_keys[suite]["key"],
         "credential": _examples_credential(reference_keys[suite]["did"], holder["did"])}
        for suite in ("eddsa-rdfc-2022", "ecdsa-rdfc-2019")
    ])
    unsigned = {
        "@context": [VC_V2_CONTEXT],
        "type": ["VerifiablePresentation"],
        "holder": holder["did"],
        "verifiableCredential": [_ok(r)["credential"] for r in issued],
    }
    (made,) = reference([{"op": "signPresentation", "cryptosuite": holder_suite,
                          "key": holder["key"], "presentation": unsigned,
                          "challenge": CHALLENGE, "domain": DOMAIN}])
    vp = _ok(made)["presentation"]
    assert vp["proof"]["proofPurpose"] == "authentication"
    assert vp["proof"]["cryptosuite"] == holder_suite

    result = verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN)
    reasons = [f"{c.name}: {c.reason}" for c in result.checks] + [
        r for c in result.credentials for r in _failed_checks(c)]
    assert result.verified, reasons
    assert result.holder == holder["did"]
    assert [c.verified for c in result.credentials] == [True, True]

    replay = verify_presentation(vp, challenge="another-challenge", domain=DOMAIN)
    assert not replay.verified
    forged = copy.deepcopy(vp)
    forged["verifiableCredential"][0] = _tamper(forged["verifiableCredential"][0])
    assert not verify_presentation(forged, challenge=CHALLENGE, domain=DOMAIN).verified


def test_reference_verifies_vcwallet_presenting_a_reference_credential(
        reference: Reference, reference_keys: dict[str, dict[str, Any]]) -> None:
    """A vcwallet holder presents one credential of each origin; the reference checks all."""
    holder = KeyPair.generate(KeyType.ED25519)
    ours = issue("battery", _example("battery"), signer=KeyPair.generate(KeyType.P256),
                 format="di-ecdsa", holder=holder.did_key)
    suite = "eddsa-rdfc-2022"
    (theirs,) = reference([{"op": "issue", "cryptosuite": suite,
                            "key": reference_keys[suite]["key"],
                            "credential": _examples_credential(reference_keys[suite]["did"],
                                                               holder.did_key)}])
    vp = create_presentation([ours, _ok(theirs)["credential"]], holder=holder,
                             holder_did=holder.did_key, challenge=CHALLENGE, domain=DOMAIN)
    assert isinstance(vp, dict)
    assert verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN).verified
    (checked,) = reference([{"op": "verifyPresentation", "presentation": vp,
                             "challenge": CHALLENGE, "domain": DOMAIN}])
    _assert_reference_verified(checked, "mixed-origin presentation")
    assert checked["credentials"] == [True, True]


# --------------------------------------------------------------------------------------
# 4. vc+jwt with panva jose, both directions
# --------------------------------------------------------------------------------------
_ALGS = {KeyType.ED25519: "EdDSA", KeyType.P256: "ES256"}


def test_jose_verifies_vcwallet_vc_jwt(reference: Reference) -> None:
    signers = {kt: KeyPair.generate(kt) for kt in _ALGS}
    tokens = {kt: issue("transcript", _example("transcript"), signer=s, format="jwt")
              for kt, s in signers.items()}
    jobs = []
    for kt, sc in tokens.items():
        jwk = signers[kt].public_key.to_jwk()
        jobs.append({"op": "joseVerify", "token": sc.data, "jwk": jwk, "alg": _ALGS[kt]})
        # the same token, with the key the did:key driver resolves for its kid
        jobs.append({"op": "joseVerify", "token": sc.data, "alg": _ALGS[kt]})
        jobs.append({"op": "joseVerify", "token": _tamper_token(str(sc.data)), "jwk": jwk,
                     "alg": _ALGS[kt]})
    results = reference(jobs)
    for n, (kt, sc) in enumerate(tokens.items()):
        good, resolved, bad = results[3 * n:3 * n + 3]
        for result in (good, resolved):
            _assert_reference_verified(result, f"vc+jwt {_ALGS[kt]}")
            assert result["header"]["typ"] == "vc+jwt"
            assert result["header"]["kid"].startswith(signers[kt].did_key + "#")
            assert result["payload"] == sc.credential  # Korean text byte for byte
        _assert_reference_refused(bad, f"tampered vc+jwt {_ALGS[kt]}")


def test_did_key_and_jwk_agree_with_the_reference(
        reference_keys: dict[str, dict[str, Any]]) -> None:
    """The public JWK vcwallet derives from a reference did:key is the reference's own."""
    for made in reference_keys.values():
        theirs = {k: v for k, v in made["publicJwk"].items() if k in ("kty", "crv", "x", "y")}
        assert PublicKey.from_did_key(made["did"]).to_jwk() == theirs
        assert PublicKey.from_jwk(theirs).did_key == made["did"]


def test_vcwallet_verifies_jose_vc_jwt(reference: Reference,
                                       reference_keys: dict[str, dict[str, Any]]) -> None:
    suites = {"eddsa-rdfc-2022": "EdDSA", "ecdsa-rdfc-2019": "ES256"}
    holder = reference_keys["holder"]["did"]
    payloads = {suite: _examples_credential(reference_keys[suite]["did"], holder)
                for suite in suites}
    made = reference([{"op": "joseSign", "cryptosuite": suite, "key": reference_keys[suite]["key"],
                       "payload": payloads[suite]} for suite in suites])
    for (suite, alg), result in zip(suites.items(), made, strict=True):
        token = _ok(result)["token"]
        verified = verify_credential(token)
        assert verified.verified, f"{alg}: {_failed_checks(verified)}"
        assert verified.format == "jwt"
        assert verified.verification_method == reference_keys[suite]["key"]["id"]
        assert verified.credential == payloads[suite]

        forged = verify_credential(_tamper_token(token))
        assert not forged.verified
        assert any(c.name == "signature" for c in forged.failures), _failed_checks(forged)
