"""The `vcwallet` command as other tools script it: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vcwallet.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ed_key(tmp_path, capsys):
    path = tmp_path / "issuer.key"
    code, out, _ = run(capsys, "key", "new", "--type", "ed25519", "--out", str(path))
    assert code == 0 and out.startswith("did:key:z6Mk")
    return path, out.strip()


def test_key_new_prints_did_and_writes_0600(tmp_path, capsys):
    for key_type, prefix in (("ed25519", "did:key:z6Mk"), ("p256", "did:key:zDna")):
        path = tmp_path / f"{key_type}.key"
        code, out, _ = run(capsys, "key", "new", "--type", key_type, "--out", str(path))
        assert code == 0 and out.strip().startswith(prefix)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        code, shown, _ = run(capsys, "key", "show", str(path))
        assert json.loads(path.read_text())["d"] not in shown


def test_encrypted_key_needs_the_passphrase(tmp_path, capsys, monkeypatch):
    path = tmp_path / "sealed.key"
    monkeypatch.setenv("VCWALLET_PASSPHRASE", "s3cret passphrase")
    assert run(capsys, "key", "new", "--encrypt", "--out", str(path))[0] == 0
    subject = EXAMPLES / "badge.json"
    out = tmp_path / "badge.json"
    code, _, err = run(capsys, "issue", "--type", "badge", "--subject", str(subject), "--key",
                       str(path), "--format", "jwt", "--out", str(out))
    assert code == 0, err
    monkeypatch.setenv("VCWALLET_PASSPHRASE", "wrong")
    code, _, err = run(capsys, "issue", "--type", "badge", "--subject", str(subject), "--key",
                       str(path), "--format", "jwt", "--out", str(tmp_path / "x.json"))
    assert code == 2 and "wrong passphrase" in err and err.count("\n") == 1


@pytest.mark.parametrize("fmt", ["di-eddsa", "jwt", "cose"])
@pytest.mark.parametrize("type_name", ["diploma", "transcript", "badge", "battery"])
def test_issue_then_verify(tmp_path, capsys, ed_key, type_name, fmt):
    key, did = ed_key
    out = tmp_path / f"{type_name}.{fmt}"
    code, _, err = run(capsys, "issue", "--type", type_name, "--subject",
                       str(EXAMPLES / f"{type_name}.json"), "--key", str(key), "--format", fmt,
                       "--holder", "did:example:holder", "--out", str(out))
    assert code == 0, err
    code, report, _ = run(capsys, "verify", str(out))
    assert code == 0, report
    assert report.startswith("VERIFIED")
    code, report, _ = run(capsys, "verify", str(out), "--json")
    result = json.loads(report)
    assert code == 0 and result["verified"] is True and result["issuer"] == did
    assert result["credential"]["credentialSubject"]["id"] == "did:example:holder"


def test_di_ecdsa_needs_a_p256_key(tmp_path, capsys, ed_key):
    code, _, err = run(capsys, "issue", "--type", "badge", "--subject", str(EXAMPLES / "badge.json"),
                       "--key", str(ed_key[0]), "--format", "di-ecdsa", "--out", str(tmp_path / "b"))
    assert code == 2 and "p256" in err


def test_tampered_credential_exits_1_with_failed_checks(tmp_path, capsys, ed_key):
    out = tmp_path / "diploma.json"
    run(capsys, "issue", "--type", "diploma", "--subject", str(EXAMPLES / "diploma.json"),
        "--key", str(ed_key[0]), "--out", str(out))
    document = json.loads(out.read_text())
    document["credentialSubject"]["achievement"]["name"] = "Doctor of Medicine"
    out.write_text(json.dumps(document, ensure_ascii=False))
    code, report, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert report.startswith("NOT VERIFIED")
    assert "FAIL signature" in report


def test_verify_at_time_and_valid_until(tmp_path, capsys, ed_key):
    out = tmp_path / "badge.jwt"
    run(capsys, "issue", "--type", "badge", "--subject", str(EXAMPLES / "badge.json"), "--key",
        str(ed_key[0]), "--format", "jwt", "--valid-until", "2099-01-01", "--out", str(out))
    assert run(capsys, "verify", str(out), "--at", "2098-12-31T23:00:00Z")[0] == 0
    code, report, _ = run(capsys, "verify", str(out), "--at", "2099-06-01")
    assert code == 1 and "expired" in report


@pytest.mark.parametrize("content", [b"", b"{", b"garbage", b"\x00\x01\x02", b'{"a":1,"a":2}'])
def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "bad"
    path.write_bytes(content)
    code, _, err = run(capsys, "verify", str(path))
    assert code == 2
    assert err.startswith("vcwallet: ") and err.count("\n") == 1


def test_usage_errors_exit_2(tmp_path, capsys, ed_key):
    assert run(capsys, "verify", str(tmp_path / "missing"))[0] == 2
    assert run(capsys, "issue", "--type", "nope")[0] == 2
    bad_subject = tmp_path / "subject.json"
    bad_subject.write_text('{"achievement": 5}')
    code, _, err = run(capsys, "issue", "--type", "badge", "--subject", str(bad_subject), "--key",
                       str(ed_key[0]), "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1


def test_contexts_export(tmp_path, capsys):
    code, _, _ = run(capsys, "contexts", "export", str(tmp_path / "ctx"))
    assert code == 0
    index = json.loads((tmp_path / "ctx" / "index.json").read_text())
    assert "https://www.w3.org/ns/credentials/v2" in index
    assert "https://w3id.org/vcwallet/v1" in index
    for url, name in index.items():
        document = json.loads((tmp_path / "ctx" / name).read_text())
        assert "@context" in document, url


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_demo_tells_the_whole_story(capsys, lang):
    code, out, err = run(capsys, "demo", "--lang", lang)
    assert code == 0, err
    assert "The story went as expected." in out
    revoked = "✗ REVOKED" if lang == "en" else "✗ "
    assert revoked in out
    assert "김민준" in out


def test_console_script_never_prints_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"@context": 5, "proof": {}}')
    proc = subprocess.run([sys.executable, "-m", "vcwallet.cli", "verify", str(bad)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode in (1, 2)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("fmt", ["di-eddsa", "jwt", "cose"])
def test_issue_with_ledger_writes_a_receipt_that_verifies(tmp_path, capsys, ed_key, fmt):
    log_key = tmp_path / "log.key"
    store = tmp_path / "ledger.db"
    assert run(capsys, "key", "new", "--out", str(log_key))[0] == 0
    assert run(capsys, "ledger", "init", "--store", str(store), "--key", str(log_key),
               "--origin", "ledger.hankook.example/diplomas")[0] == 0
    out = tmp_path / f"diploma.{fmt}"
    code, _, err = run(capsys, "issue", "--type", "diploma", "--subject",
                       str(EXAMPLES / "diploma.json"), "--key", str(ed_key[0]), "--format", fmt,
                       "--ledger", str(store), "--out", str(out))
    assert code == 0, err
    receipt = Path(f"{out}.receipt.json")
    assert json.loads(receipt.read_text())["leaf_index"] == 0
    assert run(capsys, "ledger", "verify-receipt", str(out), str(receipt), "--log-key",
               str(log_key))[0] == 0
    other = tmp_path / "other.key"
    run(capsys, "key", "new", "--out", str(other))
    assert run(capsys, "ledger", "verify-receipt", str(out), str(receipt), "--log-key",
               str(other))[0] == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("2030-01-01", "2030-01-01T00:00:00+00:00"),
    ("2030-01-01Z", "2030-01-01T00:00:00+00:00"),
    ("2030-01-01T10:00", "2030-01-01T10:00:00+00:00"),
    ("2030-01-01T10:00:00Z", "2030-01-01T10:00:00+00:00"),
    ("2030-01-01T10:00:00+09:00", "2030-01-01T10:00:00+09:00"),
    ("2030-01-01 10:00:00.5-05:00", "2030-01-01T10:00:00.500000-05:00"),
])
def test_times_on_the_command_line(text: str, expected: str) -> None:
    from vcwallet.cli.credential_cmd import parse_time

    assert parse_time(text, "--at").isoformat() == expected


@pytest.mark.parametrize("text", ["2030-01-01+09:00", "2030-01-01-05:00", "2030-13-01",
                                  "2030-01-01T25:00", "tomorrow", ""])
def test_times_that_are_not_read_as_something_else(text: str) -> None:
    from vcwallet.cli._common import CliFailure
    from vcwallet.cli.credential_cmd import parse_time

    with pytest.raises(CliFailure, match="--at"):
        parse_time(text, "--at")
