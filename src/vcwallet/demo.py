"""The whole story on one machine: ``vcwallet demo`` (the README's first command).

On embedded defaults (SQLite files in a temporary directory, HTTP on loopback) it starts
three issuer services (a university, a SW-training institute, a battery assessor); they
issue a diploma, a transcript, a badge and a battery report (each anchored in its issuer's
ledger); the job seeker's wallet verifies and stores them and answers an employer's request
with a presentation; the employer verifies it with each issuer directly; the university
revokes the transcript and the employer's next verification reports it revoked; an insurer
checks the battery report; a forged copy of the diploma is caught offline. Everything is
removed at the end.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from . import _json, report
from .client import IssuerClient
from .credentials import verify_credential
from .issuer import Issuer
from .keys import KeyPair, KeyType
from .policy import TrustedIssuer, TrustPolicy
from .service import ServiceConfig, create_app
from .service.runner import BackgroundService
from .status import StatusListCache
from .verifier import Verifier
from .wallet import Wallet

Out = Callable[[str], None]
_TOKEN_BYTES = 24
_PASSPHRASE = "demo wallet passphrase (never use a demo passphrase for real)"


def example_subject(type_name: str) -> dict[str, Any]:
    """The bundled example subject for a credential type (examples/<type>.json)."""
    text = resources.files("vcwallet").joinpath("examples", f"{type_name}.json").read_text("utf-8")
    subject = _json.loads(text)
    if not isinstance(subject, dict):
        raise TypeError(f"example {type_name} is not a JSON object")
    return subject


@dataclass
class _Org:
    """One issuer: its service on loopback and an authorised client for its staff."""

    label: str
    issuer: Issuer
    service: BackgroundService
    staff: IssuerClient


def _organisation(stack: ExitStack, folder: Path, label: str, name: str,
                  types: tuple[str, ...]) -> _Org:
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    keys = [KeyPair.generate(KeyType.ED25519), KeyPair.generate(KeyType.P256)]
    config = ServiceConfig(name=name, issue_tokens=(token,), credential_types=types)
    made: dict[str, Issuer] = {}

    def make_app(base_url: str) -> Any:
        made["issuer"] = Issuer(name=name, base_url=base_url, keys=keys,
                                data_dir=folder / label, credential_types=types)
        return create_app(made["issuer"], config)

    service = BackgroundService(make_app).start()
    stack.callback(service.stop)
    issuer = made["issuer"]
    stack.callback(issuer.close)
    staff = IssuerClient(service.base_url, token=token)
    stack.callback(staff.close)
    return _Org(label, issuer, service, staff)


def _employer_request() -> dict[str, Any]:
    """"A bachelor's degree in computer science, a SW-training badge and the transcript"."""
    def field(path: str, value: str) -> dict[str, Any]:
        return {"path": [path], "filter": {"type": "string", "pattern": value}}

    return {"presentation_definition": {
        "id": "hiring-2026-backend",
        "name": "신입 백엔드 개발자 채용 (junior backend developer)",
        "input_descriptors": [
            {"id": "degree", "name": "Bachelor's degree in computer science", "constraints": {
                "fields": [
                    field("$.credentialSubject.achievement.achievementType", "^BachelorDegree$"),
                    field("$.credentialSubject.achievement.fieldOfStudy", "Computer Science"),
                ]}},
            {"id": "badge", "name": "SW-training badge", "constraints": {"fields": [
                field("$.credentialSubject.achievement.achievementType",
                      "^CertificateOfCompletion$")]}},
            {"id": "transcript", "name": "Transcript", "constraints": {"fields": [
                {"path": ["$.type"], "filter": {"type": "array",
                                               "contains": {"const": "ClrCredential"}}}]}},
        ]}}


def _insurer_request() -> dict[str, Any]:
    return {"presentation_definition": {"id": "insurance-quote", "input_descriptors": [
        {"id": "battery", "name": "Battery lifespan report", "constraints": {"fields": [
            {"path": ["$.type"], "filter": {"type": "array",
                                           "contains": {"const": "BatteryLifespanCredential"}}}]}}]}}


def run_demo(out: Out = print, *, lang: str = "en") -> bool:
    """Run the whole story, printing each step through ``out``. True if all went as expected."""
    with tempfile.TemporaryDirectory(prefix="vcwallet-demo-") as scratch, ExitStack() as stack:
        return _story(out, Path(scratch), stack, lang)


def _story(out: Out, folder: Path, stack: ExitStack, lang: str) -> bool:
    expected: list[bool] = []
    out("vcwallet demo: diplomas, badges and battery reports, checked with their issuers\n"
        f"(SQLite files in {folder}, HTTP on 127.0.0.1; removed at the end)\n")

    out("1. Three issuers start their services")
    orgs = {}
    for label, name, types in (
        ("university", "한국대학교", ("diploma", "transcript")),
        ("academy", "SW아카데미 교육원", ("badge",)),
        ("assessor", "이브이체크 배터리진단센터", ("battery",)),
    ):
        orgs[label] = _organisation(stack, folder, label, name, types)
        org = orgs[label]
        out(f"   {name:<16} {org.issuer.did}  ({org.service.base_url})")

    out("\n2. The job seeker 김민준 creates an encrypted wallet")
    wallet = Wallet.create(folder / "minjun.wallet", _PASSPHRASE)
    stack.callback(wallet.close)
    out(f"   holder: {wallet.holder_did}")

    out("\n3. The issuers issue over HTTP; each credential is anchored in its issuer's ledger")
    plan = (("university", "diploma", "di-eddsa"), ("university", "transcript", "jwt"),
            ("academy", "badge", "di-ecdsa"), ("assessor", "battery", "cose"))
    issued: dict[str, tuple[Any, Any]] = {}
    for label, type_name, fmt in plan:
        subject = example_subject(type_name)
        if "identifier" in subject:  # the examples name two people; this story has one
            subject["identifier"][0]["identityHash"] = "김민준"
        credential, receipt = orgs[label].staff.issue(
            type_name, subject, format=fmt, holder=wallet.holder_did)
        issued[type_name] = (credential, receipt)
        out(f"   {type_name:<11} {fmt:<9} by {orgs[label].issuer.name:<16} "
            f"ledger leaf {receipt.leaf_index}, tree size {receipt.tree_size}")

    out("\n4. The wallet verifies each credential and its receipt, then stores it")
    # the holder resolves the issuers' did:web documents over loopback HTTP, as a verifier does
    lookup = stack.enter_context(Verifier(policy=TrustPolicy([])))

    def check(credential: Any, *, now: Any = None) -> Any:
        return verify_credential(credential, resolver=lookup.resolver(), now=now)

    for type_name, (credential, receipt) in issued.items():
        stored = wallet.add(credential, receipt=receipt.to_json(), verify=check)
        out(f"   stored  {stored.summary or type_name}")
    expected.append(len(wallet.list()) == 4)

    out("\n5. An employer asks for a CS bachelor's degree, a SW-training badge and the transcript")
    employer_domain = "https://careers.acme.example"
    policy = TrustPolicy([
        TrustedIssuer(orgs["university"].issuer.did, "한국대학교",
                      frozenset({"diploma", "transcript"})),
        TrustedIssuer(orgs["academy"].issuer.did, "SW아카데미 교육원", frozenset({"badge"})),
        TrustedIssuer(orgs["assessor"].issuer.did, "이브이체크 배터리진단센터",
                      frozenset({"battery"})),
    ])
    # this employer does not cache status lists, so a revocation shows at once
    employer = stack.enter_context(
        Verifier(policy=policy, status_cache=StatusListCache(max_age=timedelta(milliseconds=1))))
    challenge = secrets.token_urlsafe(16)
    answer = wallet.present(_employer_request(), challenge=challenge, domain=employer_domain)
    out(f"   the wallet picks {len(answer.credential_keys)} credentials and signs a presentation "
        f"for challenge {challenge[:8]}... and {employer_domain}")

    out("\n6. The employer verifies the presentation, then asks each issuer directly")
    first = employer.verify_presentation(answer.presentation, challenge=challenge,
                                         domain=employer_domain)
    _print_report(out, first, lang)
    expected.append(first.verified)

    out("7. The university revokes the transcript (a status-list bit and a ledger entry)")
    transcript_id = _credential_id(issued["transcript"][0])
    orgs["university"].staff.set_status(transcript_id, "revoked")
    out(f"   revoked {transcript_id}")

    out("\n8. The employer verifies again (a new challenge); the transcript is now revoked")
    challenge = secrets.token_urlsafe(16)
    again = wallet.present(_employer_request(), challenge=challenge, domain=employer_domain)
    second = employer.verify_presentation(again.presentation, challenge=challenge,
                                          domain=employer_domain)
    _print_report(out, second, lang, full=False)
    revoked = [item for item in second.credentials if item.revoked]
    expected.append(not second.verified and len(revoked) == 1)

    out("9. The replayed first presentation is refused (its challenge was used)")
    replay = employer.verify_presentation(answer.presentation, challenge=challenge,
                                          domain=employer_domain)
    out(f"   {'refused' if not replay.verified else 'ACCEPTED (unexpected!)'}: "
        + "; ".join(c.reason for c in replay.failures)[:160])
    expected.append(not replay.verified)

    out("\n10. An insurer checks the battery report")
    insurer_domain = "https://quotes.safedrive-insurance.example"
    challenge = secrets.token_urlsafe(16)
    battery_vp = wallet.present(_insurer_request(), challenge=challenge, domain=insurer_domain)
    insurer = stack.enter_context(Verifier(policy=policy))
    third = insurer.verify_presentation(battery_vp.presentation, challenge=challenge,
                                        domain=insurer_domain)
    _print_report(out, third, lang, full=False)
    expected.append(third.verified)

    out("11. A forged copy of the diploma (field of study changed) is caught")
    forged = _json.loads(_json.dumps(issued["diploma"][0]))
    forged["credentialSubject"]["achievement"]["fieldOfStudy"] = "Medicine"
    caught = check(forged)
    out(f"   {'NOT VERIFIED' if not caught.verified else 'VERIFIED (unexpected!)'}: "
        + "; ".join(f"{c.name}: {c.reason}" for c in caught.failures))
    expected.append(not caught.verified)

    ok = all(expected)
    out("\nThe story went as expected." if ok else "\nSomething went wrong: see above.")
    return ok


def _print_report(out: Out, result: Any, lang: str, *, full: bool = True) -> None:
    """The verifier's report; ``full=False`` keeps the verdicts and what did not pass."""
    for number, line in enumerate(report.lines(result, lang=lang)):
        text = line.strip()
        if full or number == 0 or text.startswith(("Credential", "증명서", "✗", "?")):
            out("   " + line)
    out("")


def _credential_id(credential: Any) -> str:
    if isinstance(credential, dict):
        return str(credential["id"])
    from .jose import unverified_payload

    return str(unverified_payload(credential)["id"])
