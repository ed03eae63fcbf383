"""The ``ecdsa-rdfc-2019`` cryptosuite, P-256 only: ECDSA/SHA-256 over RDFC-1.0 (low level).

The spec also allows P-384 with SHA-384; vcwallet's keys are Ed25519 and P-256 only, so a
P-384 proof is refused as :class:`~vcwallet.errors.InvalidSignature` (key type mismatch).
"""

from __future__ import annotations

from .. import documents
from ..keys import KeyType
from ._base import Cryptosuite

ECDSA_RDFC_2019 = Cryptosuite(
    name="ecdsa-rdfc-2019",
    key_type=KeyType.P256,
    hash_name="sha256",
    canonize=documents.canonize,
)
