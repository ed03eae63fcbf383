"""The Issuer role object on real SQLite files: issue + status + anchoring, revoke / suspend,
the issued register, consented release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vcwallet import anchor, status
from vcwallet.credentials import verify_credential
from vcwallet.demo import example_subject
from vcwallet.did import StaticResolver
from vcwallet.errors import (
    Expired,
    InvalidSignature,
    LedgerError,
    PolicyError,
    ProofPurposeError,
    SchemaValidationError,
    StatusListError,
    UnknownCredential,
)
from vcwallet.issuer import (
    Issuer,
    IssueRequest,
    create_consent,
    did_web_for_base_url,
    ledger_origin_for_base_url,
    verify_consent,
)
from vcwallet.keys import KeyPair, KeyType
from vcwallet.ledger import TransparencyLog, open_checkpoint, open_store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMPLOYER = "did:web:hr.acme.example"
BASE = "http://127.0.0.1:8443"


@pytest.fixture
def holder() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    made = Issuer(name="한국대학교", base_url=BASE,
                  keys=[KeyPair.generate(), KeyPair.generate(KeyType.P256)],
                  data_dir=tmp_path / "university", credential_types=["diploma", "transcript"])
    yield made
    made.close()


def subject(type_name: str, holder: KeyPair) -> dict:
    return {**example_subject(type_name), "id": holder.did_key}


def resolver_for(issuer: Issuer) -> StaticResolver:
    return StaticResolver({issuer.did: issuer.did_document()})


def test_base_url_gives_did_web_and_origin() -> None:
    assert did_web_for_base_url("http://127.0.0.1:8443") == "did:web:127.0.0.1%3A8443"
    assert did_web_for_base_url("https://uni.example/issuer/") == "did:web:uni.example:issuer"
    assert ledger_origin_for_base_url("http://127.0.0.1:8443/") == "127.0.0.1:8443/ledger"
    with pytest.raises(ValueError):
        did_web_for_base_url("ftp://uni.example")
    with pytest.raises(ValueError):
        did_web_for_base_url("http://uni.example/?q=1")


def test_did_document_lists_every_key(issuer: Issuer) -> None:
    document = issuer.did_document()
    assert document["id"] == "did:web:127.0.0.1%3A8443"
    assert [m["id"] for m in document["verificationMethod"]] == [
        f"{issuer.did}#key-1", f"{issuer.did}#key-2"]
    assert set(document["verificationMethod"][0]) == {"id", "type", "controller",
                                                      "publicKeyMultibase"}


@pytest.mark.parametrize("fmt", ["di-eddsa", "di-ecdsa", "jwt", "cose"])
def test_issue_allocates_status_signs_and_anchors(issuer: Issuer, holder: KeyPair,
                                                  fmt: str) -> None:
    issued = issuer.issue("diploma", subject("diploma", holder), format=fmt, now=NOW)
    credential = issued.secured.credential
    entries = credential["credentialStatus"]
    assert {e["statusPurpose"] for e in entries} == {"revocation", "suspension"}
    assert all(e["statusListCredential"].startswith(f"{BASE}/status/") for e in entries)
    assert credential["issuer"]["id"] == issuer.did
    assert credential["issuer"]["name"] == "한국대학교"
    # the signature covers the status entries, and the credential verifies under the did:web
    result = verify_credential(issued.secured.data, resolver=resolver_for(issuer), now=NOW)
    assert result.verified, result.failures
    anchor.verify_receipt(issued.secured, issued.receipt, issuer.log.public_key)
    assert issuer.state_of(issued.id) == "active"
    assert issuer.issued(issued.id).credential == credential


def test_korean_text_round_trips_through_the_register(issuer: Issuer, holder: KeyPair) -> None:
    data = subject("diploma", holder)
    issued = issuer.issue("diploma", data, now=NOW)
    again = issuer.issued(issued.id)
    assert again.data == issued.secured.data
    assert again.credential["issuer"]["name"] == "한국대학교"


def test_issue_many_is_one_batch_with_one_checkpoint(issuer: Issuer, holder: KeyPair) -> None:
    requests = [IssueRequest("transcript", subject("transcript", holder), fmt)
                for fmt in ("jwt", "di-eddsa", "cose")]
    issued = issuer.issue_many(requests, now=NOW)
    assert [i.receipt.leaf_index for i in issued] == [0, 1, 2]
    assert {i.receipt.checkpoint for i in issued} == {issued[0].receipt.checkpoint}
    assert len(issuer.log.checkpoints()) == 1
    for one in issued:
        anchor.verify_receipt(one.secured, one.receipt, issuer.log.public_key)


def test_a_bad_subject_in_a_batch_issues_nothing(issuer: Issuer, holder: KeyPair) -> None:
    bad = IssueRequest("diploma", {"id": holder.did_key})
    with pytest.raises(SchemaValidationError):
        issuer.issue_many([IssueRequest("diploma", subject("diploma", holder)), bad], now=NOW)
    assert issuer.log.size() == 0
    assert issuer.records.count() == 0


def test_types_outside_the_offer_are_refused(issuer: Issuer, holder: KeyPair) -> None:
    with pytest.raises(PolicyError, match="does not issue 'battery'"):
        issuer.issue("battery", subject("battery", holder))
    with pytest.raises(ValueError, match="unknown credential type"):
        Issuer(name="x", base_url=BASE, keys=[KeyPair.generate()], data_dir="unused",
               credential_types=["passport"])


def test_p256_only_issuer_cannot_sign_eddsa(tmp_path: Path, holder: KeyPair) -> None:
    with pytest.raises(ValueError, match="checkpoint key must be an Ed25519"):
        Issuer(name="x", base_url=BASE, keys=[KeyPair.generate(KeyType.P256)], data_dir=tmp_path)
    both = Issuer(name="x", base_url=BASE, keys=[KeyPair.generate(KeyType.P256)],
                  data_dir=tmp_path, log_key=KeyPair.generate())
    with pytest.raises(ValueError, match="no ed25519 key"):
        both.issue("diploma", subject("diploma", holder), format="di-eddsa")
    both.close()


def test_revoke_sets_the_bit_resigns_the_list_and_appends_a_leaf(
        issuer: Issuer, holder: KeyPair) -> None:
    issued = issuer.issue("diploma", subject("diploma", holder), format="jwt", now=NOW)
    entry = next(e for e in issued.secured.credential["credentialStatus"]
                 if e["statusPurpose"] == "revocation")
    list_id = issuer.status.list_id_for_url(entry["statusListCredential"])
    before = issuer.status_list_credential(list_id)
    change = issuer.revoke(issued.id)
    assert change.state == "revoked" and issuer.state_of(issued.id) == "revoked"
    assert change.receipt is not None and change.receipt.kind == "revoked"
    assert change.receipt.leaf_index == issued.receipt.leaf_index + 1
    anchor.verify_receipt(issued.secured, change.receipt, issuer.log.public_key)
    after = issuer.status_list_credential(list_id)
    assert after != before
    resolver = resolver_for(issuer)
    results = status.check_status(
        issued.secured.credential, resolver=resolver,
        fetch_list=lambda url: issuer.status_list_credential(issuer.status.list_id_for_url(url)))
    by_purpose = {r.purpose: r.outcome for r in results}
    assert by_purpose["revocation"] is status.StatusOutcome.SET
    assert by_purpose["suspension"] is status.StatusOutcome.CLEAR
    with pytest.raises(StatusListError):
        issuer.status.set_status(issued.id, "revocation", False)  # revocation is for good
    size = issuer.log.size()
    again = issuer.revoke(issued.id)  # idempotent: no second leaf, the first one's receipt
    assert issuer.log.size() == size and again.state == "revoked"
    assert again.receipt is not None
    assert again.receipt.leaf_index == change.receipt.leaf_index


def test_suspend_and_unsuspend(issuer: Issuer, holder: KeyPair) -> None:
    issued = issuer.issue("diploma", subject("diploma", holder), now=NOW)
    size = issuer.log.size()
    suspended = issuer.suspend(issued.id)
    assert suspended.state == "suspended" and suspended.receipt is not None
    assert suspended.receipt.kind == "suspended" and issuer.log.size() == size + 1
    lifted = issuer.unsuspend(issued.id)
    assert lifted.state == "active" and lifted.receipt is None
    assert issuer.log.size() == size + 1
    assert issuer.unsuspend(issued.id).state == "active"  # nothing to lift: nothing changes
    resuspended = issuer.suspend(issued.id)
    assert resuspended.receipt is not None and issuer.log.size() == size + 2


def test_unknown_credentials(issuer: Issuer) -> None:
    for action in (issuer.revoke, issuer.suspend, issuer.unsuspend, issuer.issued,
                   issuer.state_of, issuer.receipt):
        with pytest.raises(UnknownCredential) as caught:
            action("urn:uuid:00000000-0000-0000-0000-000000000000")
        assert caught.value.credential_id.endswith("0000")


def test_reopening_keeps_the_ledger_and_refuses_another_key(tmp_path: Path,
                                                            holder: KeyPair) -> None:
    key = KeyPair.generate()
    first = Issuer(name="u", base_url=BASE, keys=[key], data_dir=tmp_path)
    issued = first.issue("diploma", subject("diploma", holder), now=NOW)
    first.close()
    second = Issuer(name="u", base_url=BASE, keys=[key], data_dir=tmp_path)
    assert second.issued(issued.id).credential == issued.secured.credential
    assert second.log.size() == 1
    second.close()
    stranger = Issuer(name="u", base_url=BASE, keys=[KeyPair.generate()], data_dir=tmp_path)
    with pytest.raises(LedgerError, match="another key"):
        stranger.issue("diploma", subject("diploma", holder), now=NOW)
    store = open_store(str(tmp_path / "ledger.sqlite"))
    assert TransparencyLog.open(store).origin == "127.0.0.1:8443/ledger"
    store.close()


def test_fresh_receipt_verifies_against_a_later_checkpoint(issuer: Issuer,
                                                           holder: KeyPair) -> None:
    first = issuer.issue("diploma", subject("diploma", holder), now=NOW)
    issuer.issue("transcript", subject("transcript", holder), now=NOW)
    fresh = issuer.receipt(first.id)
    assert fresh.tree_size == 2
    anchor.verify_receipt(first.secured, fresh, issuer.log.public_key)
    cp = open_checkpoint(fresh.checkpoint, issuer.log.public_key)
    assert cp.tree_size == 2


# -- consent ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["di-eddsa", "jwt", "cose"])
def test_consent_release(issuer: Issuer, holder: KeyPair, fmt: str) -> None:
    issued = issuer.issue("diploma", subject("diploma", holder), format=fmt, now=NOW)
    consent = create_consent(issued.secured, holder, employer=EMPLOYER,
                             expires=NOW + timedelta(days=7), now=NOW)
    released = issuer.release(consent, employer=EMPLOYER, now=NOW + timedelta(days=1))
    assert released.credential_id == issued.id and released.holder == holder.did_key
    assert released.state == "active"
    assert released.secured.credential == issued.secured.credential
    anchor.verify_receipt(issued.secured, released.receipt, issuer.log.public_key)
    issuer.revoke(issued.id)
    assert issuer.release(consent, employer=EMPLOYER, now=NOW).state == "revoked"


def test_consent_refusals(issuer: Issuer, holder: KeyPair) -> None:
    issued = issuer.issue("diploma", subject("diploma", holder), format="jwt", now=NOW)
    consent = create_consent(issued.secured, holder, employer=EMPLOYER,
                             expires=NOW + timedelta(days=7), now=NOW)
    with pytest.raises(Expired):
        issuer.release(consent, employer=EMPLOYER, now=NOW + timedelta(days=8))
    with pytest.raises(ProofPurposeError, match="addressed to"):
        issuer.release(consent, employer="did:web:other.example", now=NOW)
    # someone else signs a consent for the holder's credential
    thief = KeyPair.generate()
    stolen = create_consent(issued.secured, thief, employer=EMPLOYER,
                            expires=NOW + timedelta(days=7), now=NOW)
    with pytest.raises(PolicyError, match="is not the subject"):
        issuer.release(stolen, employer=EMPLOYER, now=NOW)
    # a consent meant to last a year
    long = create_consent(issued.secured, holder, employer=EMPLOYER,
                          expires=NOW + timedelta(days=365), now=NOW)
    with pytest.raises(PolicyError, match="at most"):
        issuer.release(long, employer=EMPLOYER, now=NOW)
    # an edited payload breaks the holder's signature
    head, _body, sig = consent.split(".")
    other = create_consent(issued.secured, holder, employer="did:web:other.example",
                           expires=NOW + timedelta(days=7), now=NOW)
    with pytest.raises(InvalidSignature):
        issuer.release(".".join([head, other.split(".")[1], sig]), employer="did:web:other.example",
                       now=NOW)


def test_consent_for_a_credential_not_issued_here(issuer: Issuer, tmp_path: Path,
                                                  holder: KeyPair) -> None:
    elsewhere = Issuer(name="other", base_url="http://127.0.0.1:9999", keys=[KeyPair.generate()],
                       data_dir=tmp_path / "other")
    foreign = elsewhere.issue("diploma", subject("diploma", holder), format="jwt", now=NOW)
    consent = create_consent(foreign.secured, holder, employer=EMPLOYER,
                             expires=NOW + timedelta(days=1), now=NOW)
    with pytest.raises(UnknownCredential):
        issuer.release(consent, employer=EMPLOYER, now=NOW)
    elsewhere.close()


def test_verify_consent_rejects_garbage() -> None:
    from vcwallet.errors import MalformedDocumentError

    with pytest.raises(ValueError, match="expire after"):
        create_consent({"proof": {}}, KeyPair.generate(), employer=EMPLOYER, expires=NOW, now=NOW)
    for junk in ("", "a.b", "not.a.jwt", "{}"):
        with pytest.raises(MalformedDocumentError):
            verify_consent(junk, employer=EMPLOYER, now=NOW)


def test_threads_share_one_issuer(issuer: Issuer, holder: KeyPair) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(n: int) -> tuple[int, str]:
        fmt = ("jwt", "di-eddsa", "cose")[n % 3]
        issued = issuer.issue("diploma", subject("diploma", holder), format=fmt, now=NOW)
        anchor.verify_receipt(issued.secured, issued.receipt, issuer.log.public_key)
        issuer.receipt(issued.id)  # reads through this worker thread's own connection
        return issued.receipt.leaf_index, issued.id

    with ThreadPoolExecutor(6) as pool:
        done = list(pool.map(one, range(18)))
    assert sorted(index for index, _ in done) == list(range(18))
    assert issuer.records.count() == 18
    report = issuer.log.audit()
    assert report.tree_size == 18


def test_postgresql_ledger(tmp_path: Path, holder: KeyPair, postgres_url: str) -> None:
    import uuid

    from vcwallet.ledger.store_postgres import PostgresStore

    schema = f"t_issuer_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in postgres_url else "?"
    location = f"{postgres_url}{joiner}schema={schema}"
    made = Issuer(name="이브이체크", base_url=BASE, keys=[KeyPair.generate()],
                  data_dir=tmp_path, ledger=location)
    try:
        issued = made.issue("battery", subject("battery", holder), format="jwt", now=NOW)
        change = made.revoke(issued.id)
        assert change.receipt is not None and change.receipt.leaf_index == 1
        anchor.verify_receipt(issued.secured, change.receipt, made.log.public_key)
        assert not (tmp_path / "ledger.sqlite").exists()
    finally:
        made.close()
        dropper = PostgresStore(postgres_url, schema=schema)
        dropper.drop()
        dropper.close()
