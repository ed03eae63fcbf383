"""Anchoring credentials in the ledger: what a credential's leaf is, receipts, verify_receipt.

A leaf is the canonical CBOR (RFC 8949 core deterministic encoding, via cbor2
``canonical=True``) of a map with five text keys::

    {"kind": "issued" | "revoked" | "suspended" | "key-rotated",
     "id": <credential id, or null when the credential has none>,
     "issuer": <issuer id, normally a DID>,
     "format": "di" | "jwt" | "sd-jwt" | "cose",
     "digest": <32 bytes: SHA-256 of what the issuer's signature covers>}

What the signature covers, per format: Data Integrity: the RDFC-1.0 canonical N-Quads of
the credential without its ``proof`` (every JSON spelling of one credential gives the same
bytes); vc+jwt: the JWS signing input ``header.payload``; SD-JWT: the issuer-signed JWT's
signing input (the same for every presentation, whatever it discloses); vc+cose: the
COSE ``Sig_structure``. Never the signature bytes (an ECDSA signature can be re-encoded) and
never personal data: names, grades and VINs stay in the credential; only a digest leaves.

A receipt travels beside the credential: log origin, kind, leaf index, tree size, leaf hash,
inclusion path and the signed checkpoint note the path leads to. ``verify_receipt`` checks it
offline against the log's public key; it does not check the credential's own signature
(that is the verifier recipe's job).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import _json, cose, documents, jose, sdjwt
from .errors import LogProofError, MalformedDocumentError
from .ledger import (
    InclusionProof,
    TransparencyLog,
    leaf_hash,
    open_checkpoint,
)

KINDS = ("issued", "revoked", "suspended", "key-rotated")
FORMATS = ("di", "jwt", "sd-jwt", "cose")


@dataclass(frozen=True)
class Secured:
    """A secured credential as anchoring sees it: its format and its wire form."""

    format: str
    data: dict[str, Any] | str | bytes


def load_secured(raw: bytes | str | dict[str, Any] | Any) -> Secured:
    """Read a secured credential: a file's bytes, a token, a JSON object, or any object with
    ``format`` and ``data`` attributes (such as ``credentials.SecuredCredential``)."""
    fmt, data = getattr(raw, "format", None), getattr(raw, "data", None)
    if isinstance(fmt, str) and data is not None:
        return Secured(fmt, data) if fmt in FORMATS else load_secured(data)
    if isinstance(raw, dict):
        if "proof" not in raw:
            raise MalformedDocumentError("a JSON credential without a proof cannot be anchored")
        return Secured("di", raw)
    if isinstance(raw, bytes):
        if raw[:1] == b"\xd2" or raw[:2] == b"\xd8\x12":  # CBOR tag 18: COSE_Sign1
            return Secured("cose", raw)
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedDocumentError("credential is neither JSON, a JWT nor COSE") from None
    if not isinstance(raw, str):
        raise TypeError("a secured credential must be bytes, text, a dict or SecuredCredential")
    text = raw.strip().lstrip("\ufeff")
    if text.startswith("{"):
        return load_secured(_json.loads(text))
    if "~" in text:
        return Secured("sd-jwt", text)
    if text.count(".") == 2:
        return Secured("jwt", text)
    try:
        blob = base64.b64decode(text, validate=True)
    except ValueError:
        blob = b""
    if blob[:1] == b"\xd2" or blob[:2] == b"\xd8\x12":
        return Secured("cose", blob)
    raise MalformedDocumentError("credential is neither JSON, a JWT, an SD-JWT nor COSE")


def _signed_bytes_and_claims(secured: Secured) -> tuple[bytes, Mapping[str, Any]]:
    """(what the issuer's signature covers, the credential's claims), NOT verified."""
    data = secured.data
    if secured.format == "di":
        if not isinstance(data, dict):
            raise MalformedDocumentError("a Data Integrity credential must be a JSON object")
        unsecured = {k: v for k, v in data.items() if k != "proof"}
        return documents.canonize(unsecured).encode("utf-8"), data
    if secured.format in ("jwt", "sd-jwt"):
        token = data.decode("ascii", "replace") if isinstance(data, bytes) else str(data)
        token = token.strip()
        if secured.format == "jwt":
            return jose.signing_input(token), jose.unverified_payload(token)
        issuer_jwt = sdjwt.issuer_jwt(token)
        return sdjwt.sd_jwt_signing_input(token), jose.unverified_payload(issuer_jwt)
    if secured.format == "cose":
        if not isinstance(data, bytes):
            raise MalformedDocumentError("a vc+cose credential must be bytes")
        to_be_signed = cose.sig_structure(data)
        payload = cbor2.loads(to_be_signed)[3]
        return to_be_signed, _json.loads(payload.decode("utf-8"))
    raise MalformedDocumentError(f"unknown credential format {secured.format!r}")


def _text_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def leaf_record(credential: Any, *, kind: str = "issued") -> bytes:
    """The canonical CBOR leaf data for ``credential`` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    secured = load_secured(credential)
    signed, claims = _signed_bytes_and_claims(secured)
    return leaf_record_of(secured.format, claims, hashlib.sha256(signed).digest(), kind=kind)


def leaf_record_of(format: str, claims: Mapping[str, Any], signed_digest: bytes, *,
                   kind: str = "issued") -> bytes:
    """The leaf data of a credential in ``format`` whose claims are ``claims`` and whose
    signature covers bytes with SHA-256 ``signed_digest`` (a verifier that has just checked
    the signature knows it, and need not canonicalize the credential again)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if format not in FORMATS or len(signed_digest) != hashlib.sha256().digest_size:
        raise ValueError("an unknown format or a digest that is not SHA-256")
    issuer = _text_id(claims.get("issuer")) or _text_id(claims.get("iss"))
    if issuer is None:
        raise MalformedDocumentError("credential names no issuer")
    record = {
        "kind": kind,
        "id": _text_id(claims.get("id")) or _text_id(claims.get("jti")),
        "issuer": issuer,
        "format": format,
        "digest": signed_digest,
    }
    return bytes(cbor2.dumps(record, canonical=True))


def credential_leaf_hash(credential: Any, *, kind: str = "issued") -> bytes:
    """The RFC 9162 leaf hash of ``credential``'s leaf record."""
    return leaf_hash(leaf_record(credential, kind=kind))


@dataclass(frozen=True)
class Receipt:
    """Proof that a credential's leaf is in the log, checkable offline with the log's key."""

    origin: str
    kind: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    inclusion_path: tuple[bytes, ...]
    checkpoint: str

    @property
    def proof(self) -> InclusionProof:
        return InclusionProof(self.leaf_index, self.tree_size, self.leaf_hash, self.inclusion_path)

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "kind": self.kind,
            **self.proof.to_json(),
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Receipt:
        """Parse a receipt; a malformed one raises ``MalformedDocumentError``."""
        if not isinstance(obj, Mapping):
            raise MalformedDocumentError("a receipt must be a JSON object")
        origin, kind, note = obj.get("origin"), obj.get("kind"), obj.get("checkpoint")
        if not isinstance(origin, str) or not isinstance(note, str) or kind not in KINDS:
            raise MalformedDocumentError("receipt needs origin, kind and checkpoint text")
        try:
            proof = InclusionProof.from_json(obj)
        except LogProofError as exc:
            raise MalformedDocumentError(f"receipt: {exc}") from None
        return cls(origin, str(kind), proof.leaf_index, proof.tree_size, proof.leaf_hash,
                   proof.inclusion_path, note)


def receipt_for(
    log: TransparencyLog,
    leaf_index: int,
    *,
    kind: str = "issued",
    tree_size: int | None = None,
    signing_key: Ed25519PrivateKey | None = None,
) -> Receipt:
    """A fresh receipt for leaf ``leaf_index``: against the stored checkpoint at ``tree_size``
    (default: the latest one covering the leaf), signing a new one when ``signing_key`` is
    given and no stored checkpoint fits."""
    signed = log.checkpoint_at(tree_size) if tree_size is not None else log.latest_checkpoint()
    if signed is None or signed.checkpoint.tree_size <= leaf_index:
        if signing_key is None:
            raise LogProofError(f"no signed checkpoint covers leaf {leaf_index}")
        signed = log.sign_checkpoint(signing_key, tree_size=tree_size)
    proof = log.inclusion_proof(leaf_index, signed.checkpoint.tree_size)
    return Receipt(log.origin, kind, proof.leaf_index, proof.tree_size, proof.leaf_hash,
                   proof.inclusion_path, signed.note)


def anchor_credentials(
    log: TransparencyLog,
    credentials: Sequence[Any],
    *,
    signing_key: Ed25519PrivateKey,
    kind: str = "issued",
) -> list[Receipt]:
    """Append one leaf per credential in ONE durable transaction, sign a checkpoint at the
    end of the batch, and return each credential's receipt (in order)."""
    records = [leaf_record(c, kind=kind) for c in credentials]
    if not records:
        return []
    indexes = log.append_batch(records)
    signed = log.sign_checkpoint(signing_key, tree_size=indexes.stop)
    return [
        Receipt(log.origin, kind, p.leaf_index, p.tree_size, p.leaf_hash, p.inclusion_path,
                signed.note)
        for p in log.inclusion_proofs(indexes, indexes.stop)
    ]


def verify_receipt(
    credential: Any,
    receipt: Receipt,
    log_public_key: Ed25519PublicKey,
    *,
    now: datetime | None = None,
) -> None:
    """Check that ``receipt`` proves ``credential``'s leaf is in the log signed by
    ``log_public_key``; ``None`` or a ``LogProofError`` (``InvalidCheckpoint``, ``RootMismatch``).

    ``now`` is accepted like every verifier's clock, but a C2SP checkpoint carries no time,
    so nothing here depends on it: freshness comes from asking the log for a new proof.
    """
    del now
    expected = credential_leaf_hash(credential, kind=receipt.kind)
    if expected != receipt.leaf_hash:
        raise LogProofError("the receipt is for a different credential (leaf hash differs)")
    checkpoint = open_checkpoint(receipt.checkpoint, log_public_key, origin=receipt.origin)
    if checkpoint.tree_size != receipt.tree_size:
        raise LogProofError(
            f"receipt is for tree size {receipt.tree_size}, its checkpoint for "
            f"{checkpoint.tree_size}"
        )
    receipt.proof.verify(checkpoint.root_hash)
