"""The job seeker's command line, end to end: issue (Data Integrity, vc+jwt, SD-JWT) ->
wallet init / add / list / show -> present (PE and DCQL, di and jwt) -> verify, with
Korean data; replays, unmet requests and wrong passphrases exit with one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vcwallet import _json
from vcwallet.cli import main
from vcwallet.sdjwt import unverified_claims

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASS = "구직자 지갑 암호"
CHALLENGE = "c-1f2e3d"
DOMAIN = "https://hr.employer.example"
# a CLR transcript: one nested credential per programme / course, each with its result
# (the GPA for the programme, a letter grade for a course)
RESULTS = "credentialSubject.verifiableCredential[*].credentialSubject.result[*].value"
GPA_PATH = ["credentialSubject", "verifiableCredential", 0, "credentialSubject", "result", 0,
            "value"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCWALLET_PASSPHRASE", PASS)
    monkeypatch.delenv("VCWALLET_BACKUP_PASSPHRASE", raising=False)


def write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return str(path)


def degree_and_badge() -> dict[str, Any]:
    def descriptor(name: str, achievement_type: str) -> dict[str, Any]:
        return {"id": name, "constraints": {"fields": [
            {"path": ["$.credentialSubject.achievement.achievementType"],
             "filter": {"const": achievement_type}}]}}

    return {"presentation_definition": {"id": "hiring", "name": "신입 개발자 채용",
                                        "input_descriptors": [
                                            descriptor("degree", "BachelorDegree"),
                                            descriptor("badge", "CertificateOfCompletion")]}}


def gpa_query() -> dict[str, Any]:
    return {"dcql_query": {"credentials": [{
        "id": "transcript", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://w3id.org/vcwallet/vct/transcript"]},
        "claims": [{"path": GPA_PATH}]}]}}


@pytest.fixture
def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str], env: None) -> dict[str, str]:
    """An issuer key, a wallet, and three credentials issued to its holder."""
    key = str(tmp_path / "issuer.key")
    assert run(capsys, "key", "new", "--out", key)[0] == 0
    wallet = str(tmp_path / "minjun.wallet")
    code, out, _ = run(capsys, "wallet", "init", "--wallet", wallet)
    assert code == 0
    holder = out.strip()
    assert holder.startswith("did:key:z6Mk")
    files = {"key": key, "wallet": wallet, "holder": holder}
    for name, type_name, fmt, extra in (
        ("diploma", "diploma", "di-eddsa", []),
        ("badge", "badge", "jwt", []),
        ("transcript", "transcript", "sd-jwt",
         ["--disclosable", RESULTS]),
    ):
        target = str(tmp_path / f"{name}.vc")
        code, out, err = run(capsys, "issue", "--type", type_name, "--subject",
                             str(EXAMPLES / f"{type_name}.json"), "--key", key, "--format", fmt,
                             "--holder", holder, "--issuer-name", "한국대학교", "--out", target,
                             *extra)
        assert code == 0, err
        files[name] = target
    return files


def test_issue_sd_jwt_marks_the_disclosable_claims(setup: dict[str, str]) -> None:
    token = Path(setup["transcript"]).read_text().strip()
    assert token.endswith("~") and token.count("~") == 1 + 1 + 5  # the GPA and five grades
    claims = unverified_claims(token)
    assert claims["vct"] == "https://w3id.org/vcwallet/vct/transcript"
    assert claims["sub"] == setup["holder"] and claims["iss"].startswith("did:key:")
    assert claims["cnf"]["jwk"]["kty"] == "OKP" and "@context" not in claims
    nested = claims["credentialSubject"]["verifiableCredential"]
    assert nested[0]["credentialSubject"]["result"][0]["value"] == "4.12"
    assert nested[4]["credentialSubject"]["achievement"]["name"] == "캡스톤 디자인"


def test_issue_sd_jwt_refusals(setup: dict[str, str], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    base = ["issue", "--type", "transcript", "--subject", str(EXAMPLES / "transcript.json"),
            "--key", setup["key"], "--out", str(tmp_path / "x")]
    code, _, err = run(capsys, *base, "--format", "jwt", "--disclosable", "credentialSubject.gpa")
    assert code == 2 and "--disclosable goes with --format sd-jwt" in err
    code, _, err = run(capsys, *base, "--format", "sd-jwt", "--disclosable",
                       "credentialSubject.nope")
    assert code == 2 and "names no claim" in err and err.count("\n") == 1
    code, _, err = run(capsys, *base, "--format", "sd-jwt", "--holder", "did:web:x.example")
    assert code == 2 and "did:key" in err
    assert not (tmp_path / "x").exists()


def test_init_add_list_show_present_verify(setup: dict[str, str], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    wallet = setup["wallet"]
    for name in ("diploma", "badge", "transcript"):
        code, out, err = run(capsys, "wallet", "add", setup[name], "--wallet", wallet)
        assert code == 0, err
        assert out.startswith("added ")
    code, out, _ = run(capsys, "wallet", "list", "--wallet", wallet)
    assert code == 0 and len(out.splitlines()) == 3
    assert "이서연" in out and "김민준" in out  # Korean summaries, as text
    code, out, _ = run(capsys, "wallet", "list", "--wallet", wallet, "--json")
    entries = json.loads(out)
    assert [e["format"] for e in entries] == ["di", "jwt", "sd-jwt"]
    code, out, _ = run(capsys, "wallet", "show", entries[0]["key"], "--wallet", wallet)
    assert code == 0 and "컴퓨터공학 (Computer Science)" in out and setup["holder"] in out

    # an employer's presentation definition, answered as Data Integrity
    request = write(tmp_path / "request.json", degree_and_badge())
    vp, submission = str(tmp_path / "vp.json"), str(tmp_path / "submission.json")
    code, out, err = run(capsys, "present", "--wallet", wallet, "--request", request,
                         "--challenge", CHALLENGE, "--domain", DOMAIN, "--out", vp,
                         "--submission", submission)
    assert code == 0, err
    document = _json.loads(Path(vp).read_bytes())
    assert document["proof"]["challenge"] == CHALLENGE
    assert [d["id"] for d in json.loads(Path(submission).read_text())["descriptor_map"]] == [
        "degree", "badge"]
    code, out, err = run(capsys, "verify", vp, "--challenge", CHALLENGE, "--domain", DOMAIN)
    assert code == 0, out + err
    assert out.startswith("VERIFIED: presentation (di)") and "holder_binding" in out
    code, out, _ = run(capsys, "verify", vp, "--challenge", "c-replayed", "--domain", DOMAIN)
    assert code == 1 and "NOT VERIFIED" in out and "FAIL challenge" in out

    # a DCQL query for the GPA only, answered as vp+jwt
    query = write(tmp_path / "query.json", gpa_query())
    token_file = str(tmp_path / "vp.jwt")
    code, _, err = run(capsys, "present", "--wallet", wallet, "--request", query, "--challenge",
                       CHALLENGE, "--domain", DOMAIN, "--format", "jwt", "--out", token_file)
    assert code == 0, err
    code, out, err = run(capsys, "verify", token_file, "--challenge", CHALLENGE,
                         "--domain", DOMAIN, "--json")
    assert code == 0, err
    result = json.loads(out)
    (credential,) = result["credentials"]
    nested = credential["credential"]["credentialSubject"]["verifiableCredential"]
    assert nested[0]["credentialSubject"]["result"][0]["value"] == "4.12"  # asked for
    assert all("value" not in n["credentialSubject"]["result"][0] for n in nested[1:])
    assert nested[1]["credentialSubject"]["achievement"]["name"] == "자료구조"
    code, out, _ = run(capsys, "verify", token_file, "--challenge", CHALLENGE,
                       "--domain", "https://insurer.example")
    assert code == 1 and "FAIL domain" in out


def test_presentation_needs_challenge_and_domain_to_verify(
        setup: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "wallet", "add", setup["badge"], "--wallet", setup["wallet"])
    request = write(tmp_path / "r.json", {"presentation_definition": {
        "id": "b", "input_descriptors": [{"id": "badge", "constraints": {"fields": [
            {"path": ["$.type"], "filter": {"type": "array",
                                            "contains": {"const": "OpenBadgeCredential"}}}]}}]}})
    vp = str(tmp_path / "vp.json")
    assert run(capsys, "present", "--wallet", setup["wallet"], "--request", request,
               "--challenge", "c", "--domain", "d", "--out", vp)[0] == 0
    code, _, err = run(capsys, "verify", vp)
    assert code == 2 and "--challenge and --domain" in err and err.count("\n") == 1


def test_unmet_request_names_the_requirement(setup: dict[str, str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "wallet", "add", setup["diploma"], "--wallet", setup["wallet"])
    request = write(tmp_path / "request.json", degree_and_badge())
    out_file = tmp_path / "vp.json"
    code, _, err = run(capsys, "present", "--wallet", setup["wallet"], "--request", request,
                       "--challenge", CHALLENGE, "--domain", DOMAIN, "--out", str(out_file))
    assert code == 1 and "requirement 'badge' is unmet" in err and err.count("\n") == 1
    assert not out_file.exists()


def test_forged_credential_is_refused_with_exit_1(setup: dict[str, str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    document = _json.loads(Path(setup["diploma"]).read_bytes())
    document["credentialSubject"]["achievement"]["achievementType"] = "DoctoralDegree"
    forged = write(tmp_path / "forged.json", document)
    code, _, err = run(capsys, "wallet", "add", forged, "--wallet", setup["wallet"])
    assert code == 1 and "credential refused" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "wallet", "list", "--wallet", setup["wallet"])
    assert out.strip() == "(no credentials)"


def test_wrong_passphrase_is_one_line_and_the_wallet_stays_intact(
        setup: dict[str, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, "wallet", "add", setup["badge"], "--wallet", setup["wallet"])
    before = Path(setup["wallet"]).read_bytes()
    monkeypatch.setenv("VCWALLET_PASSPHRASE", "틀린 암호")
    code, out, err = run(capsys, "wallet", "list", "--wallet", setup["wallet"])
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert "passphrase" in err
    assert Path(setup["wallet"]).read_bytes() == before
    monkeypatch.setenv("VCWALLET_PASSPHRASE", PASS)
    code, out, _ = run(capsys, "wallet", "list", "--wallet", setup["wallet"])
    assert code == 0 and len(out.splitlines()) == 1


def test_passphrase_is_never_an_argument(setup: dict[str, str],
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "wallet", "list", "--wallet", setup["wallet"],
                       "--passphrase", PASS)
    assert code == 2 and "--passphrase" in err
    monkeypatch.delenv("VCWALLET_PASSPHRASE")
    code, _, err = run(capsys, "wallet", "list", "--wallet", setup["wallet"])
    assert code == 2 and "VCWALLET_PASSPHRASE" in err  # stdin is no terminal: no prompt


def test_remove_export_and_import(setup: dict[str, str], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    wallet = setup["wallet"]
    for name in ("diploma", "badge"):
        run(capsys, "wallet", "add", setup[name], "--wallet", wallet)
    monkeypatch.setenv("VCWALLET_BACKUP_PASSPHRASE", "백업 암호")
    backup = str(tmp_path / "minjun.backup")
    code, out, err = run(capsys, "wallet", "export", backup, "--wallet", wallet)
    assert code == 0 and "exported 2" in out, err
    entries = json.loads(run(capsys, "wallet", "list", "--wallet", wallet, "--json")[1])
    assert run(capsys, "wallet", "remove", entries[0]["key"], "--wallet", wallet)[0] == 0
    code, out, _ = run(capsys, "wallet", "show", entries[0]["key"], "--wallet", wallet)
    assert code == 2
    code, out, _ = run(capsys, "wallet", "import", backup, "--wallet", wallet)
    assert code == 0 and "imported 1 new" in out
    restored = str(tmp_path / "restored.wallet")
    code, out, _ = run(capsys, "wallet", "import", backup, "--wallet", restored)
    assert code == 0 and "restored 2" in out and setup["holder"] in out
    monkeypatch.setenv("VCWALLET_BACKUP_PASSPHRASE", "틀린 백업 암호")
    code, _, err = run(capsys, "wallet", "import", backup, "--wallet", wallet)
    assert code == 2 and err.count("\n") == 1


def test_init_refuses_to_overwrite(setup: dict[str, str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "wallet", "init", "--wallet", setup["wallet"])
    assert code == 2 and "exists" in err
