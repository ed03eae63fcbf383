"""``vcwallet key``: create and inspect key pairs."""

from __future__ import annotations

import click

from ..keys import KeyPair, KeyType
from ._common import passphrase_from_env


@click.group()
def key() -> None:
    """Create and inspect key pairs (Ed25519, P-256)."""


@key.command("new")
@click.option("--type", "key_type", type=click.Choice([t.value for t in KeyType]),
              default=KeyType.ED25519.value, show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Key file to write (mode 0600; never overwritten).")
@click.option("--encrypt", is_flag=True,
              help="Encrypt the key file with the passphrase from VCWALLET_PASSPHRASE or a prompt.")
def new(key_type: str, out: str, encrypt: bool) -> None:
    """Generate a key pair, write it to KEYFILE and print its did:key."""
    pair = KeyPair.generate(KeyType(key_type))
    pair.save(out, passphrase=passphrase_from_env(required=True) if encrypt else None)
    click.echo(pair.did_key)


@key.command("show")
@click.argument("keyfile", type=click.Path(dir_okay=False))
def show(keyfile: str) -> None:
    """Print the public half of KEYFILE: did:key, Multikey and JWK (never the private key)."""
    import json

    pair = KeyPair.load(keyfile, passphrase=passphrase_from_env())
    click.echo(pair.did_key)
    click.echo(f"publicKeyMultibase: {pair.public_key.multibase}")
    click.echo(f"publicKeyJwk: {json.dumps(pair.public_key.to_jwk())}")
