"""``vcwallet issue``, ``vcwallet verify`` and ``vcwallet contexts``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ..credentials import ISSUE_FORMATS, issue, verify_credential
from ..keys import KeyPair
from ..model import CredentialResult, Status
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    passphrase_from_env,
    read_bytes,
    read_json_file,
    write_output,
)

TYPE_NAMES = ("diploma", "transcript", "badge", "battery")


# a date (optionally with Z), or a date and time with an optional zone; fromisoformat alone
# would read "2030-01-01+09:00" and "2030-01-01-05:00" as times of day (09:00, 05:00)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(Z|[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?")


def parse_time(value: str, option: str) -> datetime:
    """ISO 8601 date or date-time; a date means 00:00 UTC; no zone means UTC."""
    text = value.strip()
    moment = None
    if _TIME.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text.removesuffix("Z"))
        except ValueError:
            moment = None
    if moment is None:
        raise CliFailure(EXIT_USAGE, f"{option}: {value!r} is not an ISO 8601 date or time "
                                     "(2030-01-01, 2030-01-01T09:00, 2030-01-01T09:00+09:00)")
    if text.endswith("Z"):
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)






def static_resolver_from_files(paths: tuple[str, ...]) -> Any:
    """A resolver that knows the given DID documents (for offline did:web verification)."""
    from ..did import DidResolver, StaticResolver

    if not paths:
        return DidResolver()
    documents: dict[str, Any] = {}
    for path in paths:
        document = read_json_file(path)
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise CliFailure(EXIT_USAGE, f"{path}: not a DID document (no id)")
        documents[document["id"]] = document
    return StaticResolver(documents, fallback=DidResolver())


@click.command("issue")
@click.option("--type", "type_name", required=True, type=click.Choice(TYPE_NAMES))
@click.option("--subject", required=True, type=click.Path(dir_okay=False),
              help="JSON file with the type's subject fields (see examples/).")
@click.option("--key", "keyfile", required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice((*ISSUE_FORMATS, "sd-jwt")),
              default="di-eddsa", show_default=True)
@click.option("--disclosable", help="sd-jwt: comma-separated claim paths the holder may "
              "withhold, e.g. credentialSubject.gpa,credentialSubject.courses[*].grade")
@click.option("--issuer", help="Issuer DID (default: the key's did:key).")
@click.option("--issuer-name", help="Issuer's display name (Profile name).")
@click.option("--holder", help="The subject's DID (credentialSubject.id).")
@click.option("--valid-until", help="ISO 8601 date or time.")
@click.option("--ledger", "ledger_store", metavar="PATH|postgresql://...",
              help="Anchor the credential in this ledger; the receipt goes to OUT.receipt.json.")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
def issue_command(type_name: str, subject: str, keyfile: str, fmt: str,
                  disclosable: str | None, issuer: str | None, issuer_name: str | None,
                  holder: str | None, valid_until: str | None, ledger_store: str | None,
                  out: str) -> None:
    """Issue a credential of TYPE for the subject in SUBJECT, signed with KEY."""
    if disclosable is not None and fmt != "sd-jwt":
        raise CliFailure(EXIT_USAGE, "--disclosable goes with --format sd-jwt")
    pair = KeyPair.load(keyfile, passphrase=passphrase_from_env())
    subject_data = read_json_file(subject)
    if not isinstance(subject_data, dict):
        raise CliFailure(EXIT_USAGE, f"{subject}: the subject must be a JSON object")
    until = parse_time(valid_until, "--valid-until") if valid_until else None
    if fmt == "sd-jwt":
        paths = [p.strip() for p in (disclosable or "").split(",") if p.strip()]
        token = issue_sd_jwt_vc(type_name, subject_data, pair, disclosable=paths, issuer=issuer,
                                issuer_name=issuer_name, holder=holder, valid_until=until)
        write_output(out, (token + "\n").encode("ascii"))
        click.echo(f"issued {type_name} as sd-jwt ({len(paths)} disclosable paths) -> {out}")
        _anchor_issued(ledger_store, out)
        return
    try:
        secured = issue(
            type_name,
            subject_data,
            signer=pair,
            format=fmt,
            issuer=issuer,
            issuer_name=issuer_name,
            holder=holder,
            valid_until=until,
        )
    except ValueError as exc:
        raise CliFailure(EXIT_USAGE, str(exc)) from None
    write_output(out, secured.to_bytes())
    click.echo(f"issued {type_name} {secured.credential.get('id')} as {fmt} -> {out}")
    _anchor_issued(ledger_store, out)


def _anchor_issued(ledger_store: str | None, out: str) -> None:
    """Signed first, anchored second: the receipt travels beside the credential."""
    if not ledger_store:
        return
    from .ledger_cmd import anchor_files

    (receipt,) = anchor_files(ledger_store, [out])
    click.echo(f"anchored at leaf {receipt.leaf_index} (tree size {receipt.tree_size}) -> "
               f"{out}.receipt.json")


def issue_sd_jwt_vc(type_name: str, subject: dict[str, Any], pair: KeyPair, *,
                    disclosable: list[str], issuer: str | None, issuer_name: str | None,
                    holder: str | None, valid_until: datetime | None) -> str:
    """An SD-JWT VC of one of our types: the VCDM credential's members as claims (``iss``
    for its issuer, ``nbf`` / ``exp`` for its dates), ``cnf`` = the holder's did:key."""
    from ..credential_types import credential_type
    from ..credentials import default_issuer_name, default_verification_method
    from ..keys import PublicKey
    from ..sdjwt import issue_sd_jwt

    issuer = issuer or pair.did_key
    holder_jwk = None
    if holder is not None:
        if not holder.startswith("did:key:"):
            raise CliFailure(EXIT_USAGE, "--holder must be a did:key for sd-jwt "
                                         "(its key becomes the credential's cnf)")
        holder_jwk = PublicKey.from_did_key(holder).to_jwk()
    try:
        kind = credential_type(type_name)
        credential = kind.build(subject, issuer=issuer, holder=holder, valid_until=valid_until,
                                issuer_name=issuer_name or default_issuer_name(subject, issuer))
        claims = {k: v for k, v in credential.items() if k not in ("@context", "issuer")}
        claims["nbf"] = int(parse_time(credential["validFrom"], "validFrom").timestamp())
        if valid_until is not None:
            claims["exp"] = int(valid_until.timestamp())
        if holder is not None:
            claims["sub"] = holder
        return issue_sd_jwt(claims, pair, kid=default_verification_method(issuer, pair),
                            disclosable=disclosable, holder_jwk=holder_jwk, issuer=issuer,
                            vct=f"https://w3id.org/vcwallet/vct/{kind.name}")
    except ValueError as exc:
        raise CliFailure(EXIT_USAGE, str(exc)) from None


@click.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--at", "at", help="Verify as of this ISO 8601 time (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the result object as JSON.")
@click.option("--did-doc", "did_docs", multiple=True, type=click.Path(dir_okay=False),
              help="A DID document to trust for its DID (offline did:web); repeatable.")
@click.option("--challenge", help="A presentation's expected challenge (nonce).")
@click.option("--domain", help="A presentation's expected domain (audience).")
@click.option("--online", is_flag=True, help="Verify a presentation with its issuers: trust "
              "policy, status and a fresh ledger proof from each issuer.")
@click.option("--trust", "trust_file", type=click.Path(dir_okay=False),
              help="--online: the trust policy (TOML, see examples/trust.toml).")
@click.option("--checkpoints", type=click.Path(dir_okay=False),
              help="--online: a JSON file remembering each log's key and last checkpoint.")
@click.option("--lang", type=click.Choice(("en", "ko")), default="en", show_default=True,
              help="--online: the report's language.")
def verify_command(file: str, at: str | None, as_json: bool, did_docs: tuple[str, ...],
                   challenge: str | None, domain: str | None, online: bool,
                   trust_file: str | None, checkpoints: str | None, lang: str) -> None:
    """Verify a credential FILE (Data Integrity JSON, vc+jwt or vc+cose) or a presentation
    (with --challenge and --domain; --online to ask each issuer). Exit 0/1/2."""
    from ..presentations import is_presentation

    data = read_bytes(file)
    now = parse_time(at, "--at") if at else None
    if online:
        from .verify_online import verify_online

        verify_online(data, challenge, domain, trust_file=trust_file, checkpoints=checkpoints,
                      did_docs=did_docs, now=now, lang=lang, as_json=as_json)
    if is_presentation(data):
        verify_presentation_file(data, challenge, domain, did_docs, now, as_json)
    result = verify_credential(data, resolver=static_resolver_from_files(did_docs), now=now)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print_result(result)
    raise CliFailure(EXIT_OK if result.verified else EXIT_FAILED)


def verify_presentation_file(data: bytes, challenge: str | None, domain: str | None,
                             did_docs: tuple[str, ...], now: datetime | None,
                             as_json: bool) -> None:
    from ..presentations import verify_presentation

    if not challenge or not domain:
        raise CliFailure(EXIT_USAGE, "a presentation is verified with --challenge and --domain "
                                     "(the values the verifier sent)")
    result = verify_presentation(data, challenge=challenge, domain=domain, now=now,
                                 resolver=static_resolver_from_files(did_docs))
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        verdict = "VERIFIED" if result.verified else "NOT VERIFIED"
        click.echo(f"{verdict}: presentation ({result.format}) by {result.holder}")
        for check in result.checks:
            click.echo(f"  {_MARKS[check.status]} {check.name}: {check.reason}")
        for index, credential in enumerate(result.credentials):
            click.echo(f"  credential[{index}] ({credential.format}):")
            print_result(credential, indent="    ")
    raise CliFailure(EXIT_OK if result.verified else EXIT_FAILED)


_MARKS = {Status.PASSED: "ok  ", Status.FAILED: "FAIL", Status.SKIPPED: "skip"}


def print_result(result: CredentialResult, indent: str = "") -> None:
    verdict = "VERIFIED" if result.verified else "NOT VERIFIED"
    what = result.summary or ", ".join(result.types) or "credential"
    click.echo(f"{indent}{verdict}: {what}")
    if result.issuer:
        click.echo(f"{indent}  issuer: {result.issuer}")
    for check in result.checks:
        click.echo(f"{indent}  {_MARKS[check.status]} {check.name}: {check.reason}")


@click.group("contexts")
def contexts() -> None:
    """The JSON-LD contexts vcwallet bundles (it never fetches one)."""


def _context_file_name(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", url.split("://", 1)[-1]).strip("-") + ".jsonld"


@contexts.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
def export_contexts(directory: str) -> None:
    """Write every bundled context and an index.json (URL -> file) to DIRECTORY."""
    from ..documents import DocumentLoader

    # export serves every bundled document, including the opt-in undefined-terms context
    loader = DocumentLoader(allow_undefined_terms=True)
    target = Path(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
        index: dict[str, str] = {}
        for url in sorted(loader.urls):
            name = _context_file_name(url)
            text = json.dumps(loader.document(url), ensure_ascii=False, indent=2)
            (target / name).write_text(text + "\n", encoding="utf-8")
            index[url] = name
        (target / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliFailure(EXIT_USAGE, f"cannot write to {directory}: {exc.strerror}") from None
    click.echo(f"wrote {len(index)} contexts and index.json to {target}")


@contexts.command("list")
def list_contexts() -> None:
    """Print the URL of every bundled context."""
    from ..documents import default_loader

    for url in sorted(default_loader().urls):
        click.echo(url)
