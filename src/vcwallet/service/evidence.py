"""``POST /ledger/evidence``, a verifier's hot round trip: the answer built from memoised parts.

A verifier asks each issuer, per presentation, for the latest checkpoint, an inclusion proof
of each of its leaves against it and a consistency proof from a size it saw before. The same
leaves and sizes come back again and again, and in an append-only log their answers never
change:

* the index of the first leaf with a given hash is fixed once that leaf exists (a later
  leaf with the same hash comes after it), so found indexes are kept; a hash not (yet)
  found is looked up again every time;
* an inclusion proof is a function of (leaf index, tree size), a consistency proof of
  (first size, second size): kept by those keys, as the JSON text they are sent as.

Every request still takes the checkpoint the issuer holds now, and a grown log is a new
size, so a new key: nothing served is stale. The answer is byte-for-byte the JSON that
``JSONResponse`` made of the same values (the JSON of an object is its members' JSON
joined, which is how it is assembled here).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..errors import LedgerError
from ..issuer import Issuer
from .errors import ApiError

MAX_EVIDENCE_BATCH = 256
_HEX_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
LEAF_MEMO = 1 << 16  # leaf hash -> index (about 10 MiB when full)
PROOF_MEMO = 1 << 12  # (index, size) -> inclusion proof JSON, (first, second) -> consistency: ~6 MiB


def leaf_hash_param(value: str) -> bytes:
    """A leaf hash as a request states it: 64 hexadecimal digits (400 otherwise)."""
    if not _HEX_HASH.fullmatch(value):
        raise ApiError(400, "leaf_hash must be 64 hexadecimal digits")
    return bytes.fromhex(value)


def evidence_request(body: dict[str, Any]) -> tuple[list[bytes], int]:
    """(leaf hashes, since) of a ``{"leafHashes": [...], "since": n}`` body; 400 when it
    is not one."""
    hashes, since = body.get("leafHashes"), body.get("since", 0)
    if not isinstance(hashes, list) or not 0 < len(hashes) <= MAX_EVIDENCE_BATCH \
            or not all(isinstance(h, str) for h in hashes):
        raise ApiError(400, f"leafHashes must list 1 to {MAX_EVIDENCE_BATCH} leaf hashes")
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise ApiError(400, "since must be a tree size (an integer >= 0)")
    return [leaf_hash_param(h) for h in hashes], since


def _json_text(value: Any) -> str:
    # exactly JSONResponse's settings, so the pieces join into the bytes it would send
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":"))


class EvidenceAnswers:
    """The ``POST /ledger/evidence`` answers of one issuer, as UTF-8 JSON bytes.

    Thread-safe: the memos are ``functools.lru_cache`` (which never keeps a call that
    raised, so a leaf not found is not remembered as missing)."""

    def __init__(self, issuer: Issuer) -> None:
        self._issuer = issuer
        self._index = functools.lru_cache(maxsize=LEAF_MEMO)(self._find)
        self._inclusion = functools.lru_cache(maxsize=PROOF_MEMO)(self._inclusion_json)
        self._consistency = functools.lru_cache(maxsize=PROOF_MEMO)(self._consistency_json)
        self._note: tuple[str, str] = ("", _json_text(""))  # (note, its JSON text)

    def answer(self, wanted: list[bytes], since: int) -> bytes:
        """``{"checkpoint", "consistency", "inclusions"}`` for ``wanted`` against the latest
        checkpoint: an inclusion proof per leaf (``null`` for one it does not cover) and a
        consistency proof from ``since`` (``null`` for 0); 409 when ``since`` is past it."""
        latest = self._issuer.latest_checkpoint()
        note, size = latest.note, latest.checkpoint.tree_size
        if since > size:
            raise ApiError(409, f"the log has {size} leaves, fewer than the {since} you saw",
                           kind="InconsistentLog")
        inclusions = []
        for leaf in wanted:
            index = self._index_of(leaf)
            inclusions.append("null" if index is None or index >= size
                              else self._inclusion(index, size))
        consistency = self._consistency(since, size) if since else "null"
        return (f'{{"checkpoint":{self._note_json(note)},"consistency":{consistency},'
                f'"inclusions":[{",".join(inclusions)}]}}').encode()

    def _index_of(self, leaf: bytes) -> int | None:
        try:
            return self._index(leaf)
        except LedgerError:
            return None

    def _find(self, leaf: bytes) -> int:
        return self._issuer.log.find_leaf(leaf)

    def _inclusion_json(self, index: int, size: int) -> str:
        return _json_text(self._issuer.log.inclusion_proof(index, size).to_json())

    def _consistency_json(self, first: int, second: int) -> str:
        return _json_text(self._issuer.log.consistency_proof(first, second).to_json())

    def _note_json(self, note: str) -> str:
        known = self._note
        if known[0] != note:  # a new checkpoint: encode it once
            known = self._note = (note, _json_text(note))
        return known[1]
