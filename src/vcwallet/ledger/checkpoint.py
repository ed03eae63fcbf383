"""Signed checkpoints in the C2SP signed-note format (tlog-checkpoint, signed-note). Low level.

A checkpoint note is::

    <origin>\\n<tree size>\\n<base64 root hash>\\n[extension lines\\n]
    \\n
    — <key name> <base64(key ID || Ed25519 signature)>\\n

The signature covers the note text up to and including its last newline before the blank
line. The key ID is the first four bytes of SHA-256(name || 0x0A || 0x01 || public key).
Signatures by keys other than the expected one are ignored (that is how witnesses cosign);
at least one signature by the expected name and key must verify, and a signature that
claims the expected name and key ID but fails is rejected outright.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import InvalidCheckpoint
from .hashing import HASH_SIZE

ED25519_TYPE = b"\x01"
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 100
_SIG_PREFIX = "\u2014 "
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("a checkpoint key must be an Ed25519 public key")
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise ValueError(f"invalid note key name {name!r}")
    return name


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte signed-note key ID of an Ed25519 key under ``name``."""
    data = name.encode("utf-8") + b"\n" + ED25519_TYPE + _raw_public(public_key)
    return hashlib.sha256(data).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The ``name+keyid+base64(0x01 || key)`` verifier string other note tools accept."""
    raw = ED25519_TYPE + _raw_public(public_key)
    return f"{_check_name(name)}+{key_id(name, public_key).hex()}+{base64.b64encode(raw).decode()}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """(name, key) from a ``name+keyid+base64(0x01 || key)`` string; ``InvalidCheckpoint`` if bad."""
    parts = vkey.strip().split("+", 2) if isinstance(vkey, str) else []
    if len(parts) != 3 or not parts[0]:
        raise InvalidCheckpoint("verifier key is not name+keyid+key")
    name, kid_hex, key_b64 = parts
    try:
        raw = base64.b64decode(key_b64, validate=True)
        kid = bytes.fromhex(kid_hex)
    except (binascii.Error, ValueError):
        raise InvalidCheckpoint("verifier key is not name+keyid+key") from None
    if len(raw) != 33 or raw[:1] != ED25519_TYPE:
        raise InvalidCheckpoint("verifier key is not an Ed25519 note key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if kid != key_id(name, public_key):
        raise InvalidCheckpoint("verifier key's key ID does not match its name and key")
    return name, public_key


@dataclass(frozen=True)
class Checkpoint:
    """The body of a checkpoint: which log, how many leaves, which root."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValueError("checkpoint origin must be one non-empty line")
        if self.tree_size < 0 or len(self.root_hash) != HASH_SIZE:
            raise ValueError("checkpoint needs tree_size >= 0 and a 32-byte root hash")
        if any(not line or "\n" in line for line in self.extensions):
            raise ValueError("checkpoint extension lines must be non-empty single lines")

    def text(self) -> str:
        """The note text the signatures cover."""
        lines = [self.origin, str(self.tree_size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def sign_checkpoint(
    checkpoint: Checkpoint, private_key: Ed25519PrivateKey, *, name: str | None = None
) -> str:
    """The signed note for ``checkpoint``; the key name defaults to the origin, as C2SP advises."""
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("checkpoints are signed with an Ed25519 private key")
    key_name = _check_name(name if name is not None else checkpoint.origin)
    text = checkpoint.text()
    sig = private_key.sign(text.encode("utf-8"))
    kid = key_id(key_name, private_key.public_key())
    return f"{text}\n{_SIG_PREFIX}{key_name} {base64.b64encode(kid + sig).decode()}\n"


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Note text and its (name, key ID || signature) pairs; malformed notes raise."""
    if not isinstance(note, str):
        raise InvalidCheckpoint("a checkpoint note must be text")
    try:
        size = len(note.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidCheckpoint("checkpoint note is not valid UTF-8 text") from None
    if size > MAX_NOTE_BYTES:
        raise InvalidCheckpoint("checkpoint note is too large")
    if any(c < " " and c != "\n" for c in note) or not note.endswith("\n"):
        raise InvalidCheckpoint("checkpoint note has control characters or no final newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise InvalidCheckpoint("checkpoint note has no signature block")
    text, block = note[: cut + 1], note[cut + 2 :]
    sigs: list[tuple[str, bytes]] = []
    for line in block.splitlines():
        if not line.startswith(_SIG_PREFIX):
            raise InvalidCheckpoint("malformed signature line in checkpoint note")
        parts = line[len(_SIG_PREFIX) :].split(" ")
        if len(parts) != 2 or not parts[0]:
            raise InvalidCheckpoint("malformed signature line in checkpoint note")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCheckpoint("signature in checkpoint note is not base64") from None
        if len(blob) < 5:
            raise InvalidCheckpoint("signature in checkpoint note is too short")
        sigs.append((parts[0], blob))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise InvalidCheckpoint("checkpoint note has no signature or too many")
    return text, sigs


def _parse_text(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise InvalidCheckpoint("checkpoint text needs origin, size and root lines")
    origin, size, root_b64, *ext = lines
    if not _DECIMAL.fullmatch(size):
        raise InvalidCheckpoint("checkpoint tree size is not a plain decimal")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCheckpoint("checkpoint root hash is not base64") from None
    if len(root) != HASH_SIZE:
        raise InvalidCheckpoint(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
    return Checkpoint(origin, int(size), root, tuple(ext))


def parse_checkpoint_unverified(note: str) -> Checkpoint:
    """Read a checkpoint note WITHOUT checking any signature (for display and routing only)."""
    text, _ = _split_note(note)
    return _parse_text(text)


def open_checkpoint(
    note: str,
    public_key: Ed25519PublicKey,
    *,
    origin: str | None = None,
    name: str | None = None,
) -> Checkpoint:
    """Verify the log's signature on ``note`` and return its checkpoint.

    ``name`` is the key name to look for (default: the expected origin, else the note's own
    origin). Raises ``InvalidCheckpoint`` if the note is malformed, from another origin, or
    carries no valid signature by ``public_key``.
    """
    text, sigs = _split_note(note)
    checkpoint = _parse_text(text)
    if origin is not None and checkpoint.origin != origin:
        raise InvalidCheckpoint(
            f"checkpoint is for origin {checkpoint.origin!r}, expected {origin!r}"
        )
    key_name = name if name is not None else checkpoint.origin
    kid = key_id(key_name, public_key)
    verified = False
    for sig_name, blob in sigs:
        if sig_name != key_name or blob[:4] != kid:
            continue  # someone else's signature (a witness): ignored, as the spec says
        try:
            public_key.verify(blob[4:], text.encode("utf-8"))
        except _CryptoInvalidSignature:
            raise InvalidCheckpoint("checkpoint signature does not verify") from None
        verified = True
    if not verified:
        raise InvalidCheckpoint(f"checkpoint is not signed by the key of {key_name!r}")
    return checkpoint


def verify_checkpoint(
    note: str, public_key: Ed25519PublicKey, *, origin: str | None = None
) -> None:
    """Check the note's signature and origin; ``None`` or ``InvalidCheckpoint``."""
    open_checkpoint(note, public_key, origin=origin)
