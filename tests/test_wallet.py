"""The encrypted wallet: storage, refusal of bad credentials, secrecy at rest, backups."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vcwallet import cose, jose
from vcwallet.anchor import Receipt, anchor_credentials, verify_receipt
from vcwallet.errors import (
    CredentialRefused,
    MalformedDocumentError,
    WalletCorrupted,
    WalletError,
    WalletLocked,
    WrongPassphrase,
)
from vcwallet.keys import KeyPair, KeyType
from vcwallet.ledger import TransparencyLog
from vcwallet.ledger.store_sqlite import SqliteStore
from vcwallet.wallet import CredentialEntry, KdfParams, StoredCredential, Wallet

PASS = "correct horse 배터리 staple"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
UNIVERSITY = KeyPair.from_ed25519_seed(bytes(range(32)))
INSTITUTE = KeyPair.generate(KeyType.P256)
LOG_KEY = KeyPair.from_ed25519_seed(b"\x05" * 32).private_key


def sign_jwt(issuer: KeyPair, credential: dict[str, Any]) -> str:
    did = issuer.did_key
    return jose.sign_vc_jwt(credential, issuer, kid=f"{did}#{did[len('did:key:'):]}")


def sign_cose(issuer: KeyPair, credential: dict[str, Any]) -> bytes:
    did = issuer.did_key
    return cose.sign_vc_cose(credential, issuer, kid=f"{did}#{did[len('did:key:'):]}")


def diploma(holder: str, *, name: str = "김민준", major: str = "컴퓨터공학",
            serial: int = 1) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://www.w3.org/ns/credentials/examples/v2"],
        "id": f"urn:uuid:00000000-0000-4000-8000-{serial:012d}",
        "type": ["VerifiableCredential", "UniversityDegreeCredential"],
        "issuer": {"id": UNIVERSITY.did_key, "name": "한국대학교"},
        "validFrom": "2025-02-20T00:00:00Z",
        "credentialSubject": {
            "id": holder, "name": name,
            "degree": {"type": "BachelorDegree", "name": f"Bachelor of Science, {major}"},
        },
    }


def badge(holder: str, *, serial: int = 1, until: str = "2030-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://www.w3.org/ns/credentials/examples/v2"],
        "id": f"urn:uuid:11111111-0000-4000-8000-{serial:012d}",
        "type": ["VerifiableCredential", "SoftwareTrainingBadge"],
        "issuer": INSTITUTE.did_key,
        "validFrom": "2025-06-01T00:00:00Z",
        "validUntil": until,
        "credentialSubject": {"id": holder, "course": "Python 심화", "hours": 120, "score": 4.0},
    }


@pytest.fixture
def wallet(tmp_path: Path):
    with Wallet.create(tmp_path / "holder.wallet", PASS) as w:
        yield w


def add_diploma(w: Wallet, **kwargs: Any) -> StoredCredential:
    return w.add(sign_jwt(UNIVERSITY, diploma(w.holder_did, **kwargs)), now=NOW)


@pytest.fixture
def ledger(tmp_path: Path) -> TransparencyLog:
    store = SqliteStore(tmp_path / "ledger.db", create=True)
    return TransparencyLog.create(store, origin="ledger.test/wallet",
                                  public_key=LOG_KEY.public_key())  # type: ignore[union-attr]


def receipt_for(ledger: TransparencyLog, secured: str | bytes) -> dict[str, Any]:
    (receipt,) = anchor_credentials(ledger, [secured], signing_key=LOG_KEY)  # type: ignore[arg-type]
    return receipt.to_json()


# -- creating and opening ------------------------------------------------------------------
def test_create_and_reopen_keeps_holder_and_credentials(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with Wallet.create(path, PASS) as w:
        did = w.holder_did
        stored = add_diploma(w)
        assert did.startswith("did:key:z6Mk")
        assert "private" not in repr(w.holder) and w.holder.private_jwk()["d"] not in repr(w)
    with Wallet.open(path, PASS) as w:
        assert w.holder_did == did
        w.holder.public_key.verify(w.holder.sign(b"challenge"), b"challenge")
        assert [e.key for e in w.list()] == [stored.key]
        assert path.stat().st_mode & 0o777 == 0o600


def test_p256_holder(tmp_path: Path) -> None:
    with Wallet.create(tmp_path / "w", PASS, key_type=KeyType.P256) as w:
        assert w.holder_did.startswith("did:key:zDn")


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "w"
    path.write_bytes(b"precious")
    with pytest.raises(WalletError, match="exists"):
        Wallet.create(path, PASS)
    assert path.read_bytes() == b"precious"


def test_open_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="no wallet"):
        Wallet.open(tmp_path / "absent", PASS)
    assert not (tmp_path / "absent").exists()
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WalletError, match="not a vcwallet wallet"):
        Wallet.open(junk, PASS)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(WalletError, match="not a vcwallet wallet"):
        Wallet.open(other, PASS)


def test_wrong_passphrase_is_clear_and_leaves_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS) as w:
        add_diploma(w)
    before = path.read_bytes()
    for attempt in ("wrong", PASS.upper(), PASS + " "):
        with pytest.raises(WrongPassphrase, match="wrong passphrase"):
            Wallet.open(path, attempt)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    with Wallet.open(path, PASS) as w:
        assert len(w) == 1


def test_passphrase_is_normalised_to_nfc(tmp_path: Path) -> None:
    import unicodedata

    path = tmp_path / "w"
    Wallet.create(path, "비밀번호").close()
    Wallet.open(path, unicodedata.normalize("NFD", "비밀번호")).close()


def test_closed_wallet_is_locked(wallet: Wallet) -> None:
    wallet.close()
    with pytest.raises(WalletLocked):
        wallet.list()
    with pytest.raises(WalletLocked):
        add_diploma(wallet)


def test_scrypt_wallet(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS, kdf=KdfParams(algorithm="scrypt", log2_n=15)) as w:
        add_diploma(w)
    with pytest.raises(WrongPassphrase):
        Wallet.open(path, "nope")
    with Wallet.open(path, PASS) as w:
        assert len(w) == 1


def test_weak_kdf_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="memory_kib"):
        Wallet.create(tmp_path / "w", PASS, kdf=KdfParams(memory_kib=1024))
    assert not (tmp_path / "w").exists()


def test_change_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS) as w:
        add_diploma(w)
        with pytest.raises(WrongPassphrase):
            w.change_passphrase("not it", "new one")
        w.change_passphrase(PASS, "새 비밀번호")
    with pytest.raises(WrongPassphrase):
        Wallet.open(path, PASS)
    with Wallet.open(path, "새 비밀번호") as w:
        assert w.get(w.list()[0].key).credential["credentialSubject"]["name"] == "김민준"


# -- storing, refusing, reading ----------------------------------------------------------
def test_add_and_get_round_trip_with_korean_text(wallet: Wallet,
                                                 ledger: TransparencyLog) -> None:
    token = sign_jwt(UNIVERSITY, diploma(wallet.holder_did))
    receipt = receipt_for(ledger, token)
    stored = wallet.add(token, receipt=receipt, now=NOW)
    got = wallet.get(stored.key)
    assert got.raw == token and got.format == "jwt"
    assert got.receipt == receipt
    verify_receipt(got.raw, Receipt.from_json(got.receipt), LOG_KEY.public_key())  # type: ignore[union-attr]
    assert got.credential["credentialSubject"]["name"] == "김민준"
    assert got.issuer == UNIVERSITY.did_key and got.subject_id == wallet.holder_did
    assert got.types == ("VerifiableCredential", "UniversityDegreeCredential")
    assert got.valid_from == "2025-02-20T00:00:00Z" and got.valid_until is None
    assert got.added == "2026-03-01T00:00:00Z"
    assert got.summary == "UniversityDegreeCredential: 김민준"
    assert wallet.get("urn:uuid:00000000-0000-4000-8000-000000000001").key == stored.key
    entry = wallet.list()[0]
    assert isinstance(entry, CredentialEntry) and entry.to_json()["summary"] == got.summary
    assert json.loads(json.dumps(got.to_json(), ensure_ascii=False))["credential"] == got.credential


def test_get_returns_a_private_copy(wallet: Wallet) -> None:
    stored = add_diploma(wallet)
    wallet.get(stored.key).credential["credentialSubject"]["name"] = "someone else"
    assert wallet.get(stored.key).credential["credentialSubject"]["name"] == "김민준"
    assert wallet.search(name="김민준")[0].key == stored.key


def test_a_receipt_for_another_credential_is_refused(wallet: Wallet,
                                                    ledger: TransparencyLog) -> None:
    mine = sign_jwt(UNIVERSITY, diploma(wallet.holder_did, serial=1))
    other = sign_jwt(UNIVERSITY, diploma(wallet.holder_did, serial=2))
    with pytest.raises(CredentialRefused, match="different credential"):
        wallet.add(mine, receipt=receipt_for(ledger, other), now=NOW)
    assert len(wallet) == 0
    cose_badge = sign_cose(INSTITUTE, badge(wallet.holder_did))
    stored = wallet.add(cose_badge, receipt=receipt_for(ledger, cose_badge),
                        now=NOW)
    verify_receipt(stored.raw, Receipt.from_json(stored.receipt),
                   LOG_KEY.public_key())  # type: ignore[union-attr]


def test_one_credential_in_two_formats(wallet: Wallet) -> None:
    claims = badge(wallet.holder_did)
    as_jwt = wallet.add(sign_jwt(INSTITUTE, claims), now=NOW)
    as_cose = wallet.add(sign_cose(INSTITUTE, claims), now=NOW)
    assert as_jwt.key != as_cose.key and len(wallet) == 2
    assert wallet.get(claims["id"]).key == as_jwt.key
    wallet.remove(claims["id"])
    assert wallet.get(claims["id"]).key == as_cose.key


def test_cose_bytes_are_stored_as_bytes(wallet: Wallet) -> None:
    data = sign_cose(INSTITUTE, badge(wallet.holder_did))
    stored = wallet.add(data, now=NOW)
    assert stored.format == "cose" and stored.raw == data and stored.receipt is None
    assert wallet.get(stored.key).raw == data


def test_adding_twice_keeps_one(wallet: Wallet) -> None:
    first = add_diploma(wallet)
    assert add_diploma(wallet).key == first.key
    tokens = [sign_jwt(UNIVERSITY, diploma(wallet.holder_did, serial=n)) for n in range(1, 4)]
    assert wallet.add_many([(t, None) for t in tokens] + tokens, now=NOW) == 2
    assert len(wallet) == 3


def test_tampered_credential_is_refused_and_not_stored(wallet: Wallet) -> None:
    token = sign_jwt(UNIVERSITY, diploma(wallet.holder_did))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["credentialSubject"]["degree"]["name"] = "Doctor of Philosophy"
    forged_payload = base64.urlsafe_b64encode(
        json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialRefused) as caught:
        wallet.add(f"{header}.{forged_payload}.{signature}", now=NOW)
    assert caught.value.checks and caught.value.reason
    assert len(wallet) == 0


def test_forged_issuer_expired_and_garbage_are_refused(wallet: Wallet) -> None:
    impostor = KeyPair.generate()
    kid = f"{UNIVERSITY.did_key}#{UNIVERSITY.did_key[len('did:key:'):]}"
    forged = jose.sign_jws(diploma(wallet.holder_did), impostor,  # names the university's key
                           header={"kid": kid, "typ": "vc+jwt", "cty": "vc"})
    expired = sign_jwt(INSTITUTE, badge(wallet.holder_did, until="2026-01-01T00:00:00Z"))
    for bad, reason in ((forged, "signature"), (expired, "expired"),
                        ("not.a.credential", "refused"), ("🙂", "refused")):
        with pytest.raises(CredentialRefused, match=reason):
            wallet.add(bad, now=NOW)
    good = sign_jwt(UNIVERSITY, diploma(wallet.holder_did, serial=2))
    with pytest.raises(CredentialRefused):
        wallet.add_many([good, forged], now=NOW)
    assert len(wallet) == 0
    with pytest.raises(MalformedDocumentError):
        wallet.add(good, receipt={"bad": float("nan")}, now=NOW)
    with pytest.raises(MalformedDocumentError, match="receipt"):
        wallet.add(good, receipt={"index": 7}, now=NOW)
    with pytest.raises(TypeError):
        wallet.add(12345)  # type: ignore[arg-type]


def test_remove(wallet: Wallet) -> None:
    one = add_diploma(wallet, serial=1)
    two = add_diploma(wallet, serial=2)
    wallet.remove(one.key)
    assert [e.key for e in wallet.list()] == [two.key]
    with pytest.raises(WalletError, match="no credential"):
        wallet.get(one.key)
    with pytest.raises(WalletError, match="no credential"):
        wallet.remove(one.key)
    wallet.remove("urn:uuid:00000000-0000-4000-8000-000000000002")
    assert wallet.list() == []
    path = wallet.path
    wallet.close()
    with Wallet.open(path, PASS) as again:
        assert len(again) == 0


def test_search_by_type_issuer_format_and_subject(wallet: Wallet) -> None:
    cs = add_diploma(wallet, serial=1)
    ee = add_diploma(wallet, serial=2, name="이서연", major="전자공학")
    bd = wallet.add(sign_cose(INSTITUTE, badge(wallet.holder_did)), now=NOW)

    def keys(found: list[CredentialEntry]) -> list[str]:
        return [e.key for e in found]

    assert keys(wallet.search(type="UniversityDegreeCredential")) == [cs.key, ee.key]
    assert keys(wallet.search(type="SoftwareTrainingBadge")) == [bd.key]
    assert keys(wallet.search(type="VerifiableCredential")) == [cs.key, ee.key, bd.key]
    assert keys(wallet.search(issuer=INSTITUTE.did_key)) == [bd.key]
    assert keys(wallet.search(format="jwt")) == [cs.key, ee.key]
    assert keys(wallet.search(name="이서연")) == [ee.key]
    assert keys(wallet.search(degree__type="BachelorDegree")) == [cs.key, ee.key]
    assert keys(wallet.search(degree={"name": "Bachelor of Science, 컴퓨터공학"})) == [cs.key]
    assert keys(wallet.search(hours=120, score=4)) == [bd.key]
    assert keys(wallet.search(hours="120")) == []
    assert keys(wallet.search(type="UniversityDegreeCredential", issuer=INSTITUTE.did_key)) == []
    assert wallet.search(type="NoSuchType") == [] and wallet.search(missing__deep=1) == []


def test_subject_search_stays_exact_as_the_wallet_changes(wallet: Wallet) -> None:
    first = add_diploma(wallet, serial=1, name="이서연")
    assert [e.key for e in wallet.search(name="이서연")] == [first.key]
    second = add_diploma(wallet, serial=2, name="이서연", major="전자공학")
    assert [e.key for e in wallet.search(name="이서연")] == [first.key, second.key]
    assert [e.key for e in wallet.search(name="이서연", degree__name=
                                         "Bachelor of Science, 전자공학")] == [second.key]
    assert wallet.search(name="이서연", type="SoftwareTrainingBadge") == []
    wallet.remove(first.key)
    assert [e.key for e in wallet.search(name="이서연")] == [second.key]
    badge_entry = wallet.add(sign_cose(INSTITUTE, badge(wallet.holder_did)), now=NOW)
    assert [e.key for e in wallet.search(hours=120.0)] == [badge_entry.key]
    assert wallet.search(hours=True) == [] and wallet.search(score="4.0") == []


def test_candidates_narrow_by_type_format_and_issuer(wallet: Wallet) -> None:
    cs = add_diploma(wallet, serial=1)
    bd = wallet.add(sign_cose(INSTITUTE, badge(wallet.holder_did)), now=NOW)
    assert [e.key for e in wallet.candidates()] == [cs.key, bd.key]
    assert [e.key for e in wallet.candidates({"SoftwareTrainingBadge"})] == [bd.key]
    both = {"SoftwareTrainingBadge", "UniversityDegreeCredential"}
    assert [e.key for e in wallet.candidates(both)] == [cs.key, bd.key]
    assert [e.key for e in wallet.candidates(both, formats={"jwt"})] == [cs.key]
    assert [e.key for e in wallet.candidates(issuers={INSTITUTE.did_key})] == [bd.key]
    assert list(wallet.candidates({"Nothing"})) == []
    first = next(wallet.candidates({"UniversityDegreeCredential"}))
    assert first.subject["degree"]["type"] == "BachelorDegree"


def test_alg_is_recorded(wallet: Wallet) -> None:
    assert add_diploma(wallet).alg == "EdDSA"
    stored = wallet.add(sign_cose(INSTITUTE, badge(wallet.holder_did)), now=NOW)
    assert stored.alg == "ES256"
    assert [e.alg for e in wallet.list()] == ["EdDSA", "ES256"]


DEGREE_REQUEST = {"presentation_definition": {"id": "hire", "input_descriptors": [
    {"id": "degree", "constraints": {"fields": [
        {"path": ["$.type"], "filter": {"type": "array",
                                        "contains": {"const": "UniversityDegreeCredential"}}},
        {"path": ["$.credentialSubject.degree.name"],
         "filter": {"type": "string", "pattern": "컴퓨터공학$"}},
    ]}},
]}}


def test_request_index_answers_queries_and_stays_current(wallet: Wallet) -> None:
    from vcwallet.errors import UnmetRequirement
    from vcwallet.queries import select

    add_diploma(wallet, serial=1, major="전자공학")
    with pytest.raises(UnmetRequirement):
        select(DEGREE_REQUEST, wallet.request_index())
    wanted = add_diploma(wallet, serial=2)  # added after the index was built
    selection = select(DEGREE_REQUEST, wallet.request_index())
    assert selection.keys == (wanted.key,)
    assert selection["degree"].candidate.alg == "EdDSA"
    wallet.remove(wanted.key)
    with pytest.raises(UnmetRequirement):
        select(DEGREE_REQUEST, wallet.request_index())


# -- secrecy and integrity at rest -----------------------------------------------------------
def _file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_copied_file_reveals_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "w"
    w = Wallet.create(path, PASS)
    add_diploma(w)
    w.add(sign_cose(INSTITUTE, badge(w.holder_did)), now=NOW)
    secrets = [
        "김민준", "컴퓨터공학", "한국대학교", "Python 심화", "Bachelor", "BachelorDegree",
        "UniversityDegreeCredential", "SoftwareTrainingBadge", "credentialSubject",
        UNIVERSITY.did_key, INSTITUTE.did_key, w.holder_did, w.holder_did[8:20],
        "urn:uuid:", "2025-02-20", w.holder.private_jwk()["d"],
    ]
    needles = [s.encode("utf-8") for s in secrets]
    needles += [s.encode("utf-16-le") for s in secrets[:3]]
    needles += [json.dumps(s).strip('"').encode() for s in secrets[:3]]  # the \\u-escaped form
    needles.append(base64.urlsafe_b64decode(w.holder.private_jwk()["d"] + "="))
    open_bytes = _file_bytes(path)
    w.close()
    closed_bytes = _file_bytes(path)
    for blob in (open_bytes, closed_bytes):
        for needle in needles:
            assert needle not in blob, needle


def _tamper(path: Path, sql: str, *params: Any) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_tampered_body_row_is_an_error_not_garbage(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS) as w:
        key = add_diploma(w).key
    conn = sqlite3.connect(path)
    body = bytearray(conn.execute("SELECT body FROM credentials").fetchone()[0])
    conn.close()
    body[40] ^= 0x01
    _tamper(path, "UPDATE credentials SET body = ?", bytes(body))
    with Wallet.open(path, PASS) as w:
        assert len(w) == 1  # the index row is intact
        with pytest.raises(WalletCorrupted, match="fails authentication") as caught:
            w.get(key)
        assert caught.value.record == key


def test_tampered_index_row_fails_open(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS) as w:
        add_diploma(w)
    _tamper(path, "UPDATE credentials SET entry = substr(entry, 1, length(entry) - 1)")
    with pytest.raises(WalletCorrupted):
        Wallet.open(path, PASS)


def test_swapped_rows_fail_authentication(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS) as w:
        one, two = add_diploma(w, serial=1).key, add_diploma(w, serial=2).key
    conn = sqlite3.connect(path)
    rows = dict(conn.execute("SELECT key, body FROM credentials"))
    conn.execute("UPDATE credentials SET body = ? WHERE key = ?", (rows[two], one))
    conn.commit()
    conn.close()
    with Wallet.open(path, PASS) as w:
        with pytest.raises(WalletCorrupted):
            w.get(one)
        assert w.get(two).credential["id"].endswith("2")
    _tamper(path, "UPDATE credentials SET entry = body WHERE key = ?", two)
    with pytest.raises(WalletCorrupted):
        Wallet.open(path, PASS)


def test_tampered_holder_key_or_header(tmp_path: Path) -> None:
    path = tmp_path / "w"
    Wallet.create(path, PASS).close()
    _tamper(path, "UPDATE meta SET value = CAST('{\"alg\":\"argon2id\",\"t\":3,\"p\":4,"
            "\"m\":65536,\"salt\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}' AS BLOB) WHERE name = 'kdf'")
    with pytest.raises(WrongPassphrase):
        Wallet.open(path, PASS)
    _tamper(path, "UPDATE meta SET value = CAST('{\"alg\":\"argon2id\",\"t\":3,\"p\":4,"
            "\"m\":99999999,\"salt\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}' AS BLOB) WHERE name = 'kdf'")
    with pytest.raises(WalletError, match="damaged or unsupported"):
        Wallet.open(path, PASS)


# -- backups ---------------------------------------------------------------------------------
def test_export_and_import_round_trip(tmp_path: Path, ledger: TransparencyLog) -> None:
    with Wallet.create(tmp_path / "phone", PASS) as phone:
        one = add_diploma(phone, serial=1)
        cose_badge = sign_cose(INSTITUTE, badge(phone.holder_did))
        receipt = receipt_for(ledger, cose_badge)
        two = phone.add(cose_badge, receipt=receipt, now=NOW)
        phone.export(tmp_path / "backup", "백업 암호")
        holder = phone.holder_did
        with pytest.raises(WalletError, match="exists"):
            phone.export(tmp_path / "backup", "백업 암호")
    with pytest.raises(WrongPassphrase):
        Wallet.open(tmp_path / "backup", PASS)
    restored = Wallet.import_backup(tmp_path / "backup", "백업 암호", tmp_path / "laptop", "new")
    with restored:
        assert restored.holder_did == holder
        assert {e.credential_id for e in restored.list()} == {one.credential_id,
                                                             two.credential_id}
        badge_again = restored.search(type="SoftwareTrainingBadge")[0]
        got = restored.get(badge_again.key)
        assert got.raw == two.raw and got.receipt == receipt
        assert restored.get(one.credential_id or "").raw == one.raw
    with Wallet.create(tmp_path / "other", "x y z") as other:
        mine = add_diploma(other, serial=9)
        assert other.import_from(tmp_path / "backup", "백업 암호") == 2
        assert other.import_from(tmp_path / "backup", "백업 암호") == 0
        assert len(other) == 3 and other.get(mine.key).raw == mine.raw
        with pytest.raises(WrongPassphrase):
            other.import_from(tmp_path / "backup", "wrong")


# -- two processes ---------------------------------------------------------------------------
_WRITER = """
import sys
sys.path.insert(0, {tests!r})
from datetime import UTC, datetime
from test_wallet import INSTITUTE, badge, sign_jwt
from vcwallet.wallet import Wallet

with Wallet.open({path!r}, {passphrase!r}, timeout=30) as w:
    for n in range({start}, {start} + 15):
        w.add(sign_jwt(INSTITUTE, badge(w.holder_did, serial=n)),
              now=datetime(2026, 3, 1, tzinfo=UTC))
"""


def test_two_processes_write_the_same_wallet(tmp_path: Path) -> None:
    path = tmp_path / "shared"
    Wallet.create(path, PASS).close()
    tests = str(Path(__file__).parent)
    with Wallet.open(path, PASS) as watcher:
        assert len(watcher) == 0
        procs = [
            subprocess.Popen([sys.executable, "-c", _WRITER.format(
                tests=tests, path=str(path), passphrase=PASS, start=start)])
            for start in (100, 200)
        ]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        assert len(watcher) == 30  # saw the other processes' commits
        assert len(watcher.search(type="SoftwareTrainingBadge")) == 30
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with Wallet.open(path, PASS) as w:
        assert len({e.credential_id for e in w.list()}) == 30


def test_another_connection_adding_and_removing_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "w"
    Wallet.create(path, PASS).close()
    with Wallet.open(path, PASS) as watcher, Wallet.open(path, PASS) as writer:
        index = watcher.request_index()
        one = add_diploma(writer, serial=1)
        two = add_diploma(writer, serial=2)
        assert [e.key for e in watcher.list()] == [one.key, two.key]  # caught up, not rebuilt
        assert watcher.request_index() is index and len(index) == 2
        writer.remove(one.key)
        assert [e.key for e in watcher.list()] == [two.key]  # a removal: rebuilt
        three = add_diploma(watcher, serial=3)
        assert [e.key for e in writer.list()] == [two.key, three.key]
        writer.remove(two.key)
        four = add_diploma(writer, serial=4)  # same count as before, different rows
        assert [e.key for e in watcher.list()] == [three.key, four.key]
        assert watcher.get(four.key).credential_id == four.credential_id


def test_a_writer_holding_the_lock_makes_writes_wait_then_fail_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "w"
    with Wallet.create(path, PASS) as w:
        add_diploma(w, serial=1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        with Wallet.open(path, PASS, timeout=0.2) as w:  # reading is not blocked (WAL)
            assert len(w) == 1
            with pytest.raises(WalletLocked, match="busy"):
                add_diploma(w, serial=2)
            assert len(w) == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Wallet.open(path, PASS) as w:
        add_diploma(w, serial=2)
        assert len(w) == 2


def test_import_of_a_damaged_backup_adds_nothing(tmp_path: Path) -> None:
    with Wallet.create(tmp_path / "a", PASS) as a:
        add_diploma(a, serial=1)
        add_diploma(a, serial=2)
        a.export(tmp_path / "backup", PASS)
    conn = sqlite3.connect(tmp_path / "backup")
    last = conn.execute("SELECT max(seq) FROM credentials").fetchone()[0]
    conn.execute("UPDATE credentials SET body = zeroblob(64) WHERE seq = ?", (last,))
    conn.commit()
    conn.close()
    with Wallet.create(tmp_path / "b", PASS) as b:
        with pytest.raises(WalletCorrupted):
            b.import_from(tmp_path / "backup", PASS)
        assert len(b) == 0  # one transaction: the good row went back out too


def test_expired_credential_can_be_added_at_an_earlier_now(wallet: Wallet) -> None:
    token = sign_jwt(INSTITUTE, badge(wallet.holder_did, until="2026-01-01T00:00:00Z"))
    stored = wallet.add(token, now=NOW - timedelta(days=90))
    assert stored.valid_until == "2026-01-01T00:00:00Z"
