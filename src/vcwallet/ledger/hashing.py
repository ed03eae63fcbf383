"""RFC 9162 Merkle tree hashing and tree shape. Low level, pure functions.

Owns the two domain-separated hashes (leaf = SHA-256(0x00 || data), node = SHA-256(0x01 ||
left || right)), the hash of a whole list of leaves (MTH), and the arithmetic that names the
stored nodes: a *perfect* subtree of 2**level leaves starting at leaf ``index << level`` has the
in-order id ``(index << (level + 1)) + (1 << level) - 1`` (leaf ``i`` is id ``2 * i``). Once a
perfect subtree is full its hash never changes, so stores keep exactly those hashes and every
other subtree hash (the right edge of a tree) is folded from at most log2(n) of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 section 2.1.1: the hash of one leaf's data."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 section 2.1.1: the hash of an interior node from its two children."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def node_id(level: int, index: int) -> int:
    """The in-order id of the perfect subtree of 2**level leaves numbered ``index`` at that level."""
    return (index << (level + 1)) + (1 << level) - 1


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split leaves [start, end) into perfect subtrees, left to right, as (level, index) pairs.

    For the ranges RFC 9162 proofs use (``start`` a multiple of a power of two at least the
    range's size), the sizes follow the binary digits of ``end - start``, so there are at most
    log2(n) + 1 of them.
    """
    out: list[tuple[int, int]] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 hash of a range from its perfect subtrees' hashes (fold from the right)."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, in memory (RFC 9162 section 2.1.1). For tests and audits."""
    frontier: list[bytes] = []
    for i, h in enumerate(hashes):
        frontier.append(h)
        n = i
        while n & 1:
            right = frontier.pop()
            frontier[-1] = node_hash(frontier[-1], right)
            n >>= 1
    return fold_subtrees(frontier)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PATH(index, D[0:size]), nearest the leaf first."""
    out: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def inclusion_node_groups(index: int, size: int) -> list[list[int]]:
    """The node ids PATH(index, D[0:size]) is folded from, one group per path hash, nearest
    the leaf first (the same hashes as ``inclusion_ranges``, worked out level by level).

    Below level ``inner`` (the bit length of ``index ^ (size - 1)``) each hash is the sibling
    of the leaf's ancestor, perfect unless it runs into the tree's right edge; above it, a
    one-bit of the index marks a perfect left sibling."""
    inner = (index ^ (size - 1)).bit_length()
    groups: list[list[int]] = []
    for level in range(inner):
        sibling = (index >> level) ^ 1
        start = sibling << level
        if start + (1 << level) <= size:
            groups.append([(sibling << (level + 1)) + (1 << level) - 1])
        else:
            groups.append([node_id(lv, ix) for lv, ix in perfect_subtrees(start, size)])
    above = index >> inner
    level = inner
    while above:
        if above & 1:
            groups.append([node_id(level, (index >> level) ^ 1)])
        above >>= 1
        level += 1
    return groups


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PROOF(first, D[0:second]) (RFC 9162 2.1.4.1)."""
    out: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                out.append((start, end))
            break
        k = largest_power_of_two_below(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            whole = False
    out.reverse()
    return out
