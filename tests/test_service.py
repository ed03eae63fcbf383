"""The issuer service over real loopback HTTP (uvicorn in a thread), driven by IssuerClient
and by raw httpx requests. No mocked HTTP anywhere."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from vcwallet import anchor, status
from vcwallet.client import IssuerClient
from vcwallet.credentials import verify_credential
from vcwallet.demo import example_subject
from vcwallet.did import DidResolver
from vcwallet.errors import (
    MalformedDocumentError,
    ResolutionError,
    TransportError,
)
from vcwallet.issuer import Issuer, create_consent
from vcwallet.keys import KeyPair, KeyType
from vcwallet.ledger import open_checkpoint, verify_checkpoint_extends
from vcwallet.service import Employer, ServiceConfig, create_app, load_config
from vcwallet.service.runner import BackgroundService

TOKEN = "staff-token-0123456789abcdef"
EMPLOYER = "did:web:hr.acme.example"
EMPLOYER_KEY = "acme-api-key-0123456789abcdef"
OTHER_EMPLOYER = "did:web:hr.other.example"
OTHER_KEY = "other-api-key-0123456789abcdef"
LIMIT = 64 * 1024


class Served:
    """One running issuer service and what the tests need to talk to it."""

    def __init__(self, tmp: Path) -> None:
        self.keys = [KeyPair.generate(), KeyPair.generate(KeyType.P256)]
        self.config = ServiceConfig(
            name="한국대학교", issue_tokens=(TOKEN,), max_body_bytes=LIMIT,
            employers=(Employer(EMPLOYER, EMPLOYER_KEY), Employer(OTHER_EMPLOYER, OTHER_KEY)))
        self.issuer: Issuer | None = None
        self.tmp = tmp
        self.service = BackgroundService(self._make).start()
        self.base_url = self.service.base_url
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    def _make(self, base_url: str) -> object:
        self.issuer = Issuer(name=self.config.name, base_url=base_url, keys=self.keys,
                             data_dir=self.tmp / "issuer")
        return create_app(self.issuer, self.config)

    def client(self, **options: object) -> IssuerClient:
        return IssuerClient(self.base_url, **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.http.close()
        self.service.stop()
        assert self.issuer is not None
        self.issuer.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    running = Served(tmp_path_factory.mktemp("service"))
    yield running
    running.close()


@pytest.fixture
def holder() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def staff(served: Served) -> Iterator[IssuerClient]:
    with served.client(token=TOKEN) as client:
        yield client


def subject(type_name: str, holder: KeyPair) -> dict:
    return {**example_subject(type_name), "id": holder.did_key}


def assert_json_error(response: httpx.Response, status_code: int) -> dict:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status_code
    assert "Traceback" not in response.text
    return body["error"]


# -- issuing and auth -------------------------------------------------------------------------
def test_issue_over_http_and_resolve_the_issuer(served: Served, staff: IssuerClient,
                                                holder: KeyPair) -> None:
    credential, receipt = staff.issue("diploma", subject("diploma", holder), format="jwt")
    assert isinstance(credential, str)
    resolver = DidResolver(fetch=staff.fetch)
    result = verify_credential(credential, resolver=resolver)
    assert result.verified, result.failures
    assert result.issuer == served.issuer.did == staff.did
    # the receipt verifies against the served checkpoint under the served log key
    key = staff.log_key()
    anchor.verify_receipt(credential, receipt, key.public_key)
    served_note = staff.checkpoint()
    checkpoint = open_checkpoint(served_note, key.public_key, origin=key.origin)
    assert checkpoint.tree_size >= receipt.tree_size


def test_issue_via_vc_api_shape_and_korean_text(served: Served, holder: KeyPair) -> None:
    body = {"credential": {"type": ["VerifiableCredential", "BatteryLifespanCredential"],
                           "credentialSubject": subject("diploma", holder)},
            "options": {"credentialType": "diploma"}}
    response = served.http.post("/credentials/issue", json=body,
                                headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 201, response.text
    issued = response.json()
    assert issued["verifiableCredential"]["issuer"]["name"] == "한국대학교"
    assert issued["format"] == "di"


def test_issue_a_class_in_one_batch(served: Served, staff: IssuerClient,
                                    holder: KeyPair) -> None:
    checkpoints_before = len(served.issuer.log.checkpoints())
    issued = staff.issue_many([("transcript", subject("transcript", holder), fmt)
                               for fmt in ("jwt", "di-eddsa", "cose")])
    assert [r.leaf_index for _, r in issued] == [issued[0][1].leaf_index + n for n in range(3)]
    assert len({r.checkpoint for _, r in issued}) == 1
    assert len(served.issuer.log.checkpoints()) == checkpoints_before + 1
    key = staff.log_key().public_key
    for credential, receipt in issued:  # COSE arrives as base64 text, which anchor reads
        anchor.verify_receipt(credential, receipt, key)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    size = served.issuer.log.size()
    one_bad = served.http.post("/credentials/issue-batch", headers=auth, json={"items": [
        {"credential": {"credentialSubject": subject("diploma", holder)},
         "options": {"credentialType": "diploma"}},
        {"credential": {"credentialSubject": {"id": holder.did_key}},
         "options": {"credentialType": "diploma"}}]})
    assert_json_error(one_bad, 422)
    assert served.issuer.log.size() == size  # all or none
    assert_json_error(served.http.post("/credentials/issue-batch", headers=auth,
                                       json={"items": []}), 400)
    assert_json_error(served.http.post("/credentials/issue-batch", json={"items": []}), 401)


def test_no_anonymous_issuance(served: Served, holder: KeyPair) -> None:
    body = {"credential": {"credentialSubject": subject("diploma", holder)},
            "options": {"credentialType": "diploma"}}
    before = served.issuer.log.size()
    missing = served.http.post("/credentials/issue", json=body)
    assert assert_json_error(missing, 401)["type"] == "Unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = served.http.post("/credentials/issue", json=body,
                             headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
    assert_json_error(wrong, 401)
    employer_key = served.http.post("/credentials/issue", json=body,
                                    headers={"X-API-Key": EMPLOYER_KEY})
    assert_json_error(employer_key, 401)
    status_change = served.http.post("/credentials/status",
                                     json={"credentialId": "urn:x", "status": "revoked"})
    assert_json_error(status_change, 401)
    assert served.issuer.log.size() == before


def test_bad_input_gets_4xx_json(served: Served, holder: KeyPair) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    cases = [
        (b"{not json", "application/json", 400),
        (b'{"credential": {}, "credential": {}}', "application/json", 400),  # duplicate key
        (b"[]", "application/json", 400),
        (b'{"credential": {"credentialSubject": 5}}', "application/json", 400),
        (b'{"credential": {"credentialSubject": {}}}', "application/json", 400),  # no type
        (b"hello", "text/plain", 415),
    ]
    for raw, kind, code in cases:
        response = served.http.post("/credentials/issue", content=raw,
                                    headers={**auth, "Content-Type": kind})
        assert_json_error(response, code)
    # a subject its schema refuses: 422 with the path
    refused = served.http.post(
        "/credentials/issue", headers=auth,
        json={"credential": {"credentialSubject": {"id": holder.did_key}},
              "options": {"credentialType": "diploma"}})
    assert assert_json_error(refused, 422)["type"] == "SchemaValidationError"
    unknown_format = served.http.post(
        "/credentials/issue", headers=auth,
        json={"credential": {"credentialSubject": subject("diploma", holder)},
              "options": {"credentialType": "diploma", "format": "pdf"}})
    assert "unknown format" in assert_json_error(unknown_format, 400)["message"]
    not_offered = served.http.post(
        "/credentials/issue", headers=auth,
        json={"credential": {"credentialSubject": subject("diploma", holder)},
              "options": {"credentialType": "passport"}})
    assert assert_json_error(not_offered, 403)["type"] == "PolicyError"
    bad_query = served.http.get("/ledger/inclusion", params={"leaf_hash": "zz"})
    assert_json_error(bad_query, 400)
    missing_query = served.http.get("/ledger/consistency", params={"first": "one"})
    assert_json_error(missing_query, 400)


def test_oversized_body_is_413(served: Served) -> None:
    big = b'{"pad": "' + b"x" * (LIMIT + 10) + b'"}'
    response = served.http.post("/credentials/verify", content=big,
                                headers={"Content-Type": "application/json"})
    assert_json_error(response, 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"pad": "'
        for _ in range(LIMIT // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    streamed = served.http.post("/credentials/verify", content=chunks(),
                                headers={"Content-Type": "application/json"})
    assert_json_error(streamed, 413)


def test_unknown_route_and_method(served: Served) -> None:
    assert_json_error(served.http.get("/nowhere"), 404)
    assert_json_error(served.http.get("/credentials/issue"), 405)


def test_an_internal_fault_is_a_500_without_details(tmp_path: Path) -> None:
    box: list[Issuer] = []

    def make(base_url: str) -> object:
        box.append(Issuer(name="x", base_url=base_url, keys=[KeyPair.generate()],
                          data_dir=tmp_path))
        return create_app(box[0], ServiceConfig(name="x", issue_tokens=(TOKEN,)))

    with BackgroundService(make) as service, httpx.Client(base_url=service.base_url) as http:
        box[0].records.close()  # the register's database goes away under the service
        response = http.post("/credentials/status", json={"credentialId": "urn:x",
                                                          "status": "revoked"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
        error = assert_json_error(response, 500)
        assert error == {"status": 500, "type": "InternalError",
                         "message": "the server could not answer"}
    box[0].close()


def test_openapi_is_served(served: Served) -> None:
    spec = served.http.get("/openapi.json").json()
    assert {"/credentials/issue", "/ledger/evidence", "/consent/credential"} <= set(spec["paths"])
    assert served.http.get("/docs").status_code == 200


# -- did:web and client errors ------------------------------------------------------------------
def test_did_json_resolves_through_the_client(served: Served, staff: IssuerClient) -> None:
    document = DidResolver(fetch=staff.fetch).resolve(served.issuer.did)
    assert document.id == served.issuer.did
    assert served.http.get("/.well-known/did.json").headers["content-type"] == \
        "application/did+json"
    assert served.http.get("/did.json").json()["id"] == served.issuer.did  # path-mounted form
    with pytest.raises(ResolutionError):
        staff.fetch("https://elsewhere.example/.well-known/did.json")
    via_did = IssuerClient.for_did(served.issuer.did, scheme="http")
    assert via_did.base_url == served.base_url
    assert via_did.did_document()["id"] == served.issuer.did
    via_did.close()


def test_client_reports_a_down_issuer_as_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = IssuerClient(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(TransportError, match="cannot reach"):
        client.checkpoint()
    with pytest.raises(ResolutionError):  # DidResolver wraps what its fetcher raised
        DidResolver(fetch=client.fetch).resolve(client.did)
    client.close()


def test_client_refusals_carry_status_and_type(served: Served) -> None:
    client = served.client(token="not-the-token-at-all")
    with pytest.raises(TransportError) as caught:
        client.set_status("urn:uuid:x", "revoked")
    assert caught.value.status == 401
    client.close()
    with served.client() as reader, pytest.raises(TransportError) as caught:
        reader.inclusion_proof(b"\x00" * 32)
    assert caught.value.status == 404


def test_client_refuses_garbage_from_a_peer(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def garbage(request: object) -> Response:
        return Response(b"\x00not json at all", media_type="application/json")

    async def huge(request: object) -> Response:
        return Response(b"[" + b"1," * 600_000 + b"1]", media_type="application/json")

    def make(base_url: str) -> Starlette:
        return Starlette(routes=[Route("/.well-known/did.json", garbage),
                                 Route("/ledger/key", huge),
                                 Route("/ledger/checkpoint", garbage)])

    with BackgroundService(make) as peer:
        client = IssuerClient(peer.base_url, max_bytes=1024 * 1024)
        with pytest.raises(MalformedDocumentError):
            client.did_document()
        with pytest.raises(MalformedDocumentError):
            client.log_key()
        with pytest.raises(MalformedDocumentError):
            client.checkpoint()
        client.close()


# -- status -----------------------------------------------------------------------------------------
def test_revoke_changes_the_served_list_and_appends_a_leaf(
        served: Served, staff: IssuerClient, holder: KeyPair) -> None:
    credential, _receipt = staff.issue("transcript", subject("transcript", holder),
                                      format="di-eddsa")
    assert isinstance(credential, dict)
    resolver = DidResolver(fetch=staff.fetch)

    def outcomes() -> dict[str, status.StatusOutcome]:
        found = status.check_status(credential, fetch_list=staff.status_list, resolver=resolver)
        return {r.purpose: r.outcome for r in found}

    assert outcomes() == {"revocation": status.StatusOutcome.CLEAR,
                          "suspension": status.StatusOutcome.CLEAR}
    entry = next(e for e in credential["credentialStatus"] if e["statusPurpose"] == "revocation")
    before_list = staff.status_list(entry["statusListCredential"])
    size_before = served.issuer.log.size()
    answer = staff.set_status(credential["id"], "revoked")
    assert answer["state"] == "revoked" and answer["receipt"]["kind"] == "revoked"
    assert served.issuer.log.size() == size_before + 1
    after_list = staff.status_list(entry["statusListCredential"])
    assert after_list != before_list
    assert outcomes()["revocation"] is status.StatusOutcome.SET
    # the revocation leaf is in the served ledger too
    revoked_leaf = anchor.credential_leaf_hash(credential, kind="revoked")
    proof, note = staff.inclusion_proof(revoked_leaf)
    checkpoint = open_checkpoint(note, staff.log_key().public_key)
    proof.verify(checkpoint.root_hash)
    # the service's own verification now reports the credential revoked
    report = staff.verify_credential(credential)
    assert report["verified"] is False
    assert any(c["check"] == "status" and c["status"] == "failed" for c in report["checks"])
    again = served.http.post("/credentials/status", json={"credentialId": credential["id"],
                                                          "status": "active"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert again.status_code == 200  # lifting a suspension that is not there is harmless
    assert again.json()["state"] == "revoked"


def test_suspend_and_unsuspend_over_http(staff: IssuerClient, holder: KeyPair) -> None:
    credential, _ = staff.issue("diploma", subject("diploma", holder), format="jwt")
    payload = __import__("vcwallet.jose", fromlist=["x"]).unverified_payload(credential)
    assert staff.set_status(payload["id"], "suspended")["state"] == "suspended"
    report = staff.verify_credential(credential)
    assert report["verified"] is False
    assert staff.set_status(payload["id"], "active")["state"] == "active"
    assert staff.verify_credential(credential)["verified"] is True


def test_status_errors(served: Served, staff: IssuerClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    unknown = served.http.post("/credentials/status", headers=auth,
                               json={"credentialId": "urn:uuid:nope", "status": "revoked"})
    assert assert_json_error(unknown, 404)["type"] == "UnknownCredential"
    bad = served.http.post("/credentials/status", headers=auth,
                           json={"credentialId": "urn:uuid:nope", "status": "deleted"})
    assert_json_error(bad, 400)
    assert_json_error(served.http.get("/status/999999"), 404)
    assert_json_error(served.http.get("/status/not-a-list"), 404)
    with pytest.raises(TransportError):
        staff.status_list("http://elsewhere.example/status/1")


# -- ledger ---------------------------------------------------------------------------------------
def test_consistency_between_two_served_checkpoints(served: Served, staff: IssuerClient,
                                                    holder: KeyPair) -> None:
    staff.issue("diploma", subject("diploma", holder), format="jwt")
    old_note = staff.checkpoint()
    old = open_checkpoint(old_note, staff.log_key().public_key)
    credential, _ = staff.issue("transcript", subject("transcript", holder), format="jwt")
    new_note = staff.checkpoint()
    key = staff.log_key().public_key
    new = open_checkpoint(new_note, key)
    assert new.tree_size > old.tree_size
    proof = staff.consistency_proof(old.tree_size, new.tree_size)
    verify_checkpoint_extends(old_note, new_note, proof.consistency_path, key)
    # the one-round-trip evidence call gives the same
    leaf = anchor.credential_leaf_hash(credential)
    evidence = staff.evidence(leaf, since=old.tree_size)
    assert evidence.consistency is not None
    latest = verify_checkpoint_extends(old_note, evidence.checkpoint,
                                       evidence.consistency.consistency_path, key)
    evidence.inclusion.verify(latest.root_hash)
    assert_json_error(served.http.get("/ledger/consistency",
                                      params={"first": 5, "second": 2}), 400)
    assert_json_error(served.http.get("/ledger/consistency",
                                      params={"first": 1, "second": 10**9}), 400)
    assert_json_error(served.http.get("/ledger/evidence",
                                      params={"leaf_hash": leaf.hex(), "since": 10**9}), 409)


def test_ledger_key_matches_the_issuer(served: Served, staff: IssuerClient) -> None:
    key = staff.log_key()
    assert key.origin == served.issuer.log.origin
    assert key.verifier_key == served.issuer.log_verifier_key()
    assert key.public_key.public_bytes_raw() == served.issuer.log.public_key.public_bytes_raw()


# -- consent -----------------------------------------------------------------------------------------
def issued_with_consent(staff: IssuerClient, holder: KeyPair, *, employer: str,
                        expires: datetime, now: datetime | None = None
                        ) -> tuple[dict | str, str]:
    credential, _ = staff.issue("diploma", subject("diploma", holder), format="di-eddsa")
    consent = create_consent(credential, holder, employer=employer, expires=expires, now=now)
    return credential, consent


def test_consent_release_accepted(served: Served, staff: IssuerClient, holder: KeyPair) -> None:
    credential, consent = issued_with_consent(
        staff, holder, employer=EMPLOYER, expires=datetime.now(UTC) + timedelta(hours=1))
    with served.client(api_key=EMPLOYER_KEY) as employer:
        answer = employer.release(consent)
    assert answer["state"] == "active" and answer["employer"] == EMPLOYER
    assert answer["credential"] == credential
    anchor.verify_receipt(credential, answer["receipt"], staff.log_key().public_key)


def test_consent_expired_refused(served: Served, staff: IssuerClient, holder: KeyPair) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    _, consent = issued_with_consent(staff, holder, employer=EMPLOYER, now=an_hour_ago,
                                     expires=an_hour_ago + timedelta(minutes=30))
    response = served.http.post("/consent/credential", json={"consent": consent},
                                headers={"X-API-Key": EMPLOYER_KEY})
    assert assert_json_error(response, 403)["type"] == "Expired"


def test_consent_wrong_employer_refused(served: Served, staff: IssuerClient,
                                        holder: KeyPair) -> None:
    _, consent = issued_with_consent(
        staff, holder, employer=EMPLOYER, expires=datetime.now(UTC) + timedelta(hours=1))
    # another registered employer replays the consent with its own key
    with served.client(api_key=OTHER_KEY) as other, pytest.raises(TransportError) as caught:
        other.release(consent)
    assert caught.value.status == 403
    assert caught.value.error_type == "ProofPurposeError"
    # nobody at all, and a made-up key
    anonymous = served.http.post("/consent/credential", json={"consent": consent})
    assert_json_error(anonymous, 401)
    forged = served.http.post("/consent/credential", json={"consent": consent},
                              headers={"X-API-Key": "x" * 30})
    assert_json_error(forged, 401)
    garbage = served.http.post("/consent/credential", json={"consent": "a.b.c"},
                               headers={"X-API-Key": EMPLOYER_KEY})
    assert_json_error(garbage, 400)


def test_presentations_verify(served: Served, staff: IssuerClient, holder: KeyPair) -> None:
    from vcwallet.presentations import create_presentation

    credential, _ = staff.issue("diploma", subject("diploma", holder), format="jwt")
    vp = create_presentation([credential], holder=holder, holder_did=holder.did_key,
                             challenge="nonce-123", domain=EMPLOYER)
    body = {"verifiablePresentation": vp,
            "options": {"challenge": "nonce-123", "domain": EMPLOYER}}
    answer = served.http.post("/presentations/verify", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["verified"] is True
    replayed = served.http.post("/presentations/verify", json={
        **body, "options": {"challenge": "another-nonce", "domain": EMPLOYER}})
    assert replayed.status_code == 200 and replayed.json()["verified"] is False
    no_options = served.http.post("/presentations/verify", json={"verifiablePresentation": vp})
    assert_json_error(no_options, 400)
    garbage = served.http.post("/presentations/verify", json={
        "verifiablePresentation": {"type": "nothing"},
        "options": {"challenge": "c", "domain": "d"}})
    assert_json_error(garbage, 400)


# -- configuration -----------------------------------------------------------------------------------
def test_load_config_reads_the_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "issuer.toml"
    target = tmp_path / "issuer.toml"
    target.write_text(example.read_text("utf-8"), "utf-8")
    monkeypatch.setenv("UNIVERSITY_ISSUE_TOKEN", TOKEN)
    monkeypatch.setenv("ACME_API_KEY", EMPLOYER_KEY)
    config = load_config(target)
    assert config.name == "한국대학교"
    assert config.issue_tokens == (TOKEN,)
    assert config.employers[0].api_key == EMPLOYER_KEY
    assert TOKEN not in repr(config) and EMPLOYER_KEY not in repr(config)
    assert config.key_files[0].parent == tmp_path
    assert config.public_url == "http://127.0.0.1:8443"


@pytest.mark.parametrize("text, problem", [
    ("[issuer]\nname = 'x'\n", "key_file"),
    ("[issuer]\nname = 'x'\nkey_file = 'k'\n", "issue_tokens"),
    ("[issuer]\nname = 'x'\nkey_file = 'k'\n[auth]\nissue_tokens = ['short']\n", "too short"),
    ("[issuer]\nname = 'x'\nkey_file = 'k'\n[auth]\nissue_tokens = ['env:NOPE_NOT_SET']\n",
     "not set"),
    ("[issuer\n", "not valid TOML"),
    ("[issuer]\nname = 'x'\nkey_file = 'k'\n[server]\nport = 'eighty'\n", "port"),
])
def test_bad_configs_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    target = tmp_path / "bad.toml"
    target.write_text(text, "utf-8")
    with pytest.raises(MalformedDocumentError, match=problem):
        load_config(target)


# -- the command ------------------------------------------------------------------------------------
def test_vcwallet_serve_runs_from_a_config(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    key = tmp_path / "university.key"
    KeyPair.generate().save(key)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "issuer.toml"
    config.write_text(
        "[issuer]\nname = '한국대학교'\nkey_file = 'university.key'\ndata_dir = 'data'\n"
        f"[server]\nport = {port}\n[auth]\nissue_tokens = ['env:TEST_ISSUE_TOKEN']\n", "utf-8")
    env = {**os.environ, "TEST_ISSUE_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from vcwallet.cli import main; sys.exit(main())",
         "serve", "--config", str(config),
         "--log-level", "warning"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        client = IssuerClient(f"http://127.0.0.1:{port}", token=TOKEN, timeout=2)
        deadline = time.monotonic() + 30
        while True:
            try:
                document = client.did_document()
                break
            except TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert document["id"] == f"did:web:127.0.0.1%3A{port}"
        holder = KeyPair.generate()
        credential, receipt = client.issue("diploma", subject("diploma", holder), format="jwt")
        anchor.verify_receipt(credential, receipt, client.log_key().public_key)
        client.close()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "serving 한국대학교 as did:web:127.0.0.1%3A" in stderr
    assert (tmp_path / "data" / "ledger.sqlite").is_file()


def test_vcwallet_serve_bad_config_is_one_line(tmp_path: Path) -> None:
    from vcwallet.cli import main

    config = tmp_path / "bad.toml"
    config.write_text("[issuer]\nname = 'x'\n", "utf-8")
    assert main(["serve", "--config", str(config)]) == 2
