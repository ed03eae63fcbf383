"""The wallet with the real recipe layer: every format stored with a real ledger receipt,
verified by the default verifier, tampered forms refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

credentials = pytest.importorskip("vcwallet.credentials")

from vcwallet import _json, sdjwt
from vcwallet.anchor import Receipt, anchor_credentials, verify_receipt
from vcwallet.errors import CredentialRefused
from vcwallet.keys import KeyPair, KeyType
from vcwallet.ledger import TransparencyLog
from vcwallet.ledger.store_sqlite import SqliteStore
from vcwallet.queries import select
from vcwallet.wallet import Wallet

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ED_ISSUER = KeyPair.from_ed25519_seed(b"\x07" * 32)
P256_ISSUER = KeyPair.generate(KeyType.P256)
LOG_KEY = KeyPair.from_ed25519_seed(b"\x08" * 32).private_key
VCT = "https://credentials.hankook.ac.kr/transcript"
PASS = "지갑 암호"

# (format for issue(), signer, the format the verifier names)
FORMATS = [("di-eddsa", ED_ISSUER, "di"), ("di-ecdsa", P256_ISSUER, "di"),
           ("jwt", ED_ISSUER, "jwt"), ("cose", P256_ISSUER, "cose")]


def diploma_subject() -> dict[str, Any]:
    return _json.loads((EXAMPLES / "diploma.json").read_bytes())


def issue(fmt: str, signer: KeyPair, holder: str) -> Any:
    return credentials.issue("diploma", diploma_subject(), signer=signer, format=fmt,
                             issuer_name="한국대학교", holder=holder, now=NOW)


def sd_jwt(holder: KeyPair) -> str:
    did = ED_ISSUER.did_key
    claims = {"sub": holder.did_key, "credentialSubject": {
        "id": holder.did_key, "name": "김민준", "birthDate": "2001-03-04", "gpa": 3.9,
        "degree": {"type": "BachelorDegree", "fieldOfStudy": "Computer Science"}}}
    return sdjwt.issue_sd_jwt(claims, ED_ISSUER, kid=f"{did}#{did[8:]}",
                              disclosable=["credentialSubject.birthDate",
                                           "credentialSubject.gpa"],
                              holder_jwk=holder.public_key.to_jwk(), vct=VCT, issuer=did,
                              now=NOW)


@pytest.fixture
def log(tmp_path: Path) -> TransparencyLog:
    store = SqliteStore(tmp_path / "ledger.db", create=True)
    return TransparencyLog.create(store, origin="ledger.test/wallet",
                                  public_key=LOG_KEY.public_key())  # type: ignore[union-attr]


@pytest.fixture
def wallet(tmp_path: Path):
    with Wallet.create(tmp_path / "holder.wallet", PASS) as w:
        yield w


@pytest.mark.parametrize(("issue_format", "signer", "stored_format"), FORMATS,
                         ids=[f[0] for f in FORMATS])
def test_every_format_is_verified_stored_and_keeps_its_receipt(
        wallet: Wallet, log: TransparencyLog, issue_format: str, signer: KeyPair,
        stored_format: str) -> None:
    secured = issue(issue_format, signer, wallet.holder_did)
    (receipt,) = anchor_credentials(log, [secured.data], signing_key=LOG_KEY)  # type: ignore[arg-type]
    stored = wallet.add(secured.data, receipt=receipt.to_json(), now=NOW)  # default verify
    assert stored.format == stored_format
    assert stored.subject_id == wallet.holder_did and stored.issuer == signer.did_key
    assert "OpenBadgeCredential" in stored.types
    got = wallet.get(stored.key)
    if stored_format == "di":
        assert isinstance(got.raw, str) and json.loads(got.raw) == secured.data
    else:
        assert got.raw == secured.data
    assert isinstance(got.raw, bytes) == (stored_format == "cose")
    identifier = got.credential["credentialSubject"]["identifier"][0]["identityHash"]
    assert identifier == "김민준"
    assert "김민준" in got.summary or "한국대학교" in got.summary
    # the stored form and receipt still prove inclusion in the ledger
    raw = json.loads(got.raw) if stored_format == "di" else got.raw
    verify_receipt(raw, Receipt.from_json(got.receipt), LOG_KEY.public_key())  # type: ignore[union-attr]
    assert wallet.search(achievement__achievementType="BachelorDegree")[0].key == stored.key


def test_tampered_data_integrity_credential_is_refused(wallet: Wallet) -> None:
    secured = issue("di-eddsa", ED_ISSUER, wallet.holder_did)
    forged = json.loads(json.dumps(secured.data))
    forged["credentialSubject"]["achievement"]["achievementType"] = "DoctoralDegree"
    with pytest.raises(CredentialRefused):
        wallet.add(forged, now=NOW)
    assert len(wallet) == 0


def test_sd_jwt_is_stored_with_every_disclosure(wallet: Wallet, tmp_path: Path) -> None:
    token = sd_jwt(wallet.holder)
    stored = wallet.add(token, now=NOW)
    assert stored.format == "sd-jwt" and stored.types == (VCT,)
    assert stored.issuer == ED_ISSUER.did_key and stored.subject_id == wallet.holder_did
    assert wallet.get(stored.key).raw == token
    assert stored.credential["credentialSubject"]["gpa"] == 3.9
    assert [e.key for e in wallet.search(type=VCT, gpa=3.9)] == [stored.key]
    query = {"dcql_query": {"credentials": [{"id": "t", "format": "dc+sd-jwt",
                                             "meta": {"vct_values": [VCT]},
                                             "claims": [{"path": ["credentialSubject", "gpa"]}]}]}}
    assert select(query, wallet.request_index()).keys == (stored.key,)
    assert "김민준".encode() not in Path(wallet.path).read_bytes()


def test_edited_disclosure_or_key_bound_sd_jwt_is_refused(wallet: Wallet) -> None:
    token = sd_jwt(wallet.holder)
    jwt, first, *rest = token.split("~")
    salt, name, _value = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    edited = base64.urlsafe_b64encode(
        json.dumps([salt, name, "1999-01-01" if name == "birthDate" else 4.5]).encode()
    ).rstrip(b"=").decode()
    with pytest.raises(CredentialRefused):
        wallet.add("~".join([jwt, edited, *rest]), now=NOW)
    presented = sdjwt.present_sd_jwt(token, disclose=["credentialSubject.gpa"],
                                     holder=wallet.holder, nonce="n-1", audience="hr", now=NOW)
    with pytest.raises(CredentialRefused, match="presentation"):
        wallet.add(presented, now=NOW)
    assert len(wallet) == 0


def test_the_wallet_answers_a_request_with_a_bound_presentation(wallet: Wallet) -> None:
    presentations = pytest.importorskip("vcwallet.presentations")
    wallet.add(issue("di-eddsa", ED_ISSUER, wallet.holder_did).data, now=NOW)
    transcript = wallet.add(sd_jwt(wallet.holder), now=NOW)
    request = {"dcql_query": {"credentials": [
        {"id": "gpa", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
         "claims": [{"path": ["credentialSubject", "gpa"]}]},
        {"id": "degree", "format": "ldp_vc", "meta": {"type_values": [["OpenBadgeCredential"]]},
         "claims": [{"path": ["credentialSubject", "achievement", "achievementType"],
                     "values": ["BachelorDegree"]}]},
    ]}}
    answer = wallet.present(request, challenge="c-123", domain="hr.example", now=NOW)
    assert transcript.key in answer.credential_keys and len(answer.credential_keys) == 2
    assert "2001-03-04" not in json.dumps(answer.presentation)  # birth date not disclosed
    good = presentations.verify_presentation(answer.presentation, challenge="c-123",
                                             domain="hr.example", now=NOW)
    assert good.verified, [c for c in good.checks if c.status.value == "failed"]
    replay = presentations.verify_presentation(answer.presentation, challenge="other",
                                               domain="hr.example", now=NOW)
    assert not replay.verified
