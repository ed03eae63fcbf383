"""The employer's online verification against REAL issuer services (uvicorn on loopback).

Three issuers (a university, a SW-training institute, a battery assessor) run the service
app of :mod:`vcwallet.service`; the verifier reaches them over HTTP only. Misbehaviour (a
forged status list, a rewritten log) is served by a real HTTP server too: a small ASGI
dispatcher in front of the issuer's app sends chosen paths to another answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vcwallet import _json, anchor, report
from vcwallet import status as status_lists
from vcwallet.cli import main as cli_main
from vcwallet.client import IssuerClient
from vcwallet.demo import example_subject
from vcwallet.did import DidResolver, StaticResolver
from vcwallet.errors import LedgerError, MalformedDocumentError, TransportError
from vcwallet.issuer import Issuer, create_consent
from vcwallet.keys import KeyPair, KeyType
from vcwallet.ledger import open_checkpoint, verifier_key
from vcwallet.model import Status
from vcwallet.policy import TrustedIssuer, TrustPolicy, UnsafeAcceptAnyIssuer
from vcwallet.presentations import create_presentation
from vcwallet.service import Employer, ServiceConfig, create_app
from vcwallet.service.runner import BackgroundService
from vcwallet.verifier import CheckpointMemory, OnlineResult, Verifier

TOKEN = "staff-token-0123456789abcdef"
EMPLOYER = "did:web:hr.acme.example"
EMPLOYER_KEY = "acme-api-key-0123456789abcdef"
DOMAIN = "hr.acme.example"

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


class Org:
    """One issuer served on loopback; ``overrides`` send path prefixes to other answers."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.name = name
        self.tmp = tmp
        self.keys = [KeyPair.generate(), KeyPair.generate(KeyType.P256)]
        self.config = ServiceConfig(name=name, issue_tokens=(TOKEN,),
                                    employers=(Employer(EMPLOYER, EMPLOYER_KEY),))
        self.overrides: dict[str, ASGI] = {}
        self.issuer: Issuer
        self.app: Any = None
        self.service = BackgroundService(self._make).start()
        self.base_url = self.service.base_url

    def _make(self, base_url: str) -> ASGI:
        self.issuer = Issuer(name=self.name, base_url=base_url, keys=self.keys,
                             data_dir=self.tmp / "issuer")
        app = self.app = create_app(self.issuer, self.config)

        async def dispatch(scope: Scope, receive: Any, send: Any) -> None:
            path = scope.get("path", "")
            for prefix, other in list(self.overrides.items()):
                if path.startswith(prefix):
                    await other(scope, receive, send)
                    return
            await app(scope, receive, send)

        return dispatch

    @property
    def did(self) -> str:
        return self.issuer.did

    def issue(self, type_name: str, holder: KeyPair, fmt: str = "di-eddsa") -> Any:
        subject = {**example_subject(type_name), "id": holder.did_key}
        return self.issuer.issue(type_name, subject, format=fmt)

    def close(self) -> None:
        self.service.stop()
        self.issuer.close()


def fixed_answer(body: bytes, media_type: str = "application/vc", status: int = 200) -> ASGI:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", media_type.encode())]})
        await send({"type": "http.response.body", "body": body})
    return app


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Org]]:
    started = {}
    try:
        for key, name in (("univ", "한국대학교"), ("academy", "SW아카데미 교육원"),
                          ("assessor", "이브이체크 배터리진단센터")):
            started[key] = Org(tmp_path_factory.mktemp(key), name)
        yield started
    finally:
        for org in started.values():
            org.close()


@pytest.fixture
def holder() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def policy(orgs: dict[str, Org]) -> TrustPolicy:
    return TrustPolicy([
        TrustedIssuer(orgs["univ"].did, "한국대학교", frozenset({"diploma", "transcript"})),
        TrustedIssuer(orgs["academy"].did, "SW아카데미 교육원", frozenset({"badge"})),
        TrustedIssuer(orgs["assessor"].did, "이브이체크 배터리진단센터",
                      frozenset({"BatteryLifespanCredential"})),
    ])


@pytest.fixture
def verifier(policy: TrustPolicy) -> Iterator[Verifier]:
    with Verifier(policy=policy, timeout=3) as made:
        yield made


def present(credentials: list[Any], holder: KeyPair, challenge: str = "nonce-1",
            fmt: str = "di") -> Any:
    return create_presentation([c.secured for c in credentials], holder=holder,
                               holder_did=holder.did_key, challenge=challenge, domain=DOMAIN,
                               format=fmt)


def three(orgs: dict[str, Org], holder: KeyPair) -> list[Any]:
    return [orgs["univ"].issue("diploma", holder, "di-eddsa"),
            orgs["academy"].issue("badge", holder, "jwt"),
            orgs["assessor"].issue("battery", holder, "di-ecdsa")]


def outcome(result: OnlineResult, index: int, check: str) -> Status:
    return result.credentials[index].check(check).status


# -- the clean path ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_clean_presentation_verifies_with_every_issuer(orgs: dict[str, Org], holder: KeyPair,
                                                       verifier: Verifier, fmt: str) -> None:
    issued = three(orgs, holder)
    vp = present(issued, holder, fmt=fmt)
    result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert result.verified, result.failures
    assert [c.type_name for c in result.credentials] == ["diploma", "badge", "battery"]
    assert [c.issuer_name for c in result.credentials] == [
        "한국대학교", "SW아카데미 교육원", "이브이체크 배터리진단센터"]
    for credential, org, one in zip(result.credentials, orgs.values(), issued):
        assert credential.issuer == org.did
        assert credential.revoked is False and credential.suspended is False
        assert credential.anchor is not None
        assert credential.anchor.leaf_index == one.receipt.leaf_index
        assert credential.anchor.tree_size >= one.receipt.tree_size
        assert [c.name for c in credential.checks][-3:] == ["trust", "status", "ledger"]
        assert all(c.status is Status.PASSED for c in credential.checks)
    data = result.to_json()
    assert data["verified"] is True and data["credentials"][0]["anchor"]["leafIndex"] >= 0
    json.dumps(data)  # JSON-ready as it is


def test_report_reads_in_english_and_korean(orgs: dict[str, Org], holder: KeyPair,
                                            verifier: Verifier) -> None:
    vp = present([orgs["univ"].issue("diploma", holder)], holder)
    result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    english = report.render(result)
    assert english.startswith("VERIFIED: presentation by " + holder.did_key)
    assert english.splitlines()[0].endswith("(1 credential)")
    assert "A diploma signed by the issuer 한국대학교." in english
    assert "This verifier trusts 한국대학교 for diplomas." in english
    assert "Not revoked and not suspended" in english
    assert "Anchored in the issuer's ledger as entry" in english
    korean = report.render(result, lang="ko")
    assert korean.startswith("검증 완료")
    assert "발급자 한국대학교가 서명한 학위증명서입니다." in korean
    assert "폐기되지 않았고 정지되지도 않았습니다" in korean
    assert "한국대학교는 학위증명서 발급자로 신뢰하는 기관입니다." in korean
    assert "김민준에게 수여" in korean  # the claims summary, in Korean
    as_json = report.to_json(result, lang="ko")
    assert as_json["report"]["lines"][0].startswith("검증 완료")
    with pytest.raises(ValueError):
        report.render(result, lang="fr")


def test_checkpoints_remembered_and_consistency_demanded(orgs: dict[str, Org], holder: KeyPair,
                                                         policy: TrustPolicy,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.json"
    univ = orgs["univ"]
    first = univ.issue("diploma", holder)
    with Verifier(policy=policy, checkpoint_store=CheckpointMemory(path)) as verifier:
        before = verifier.verify_presentation(present([first], holder), challenge="nonce-1",
                                              domain=DOMAIN)
        assert before.verified and before.credentials[0].anchor.log_key_source == "first use"
    saved = json.loads(path.read_text("utf-8"))["logs"]
    origin = before.credentials[0].anchor.origin
    assert saved[origin]["logKey"] == univ.issuer.log_verifier_key()
    size = saved[origin]["treeSize"]
    univ.issue("transcript", holder)  # the log grows
    with Verifier(policy=policy, checkpoint_store=CheckpointMemory(path)) as verifier:
        after = verifier.verify_presentation(present([first], holder), challenge="nonce-1",
                                             domain=DOMAIN)
    assert after.verified, after.failures
    anchored = after.credentials[0].anchor
    assert anchored.log_key_source == "remembered" and anchored.consistent_with == size
    assert anchored.tree_size > size
    assert "consistent with the tree of size" in report.render(after)


def test_pinned_log_key(orgs: dict[str, Org], holder: KeyPair) -> None:
    univ = orgs["univ"]
    vp = present([univ.issue("diploma", holder)], holder)
    right = TrustPolicy([TrustedIssuer(univ.did, "한국대학교", frozenset({"diploma"}),
                                       univ.issuer.log_verifier_key())])
    with Verifier(policy=right) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert result.verified and result.credentials[0].anchor.log_key_source == "pinned"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    impostor = verifier_key(univ.issuer.log.origin, Ed25519PrivateKey.generate().public_key())
    # trust on first use: once a key is remembered, another one is a failure, not an update
    memory = CheckpointMemory()
    memory.remember_key(univ.issuer.log.origin, impostor)
    with Verifier(policy=TrustPolicy([TrustedIssuer(univ.did, "한국대학교",
                                                        frozenset({"diploma"}))]),
                  checkpoint_store=memory) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert outcome(result, 0, "ledger") is Status.FAILED
    assert memory.log_key(univ.issuer.log.origin) == impostor
    wrong = TrustPolicy([TrustedIssuer(univ.did, "한국대학교", frozenset({"diploma"}), impostor)])
    with Verifier(policy=wrong) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert not result.verified
    assert outcome(result, 0, "ledger") is Status.FAILED
    assert "InvalidCheckpoint" in result.credentials[0].check("ledger").reason


# -- revocation and suspension ------------------------------------------------------------------
def test_revoked_credential(orgs: dict[str, Org], holder: KeyPair, verifier: Verifier) -> None:
    univ = orgs["univ"]
    diploma, transcript = univ.issue("diploma", holder), univ.issue("transcript", holder, "jwt")
    univ.issuer.revoke(transcript.id)
    result = verifier.verify_presentation(present([diploma, transcript], holder),
                                          challenge="nonce-1", domain=DOMAIN)
    assert not result.verified
    assert result.credentials[0].verified
    revoked = result.credentials[1]
    assert revoked.revoked is True and revoked.suspended is False
    assert revoked.check("status").status is Status.FAILED
    assert revoked.anchor is not None  # still anchored: revocation does not erase history
    assert "REVOKED" in report.render(result)
    assert "폐기됨: 발급자가 이 증명서를 폐기했습니다." in report.render(result, lang="ko")


def test_suspended_then_reinstated(orgs: dict[str, Org], holder: KeyPair,
                                   policy: TrustPolicy) -> None:
    assessor = orgs["assessor"]
    battery = assessor.issue("battery", holder, "di-ecdsa")
    assessor.issuer.suspend(battery.id)
    vp = present([battery], holder)
    with Verifier(policy=policy) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert not result.verified
    assert result.credentials[0].suspended is True and result.credentials[0].revoked is False
    assert "SUSPENDED" in report.render(result)
    assessor.issuer.unsuspend(battery.id)
    with Verifier(policy=policy) as verifier:  # a new verifier: no cached status list
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert result.verified, result.failures


# -- issuers that misbehave or are gone ------------------------------------------------------------
def test_issuer_down_gives_status_unknown(tmp_path: Path, holder: KeyPair) -> None:
    org = Org(tmp_path, "폐업대학교")
    try:
        vp = present([org.issue("diploma", holder)], holder)
        pinned = StaticResolver({org.did: org.issuer.did_document()}, fallback=DidResolver())
        policy = TrustPolicy([TrustedIssuer(org.did, "폐업대학교", frozenset({"diploma"}))])
    finally:
        org.close()
    with Verifier(policy=policy, resolver=pinned, timeout=2) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert not result.verified
    item = result.credentials[0]
    assert item.check("signature").status is Status.PASSED  # the DID document was pinned
    status, ledger = item.check("status"), item.check("ledger")
    assert status.status is Status.SKIPPED and status.required
    assert status.reason.startswith("status unknown")
    assert ledger.status is Status.SKIPPED and ledger.required
    assert item.revoked is None and item.suspended is None
    assert "Status unknown" in report.render(result)
    assert "상태를 알 수 없습니다" in report.render(result, lang="ko")


def test_forged_status_list_fails(orgs: dict[str, Org], holder: KeyPair,
                                  verifier: Verifier) -> None:
    academy = orgs["academy"]
    badge = academy.issue("badge", holder, "jwt")
    academy.issuer.revoke(badge.id)
    entry = next(e for e in badge.secured.credential["credentialStatus"]
                 if e["statusPurpose"] == "revocation")
    url = entry["statusListCredential"]
    genuine = academy.issuer.status_list_credential(academy.issuer.status.list_id_for_url(url))
    forged = dict(genuine)
    subject = dict(forged["credentialSubject"])
    # "nobody is revoked", under the issuer's proof of the real list
    subject["encodedList"] = status_lists.encode_list(bytes(status_lists.STATUS_LIST_MIN_ENTRIES // 8))
    forged["credentialSubject"] = subject
    academy.overrides[url[len(academy.base_url):]] = fixed_answer(_json.dumps(forged).encode())
    try:
        result = verifier.verify_presentation(present([badge], holder), challenge="nonce-1",
                                              domain=DOMAIN)
    finally:
        academy.overrides.clear()
    assert not result.verified
    status = result.credentials[0].check("status")
    assert status.status is Status.FAILED and "does not verify" in status.reason
    assert result.credentials[0].revoked is None


def test_status_list_on_another_host_fails(orgs: dict[str, Org], holder: KeyPair,
                                           tmp_path: Path) -> None:
    """A credential whose status list lives elsewhere than its issuer's own host."""
    from vcwallet.credentials import secure

    univ, academy = orgs["univ"], orgs["academy"]
    kind_subject = {**example_subject("diploma"), "id": holder.did_key}
    from vcwallet.credential_types import credential_type

    credential = credential_type("diploma").build(kind_subject, issuer=univ.did,
                                                  issuer_name="한국대학교")
    credential["credentialStatus"] = academy.issuer.status.allocate(credential["id"])
    signer, method = univ.issuer.verification_method_for("di-eddsa")
    secured = secure(credential, signer=signer, format="di-eddsa", verification_method=method)
    vp = create_presentation([secured], holder=holder, holder_did=holder.did_key,
                             challenge="nonce-1", domain=DOMAIN)
    policy = TrustPolicy([TrustedIssuer(univ.did, "한국대학교", frozenset({"diploma"}))])
    with Verifier(policy=policy) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    status = result.credentials[0].check("status")
    assert status.status is Status.FAILED and "not served by the issuer's own host" in status.reason
    # never anchored by the university either
    assert result.credentials[0].check("ledger").status is Status.FAILED
    assert not result.verified


def forged_history(fork: Issuer, credential: Any, data_dir: Path) -> Issuer:
    """Append ``credential``'s leaf to ``fork``'s log behind the Issuer's back and sign a
    checkpoint with the real log key; a fresh Issuer over the same files serves it."""
    fork.log.append(anchor.leaf_record(credential.secured))
    fork.log.sign_checkpoint(fork._ledger_private())
    fork.close()
    return Issuer(name=fork.name, base_url=fork.base_url, keys=fork.keys, data_dir=data_dir)


def test_log_rewritten_between_two_verifications(orgs: dict[str, Org], holder: KeyPair,
                                                 policy: TrustPolicy, tmp_path: Path) -> None:
    univ = orgs["univ"]
    diploma = univ.issue("diploma", holder)
    vp = present([diploma], holder)
    memory = CheckpointMemory(tmp_path / "seen.json")
    with Verifier(policy=policy, checkpoint_store=memory) as verifier:
        assert verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN).verified
    seen = memory.checkpoint(univ.issuer.log.origin)
    assert seen is not None
    # a second history under the same origin and log key: other leaves, then ours, longer
    fork = Issuer(name=univ.name, base_url=univ.base_url, keys=univ.keys,
                  data_dir=tmp_path / "fork")
    for _ in range(seen[1]):
        fork.issue("badge", {**example_subject("badge"), "id": holder.did_key})
    fork = forged_history(fork, diploma, tmp_path / "fork")
    assert fork.log.size() > seen[1]
    univ.overrides["/ledger/"] = create_app(fork, univ.config)
    try:
        with Verifier(policy=policy, checkpoint_store=CheckpointMemory(tmp_path / "seen.json")
                      ) as verifier:
            result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
        # a verifier that never saw the old log cannot tell: the fork is self-consistent
        with Verifier(policy=policy) as naive:
            fresh = naive.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    finally:
        univ.overrides.clear()
        fork.close()
    assert not result.verified
    ledger = result.credentials[0].check("ledger")
    assert ledger.status is Status.FAILED and "InconsistentLog" in ledger.reason
    assert fresh.verified, fresh.failures
    assert memory.checkpoint(univ.issuer.log.origin) == seen  # the fork was not remembered


def test_log_that_shrank_fails(orgs: dict[str, Org], holder: KeyPair, policy: TrustPolicy,
                               tmp_path: Path) -> None:
    univ = orgs["univ"]
    diploma = univ.issue("diploma", holder)
    memory = CheckpointMemory()
    with Verifier(policy=policy, checkpoint_store=memory) as verifier:
        assert verifier.verify_presentation(present([diploma], holder), challenge="nonce-1",
                                            domain=DOMAIN).verified
    fork = Issuer(name=univ.name, base_url=univ.base_url, keys=univ.keys,
                  data_dir=tmp_path / "short")
    fork = forged_history(fork, diploma, tmp_path / "short")
    univ.overrides["/ledger/"] = create_app(fork, univ.config)
    try:
        with Verifier(policy=policy, checkpoint_store=memory) as verifier:
            result = verifier.verify_presentation(present([diploma], holder),
                                                  challenge="nonce-1", domain=DOMAIN)
    finally:
        univ.overrides.clear()
        fork.close()
    assert result.credentials[0].check("ledger").status is Status.FAILED


def test_credential_missing_from_the_ledger_fails(orgs: dict[str, Org], holder: KeyPair,
                                                  tmp_path: Path) -> None:
    univ = orgs["univ"]
    diploma = univ.issue("diploma", holder)
    empty = Issuer(name=univ.name, base_url=univ.base_url, keys=univ.keys,
                   data_dir=tmp_path / "empty")
    empty.issue("badge", {**example_subject("badge"), "id": holder.did_key})
    univ.overrides["/ledger/"] = create_app(empty, univ.config)
    policy = TrustPolicy([TrustedIssuer(univ.did, "한국대학교", frozenset({"diploma"}))])
    try:
        with Verifier(policy=policy) as verifier:
            result = verifier.verify_presentation(present([diploma], holder),
                                                  challenge="nonce-1", domain=DOMAIN)
    finally:
        univ.overrides.clear()
        empty.close()
    ledger = result.credentials[0].check("ledger")
    assert ledger.status is Status.FAILED and "does not hold this credential" in ledger.reason


def test_http_collaborator_shared_or_per_issuer(orgs: dict[str, Org], holder: KeyPair,
                                                policy: TrustPolicy) -> None:
    import httpx

    vp = present(three(orgs, holder), holder)
    with httpx.Client(timeout=5) as shared:
        with Verifier(policy=policy, http=shared) as verifier:
            assert verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN).verified
        assert not shared.is_closed  # the verifier does not close what it was given
    made: list[str] = []

    def factory(base_url: str) -> httpx.Client:
        made.append(base_url)
        return httpx.Client(timeout=5)

    with Verifier(policy=policy, http=factory) as verifier:
        assert verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN).verified
        assert verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN).verified
    assert sorted(made) == sorted(org.base_url for org in orgs.values())  # one per issuer


# -- batched ledger questions ------------------------------------------------------------------
def test_batch_evidence_route(orgs: dict[str, Org], holder: KeyPair) -> None:
    univ = orgs["univ"]
    first, second = univ.issue("diploma", holder), univ.issue("transcript", holder)
    leaves = [first.receipt.leaf_hash, bytes(32), second.receipt.leaf_hash]
    with IssuerClient(univ.base_url) as client:
        note, proofs, consistency = client.evidence_many(leaves, since=first.receipt.tree_size)
        key = client.log_key()
        with pytest.raises(TransportError) as too_new:
            client.evidence_many(leaves[:1], since=10**9)
        with pytest.raises(TransportError) as empty:
            client.evidence_many([])
    checkpoint = open_checkpoint(note, key.public_key, origin=key.origin)
    assert proofs[1] is None  # a leaf the log does not hold: null, the others still answered
    for proof, issued in ((proofs[0], first), (proofs[2], second)):
        assert proof is not None and proof.leaf_index == issued.receipt.leaf_index
        proof.verify(checkpoint.root_hash)
    assert consistency is not None and consistency.second == checkpoint.tree_size
    assert too_new.value.status == 409 and too_new.value.error_type == "InconsistentLog"
    assert empty.value.status == 400


def counting(app: ASGI, seen: list[str]) -> ASGI:
    async def counted(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(f"{scope.get('method')} {scope.get('path')}")
        await app(scope, receive, send)
    return counted


def test_concurrent_verifications_share_ledger_requests(orgs: dict[str, Org],
                                                         policy: TrustPolicy) -> None:
    """Twenty job seekers verified at once: every answer is right and its own."""
    from concurrent.futures import ThreadPoolExecutor

    univ = orgs["univ"]
    seekers = [KeyPair.generate() for _ in range(20)]
    vps = [present([univ.issue("diploma", seeker)], seeker) for seeker in seekers]
    seen: list[str] = []
    with Verifier(policy=policy, max_workers=4) as verifier:
        verifier.verify_presentation(vps[0], challenge="nonce-1", domain=DOMAIN)  # warm caches
        univ.overrides["/ledger/"] = counting(univ.app, seen)
        try:
            with ThreadPoolExecutor(max_workers=20) as pool:
                results = list(pool.map(lambda vp: verifier.verify_presentation(
                    vp, challenge="nonce-1", domain=DOMAIN), vps))
        finally:
            univ.overrides.clear()
    assert all(r.verified for r in results), [r.failures for r in results if not r.verified]
    indexes = {r.credentials[0].anchor.leaf_index for r in results}
    assert len(indexes) == 20  # each seeker's own leaf was proved
    assert seen and all(s == "POST /ledger/evidence" for s in seen)
    assert len(seen) <= 20, seen  # at most one request per credential, often far fewer


def test_issuer_without_the_batch_route(orgs: dict[str, Org], holder: KeyPair,
                                        policy: TrustPolicy) -> None:
    academy = orgs["academy"]
    vp = present([academy.issue("badge", holder, "jwt")], holder)

    async def older_service(scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("method") == "POST":
            await fixed_answer(b'{"error": {"status": 405, "type": "MethodNotAllowed"}}',
                               "application/json", status=405)(scope, receive, send)
        else:
            await academy.app(scope, receive, send)

    academy.overrides["/ledger/evidence"] = older_service
    try:
        with Verifier(policy=policy) as verifier:
            result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
            again = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    finally:
        academy.overrides.clear()
    assert result.verified, result.failures
    assert again.verified and again.credentials[0].anchor.consistent_with is not None


# -- the holder's side and the policy ---------------------------------------------------------------
def test_replayed_presentation_is_refused_without_contacting_issuers(
        orgs: dict[str, Org], holder: KeyPair, policy: TrustPolicy) -> None:
    vp = present([orgs["univ"].issue("diploma", holder)], holder, challenge="yesterday")
    memory = CheckpointMemory()
    with Verifier(policy=policy, checkpoint_store=memory) as verifier:
        result = verifier.verify_presentation(vp, challenge="today", domain=DOMAIN)
        other_domain = verifier.verify_presentation(vp, challenge="yesterday",
                                                    domain="evil.example")
    assert not result.verified and result.credentials == ()
    assert result.presentation.check("challenge").status is Status.FAILED
    assert other_domain.presentation.check("domain").status is Status.FAILED
    assert memory.checkpoint(orgs["univ"].issuer.log.origin) is None  # nobody was asked
    assert "재사용되었거나" in report.render(result, lang="ko")
    assert "replay" in report.render(result)


def test_untrusted_issuer_is_reported_as_such(orgs: dict[str, Org], holder: KeyPair) -> None:
    univ, academy = orgs["univ"], orgs["academy"]
    only_univ = TrustPolicy([TrustedIssuer(univ.did, "한국대학교", frozenset({"diploma"}))])
    vp = present([univ.issue("diploma", holder), academy.issue("badge", holder),
                  univ.issue("transcript", holder)], holder)
    with Verifier(policy=only_univ) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert not result.verified
    diploma, badge, transcript = result.credentials
    assert diploma.verified
    assert badge.check("signature").status is Status.PASSED  # a valid signature...
    assert badge.check("trust").status is Status.FAILED  # ...from an untrusted issuer
    assert "not a trusted issuer" in badge.check("trust").reason
    assert badge.check("status").status is Status.SKIPPED
    assert transcript.check("trust").status is Status.FAILED
    assert "not for" in transcript.check("trust").reason
    text = report.render(result)
    assert "This verifier does not trust SW아카데미 교육원" in text
    assert "신뢰하는 기관이 아닙니다" in report.render(result, lang="ko")


def test_default_policy_trusts_nobody_and_unsafe_trusts_all(orgs: dict[str, Org],
                                                            holder: KeyPair) -> None:
    vp = present([orgs["academy"].issue("badge", holder)], holder)
    with Verifier() as verifier:
        assert not verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN).verified
    with Verifier(policy=UnsafeAcceptAnyIssuer()) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert result.verified and result.credentials[0].trusted is None
    assert "trusts anyone" in report.render(result)


def test_did_key_issuer_cannot_be_asked(holder: KeyPair) -> None:
    from vcwallet.credentials import issue

    issuer_key = KeyPair.generate()
    credential = issue("badge", {**example_subject("badge"), "id": holder.did_key},
                       signer=issuer_key, format="jwt")
    vp = create_presentation([credential], holder=holder, holder_did=holder.did_key,
                             challenge="nonce-1", domain=DOMAIN)
    with Verifier(policy=UnsafeAcceptAnyIssuer()) as verifier:
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert not result.verified
    assert result.credentials[0].check("ledger").status is Status.FAILED
    assert "cannot be contacted" in result.credentials[0].check("ledger").reason


def test_not_a_presentation_and_bad_memory(tmp_path: Path) -> None:
    with Verifier() as verifier, pytest.raises(MalformedDocumentError):
        verifier.verify_presentation(b"not json", challenge="c", domain=DOMAIN)
    bad = tmp_path / "memory.json"
    bad.write_text("[1, 2]", "utf-8")
    with pytest.raises(MalformedDocumentError):
        CheckpointMemory(bad)
    unwritable = CheckpointMemory(tmp_path / "missing-dir" / "memory.json")
    with pytest.raises(LedgerError):
        unwritable.remember("example/ledger", "note\n\nsig\n", 3)


# -- consented release ----------------------------------------------------------------------------
def test_consented_release_and_expired_consent(orgs: dict[str, Org], holder: KeyPair,
                                               verifier: Verifier) -> None:
    univ = orgs["univ"]
    diploma = univ.issue("diploma", holder)
    consent = create_consent(diploma.secured, holder, employer=EMPLOYER,
                             expires=datetime.now(UTC) + timedelta(days=7))
    released = verifier.fetch_with_consent(consent, univ.base_url, diploma.id,
                                           api_key=EMPLOYER_KEY)
    assert released.verified and released.state == "active"
    assert released.result.credential["id"] == diploma.id
    assert released.anchored.status is Status.PASSED
    expired = create_consent(diploma.secured, holder, employer=EMPLOYER,
                             expires=datetime.now(UTC) - timedelta(minutes=1),
                             now=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(TransportError) as refused:
        verifier.fetch_with_consent(expired, univ.base_url, diploma.id, api_key=EMPLOYER_KEY)
    assert refused.value.status == 403 and refused.value.error_type == "Expired"
    with pytest.raises(TransportError) as wrong_key:
        verifier.fetch_with_consent(consent, univ.base_url, diploma.id, api_key="x" * 20)
    assert wrong_key.value.status == 401


# -- the command line ------------------------------------------------------------------------------
def test_cli_verify_online(orgs: dict[str, Org], holder: KeyPair, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    univ = orgs["univ"]
    vp_file = tmp_path / "vp.json"
    vp_file.write_text(json.dumps(present([univ.issue("diploma", holder)], holder),
                                  ensure_ascii=False), "utf-8")
    trust = tmp_path / "trust.toml"
    trust.write_text(f'[[issuer]]\ndid = "{univ.did}"\nname = "한국대학교"\n'
                     'types = ["diploma"]\n', "utf-8")

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    base = ["verify", str(vp_file), "--challenge", "nonce-1", "--domain", DOMAIN, "--online"]
    code, out, _ = run(*base, "--trust", str(trust), "--lang", "ko",
                       "--checkpoints", str(tmp_path / "cp.json"))
    assert code == 0, out
    assert "발급자 한국대학교가 서명한 학위증명서입니다." in out
    assert (tmp_path / "cp.json").exists()
    code, out, _ = run(*base, "--trust", str(trust), "--json")
    assert code == 0 and json.loads(out)["verified"] is True
    code, out, err = run(*base)
    assert code == 1 and "NOT VERIFIED" in out and "no issuer is trusted" in err
    code, out, _ = run(*base[:3], "other", *base[4:], "--trust", str(trust))
    assert code == 1 and "another challenge" in out
    bad_trust = tmp_path / "bad.toml"
    bad_trust.write_text("[[issuer]\n", "utf-8")
    code, _, err = run(*base, "--trust", str(bad_trust))
    assert code == 2 and "not valid TOML" in err
    assert run("verify", str(vp_file), "--online")[0] == 2
    credential_file = tmp_path / "credential.json"
    credential_file.write_text(json.dumps(univ.issue("diploma", holder).secured.data), "utf-8")
    code, _, err = run("verify", str(credential_file), "--online", "--challenge", "c",
                       "--domain", DOMAIN)
    assert code == 2 and "verifies a presentation" in err


# -- the offline half in worker processes ------------------------------------------------------
def test_worker_processes_give_the_same_results(orgs: dict[str, Org], holder: KeyPair,
                                                policy: TrustPolicy) -> None:
    issued = three(orgs, holder)
    vp = present(issued, holder)
    forged = json.loads(json.dumps(issued[0].secured.data))  # edited before it is presented
    forged["credentialSubject"]["name"] = "홍길동"
    tampered = create_presentation([forged, *[c.secured for c in issued[1:]]], holder=holder,
                                   holder_did=holder.did_key, challenge="nonce-1",
                                   domain=DOMAIN)
    afresh = status_lists.StatusListCache(max_age=timedelta(microseconds=1))
    with Verifier(policy=policy, timeout=3) as here, \
            Verifier(policy=policy, timeout=3, processes=2, status_cache=afresh) as there:
        there.start_workers()
        for presentation in (vp, tampered):
            ours = here.verify_presentation(presentation, challenge="nonce-1", domain=DOMAIN)
            theirs = there.verify_presentation(presentation, challenge="nonce-1", domain=DOMAIN)
            assert theirs.verified is ours.verified
            assert [[(c.name, c.status) for c in one.checks] for one in theirs.credentials] \
                == [[(c.name, c.status) for c in one.checks] for one in ours.credentials]
            assert [c.anchor.leaf_index if c.anchor else None for c in theirs.credentials] \
                == [c.anchor.leaf_index if c.anchor else None for c in ours.credentials]
        assert ours.verified is False
        assert outcome(theirs, 0, "signature") is Status.FAILED
        assert outcome(theirs, 0, "ledger") is Status.SKIPPED  # never asked: it did not verify
        with pytest.raises(MalformedDocumentError):  # the worker's refusal, same class
            there.verify_presentation(b"not json", challenge="c", domain=DOMAIN)
        revoked = orgs["univ"].issue("diploma", holder)
        orgs["univ"].issuer.revoke(revoked.id)
        result = there.verify_presentation(present([revoked], holder), challenge="nonce-1",
                                           domain=DOMAIN)
        assert not result.verified and result.credentials[0].revoked is True


def test_worker_processes_that_die_are_replaced(orgs: dict[str, Org], holder: KeyPair,
                                                policy: TrustPolicy) -> None:
    import os
    import signal

    vp = present([orgs["univ"].issue("diploma", holder)], holder)
    with Verifier(policy=policy, timeout=3, processes=1) as verifier:
        assert verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN).verified
        workers = verifier._workers
        assert workers is not None
        killed = workers.pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        result = verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
        assert result.verified, result.failures
        assert len(workers.pids()) == 1 and not set(workers.pids()) & set(killed)
        alive = workers.pids()
    with pytest.raises(ValueError, match="closed"):  # a closed verifier starts no workers
        verifier.verify_presentation(vp, challenge="nonce-1", domain=DOMAIN)
    assert workers.pids() == []
    for pid in alive:  # and the ones it had are gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_worker_processes_need_a_resolver_that_pickles() -> None:
    class Local(StaticResolver):  # a class defined in a function does not pickle
        pass

    with pytest.raises(ValueError, match="pickles"):
        Verifier(resolver=Local({}), processes=1)
    with pytest.raises(ValueError, match="at least 1"):
        Verifier(processes=-1)


def test_worker_processes_do_not_run_the_callers_script_again(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"  # no `if __name__ == "__main__":`, as scripts often are
    script.write_text(
        "from vcwallet.errors import MalformedDocumentError\n"
        "from vcwallet.verifier import Verifier\n"
        "print('top level ran', flush=True)\n"
        "with Verifier(processes=2) as verifier:\n"
        "    verifier.start_workers()\n"
        "    try:\n"
        "        verifier.verify_presentation(b'[1]', challenge='c', domain='d')\n"
        "    except MalformedDocumentError:\n"
        "        print('refused in a worker', flush=True)\n", "utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["top level ran", "refused in a worker"]


def test_worker_environment_adds_only_an_uninstalled_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import site

    from vcwallet import _process_pool

    root = str(Path(_process_pool.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setattr(site, "getsitepackages", lambda: ["/nowhere"])
    assert _process_pool._child_env()["PYTHONPATH"].split(os.pathsep) == [root, "/elsewhere"]
    # installed in site-packages: the child finds it itself, and site-packages is not put
    # ahead of the standard library
    monkeypatch.setattr(site, "getsitepackages", lambda: [root])
    assert _process_pool._child_env()["PYTHONPATH"] == "/elsewhere"


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_leaves_from_the_signature_check_or_the_secured_form(fmt: str) -> None:
    from vcwallet._process_pool import LeafHashes, offline_outcome
    from vcwallet.credentials import issue

    holder = KeyPair.generate()
    items = [issue(kind, {**example_subject(kind), "id": holder.did_key},
                   signer=KeyPair.generate(), format=secured_as)
             for kind, secured_as in (("diploma", "cose"), ("badge", "jwt"),
                                      ("battery", "di-eddsa"))]
    vp = create_presentation(items, holder=holder, holder_did=holder.did_key, challenge="c",
                             domain="d", format=fmt)
    found = offline_outcome(vp, "c", "d", DidResolver(), datetime.now(UTC), LeafHashes())
    assert found.result.verified
    # COSE from its secured form, vc+jwt and Data Integrity from the verified digest
    assert list(found.leaves) == [anchor.credential_leaf_hash(i.data) for i in items]
