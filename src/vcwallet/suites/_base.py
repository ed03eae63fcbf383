"""The cryptosuite value object shared by every ``*-rdfc-*`` Data Integrity suite.

Low level. A suite knows its name, key type and hash, how to turn a JSON-LD document into
the bytes that are hashed (RDFC-1.0 canonical N-Quads) and how a signature is written in
``proofValue`` (multibase base58btc). The generic add / verify algorithm is in
:mod:`vcwallet.proofs`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._base58 import b58decode, b58encode
from ..errors import InvalidSignature, MalformedDocumentError
from ..keys import KeyType, PublicKey, Signer

# Ed25519 and P-256 (r || s) signatures are both exactly 64 bytes.
_SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class Cryptosuite:
    """One Data Integrity cryptosuite (an immutable value; compare by name)."""

    name: str
    key_type: KeyType
    hash_name: str
    canonize: Callable[..., str]

    def transform(self, document: dict[str, Any], *, loader: Any, check_json: bool = True) -> str:
        """The canonical form of ``document`` (RDFC-1.0 N-Quads)."""
        return self.canonize(document, loader=loader, check_json=check_json)

    def hash(self, data: str) -> bytes:
        """Hash canonical text (UTF-8) with the suite's hash."""
        return hashlib.new(self.hash_name, data.encode("utf-8")).digest()

    def hash_data(self, canonical_proof_options: str, canonical_document: str) -> bytes:
        """The bytes that are signed: H(proof options) || H(document)."""
        return self.hash(canonical_proof_options) + self.hash(canonical_document)

    def sign(self, signer: Signer, data: bytes) -> str:
        """Sign ``data`` and return the ``proofValue`` (multibase base58btc)."""
        if signer.key_type is not self.key_type:
            raise ValueError(
                f"{self.name} needs a {self.key_type.value} key, not {signer.key_type.value}"
            )
        return "z" + b58encode(signer.sign(data))

    def verify(self, public_key: PublicKey, data: bytes, proof_value: Any) -> None:
        """Return ``None`` if ``proof_value`` signs ``data`` under ``public_key``, else raise.

        Raises :class:`InvalidSignature` (wrong key type, bad signature) or
        :class:`MalformedDocumentError` (``proofValue`` is not base58btc multibase).
        """
        if public_key.key_type is not self.key_type:
            raise InvalidSignature(
                f"{self.name} needs a {self.key_type.value} key, "
                f"the verification method holds {public_key.key_type.value}"
            )
        signature = decode_proof_value(proof_value)
        if len(signature) != _SIGNATURE_BYTES:
            raise InvalidSignature(f"{self.name} signature must be {_SIGNATURE_BYTES} bytes")
        public_key.verify(signature, data)


def decode_proof_value(proof_value: Any) -> bytes:
    """Decode a base58btc multibase ``proofValue`` (it must start with ``z``)."""
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise MalformedDocumentError("proofValue must be a base58btc multibase string ('z...')")
    if len(proof_value) > 256:
        raise MalformedDocumentError("proofValue is too long")
    try:
        return b58decode(proof_value[1:])
    except KeyError:
        raise MalformedDocumentError("proofValue is not valid base58btc") from None
