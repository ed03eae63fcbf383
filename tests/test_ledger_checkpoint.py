"""C2SP signed-note checkpoints: format, key IDs, signature checks, malformed notes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from vcwallet.errors import InvalidCheckpoint
from vcwallet.ledger import (
    Checkpoint,
    key_id,
    open_checkpoint,
    parse_checkpoint_unverified,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)

ORIGIN = "ledger.example.ac.kr/diplomas"
ROOT = hashlib.sha256(b"root").digest()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _note(key: Ed25519PrivateKey, size: int = 20852163) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, ROOT), key)


def test_note_layout_matches_c2sp(key: Ed25519PrivateKey) -> None:
    note = _note(key)
    body, sig_line = note.split("\n\n")
    assert body == f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}"
    assert sig_line.startswith(f"\u2014 {ORIGIN} ") and sig_line.endswith("\n")
    blob = base64.b64decode(sig_line.split(" ")[2])
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert blob[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    assert blob[:4] == key_id(ORIGIN, key.public_key())
    key.public_key().verify(blob[4:], (body + "\n").encode())


def test_open_returns_the_checkpoint(key: Ed25519PrivateKey) -> None:
    cp = open_checkpoint(_note(key, 5), key.public_key(), origin=ORIGIN)
    assert (cp.origin, cp.tree_size, cp.root_hash) == (ORIGIN, 5, ROOT)
    assert verify_checkpoint(_note(key, 0), key.public_key()) is None
    assert parse_checkpoint_unverified(_note(key, 7)).tree_size == 7


def test_verifier_key_string(key: Ed25519PrivateKey) -> None:
    name, kid, b64 = verifier_key(ORIGIN, key.public_key()).split("+", 2)
    assert name == ORIGIN and bytes.fromhex(kid) == key_id(ORIGIN, key.public_key())
    assert base64.b64decode(b64)[0] == 1 and len(base64.b64decode(b64)) == 33


def test_other_key_is_rejected(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidCheckpoint):
        open_checkpoint(_note(other), key.public_key())


def test_witness_cosignatures_are_ignored(key: Ed25519PrivateKey) -> None:
    witness = Ed25519PrivateKey.generate()
    note = _note(key)
    text = note.split("\n\n")[0] + "\n"
    sig = witness.sign(text.encode())
    blob = key_id("witness.example", witness.public_key()) + sig
    cosigned = note + f"\u2014 witness.example {base64.b64encode(blob).decode()}\n"
    assert open_checkpoint(cosigned, key.public_key()).tree_size == 20852163


def test_tampered_text_or_signature_is_rejected(key: Ed25519PrivateKey) -> None:
    note = _note(key, 10)
    with pytest.raises(InvalidCheckpoint):
        open_checkpoint(note.replace("\n10\n", "\n11\n"), key.public_key())
    body, sig = note.split("\n\n")
    blob = bytearray(base64.b64decode(sig.split(" ")[2]))
    blob[10] ^= 1
    forged = f"{body}\n\n\u2014 {ORIGIN} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(InvalidCheckpoint):
        open_checkpoint(forged, key.public_key())


def test_wrong_origin_is_rejected(key: Ed25519PrivateKey) -> None:
    with pytest.raises(InvalidCheckpoint):
        open_checkpoint(_note(key), key.public_key(), origin="other.example/log")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda n: n.rstrip("\n"),  # no final newline
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n.replace("\u2014", "-"),  # not an em dash
        lambda n: n.replace("\n20852163\n", "\n020852163\n"),  # leading zero
        lambda n: n.replace("\n20852163\n", "\n-5\n"),
        lambda n: n.replace(base64.b64encode(ROOT).decode(), base64.b64encode(ROOT[:31]).decode()),
        lambda n: n.replace(base64.b64encode(ROOT).decode(), "not base64!"),
        lambda n: n.replace(ORIGIN + "\n", "", 1),  # missing origin line
        lambda n: "\x07" + n,  # control character
        lambda n: n[:-30] + "\n",  # truncated signature
        lambda n: "\ud800" + n,  # not encodable as UTF-8
        lambda n: n * 2000,  # far too large
        lambda n: 42,  # not text at all
    ],
)
def test_malformed_notes_are_typed_errors(key: Ed25519PrivateKey, mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidCheckpoint):
        open_checkpoint(mutate(_note(key)), key.public_key())


def test_checkpoint_refuses_bad_fields() -> None:
    with pytest.raises(ValueError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(ValueError):
        Checkpoint(ORIGIN, 1, ROOT[:5])
