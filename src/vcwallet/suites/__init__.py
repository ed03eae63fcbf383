"""Data Integrity cryptosuites, one tiny module each (low level).

:func:`get_suite` is the allow-list: a name not listed here is
:class:`~vcwallet.errors.UnsupportedAlgorithm`.
"""

from __future__ import annotations

from ..errors import UnsupportedAlgorithm
from ._base import Cryptosuite, decode_proof_value
from .ecdsa_rdfc_2019 import ECDSA_RDFC_2019
from .eddsa_rdfc_2022 import EDDSA_RDFC_2022

SUITE_NAMES = (EDDSA_RDFC_2022.name, ECDSA_RDFC_2019.name)


def get_suite(name: object) -> Cryptosuite:
    """Return the suite called ``name`` or raise UnsupportedAlgorithm."""
    for suite in (EDDSA_RDFC_2022, ECDSA_RDFC_2019):
        if suite.name == name:
            return suite
    raise UnsupportedAlgorithm(
        f"unsupported cryptosuite {name!r} (supported: {', '.join(SUITE_NAMES)})"
    )


__all__ = [
    "ECDSA_RDFC_2019",
    "EDDSA_RDFC_2022",
    "SUITE_NAMES",
    "Cryptosuite",
    "decode_proof_value",
    "get_suite",
]
