"""``vcwallet ledger`` end to end, in process: init, checkpoint, prove, consistency, audit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from vcwallet.cli import main
from vcwallet.keys import KeyPair, KeyType
from vcwallet.ledger import (
    TransparencyLog,
    leaf_hash,
    open_checkpoint,
    open_store,
    verify_consistency,
    verify_inclusion,
)

ORIGIN = "ledger.test/cli"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, KeyPair]:
    pair = KeyPair.generate(KeyType.ED25519)
    keyfile = tmp_path / "log.key"
    pair.save(keyfile)
    store = str(tmp_path / "ledger.db")
    code, out, _ = run(capsys, "ledger", "init", "--store", store, "--key", str(keyfile),
                       "--origin", ORIGIN)
    assert code == 0 and out.startswith(ORIGIN + "+")
    with open_store(store) as s:  # type: ignore[attr-defined]
        TransparencyLog.open(s).append_batch([f"entry {i}".encode() for i in range(25)])
    return store, pair


def test_checkpoint_prove_consistency_audit(
    setup: tuple[str, KeyPair], capsys: pytest.CaptureFixture[str]
) -> None:
    store, pair = setup
    pub = pair.private_key.public_key()  # type: ignore[union-attr]
    code, note, _ = run(capsys, "ledger", "checkpoint", "--store", store)
    assert code == 0
    cp = open_checkpoint(note, pub, origin=ORIGIN)  # type: ignore[arg-type]
    assert cp.tree_size == 25
    assert run(capsys, "ledger", "checkpoint", "--store", store)[1] == note  # unchanged tree

    h = leaf_hash(b"entry 7")
    code, out, _ = run(capsys, "ledger", "prove", "--store", store, "--leaf-hash", h.hex())
    assert code == 0
    proof = json.loads(out)
    assert set(proof) == {"leaf_index", "tree_size", "leaf_hash", "inclusion_path", "checkpoint"}
    assert (proof["leaf_index"], proof["tree_size"], proof["leaf_hash"]) == (7, 25, h.hex())
    verify_inclusion(7, 25, h, [bytes.fromhex(x) for x in proof["inclusion_path"]], cp.root_hash)
    assert proof["checkpoint"] == note

    code, out, _ = run(capsys, "ledger", "prove", "--store", store, "--leaf-hash", h.hex(),
                       "--size", "10")
    small = json.loads(out)
    assert code == 0 and small["tree_size"] == 10
    cp10 = open_checkpoint(small["checkpoint"], pub, origin=ORIGIN)  # type: ignore[arg-type]

    code, out, _ = run(capsys, "ledger", "consistency", "--store", store, "--old", "10")
    cons = json.loads(out)
    assert code == 0 and (cons["first"], cons["second"]) == (10, 25)
    verify_consistency(10, 25, [bytes.fromhex(x) for x in cons["consistency_path"]],
                       cp10.root_hash, cp.root_hash)

    code, out, _ = run(capsys, "ledger", "audit", "--store", store)
    assert code == 0 and out.startswith("ok: 25 leaves") and "2 checkpoints" in out


def test_audit_of_an_edited_database_exits_1(
    setup: tuple[str, KeyPair], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = setup
    assert run(capsys, "ledger", "checkpoint", "--store", store)[0] == 0
    db = sqlite3.connect(store)
    db.execute("UPDATE leaves SET data = ? WHERE idx = 3", (b"entry 99",))
    db.commit()
    db.close()
    code, _, err = run(capsys, "ledger", "audit", "--store", store)
    assert code == 1 and "audit failed" in err
    h = leaf_hash(b"entry 2")  # its proof passes through the edited leaf 3
    code, _, err = run(capsys, "ledger", "prove", "--store", store, "--leaf-hash", h.hex())
    assert code == 1 and err.count("\n") == 1 and "root mismatch" in err


def test_usage_errors_exit_2(setup: tuple[str, KeyPair], capsys: pytest.CaptureFixture[str],
                             tmp_path: Path) -> None:
    store, _ = setup
    for args in (
        ["prove", "--store", store, "--leaf-hash", "zz"],
        ["prove", "--store", store, "--leaf-hash", "00" * 31],
        ["prove", "--store", store],
        ["prove", "--store", store, "--leaf-hash", leaf_hash(b"absent").hex()],
        ["prove", "--store", store, "--leaf-hash", leaf_hash(b"entry 1").hex(), "--size", "99"],
        ["consistency", "--store", store, "--old", "30"],
        ["audit", "--store", str(tmp_path / "missing.db")],
        ["init", "--store", store, "--key", str(tmp_path / "log.key"), "--origin", ORIGIN],
    ):
        code, _, err = run(capsys, "ledger", *args)
        assert code == 2, args
        assert err.startswith("vcwallet: ") and err.count("\n") == 1, err


def test_p256_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pair = KeyPair.generate(KeyType.P256)
    pair.save(tmp_path / "p.key")
    code, _, err = run(capsys, "ledger", "init", "--store", str(tmp_path / "l.db"),
                       "--key", str(tmp_path / "p.key"), "--origin", ORIGIN)
    assert code == 2 and "Ed25519" in err


def _signed_credential(n: int) -> bytes:
    from datetime import UTC, datetime

    from vcwallet import proofs

    issuer = KeyPair.from_ed25519_seed(b"\x05" * 32)
    did = issuer.did_key
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://www.w3.org/ns/credentials/examples/v2"],
        "id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": did,
        "validFrom": "2026-02-20T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", "alumniOf": "한국대학교"},
    }
    signed = proofs.add_proof(credential, issuer, verification_method=f"{did}#{did[8:]}",
                              created=datetime(2026, 2, 20, tzinfo=UTC))
    return json.dumps(signed, ensure_ascii=False).encode()


def test_append_prove_and_verify_receipts(
    setup: tuple[str, KeyPair], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store, _pair = setup
    files = []
    for n in range(3):
        path = tmp_path / f"cred{n}.json"
        path.write_bytes(_signed_credential(n))
        files.append(str(path))
    code, out, err = run(capsys, "ledger", "append", "--store", store, *files)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["tree_size"] == 28
    assert [e["leaf_index"] for e in summary["entries"]] == [25, 26, 27]

    code, vkey, _ = run(capsys, "ledger", "init", "--store", str(tmp_path / "other.db"),
                        "--key", str(tmp_path / "log.key"), "--origin", ORIGIN)
    vkey = vkey.strip()
    receipt = files[1] + ".receipt.json"
    code, out, err = run(capsys, "ledger", "verify-receipt", files[1], receipt, "--log-key", vkey)
    assert code == 0 and out.startswith("valid: leaf 26"), err
    keyfile = str(tmp_path / "log.key")
    assert run(capsys, "ledger", "verify-receipt", files[1], receipt, "--log-key", keyfile)[0] == 0

    code, _, err = run(capsys, "ledger", "verify-receipt", files[0], receipt, "--log-key", vkey)
    assert code == 1 and "different credential" in err
    stranger = KeyPair.generate()
    from vcwallet.ledger import verifier_key

    other_vkey = verifier_key(ORIGIN, stranger.private_key.public_key())  # type: ignore[union-attr]
    code, _, _ = run(capsys, "ledger", "verify-receipt", files[1], receipt, "--log-key", other_vkey)
    assert code == 1
    (tmp_path / "junk.json").write_text("{not json")
    code, _, _ = run(capsys, "ledger", "verify-receipt", files[1], str(tmp_path / "junk.json"),
                     "--log-key", vkey)
    assert code == 2
    code, _, _ = run(capsys, "ledger", "verify-receipt", files[1], receipt, "--log-key", "nope")
    assert code == 2

    code, out, _ = run(capsys, "ledger", "prove", "--store", store, "--credential", files[2])
    assert code == 0 and json.loads(out)["leaf_index"] == 27


def test_cli_on_postgres(postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import uuid

    from vcwallet.ledger.store_postgres import PostgresStore

    pair = KeyPair.generate(KeyType.ED25519)
    pair.save(tmp_path / "log.key")
    schema = f"t_cli_{uuid.uuid4().hex[:12]}"
    store = f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema={schema}"
    try:
        assert run(capsys, "ledger", "init", "--store", store, "--key", str(tmp_path / "log.key"),
                   "--origin", ORIGIN)[0] == 0
        with open_store(store) as s:  # type: ignore[attr-defined]
            TransparencyLog.open(s).append_batch([f"pg {i}".encode() for i in range(9)])
        code, out, _ = run(capsys, "ledger", "prove", "--store", store,
                           "--leaf-hash", leaf_hash(b"pg 4").hex())
        assert code == 0 and json.loads(out)["tree_size"] == 9
        code, out, _ = run(capsys, "ledger", "audit", "--store", store)
        assert code == 0 and out.startswith("ok: 9 leaves")
    finally:
        with PostgresStore(postgres_url, schema=schema) as s:
            s.drop()


@pytest.mark.parametrize("origin", ["", "has space", "a+b", "bell\x07"])
def test_bad_origins_are_usage_errors(origin: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    KeyPair.generate().save(tmp_path / "k.key")
    code, _, err = run(capsys, "ledger", "init", "--store", str(tmp_path / "l.db"),
                       "--key", str(tmp_path / "k.key"), "--origin", origin)
    assert code == 2 and err.startswith("vcwallet: ")
