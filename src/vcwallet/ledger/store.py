"""The storage interface every ledger backend implements, and ``open_store``. Low level.

A store keeps three things: the log's identity (origin, public key), one row per leaf, and
the checkpoints the log has signed. A leaf row holds the index, the leaf data and the hashes
of the perfect subtrees that leaf completes (the subtrees whose last leaf it is: levels 1..k
for an index ending in k one-bits, concatenated in level order, 32 bytes each). So every
stored interior node lives in exactly one row, found by primary key, and an append writes one
row per leaf. Stores never update or delete a row. The tree logic lives in ``log.py``; a store
only has to run an append plan atomically and durably, with appenders serialised so the log
has one history.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

RowReader = Callable[[Collection[int]], dict[int, tuple[bytes, bytes]]]


@dataclass(frozen=True)
class AppendPlan:
    """What one append writes: leaf rows from index ``start`` on, one per entry of ``datas``.

    The columns are kept apart and zipped while the store writes them, so a batch never
    holds a tuple per row (tens of thousands of tuples per batch kept the cyclic garbage
    collector busy)."""

    start: int
    datas: Sequence[bytes]
    completed: Sequence[bytes]  # per row: the hashes of the perfect subtrees it completes
    leaf_hashes: Sequence[bytes]  # per row, for the hash index

    @property
    def stop(self) -> int:
        return self.start + len(self.datas)

    def iter_rows(self) -> Iterator[tuple[int, bytes, bytes]]:
        """(index, data, completed subtree hashes) per row, made one at a time."""
        return zip(range(self.start, self.stop), self.datas, self.completed)

    @property
    def rows(self) -> list[tuple[int, bytes, bytes]]:
        return list(self.iter_rows())


def node_location(nid: int) -> tuple[int, int]:
    """(leaf index, level) of the row holding node ``nid``: level 0 is the leaf's own hash,
    level k >= 1 sits at bytes [32 * (k - 1), 32 * k) of that row's completed hashes."""
    level = ((nid + 1) & -(nid + 1)).bit_length() - 1
    index = (nid + 1) >> (level + 1)
    return ((index + 1) << level) - 1, level


# Given the size seen under the store's write lock and a reader for stored rows, build the plan.
Planner = Callable[[int, RowReader], AppendPlan]


class LedgerStore(Protocol):
    """A place to keep one log. Every method raises ``LedgerError`` when the backend fails."""

    def read_meta(self) -> dict[str, bytes]:
        """The log's metadata; empty when the store holds no log yet."""
        ...

    def write_meta(self, meta: Mapping[str, bytes]) -> None:
        """Record a new log's metadata; ``LedgerError`` if the store already holds one."""
        ...

    def tree_size(self) -> int:
        """How many leaves are stored."""
        ...

    def rows(self, indexes: Collection[int]) -> dict[int, tuple[bytes, bytes]]:
        """(data, completed hashes) of the given leaf rows; missing rows are left out."""
        ...

    def leaf_candidates(self, leaf_hash: bytes) -> list[int]:
        """Indexes that may hold ``leaf_hash`` (from a hash-prefix index; callers re-check).

        The index is a cache, not part of the tree: a store may build it lazily."""
        ...

    def append(self, planner: Planner) -> AppendPlan:
        """Under an exclusive write lock, call ``planner`` and durably commit what it returns."""
        ...

    def scan_leaves(self, stop: int) -> Iterator[tuple[int, bytes, bytes]]:
        """(index, data, completed hashes) of every stored leaf below ``stop``, in order."""
        ...

    def count_leaves(self, stop: int) -> int:
        """How many leaf rows exist below ``stop`` (an audit compares it with the consecutive
        ones; appends that commit while an audit runs lie above its ``stop``)."""
        ...

    def add_checkpoint(self, tree_size: int, root_hash: bytes, note: str) -> None:
        """Keep a signed checkpoint (one per tree size; signing the same size again is a no-op)."""
        ...

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        """Every stored (tree size, root hash, note), smallest size first."""
        ...

    def close(self) -> None: ...


def open_store(location: str, *, create: bool = False) -> LedgerStore:
    """A SQLite file path, or a ``postgresql://`` URL (``?schema=NAME`` picks the schema)."""
    if location.startswith(("postgresql://", "postgres://")):
        from .store_postgres import PostgresStore

        return PostgresStore(location, create=create)
    from .store_sqlite import SqliteStore

    return SqliteStore(location, create=create)
