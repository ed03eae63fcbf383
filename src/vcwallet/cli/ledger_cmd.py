"""``vcwallet ledger``: create, extend, prove and audit a transparency log.

Every subcommand takes ``--store PATH|postgresql://...``. Proofs print as JSON with RFC 9162
names and hex hashes. ``init`` records the absolute path of the checkpoint key file in the
store (never the key itself), so ``checkpoint``, ``prove`` and ``append`` can sign without
``--key``.
Exit codes: 0 done / valid, 1 the store or a proof does not hold up (audit, tampering),
2 unreadable input or wrong usage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .. import _json
from ..errors import LedgerCorrupted, LedgerError, LogProofError, VerificationError
from ..keys import KeyPair, KeyType
from ..ledger import (
    TransparencyLog,
    open_store,
    parse_verifier_key,
    verifier_key,
    verify_proof_against_checkpoint,
)
from ..ledger.log import SignedCheckpoint
from ..ledger.store import LedgerStore
from ._common import EXIT_FAILED, EXIT_USAGE, CliFailure, passphrase_from_env, read_bytes

_KEY_FILE_META = "key_file"

store_option = click.option(
    "--store", "store", required=True, metavar="PATH|postgresql://...",
    help="SQLite file or PostgreSQL URL (?schema=NAME picks the schema).",
)
key_option = click.option(
    "--key", "keyfile", type=click.Path(dir_okay=False), default=None,
    help="Checkpoint key file (default: the one given to `ledger init`).",
)


def _load_key(keyfile: str) -> Ed25519PrivateKey:
    pair = KeyPair.load(keyfile, passphrase=passphrase_from_env())
    if pair.key_type is not KeyType.ED25519:
        raise CliFailure(EXIT_USAGE, f"{keyfile}: checkpoints are signed with an Ed25519 key")
    private = pair.private_key
    assert isinstance(private, Ed25519PrivateKey)
    return private


def _open_store(location: str, *, create: bool = False) -> LedgerStore:
    """Open the store for this command; it is closed when the command ends."""
    store = open_store(location, create=create)
    click.get_current_context().call_on_close(store.close)
    return store


def _open_log(location: str) -> TransparencyLog:
    return TransparencyLog.open(_open_store(location))


def _signing_key(log: TransparencyLog, keyfile: str | None) -> Ed25519PrivateKey:
    if keyfile is None:
        recorded = log.store.read_meta().get(_KEY_FILE_META)
        if not recorded:
            raise CliFailure(EXIT_USAGE, "no checkpoint key: pass --key KEYFILE")
        keyfile = recorded.decode("utf-8")
    return _load_key(keyfile)


def _echo_json(value: dict[str, Any]) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _failed(exc: Exception) -> CliFailure:
    return CliFailure(EXIT_FAILED, str(exc))


@click.group()
def ledger() -> None:
    """The append-only transparency log credentials are anchored in."""


@ledger.command("init")
@store_option
@click.option("--key", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Ed25519 key file that will sign the log's checkpoints.")
@click.option("--origin", required=True, help="The log's name, e.g. ledger.example.ac.kr/diplomas.")
def init(store: str, keyfile: str, origin: str) -> None:
    """Create an empty log and print its verifier key (name+id+key) for others to pin."""
    private = _load_key(keyfile)
    try:
        TransparencyLog.create(
            _open_store(store, create=True),
            origin=origin,
            public_key=private.public_key(),
            extra_meta={_KEY_FILE_META: os.path.abspath(keyfile).encode("utf-8")},
        )
    except ValueError as exc:
        raise CliFailure(EXIT_USAGE, str(exc)) from None
    click.echo(verifier_key(origin, private.public_key()))


@ledger.command("checkpoint")
@store_option
@key_option
def checkpoint(store: str, keyfile: str | None) -> None:
    """Sign (if the tree grew) and print the checkpoint note for the current tree."""
    log = _open_log(store)
    latest = log.latest_checkpoint()
    if latest is not None and latest.checkpoint.tree_size == log.size():
        _check_latest(log, latest)
        click.echo(latest.note, nl=False)
        return
    try:
        signed = log.sign_checkpoint(_signing_key(log, keyfile))
    except LedgerCorrupted as exc:
        raise _failed(exc) from None
    click.echo(signed.note, nl=False)


def _check_latest(log: TransparencyLog, latest: SignedCheckpoint) -> None:
    if log.root_hash(latest.checkpoint.tree_size) != latest.checkpoint.root_hash:
        raise CliFailure(EXIT_FAILED, "stored tree no longer matches its latest checkpoint")


def _checkpoint_for(
    log: TransparencyLog, size: int | None, leaf_index: int, keyfile: str | None
) -> SignedCheckpoint:
    """A stored checkpoint covering the leaf (the one at ``size`` if asked), else a new one."""
    if size is None:
        latest = log.latest_checkpoint()
        if latest is not None and latest.checkpoint.tree_size > leaf_index:
            return latest
        size = log.size()
    stored = log.checkpoint_at(size)
    if stored is not None:
        return stored
    return log.sign_checkpoint(_signing_key(log, keyfile), tree_size=size)


@ledger.command("prove")
@store_option
@click.option("--leaf-hash", "leaf_hash_hex", default=None, help="RFC 9162 leaf hash (hex).")
@click.option("--credential", "credential", type=click.Path(dir_okay=False), default=None,
              help="A secured credential file whose anchor leaf to prove.")
@click.option("--size", "size", type=click.IntRange(min=1), default=None,
              help="Tree size to prove against (default: the latest checkpoint covering it).")
@key_option
def prove(
    store: str, leaf_hash_hex: str | None, credential: str | None, size: int | None,
    keyfile: str | None,
) -> None:
    """Print an inclusion proof with the signed checkpoint it leads to."""
    if (leaf_hash_hex is None) == (credential is None):
        raise CliFailure(EXIT_USAGE, "give exactly one of --leaf-hash or --credential")
    log = _open_log(store)
    wanted = _credential_leaf_hash(credential) if credential else _parse_hash(leaf_hash_hex or "")
    index = log.find_leaf(wanted)
    try:
        signed = _checkpoint_for(log, size, index, keyfile)
        proof = log.inclusion_proof(index, signed.checkpoint.tree_size)
        # Check before printing: a store edited behind the log's back must not yield "proofs".
        verify_proof_against_checkpoint(proof, signed.note, log.public_key, origin=log.origin)
    except (LedgerCorrupted, LogProofError) as exc:
        raise _failed(exc) from None
    _echo_json({**proof.to_json(), "checkpoint": signed.note})


def _parse_hash(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise CliFailure(EXIT_USAGE, "--leaf-hash is not hex") from None
    if len(raw) != 32:
        raise CliFailure(EXIT_USAGE, f"--leaf-hash is {len(raw)} bytes, not 32")
    return raw


def _credential_leaf_hash(path: str) -> bytes:
    from .. import anchor

    return anchor.credential_leaf_hash(read_bytes(path))


@ledger.command("append")
@store_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["issued", "revoked", "suspended", "key-rotated"]),
              default="issued", show_default=True, help="What the entries record.")
@key_option
def append(store: str, files: tuple[str, ...], kind: str, keyfile: str | None) -> None:
    """Anchor secured credential FILEs in one durable batch; write FILE.receipt.json for each."""
    receipts = anchor_files(store, files, kind=kind, keyfile=keyfile)
    _echo_json({
        "tree_size": receipts[-1].tree_size,
        "entries": [
            {"file": path, "leaf_index": r.leaf_index, "leaf_hash": r.leaf_hash.hex(),
             "receipt": f"{path}.receipt.json"}
            for path, r in zip(files, receipts)
        ],
    })


def anchor_files(store: str, files: Sequence[str], *, kind: str = "issued",
                 keyfile: str | None = None) -> list[Any]:
    """Anchor the credential files in one durable batch and write ``FILE.receipt.json``
    beside each (also used by ``vcwallet issue --ledger``)."""
    from .. import anchor

    log = _open_log(store)
    credentials = [read_bytes(path) for path in files]
    receipts = anchor.anchor_credentials(
        log, credentials, signing_key=_signing_key(log, keyfile), kind=kind
    )
    for path, receipt in zip(files, receipts, strict=True):
        with open(f"{path}.receipt.json", "w", encoding="utf-8") as out:
            out.write(_json.dumps(receipt.to_json(), pretty=True) + "\n")
    return receipts


def _log_key(value: str) -> tuple[str, Ed25519PublicKey]:
    """(key name or "", key) from a verifier key string (name+id+key), a file holding one,
    or a vcwallet key file."""
    if not os.path.isfile(value):
        return parse_verifier_key(value)
    text = read_bytes(value).decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        return parse_verifier_key(text)
    private = KeyPair.load(value, passphrase=passphrase_from_env()).private_key
    if not isinstance(private, Ed25519PrivateKey):
        raise CliFailure(EXIT_USAGE, f"{value}: a log key is an Ed25519 key")
    return "", private.public_key()


@ledger.command("verify-receipt")
@click.argument("credential", type=click.Path(dir_okay=False))
@click.argument("receipt", type=click.Path(dir_okay=False))
@click.option("--log-key", "log_key", required=True,
              help="The log's verifier key (name+id+key, as `ledger init` prints) or a file.")
def verify_receipt_cmd(credential: str, receipt: str, log_key: str) -> None:
    """Check offline that RECEIPT proves CREDENTIAL is in the log (exit 0 / 1 / 2 as verify)."""
    from .. import anchor

    try:
        name, public_key = _log_key(log_key)
    except LogProofError as exc:
        raise CliFailure(EXIT_USAGE, f"--log-key: {exc}") from None
    parsed = anchor.Receipt.from_json(_json.loads(read_bytes(receipt).decode("utf-8", "replace")))
    data = read_bytes(credential)
    anchor.leaf_record(data, kind=parsed.kind)  # unreadable credential: exit 2, not 1
    try:
        if name and name != parsed.origin:
            raise LogProofError(f"receipt is from log {parsed.origin!r}, the key is {name!r}'s")
        anchor.verify_receipt(data, parsed, public_key)
    except VerificationError as exc:
        raise CliFailure(EXIT_FAILED, f"receipt does not verify: {exc}") from None
    click.echo(
        f"valid: leaf {parsed.leaf_index} of {parsed.origin} at tree size {parsed.tree_size}"
    )


@ledger.command("consistency")
@store_option
@click.option("--old", "old", required=True, type=click.IntRange(min=1), help="Earlier tree size.")
@click.option("--new", "new", type=click.IntRange(min=1), default=None,
              help="Later tree size (default: the current size).")
def consistency(store: str, old: int, new: int | None) -> None:
    """Print a consistency proof that the tree of size --new extends the one of size --old."""
    log = _open_log(store)
    try:
        proof = log.consistency_proof(old, new)
        proof.verify(log.root_hash(proof.first), log.root_hash(proof.second))
    except LedgerError as exc:
        if isinstance(exc, LedgerCorrupted):
            raise _failed(exc) from None
        raise CliFailure(EXIT_USAGE, str(exc)) from None
    except LogProofError as exc:
        raise _failed(exc) from None
    _echo_json(proof.to_json())


@ledger.command("audit")
@store_option
def audit(store: str) -> None:
    """Recompute the tree from the leaves; check every stored hash and signed checkpoint."""
    try:
        report = _open_log(store).audit()
    except LedgerCorrupted as exc:
        raise CliFailure(EXIT_FAILED, f"audit failed: {exc}") from None
    click.echo(
        f"ok: {report.tree_size} leaves, {report.nodes_checked} subtree hashes, "
        f"{report.checkpoints_checked} checkpoints; root {report.root_hash.hex()}"
    )
