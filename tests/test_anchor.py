"""Anchoring: leaf records per format, batches, receipts verified offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest

from vcwallet import anchor, cose, jose, proofs, sdjwt
from vcwallet.anchor import Receipt, anchor_credentials, leaf_record, verify_receipt
from vcwallet.errors import InvalidCheckpoint, LogProofError, MalformedDocumentError
from vcwallet.keys import KeyPair
from vcwallet.ledger import TransparencyLog
from vcwallet.ledger.store_sqlite import SqliteStore

ISSUER = KeyPair.from_ed25519_seed(b"\x01" * 32)
LOG_KEY = KeyPair.from_ed25519_seed(b"\x02" * 32).private_key
DID = ISSUER.did_key
KID = f"{DID}#{DID[len('did:key:'):]}"
WHEN = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)


def _credential(n: int = 1, issuer: str = DID) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://www.w3.org/ns/credentials/examples/v2"],
        "id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": issuer,
        "validFrom": "2026-02-20T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", "name": "김민준 졸업생",
                              "alumniOf": "한국대학교"},
    }


def _di(n: int = 1) -> dict[str, Any]:
    return proofs.add_proof(_credential(n), ISSUER, verification_method=KID, created=WHEN)


@pytest.fixture
def log(tmp_path: Path) -> TransparencyLog:
    store = SqliteStore(tmp_path / "ledger.db", create=True)
    return TransparencyLog.create(store, origin="ledger.test/anchor",
                                  public_key=LOG_KEY.public_key())  # type: ignore[union-attr]


def test_leaf_record_is_canonical_cbor_without_personal_data() -> None:
    record = leaf_record(_di())
    decoded = cbor2.loads(record)
    assert set(decoded) == {"kind", "id", "issuer", "format", "digest"}
    assert decoded["kind"] == "issued" and decoded["format"] == "di"
    assert decoded["issuer"] == DID and decoded["id"].endswith("000000000001")
    assert len(decoded["digest"]) == 32
    assert cbor2.dumps(decoded, canonical=True) == record
    assert "김민준".encode() not in record and b"holder" not in record


def test_di_leaf_ignores_json_spelling_and_the_proof() -> None:
    signed = _di()
    respelled = json.loads(json.dumps(dict(reversed(list(signed.items()))), indent=3))
    assert leaf_record(respelled) == leaf_record(signed)
    resigned = proofs.add_proof(_credential(), ISSUER, verification_method=KID,
                                created=datetime(2027, 1, 1, tzinfo=UTC))
    assert leaf_record(resigned) == leaf_record(signed)  # same credential, other proof
    assert leaf_record(_di(2)) != leaf_record(signed)
    assert leaf_record(signed, kind="revoked") != leaf_record(signed)


def test_jwt_leaf_covers_the_signing_input_not_the_signature() -> None:
    token = jose.sign_vc_jwt(_credential(), ISSUER, kid=KID)
    head, body, _ = token.split(".")
    other_sig = jose.b64url_encode(bytes(64))
    assert leaf_record(f"{head}.{body}.{other_sig}") == leaf_record(token)
    assert cbor2.loads(leaf_record(token))["format"] == "jwt"
    assert leaf_record(token.encode() + b"\n") == leaf_record(token)


def test_sd_jwt_leaf_is_the_same_for_every_presentation() -> None:
    token = sdjwt.issue_sd_jwt(
        {"id": "urn:uuid:sd-1", "given_name": "민준", "gpa": "4.1"}, ISSUER, kid=KID,
        disclosable=["given_name", "gpa"], holder_jwk=None, vct="https://example.ac.kr/diploma",
        issuer=DID, now=WHEN,
    )
    jwt, *disclosures = token.split("~")
    fewer = "~".join([jwt, disclosures[0], ""])
    assert leaf_record(fewer) == leaf_record(token)
    decoded = cbor2.loads(leaf_record(token))
    assert decoded["format"] == "sd-jwt" and decoded["issuer"] == DID


def test_cose_leaf_covers_sig_structure() -> None:
    data = cose.sign_vc_cose(_credential(), ISSUER, kid=KID)
    decoded = cbor2.loads(leaf_record(data))
    assert decoded["format"] == "cose" and decoded["issuer"] == DID
    import base64

    assert leaf_record(base64.b64encode(data).decode()) == leaf_record(data)


def test_batch_anchoring_and_offline_receipts(log: TransparencyLog) -> None:
    batch = [_di(n) for n in range(1, 6)] + [jose.sign_vc_jwt(_credential(9), ISSUER, kid=KID)]
    receipts = anchor_credentials(log, batch, signing_key=LOG_KEY)  # type: ignore[arg-type]
    assert [r.leaf_index for r in receipts] == list(range(6))
    assert {r.tree_size for r in receipts} == {6} and log.size() == 6
    pub = LOG_KEY.public_key()  # type: ignore[union-attr]
    for cred, receipt in zip(batch, receipts):
        again = Receipt.from_json(json.loads(json.dumps(receipt.to_json())))
        assert again == receipt
        assert verify_receipt(cred, again, pub) is None
    with pytest.raises(LogProofError):
        verify_receipt(batch[1], receipts[0], pub)  # someone else's receipt
    with pytest.raises(InvalidCheckpoint):
        verify_receipt(batch[0], receipts[0], KeyPair.generate().private_key.public_key())  # type: ignore[union-attr]
    # a later revocation is appended, never an update; a fresh receipt extends the old one
    (revoked,) = anchor_credentials(log, [batch[0]], signing_key=LOG_KEY, kind="revoked")  # type: ignore[arg-type]
    assert revoked.leaf_index == 6 and revoked.kind == "revoked"
    verify_receipt(batch[0], revoked, pub)
    fresh = anchor.receipt_for(log, 0)
    assert fresh.tree_size == 7
    verify_receipt(batch[0], fresh, pub)
    log.consistency_proof(6, 7).verify(log.root_hash(6), log.root_hash(7))


def test_tampered_receipts_are_refused(log: TransparencyLog) -> None:
    cred = _di()
    (receipt,) = anchor_credentials(log, [cred, _di(2)], signing_key=LOG_KEY)[:1]  # type: ignore[arg-type]
    pub = LOG_KEY.public_key()  # type: ignore[union-attr]
    body = receipt.to_json()
    bad_path = {**body, "inclusion_path": [("00" * 32)] * len(body["inclusion_path"])}
    with pytest.raises(LogProofError):
        verify_receipt(cred, Receipt.from_json(bad_path), pub)
    with pytest.raises(LogProofError):
        verify_receipt(cred, Receipt.from_json({**body, "tree_size": 3}), pub)
    for broken in ({**body, "leaf_hash": "abc"}, {**body, "kind": "deleted"}, [], {**body, "checkpoint": 5}):
        with pytest.raises(MalformedDocumentError):
            Receipt.from_json(broken)


def test_unanchorable_input_is_a_typed_error() -> None:
    with pytest.raises(MalformedDocumentError):
        leaf_record(_credential())  # no proof: nothing signed to anchor
    with pytest.raises(MalformedDocumentError):
        leaf_record(b"\xff\xfe not a credential")
    with pytest.raises(MalformedDocumentError):
        leaf_record("just some text")
    with pytest.raises(ValueError):
        leaf_record(_di(), kind="deleted")


@pytest.mark.parametrize("fmt", ["di-eddsa", "di-ecdsa", "jwt"])
def test_leaf_from_the_verified_digest_is_the_same_leaf(fmt: str) -> None:
    from vcwallet.credentials import secure, verify_credential
    from vcwallet.keys import KeyType

    signer = KeyPair.generate(KeyType.P256 if fmt == "di-ecdsa" else KeyType.ED25519)
    secured = secure(_credential(7, signer.did_key), signer=signer, format=fmt, now=WHEN)
    result = verify_credential(secured.data, now=WHEN)
    assert result.verified and result.signed_digest is not None
    for kind in anchor.KINDS:
        assert anchor.leaf_record_of(result.format, result.credential or {},
                                     result.signed_digest, kind=kind) \
            == leaf_record(secured.data, kind=kind)
    edited = json.loads(json.dumps(secured.data)) if isinstance(secured.data, dict) else None
    if edited is not None:  # a signature that does not verify yields no digest
        edited["credentialSubject"]["name"] = "홍길동"
        assert verify_credential(edited, now=WHEN).signed_digest is None
    with pytest.raises(ValueError):
        anchor.leaf_record_of("di", result.credential or {}, b"short")
    with pytest.raises(ValueError):
        anchor.leaf_record_of("pdf", result.credential or {}, result.signed_digest)
