"""``vcwallet wallet ...`` (the holder's encrypted wallet) and ``vcwallet present``.

The passphrase comes from ``VCWALLET_PASSPHRASE`` or a prompt, never from an argument; a
backup's passphrase from ``VCWALLET_BACKUP_PASSPHRASE``, else the wallet's own. A refused
credential (it did not verify) and an unmet request exit 1; unreadable input, a wrong
passphrase and misuse exit 2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from ..errors import CredentialRefused, UnmetRequirement
from ..keys import KeyType
from ..wallet import CredentialEntry, Wallet
from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CliFailure,
    passphrase_from_env,
    read_bytes,
    read_json_file,
    write_output,
)

BACKUP_PASSPHRASE_ENV = "VCWALLET_BACKUP_PASSPHRASE"

_wallet_option = click.option("--wallet", "wallet_path", required=True,
                              type=click.Path(dir_okay=False), help="The wallet file.")


def _passphrase(prompt: str = "Wallet passphrase") -> str:
    value = passphrase_from_env(required=True, prompt=prompt)
    assert value is not None  # required=True either returns one or stops the command
    return value


def _backup_passphrase(wallet_passphrase: str) -> str:
    return os.environ.get(BACKUP_PASSPHRASE_ENV) or wallet_passphrase


def _open(path: str) -> Wallet:
    return Wallet.open(path, _passphrase())






def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@click.group("wallet")
def wallet() -> None:
    """The holder's encrypted wallet: init, add, list, show, remove, export, import."""


@wallet.command("init")
@_wallet_option
@click.option("--key-type", type=click.Choice([t.value for t in KeyType]),
              default=KeyType.ED25519.value, show_default=True)
def init(wallet_path: str, key_type: str) -> None:
    """Create a wallet with a fresh holder key and print the holder's DID."""
    with Wallet.create(wallet_path, _passphrase("New wallet passphrase"),
                       key_type=key_type) as created:
        click.echo(created.holder_did)


@wallet.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@_wallet_option
@click.option("--receipt", type=click.Path(dir_okay=False), help="Its ledger receipt (JSON).")
def add(file: str, wallet_path: str, receipt: str | None) -> None:
    """Verify the credential in FILE and store it (any format)."""
    data = read_bytes(file)
    receipt_data = read_json_file(receipt) if receipt else None
    if receipt_data is not None and not isinstance(receipt_data, dict):
        raise CliFailure(EXIT_USAGE, f"{receipt}: a receipt must be a JSON object")
    with _open(wallet_path) as held:
        try:
            stored = held.add(data, receipt=receipt_data)
        except CredentialRefused as exc:
            raise CliFailure(EXIT_FAILED, str(exc)) from None
        click.echo(f"added {stored.key} ({stored.format}): {stored.summary}")


def _line(entry: CredentialEntry) -> str:
    return f"{entry.key}  {entry.format:<6}  {entry.summary}  [{entry.issuer or '?'}]"


@wallet.command("list")
@_wallet_option
@click.option("--type", "type_name", help="Only credentials of this type.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def list_command(wallet_path: str, type_name: str | None, as_json: bool) -> None:
    """List the held credentials, oldest first."""
    with _open(wallet_path) as held:
        entries = held.search(type=type_name) if type_name else held.list()
        if as_json:
            click.echo(_dump([e.to_json() for e in entries]))
            return
        for entry in entries:
            click.echo(_line(entry))
        if not entries:
            click.echo("(no credentials)")


@wallet.command("show")
@click.argument("key")
@_wallet_option
@click.option("--json", "as_json", is_flag=True, help="Print the entry, credential and receipt as JSON.")
def show(key: str, wallet_path: str, as_json: bool) -> None:
    """Show one credential (by wallet key or credential id)."""
    with _open(wallet_path) as held:
        stored = held.get(key)
        if as_json:
            click.echo(_dump(stored.to_json()))
            return
        click.echo(_line(stored))
        for label, value in (("types", ", ".join(stored.types)), ("subject", stored.subject_id),
                             ("id", stored.credential_id), ("valid from", stored.valid_from),
                             ("valid until", stored.valid_until), ("added", stored.added),
                             ("receipt", "yes" if stored.receipt else "no")):
            if value:
                click.echo(f"  {label}: {value}")
        click.echo(_dump(stored.credential))


@wallet.command("remove")
@click.argument("key")
@_wallet_option
def remove(key: str, wallet_path: str) -> None:
    """Delete one credential (by wallet key or credential id)."""
    with _open(wallet_path) as held:
        held.remove(key)
        click.echo(f"removed {key}")


@wallet.command("export")
@click.argument("backup", type=click.Path(dir_okay=False))
@_wallet_option
def export(backup: str, wallet_path: str) -> None:
    """Write an encrypted backup (passphrase: VCWALLET_BACKUP_PASSPHRASE, else the wallet's)."""
    secret = _passphrase()
    with Wallet.open(wallet_path, secret) as held:
        held.export(backup, _backup_passphrase(secret))
        click.echo(f"exported {len(held)} credentials to {backup}")


@wallet.command("import")
@click.argument("backup", type=click.Path(dir_okay=False))
@_wallet_option
def import_command(backup: str, wallet_path: str) -> None:
    """Merge a backup into the wallet, or restore it as a new wallet at --wallet."""
    secret = _passphrase()
    if not Path(backup).is_file():
        raise CliFailure(EXIT_USAGE, f"{backup}: no backup file there")
    if not Path(wallet_path).exists():
        with Wallet.import_backup(backup, _backup_passphrase(secret), wallet_path,
                                  secret) as restored:
            click.echo(f"restored {len(restored)} credentials into {wallet_path} "
                       f"(holder {restored.holder_did})")
        return
    with Wallet.open(wallet_path, secret) as held:
        added = held.import_from(backup, _backup_passphrase(secret))
        click.echo(f"imported {added} new credentials")


@click.command("present")
@_wallet_option
@click.option("--request", "request_file", required=True, type=click.Path(dir_okay=False),
              help="A presentation definition or a DCQL query (JSON).")
@click.option("--challenge", required=True, help="The verifier's challenge (nonce).")
@click.option("--domain", required=True, help="The verifier's domain (audience).")
@click.option("--format", "fmt", type=click.Choice(["di", "jwt"]), default="di",
              show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the presentation.")
@click.option("--submission", type=click.Path(dir_okay=False),
              help="Also write the presentation_submission (PE) or query mapping (DCQL).")
def present(wallet_path: str, request_file: str, challenge: str, domain: str, fmt: str,
            out: str, submission: str | None) -> None:
    """Answer a verifier's REQUEST with a presentation disclosing only what it asks."""
    request = read_json_file(request_file)
    with _open(wallet_path) as held:
        try:
            answer = held.present(request, challenge=challenge, domain=domain, format=fmt)
        except UnmetRequirement as exc:
            raise CliFailure(EXIT_FAILED, str(exc)) from None
    write_output(out, answer.to_bytes())
    if submission:
        mapping = answer.presentation_submission or answer.credential_map
        write_output(submission, (_dump(mapping) + "\n").encode("utf-8"))
    click.echo(f"presented {len(answer.credential_keys)} credential(s) as {fmt} -> {out}")
