"""The ``eddsa-rdfc-2022`` cryptosuite: Ed25519 over SHA-256 of RDFC-1.0 N-Quads (low level)."""

from __future__ import annotations

from .. import documents
from ..keys import KeyType
from ._base import Cryptosuite

EDDSA_RDFC_2022 = Cryptosuite(
    name="eddsa-rdfc-2022",
    key_type=KeyType.ED25519,
    hash_name="sha256",
    canonize=documents.canonize,
)
