"""Ed25519 and P-256 key pairs: generate, sign, verify, and convert (JWK, Multikey, did:key).

Low level. Signatures are in the form the specs put on the wire: Ed25519 64 bytes, P-256
IEEE P1363 ``r || s`` (64 bytes) over SHA-256. DER-encoded ECDSA is accepted only where a
caller asks for it (``encoding="der"``, used by the Wycheproof tests).

Key files are JSON Web Keys (private part included), written mode 0600. With a passphrase
they are sealed with AES-256-GCM under a scrypt-derived key (memory-hard), so no plain
private key ever touches the disk. ``repr()`` and every error message show the public
key only.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from multiformats import multibase, multicodec

from .errors import InvalidSignature, KeyFileError, MalformedDocumentError

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ED25519_P = 2**255 - 19
# y of the eight Ed25519 points of small order: with such a public key, R = identity, s = 0
# "verifies" under OpenSSL for every message (identity) or one in 2, 4 or 8 (the others), so
# they are refused on import.
_ED25519_SMALL_ORDER_Y = frozenset({
    0, 1, _ED25519_P - 1,
    0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826,
    0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7,
})


def _ed25519_public(raw: bytes) -> ed25519.Ed25519PublicKey:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if len(raw) == 32 and y % _ED25519_P in _ED25519_SMALL_ORDER_Y:
        raise MalformedDocumentError("Ed25519 public key has small order (anyone could sign for it)")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


class KeyType(str, enum.Enum):
    """The key algorithms vcwallet signs with."""

    ED25519 = "ed25519"
    P256 = "p256"

    @property
    def jws_alg(self) -> str:
        return "EdDSA" if self is KeyType.ED25519 else "ES256"

    @property
    def multicodec_name(self) -> str:
        return "ed25519-pub" if self is KeyType.ED25519 else "p256-pub"


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedDocumentError("base64url value is not a string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise MalformedDocumentError("invalid base64url value") from None


_PublicKeyObject = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
_PrivateKeyObject = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, eq=False)
class PublicKey:
    """A public key with its conversions. Compare with ``==`` (raw bytes)."""

    key_type: KeyType
    key: _PublicKeyObject

    # -- encodings (cached: a key object is immutable and these are on hot paths) -------
    @functools.cached_property
    def raw(self) -> bytes:
        """Ed25519: the 32 raw bytes; P-256: the 33-byte compressed point."""
        if self.key_type is KeyType.ED25519:
            return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return self.key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )

    @functools.cached_property
    def multibase(self) -> str:
        """``publicKeyMultibase`` of a Multikey: base58btc of multicodec header + key."""
        return multibase.encode(multicodec.wrap(self.key_type.multicodec_name, self.raw), "base58btc")

    @property
    def did_key(self) -> str:
        return "did:key:" + self.multibase

    def to_jwk(self) -> dict[str, str]:
        if self.key_type is KeyType.ED25519:
            return {"kty": "OKP", "crv": "Ed25519", "x": _b64u(self.raw)}
        numbers = self.key.public_numbers()  # type: ignore[union-attr]
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64u(numbers.x.to_bytes(32, "big")),
            "y": _b64u(numbers.y.to_bytes(32, "big")),
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.key_type, self.raw) == (
            other.key_type,
            other.raw,
        )

    def __hash__(self) -> int:
        return hash((self.key_type, self.raw))

    def __repr__(self) -> str:
        return f"PublicKey({self.key_type.value}, {self.multibase})"

    # -- verification -----------------------------------------------------------------
    def verify(self, signature: bytes, data: bytes, *, encoding: str = "raw") -> None:
        """Return ``None`` if ``signature`` over ``data`` is valid, else raise InvalidSignature.

        ``encoding`` matters for P-256 only: ``"raw"`` (P1363 ``r||s``, exactly 64 bytes,
        RFC 7518 3.4) or ``"der"``.
        """
        try:
            if self.key_type is KeyType.ED25519:
                if len(signature) != 64:
                    raise InvalidSignature("Ed25519 signature must be 64 bytes")
                self.key.verify(signature, data)  # type: ignore[call-arg]
                return
            if encoding == "raw":
                der = p1363_to_der(signature)
            elif encoding == "der":
                der = signature
            else:
                raise ValueError(f"unknown signature encoding {encoding!r}")
            self.key.verify(der, data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
        except _CryptoInvalidSignature:
            raise InvalidSignature("signature does not verify") from None

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_multibase(cls, value: str) -> PublicKey:
        """Parse a Multikey ``publicKeyMultibase`` (``z...`` with a multicodec header)."""
        if not isinstance(value, str) or not value.startswith("z"):
            raise MalformedDocumentError("publicKeyMultibase must be base58btc ('z...')")
        try:
            codec, raw = multicodec.unwrap(multibase.decode(value))
        except Exception:  # noqa: BLE001 - multiformats raises many types for bad input
            raise MalformedDocumentError("publicKeyMultibase is not a multicodec key") from None
        return cls.from_raw(codec.name, raw)

    @classmethod
    def from_raw(cls, codec_name: str, raw: bytes) -> PublicKey:
        try:
            if codec_name == "ed25519-pub":
                if len(raw) != 32:
                    raise MalformedDocumentError("Ed25519 public key must be 32 bytes")
                return cls(KeyType.ED25519, _ed25519_public(raw))
            if codec_name == "p256-pub":
                if len(raw) != 33:
                    raise MalformedDocumentError("P-256 Multikey must be a 33-byte compressed point")
                return cls(KeyType.P256, ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw))
        except ValueError:
            raise MalformedDocumentError(f"invalid {codec_name} key bytes") from None
        raise MalformedDocumentError(f"unsupported key type {codec_name!r}")

    @classmethod
    def from_ec_point(cls, point: bytes) -> PublicKey:
        """Parse a P-256 SEC1 point (65-byte uncompressed or 33-byte compressed)."""
        if len(point) not in (33, 65):
            raise MalformedDocumentError("P-256 point must be 33 or 65 bytes")
        try:
            return cls(KeyType.P256, ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point))
        except ValueError:
            raise MalformedDocumentError("invalid P-256 point") from None

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> PublicKey:
        """Parse a public JWK (OKP/Ed25519 or EC/P-256). Private members are ignored."""
        if not isinstance(jwk, dict):
            raise MalformedDocumentError("JWK must be a JSON object")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        try:
            if kty == "OKP" and crv == "Ed25519":
                raw = _b64u_decode(jwk.get("x", ""))
                return cls(KeyType.ED25519, _ed25519_public(raw))
            if kty == "EC" and crv == "P-256":
                x = int.from_bytes(_b64u_decode(jwk.get("x", "")), "big")
                y = int.from_bytes(_b64u_decode(jwk.get("y", "")), "big")
                numbers = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
                return cls(KeyType.P256, numbers.public_key())
        except ValueError:
            raise MalformedDocumentError("JWK does not hold a valid public key") from None
        raise MalformedDocumentError(f"unsupported JWK (kty={kty!r}, crv={crv!r})")

    @classmethod
    def from_did_key(cls, did: str) -> PublicKey:
        if not isinstance(did, str) or not did.startswith("did:key:"):
            raise MalformedDocumentError("not a did:key")
        return cls.from_multibase(did[len("did:key:"):].split("#", 1)[0])


class Signer(Protocol):
    """Anything that can sign for a verification method (a KeyPair, an HSM adapter...)."""

    @property
    def key_type(self) -> KeyType: ...

    @property
    def public_key(self) -> PublicKey: ...

    def sign(self, data: bytes) -> bytes: ...


class KeyPair:
    """A private key with its public half. The private key never leaves except via save()."""

    __slots__ = ("_private", "key_type", "public_key")

    def __init__(self, key_type: KeyType, private: _PrivateKeyObject) -> None:
        self.key_type = KeyType(key_type)
        self._private = private
        self.public_key = PublicKey(self.key_type, private.public_key())

    @classmethod
    def generate(cls, key_type: KeyType | str = KeyType.ED25519) -> KeyPair:
        key_type = KeyType(key_type)
        if key_type is KeyType.ED25519:
            return cls(key_type, ed25519.Ed25519PrivateKey.generate())
        return cls(key_type, ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_ed25519_seed(cls, seed: bytes) -> KeyPair:
        return cls(KeyType.ED25519, ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_multibase(cls, private_multibase: str) -> KeyPair:
        """Parse a ``privateKeyMultibase`` (ed25519-priv or p256-priv multicodec)."""
        try:
            codec, raw = multicodec.unwrap(multibase.decode(private_multibase))
        except Exception:  # noqa: BLE001 - multiformats raises many types for bad input
            raise KeyFileError("privateKeyMultibase is not a multicodec key") from None
        try:
            if codec.name == "ed25519-priv" and len(raw) == 32:
                return cls.from_ed25519_seed(raw)
            if codec.name == "p256-priv" and len(raw) == 32:
                value = int.from_bytes(raw, "big")
                return cls(KeyType.P256, ec.derive_private_key(value, ec.SECP256R1()))
        except ValueError:
            pass
        raise KeyFileError(f"unsupported or invalid private key ({codec.name})")

    @property
    def did_key(self) -> str:
        return self.public_key.did_key

    @property
    def private_key(self) -> _PrivateKeyObject:
        """The ``cryptography`` private key object (for code that signs with it directly)."""
        return self._private

    def sign(self, data: bytes) -> bytes:
        if self.key_type is KeyType.ED25519:
            return self._private.sign(data)  # type: ignore[call-arg]
        der = self._private.sign(data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
        return der_to_p1363(der)

    def __repr__(self) -> str:
        return f"KeyPair({self.key_type.value}, public={self.public_key.multibase})"

    # -- JWK and files ----------------------------------------------------------------
    def private_jwk(self) -> dict[str, str]:
        """The private JWK. Handle with care: only ``save`` should need it."""
        jwk = self.public_key.to_jwk()
        if self.key_type is KeyType.ED25519:
            raw = self._private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        else:
            raw = self._private.private_numbers().private_value.to_bytes(32, "big")  # type: ignore[union-attr]
        jwk["d"] = _b64u(raw)
        return jwk

    @classmethod
    def from_private_jwk(cls, jwk: dict[str, Any]) -> KeyPair:
        public = PublicKey.from_jwk(jwk)
        try:
            d = _b64u_decode(jwk["d"])
        except (KeyError, MalformedDocumentError):
            raise KeyFileError("key file holds no private key ('d')") from None
        try:
            if public.key_type is KeyType.ED25519:
                pair = cls.from_ed25519_seed(d)
            else:
                pair = cls(KeyType.P256, ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1()))
        except ValueError:
            raise KeyFileError("key file holds an invalid private key") from None
        if pair.public_key != public:
            raise KeyFileError("key file's private and public parts do not match")
        return pair

    def save(self, path: str | os.PathLike[str], *, passphrase: str | None = None) -> None:
        """Write the key pair to ``path`` with mode 0600 (refuses to overwrite)."""
        document: dict[str, Any] = dict(self.private_jwk())
        document["kid"] = self.did_key
        text = json.dumps(document)
        if passphrase is not None:
            text = json.dumps(_seal(text.encode("utf-8"), passphrase))
        target = Path(path)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyFileError(f"{target}: file exists (refusing to overwrite a key)") from None
        except OSError as exc:
            raise KeyFileError(f"{target}: cannot write key file ({exc.strerror})") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, passphrase: str | None = None) -> KeyPair:
        """Read a key file written by :meth:`save`. Raises :class:`KeyFileError`."""
        target = Path(path)
        try:
            text = target.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"{target}: cannot read key file ({exc})") from None
        document = _parse_key_document(text, target)
        if document.get("enc") == _SEALED:
            document = _parse_key_document(_open(document, passphrase, target), target)
        try:
            return cls.from_private_jwk(document)
        except MalformedDocumentError as exc:
            raise KeyFileError(f"{target}: {exc}") from None


_SEALED = "scrypt-aes256gcm"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


def _parse_key_document(text: str, target: Path) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise KeyFileError(f"{target}: not a key file") from None
    if not isinstance(document, dict):
        raise KeyFileError(f"{target}: not a key file")
    return document


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _seal(plaintext: bytes, passphrase: str) -> dict[str, Any]:
    """Encrypt with a scrypt-derived key (memory-hard) and AES-256-GCM."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not passphrase:
        raise ValueError("passphrase must not be empty")
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _derive(passphrase, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    header = {"enc": _SEALED, "n": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P,
              "salt": _b64u(salt), "nonce": _b64u(nonce)}
    aad = json.dumps(header, sort_keys=True).encode()
    header["ciphertext"] = _b64u(AESGCM(key).encrypt(nonce, plaintext, aad))
    return header


def _open(document: dict[str, Any], passphrase: str | None, target: Path) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if passphrase is None:
        raise KeyFileError(f"{target}: key file is encrypted; a passphrase is needed")
    try:
        header = {k: document[k] for k in ("enc", "n", "r", "p", "salt", "nonce")}
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        if not (2**14 <= n <= 2**20 and 1 <= r <= 16 and 1 <= p <= 4):
            raise KeyFileError(f"{target}: key file encryption parameters out of range")
        key = _derive(passphrase, _b64u_decode(header["salt"]), n, r, p)
        aad = json.dumps(header, sort_keys=True).encode()
        plain = AESGCM(key).decrypt(
            _b64u_decode(header["nonce"]), _b64u_decode(document["ciphertext"]), aad
        )
    except KeyFileError:
        raise
    except InvalidTag:
        raise KeyFileError(f"{target}: wrong passphrase or damaged key file") from None
    except (KeyError, TypeError, ValueError, MalformedDocumentError):
        raise KeyFileError(f"{target}: damaged encrypted key file") from None
    return plain.decode("utf-8")


def der_to_p1363(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def p1363_to_der(signature: bytes) -> bytes:
    """Convert ``r || s`` to DER, refusing anything but exactly 64 bytes (RFC 7518 3.4)."""
    if len(signature) != 64:
        raise InvalidSignature("P-256 signature must be exactly 64 bytes (r || s)")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < _P256_ORDER and 0 < s < _P256_ORDER):
        raise InvalidSignature("P-256 signature value out of range")
    return encode_dss_signature(r, s)
