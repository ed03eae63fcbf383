"""The append-only ledger: an RFC 9162 Merkle transparency log. Low level.

``hashing`` (leaf/node hashes, tree shape), ``proof`` (pure verify functions and the JSON form
of proofs), ``checkpoint`` (C2SP signed-note checkpoints), ``log`` (``TransparencyLog``: append,
proofs from stored subtree hashes, checkpoints, audit), ``store`` (the storage interface and
``open_store``), ``store_sqlite`` and ``store_postgres`` (the two backends). This package
imports nothing from vcwallet but ``vcwallet.errors``.
"""

from __future__ import annotations

from .checkpoint import (
    Checkpoint,
    key_id,
    open_checkpoint,
    parse_checkpoint_unverified,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)
from .hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, root_from_leaf_hashes
from .log import (
    AuditReport,
    SignedCheckpoint,
    TransparencyLog,
    verify_checkpoint_extends,
    verify_proof_against_checkpoint,
)
from .proof import (
    ConsistencyProof,
    InclusionProof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from .store import LedgerStore, open_store

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AuditReport",
    "Checkpoint",
    "ConsistencyProof",
    "InclusionProof",
    "LedgerStore",
    "SignedCheckpoint",
    "TransparencyLog",
    "key_id",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_store",
    "parse_checkpoint_unverified",
    "parse_verifier_key",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "verifier_key",
    "verify_checkpoint",
    "verify_checkpoint_extends",
    "verify_consistency",
    "verify_inclusion",
    "verify_proof_against_checkpoint",
]
