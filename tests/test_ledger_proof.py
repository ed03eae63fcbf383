"""RFC 9162 hashing and the pure proof verifiers, driven by the transparency-dev probe files."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from vcwallet.errors import LogProofError, RootMismatch
from vcwallet.ledger import (
    ConsistencyProof,
    InclusionProof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from vcwallet.ledger.hashing import consistency_ranges, inclusion_ranges, perfect_subtrees
from vcwallet.ledger.proof import consistency_proof_length, inclusion_proof_length

# The reference tree of transparency-dev/merkle testonly/constants.go (values only).
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
PROBE_ROOT = Path(__file__).resolve().parent.parent.parent / "shared/vectors/merkle"


def _probe_files(kind: str) -> list[Path]:
    return sorted((PROBE_ROOT / kind).rglob("*.json")) if PROBE_ROOT.is_dir() else []


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _probe_id(path: Path) -> str:
    return str(path.relative_to(PROBE_ROOT))


def test_all_196_probes_are_present(vectors: Path) -> None:
    assert len(_probe_files("inclusion")) == 98
    assert len(_probe_files("consistency")) == 98


@pytest.mark.parametrize("path", _probe_files("inclusion"), ids=_probe_id)
def test_inclusion_probe(path: Path, vectors: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]),
            [_b64(p) for p in v["proof"] or []], _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(LogProofError):
            verify_inclusion(*args)
    else:
        assert verify_inclusion(*args) is None


@pytest.mark.parametrize("path", _probe_files("consistency"), ids=_probe_id)
def test_consistency_probe(path: Path, vectors: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], [_b64(p) for p in v["proof"] or []],
            _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(LogProofError):
            verify_consistency(*args)
    else:
        assert verify_consistency(*args) is None


def test_hash_prefixes_follow_rfc9162() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    a, b = b"a" * 32, b"b" * 32
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root_from_leaf_hashes([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_reference_roots(size: int) -> None:
    assert root_from_leaf_hashes([leaf_hash(d) for d in LEAVES[:size]]).hex() == ROOTS[size]


def _mth(hashes: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition, to check the iterative code against."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


HASHES = [leaf_hash(i.to_bytes(4, "big")) for i in range(70)]


def _range_hash(start: int, end: int) -> bytes:
    return _mth(HASHES[start:end])


@pytest.mark.parametrize("size", range(1, 70))
def test_generated_proofs_verify_and_have_exact_length(size: int) -> None:
    root = _mth(HASHES[:size])
    assert root_from_leaf_hashes(HASHES[:size]) == root
    for index in range(size):
        path = [_range_hash(s, e) for s, e in inclusion_ranges(index, size)]
        assert len(path) == inclusion_proof_length(index, size) <= (size - 1).bit_length()
        verify_inclusion(index, size, HASHES[index], path, root)
    for first in range(1, size):
        path = [_range_hash(s, e) for s, e in consistency_ranges(first, size)]
        assert len(path) == consistency_proof_length(first, size)
        verify_consistency(first, size, path, _mth(HASHES[:first]), root)


def test_perfect_subtrees_follow_binary_digits() -> None:
    assert perfect_subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert perfect_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert perfect_subtrees(5, 5) == []


def test_wrong_root_reports_both_roots() -> None:
    path = [_range_hash(s, e) for s, e in inclusion_ranges(3, 10)]
    with pytest.raises(RootMismatch) as info:
        verify_inclusion(3, 10, HASHES[3], path, b"\x07" * 32)
    assert info.value.expected_root == b"\x07" * 32
    assert info.value.calculated_root == _mth(HASHES[:10])


@pytest.mark.parametrize(
    "args",
    [
        (10, 10, HASHES[0], [], b"r" * 32),  # index past the size
        (-1, 10, HASHES[0], [], b"r" * 32),  # negative index
        (0, 1, HASHES[0][:31], [], HASHES[0]),  # short leaf hash
        (0, 1, HASHES[0], [], HASHES[0] + b"x"),  # long root
        (0, 2, HASHES[0], [HASHES[1][:16]], b"r" * 32),  # short path element
        (0, 2, HASHES[0], [HASHES[1], HASHES[1]], b"r" * 32),  # too long
        (0, 2, HASHES[0], [], b"r" * 32),  # too short
    ],
)
def test_malformed_inclusion_input_is_a_typed_error(args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(LogProofError):
        verify_inclusion(*args)


def test_wrong_types_are_programmer_errors() -> None:
    with pytest.raises(TypeError):
        verify_inclusion("0", 1, HASHES[0], [], HASHES[0])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_inclusion(0, 1, HASHES[0].hex(), [], HASHES[0])  # type: ignore[arg-type]


def test_json_form_round_trips_and_rejects_garbage() -> None:
    proof = InclusionProof(3, 10, HASHES[3], tuple(_range_hash(s, e) for s, e in inclusion_ranges(3, 10)))
    assert InclusionProof.from_json(json.loads(json.dumps(proof.to_json()))) == proof
    assert set(proof.to_json()) == {"leaf_index", "tree_size", "leaf_hash", "inclusion_path"}
    proof.verify(_mth(HASHES[:10]))
    cons = ConsistencyProof(4, 10, tuple(_range_hash(s, e) for s, e in consistency_ranges(4, 10)))
    assert ConsistencyProof.from_json(cons.to_json()) == cons
    cons.verify(_mth(HASHES[:4]), _mth(HASHES[:10]))
    for bad in (
        [],
        {**proof.to_json(), "leaf_hash": "zz"},
        {**proof.to_json(), "leaf_hash": "00" * 31},
        {**proof.to_json(), "leaf_index": -1},
        {**proof.to_json(), "tree_size": True},
        {**proof.to_json(), "inclusion_path": "00"},
    ):
        with pytest.raises(LogProofError):
            InclusionProof.from_json(bad)
    with pytest.raises(LogProofError):
        ConsistencyProof.from_json({"first": 1, "second": 2, "consistency_path": [1]})
