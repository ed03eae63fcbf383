"""The holder's wallet (recipe level): an encrypted SQLite file of verified credentials.

``Wallet`` stores credentials of every format with their ledger receipts, verifying each
before it is stored, and answers list / search / candidate queries from an in-memory
index decrypted at open. ``_crypto`` (key derivation and sealing) is the low-level part.
"""

from ._crypto import KdfParams, argon2_available
from ._index import CredentialEntry, StoredCredential
from ._store import FILE_FORMAT, VerificationOutcome, Wallet, verify_for_storage

__all__ = [
    "FILE_FORMAT",
    "CredentialEntry",
    "KdfParams",
    "StoredCredential",
    "VerificationOutcome",
    "Wallet",
    "argon2_available",
    "verify_for_storage",
]
