"""The wallet's encryption: passphrase KDF, data-key wrapping, record sealing. Low level.

Key hierarchy (nothing below the passphrase is ever stored in the clear)::

    passphrase (NFC, UTF-8) --Argon2id, or scrypt--> key-encryption key (KEK)
    KEK --AES-256-GCM--> wraps a random 32-byte data key (DEK); its tag is the key check
    DEK --HKDF-SHA256--> record key (AES-256-GCM) and index key (HMAC-SHA256)

Every record is sealed with a fresh 96-bit random nonce and associated data naming what
it is and which row it belongs to, so a ciphertext moved to another row, or swapped
between the index and body columns, fails authentication instead of decrypting.
Changing the passphrase re-wraps the DEK only; the records are untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import WalletCorrupted, WalletError, WrongPassphrase

_NONCE_BYTES = 12
_KEY_BYTES = 32
_SALT_BYTES = 16
_DEK_AAD = b"vcwallet-wallet/dek\x00"

# Lower bounds keep a wallet from being created with a trivially guessable key; upper
# bounds keep a hostile file from making open() allocate gigabytes.
_ARGON2_LIMITS = {"iterations": (1, 16), "lanes": (1, 16), "memory_kib": (19 * 1024, 1024 * 1024)}
_SCRYPT_LIMITS = {"log2_n": (15, 20), "r": (8, 16), "p": (1, 4)}


def argon2_available() -> bool:
    """True when the installed ``cryptography`` offers Argon2id (version 44 and later)."""
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class KdfParams:
    """How the passphrase becomes a key. ``default()`` picks Argon2id, else scrypt.

    Argon2id defaults follow RFC 9106's second recommendation (t=3, p=4, 64 MiB);
    scrypt's are n=2^17, r=8, p=1 (128 MiB). Both take about a tenth of a second.
    """

    algorithm: str = "argon2id"
    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024
    log2_n: int = 17
    r: int = 8
    p: int = 1

    @classmethod
    def default(cls) -> KdfParams:
        return cls() if argon2_available() else cls(algorithm="scrypt")

    def check(self) -> None:
        """Raise ValueError for an unknown algorithm or a cost outside the allowed range."""
        if self.algorithm == "argon2id":
            limits = _ARGON2_LIMITS
        elif self.algorithm == "scrypt":
            limits = _SCRYPT_LIMITS
        else:
            raise ValueError(f"unknown KDF {self.algorithm!r} (argon2id or scrypt)")
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{self.algorithm} {name}={value!r} outside [{low}, {high}]")

    def header(self, salt: bytes) -> bytes:
        """The stored, authenticated description of this KDF (no secret in it)."""
        if self.algorithm == "argon2id":
            fields: dict[str, Any] = {"alg": "argon2id", "t": self.iterations,
                                      "p": self.lanes, "m": self.memory_kib}
        else:
            fields = {"alg": "scrypt", "log2n": self.log2_n, "r": self.r, "p": self.p}
        fields["salt"] = base64.b64encode(salt).decode("ascii")
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_header(cls, header: bytes) -> tuple[KdfParams, bytes]:
        """Parse a stored header; raise WalletError if it is damaged or out of range."""
        try:
            fields = json.loads(header)
            salt = base64.b64decode(fields["salt"], validate=True)
            if fields["alg"] == "argon2id":
                params = cls("argon2id", iterations=fields["t"], lanes=fields["p"],
                             memory_kib=fields["m"])
            else:
                params = cls("scrypt", log2_n=fields["log2n"], r=fields["r"], p=fields["p"])
            params.check()
        except (ValueError, KeyError, TypeError) as exc:
            raise WalletError(f"wallet key header is damaged or unsupported ({exc})") from None
        if len(salt) != _SALT_BYTES:
            raise WalletError("wallet key header is damaged (salt length)")
        return params, salt

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        """The key-encryption key for ``passphrase`` (normalised to NFC, so a Korean
        passphrase typed on any keyboard gives the same key)."""
        if not isinstance(passphrase, str) or not passphrase:
            raise ValueError("passphrase must be a non-empty string")
        secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        if self.algorithm == "argon2id":
            from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

            return Argon2id(salt=salt, length=_KEY_BYTES, iterations=self.iterations,
                            lanes=self.lanes, memory_cost=self.memory_kib).derive(secret)
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt=salt, length=_KEY_BYTES, n=2**self.log2_n, r=self.r,
                      p=self.p).derive(secret)


def new_salt() -> bytes:
    return os.urandom(_SALT_BYTES)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(kek: bytes, dek: bytes, header: bytes) -> bytes:
    """Seal the DEK under the KEK; the KDF header is authenticated with it."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, dek, _DEK_AAD + header)


def unwrap_data_key(kek: bytes, wrapped: bytes, header: bytes) -> bytes:
    """Return the DEK, or raise WrongPassphrase (the tag is the passphrase check)."""
    try:
        dek = AESGCM(kek).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:],
                                  _DEK_AAD + header)
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase (or a damaged wallet key header)") from None
    if len(dek) != _KEY_BYTES:
        raise WalletError("wallet data key has the wrong length")
    return dek


def _subkey(dek: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None,
                info=b"vcwallet-wallet/" + label).derive(dek)


class RecordCipher:
    """Seals and opens records under one wallet's data key. Never shows the key."""

    __slots__ = ("_aead", "_mac_key")

    def __init__(self, dek: bytes) -> None:
        self._aead = AESGCM(_subkey(dek, b"records"))
        self._mac_key = _subkey(dek, b"index")

    def __repr__(self) -> str:
        return "RecordCipher(<key hidden>)"

    @staticmethod
    def _aad(label: str, record: str) -> bytes:
        return b"vcwallet-wallet/" + label.encode("ascii") + b"\x00" + record.encode("utf-8")

    def seal(self, label: str, record: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, self._aad(label, record))

    def open(self, label: str, record: str, sealed: bytes) -> bytes:
        """Decrypt, or raise WalletCorrupted naming the row (never return garbage)."""
        if not isinstance(sealed, bytes) or len(sealed) < _NONCE_BYTES + 16:
            raise WalletCorrupted(f"wallet row {record!r} ({label}) is truncated", record)
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:],
                                      self._aad(label, record))
        except InvalidTag:
            raise WalletCorrupted(
                f"wallet row {record!r} ({label}) fails authentication: tampered or moved",
                record,
            ) from None

    def record_key(self, material: bytes) -> str:
        """A keyed digest naming a credential: stable within this wallet, meaningless
        without its key (so the file does not reveal which credentials it holds)."""
        return hmac.new(self._mac_key, material, hashlib.sha256).hexdigest()[:32]
