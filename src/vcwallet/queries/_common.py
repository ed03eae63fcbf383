"""What both request languages share: candidates, results, format names, claim paths, the index.

Low level. A *claim path* is a tuple of object keys (``str``) and array indices (``int``) from
the root of a credential's claims, e.g. ``("credentialSubject", "courses", 2, "grade")``.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

ClaimPath = tuple[str | int, ...]
_FORMAT: ClaimPath = ("\x00format",)  # the index's key for a candidate's format

# Our own format names, one per way vcwallet secures a credential.
DI = "di"
VC_JWT = "vc+jwt"
VC_COSE = "vc+cose"
SD_JWT = "dc+sd-jwt"
FORMATS = (DI, VC_JWT, VC_COSE, SD_JWT)

# Spellings a wallet or a request may use for our formats; lower-cased before lookup.
_ALIASES: dict[str, str] = {
    "di": DI,
    "ldp_vc": DI,
    "ldp": DI,
    "di_vc": DI,
    "data-integrity": DI,
    "vc+jwt": VC_JWT,
    "application/vc+jwt": VC_JWT,
    "jwt_vc_json": VC_JWT,
    "jwt_vc": VC_JWT,
    "jwt": VC_JWT,
    "vc+cose": VC_COSE,
    "application/vc+cose": VC_COSE,
    "cose": VC_COSE,
    "dc+sd-jwt": SD_JWT,
    "vc+sd-jwt": SD_JWT,
    "sd-jwt": SD_JWT,
    "application/dc+sd-jwt": SD_JWT,
    "application/vc+sd-jwt": SD_JWT,
}

# Presentation Exchange format designations (DIF claim format registry + VC-JOSE-COSE media types).
PE_FORMATS: dict[str, str] = {
    "ldp_vc": DI,
    "ldp": DI,
    "di_vc": DI,
    "jwt_vc_json": VC_JWT,
    "jwt_vc": VC_JWT,
    "jwt": VC_JWT,
    "vc+jwt": VC_JWT,
    "application/vc+jwt": VC_JWT,
    "vc+cose": VC_COSE,
    "application/vc+cose": VC_COSE,
    "dc+sd-jwt": SD_JWT,
    "vc+sd-jwt": SD_JWT,
    "application/dc+sd-jwt": SD_JWT,
    "application/vc+sd-jwt": SD_JWT,
}
# The designation we write into a presentation_submission when the request named none.
PE_DEFAULT_ID: dict[str, str] = {
    DI: "ldp_vc",
    VC_JWT: "jwt_vc_json",
    VC_COSE: "vc+cose",
    SD_JWT: "dc+sd-jwt",
}

# OpenID4VP 1.0 Appendix B credential format identifiers (vc+sd-jwt: earlier drafts).
DCQL_FORMATS: dict[str, str] = {
    "dc+sd-jwt": SD_JWT,
    "vc+sd-jwt": SD_JWT,
    "jwt_vc_json": VC_JWT,
    "ldp_vc": DI,
}

SELECTIVELY_DISCLOSABLE = frozenset({SD_JWT})


def normalize_format(name: str) -> str:
    """Map any accepted spelling (``"ldp_vc"``, ``"sd-jwt"``...) to our format name."""
    try:
        return _ALIASES[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown credential format {name!r}; use one of {FORMATS}") from None


@dataclass(frozen=True)
class Candidate:
    """A held credential as a verifier would see it, for matching against a request.

    ``claims`` is the credential JSON: for vc+jwt / vc+cose the decoded credential, for SD-JWT
    the full claim set with every disclosable claim disclosed. ``alg`` is the JWS ``alg`` or the
    Data Integrity cryptosuite, checked only when a request restricts algorithms.
    """

    key: str
    format: str
    claims: Mapping[str, Any]
    alg: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", normalize_format(self.format))
        if not isinstance(self.claims, Mapping):
            raise TypeError("Candidate.claims must be a JSON object (dict)")


@dataclass(frozen=True)
class Match:
    """One requirement answered: which credential, and which of its claims the request needs.

    ``disclose`` lists concrete claim paths. For a selectively disclosable format (SD-JWT) the
    wallet reveals exactly these (plus what is always visible); other formats go whole.
    ``format_id`` is the request's own name for the format (for the submission / response);
    ``candidate`` is the chosen credential itself.
    """

    query_id: str
    key: str
    format: str
    format_id: str
    disclose: tuple[ClaimPath, ...]
    candidate: Candidate = field(compare=False, repr=False)


@dataclass(frozen=True)
class Selection:
    """The wallet's answer to a request.

    ``keys`` are the distinct credentials in the order the presentation must embed them
    (``verifiableCredential[i]`` in the ``presentation_submission``).
    """

    kind: str  # "presentation_exchange" or "dcql"
    matches: tuple[Match, ...]
    keys: tuple[str, ...]
    presentation_submission: dict[str, Any] | None = None

    def __getitem__(self, query_id: str) -> Match:
        for match in self.matches:
            if match.query_id == query_id:
                return match
        raise KeyError(query_id)

    @property
    def by_id(self) -> dict[str, Match]:
        return {m.query_id: m for m in self.matches}

    def submission(
        self, *, root: str = "$.verifiableCredential", vp_format: str | None = None
    ) -> dict[str, Any]:
        """The ``presentation_submission`` for another layout of the presentation.

        ``root="$"`` when the one credential *is* the response (an SD-JWT as vp_token);
        ``vp_format`` (``"ldp_vp"``, ``"jwt_vp_json"``...) wraps each entry in a ``path_nested``
        under a ``$`` entry for the presentation itself. Only for Presentation Exchange.
        """
        if self.presentation_submission is None:
            raise ValueError("only a Presentation Exchange selection has a submission")
        return build_submission(
            self.presentation_submission["definition_id"],
            self.matches,
            self.keys,
            root=root,
            vp_format=vp_format,
        )

    def disclose_for(self, key: str) -> tuple[ClaimPath, ...]:
        """Every claim path any requirement needs from credential ``key`` (deduplicated)."""
        seen: dict[ClaimPath, None] = {}
        for match in self.matches:
            if match.key == key:
                seen.update(dict.fromkeys(match.disclose))
        return tuple(seen)


@dataclass(frozen=True)
class Hint:
    """What a credential must look like to have a chance (a superset test, for the wallet's index).

    ``formats``: our format names allowed (``None``: any). ``equals``: pairs of (claim path, values);
    a candidate qualifies only if, for each pair, the value at the path is one of the values or an
    array containing one. ``types`` / ``vcts`` read the common cases out for a SQL index.
    """

    formats: frozenset[str] | None = None
    equals: tuple[tuple[ClaimPath, frozenset[str]], ...] = ()

    def values_at(self, path: ClaimPath) -> frozenset[str] | None:
        for hinted, values in self.equals:
            if hinted == path:
                return values
        return None

    @property
    def types(self) -> frozenset[str] | None:
        return self.values_at(("type",))

    @property
    def vcts(self) -> frozenset[str] | None:
        return self.values_at(("vct",))


@runtime_checkable
class CandidateSource(Protocol):
    """A wallet's index: returns at least every held candidate that satisfies ``hint``."""

    def candidates(self, hint: Hint) -> Iterable[Candidate]: ...


def value_at(claims: Any, path: ClaimPath) -> tuple[bool, Any]:
    """Follow a concrete claim path; ``(False, None)`` when it leads nowhere."""
    node = claims
    for step in path:
        if isinstance(step, str):
            if not (type(node) is dict or isinstance(node, Mapping)) or step not in node:
                return False, None
            node = node[step]
        else:
            if type(node) is not list or not -len(node) <= step < len(node):
                return False, None
            node = node[step]
    return True, node


def _scalars(value: Any) -> Iterator[str]:
    """The strings a hint compares: the value, or the elements / member values it holds."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, str):
                yield item


def hint_admits(hint: Hint, candidate: Candidate) -> bool:
    """The superset test a :class:`CandidateSource` must not be stricter than."""
    if hint.formats is not None and candidate.format not in hint.formats:
        return False
    for path, values in hint.equals:
        found, value = value_at(candidate.claims, path)
        if not found or values.isdisjoint(_scalars(value)):
            return False
    return True


@dataclass
class CandidateIndex:
    """An in-memory :class:`CandidateSource` a wallet can keep between requests.

    Per hinted claim path it builds (on first use, then keeps) a map from value to candidates,
    so answering a request touches only the credentials that can match. ``add`` keeps the maps
    current; ``discard`` drops them (they are rebuilt on the next request).
    """

    _items: list[Candidate] = field(default_factory=list, repr=False)
    _maps: dict[ClaimPath, dict[str, list[int]]] = field(default_factory=dict, repr=False)
    _sets: dict[tuple[ClaimPath, str], set[int]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"CandidateIndex({len(self._items)} candidates, {len(self._maps)} indexed paths)"

    @classmethod
    def of(cls, candidates: Iterable[Candidate]) -> CandidateIndex:
        index = cls()
        for candidate in candidates:
            index.add(candidate)
        return index

    def __len__(self) -> int:
        return len(self._items)

    def add(self, candidate: Candidate) -> None:
        position = len(self._items)
        self._items.append(candidate)
        for path, table in self._maps.items():
            for value in self._enter(table, path, candidate, position):
                if (path, value) in self._sets:
                    self._sets[path, value].add(position)

    def discard(self, key: str) -> None:
        kept = [c for c in self._items if c.key != key]
        self._items, self._maps, self._sets = [], {}, {}
        for candidate in kept:
            self.add(candidate)

    @staticmethod
    def _enter(
        table: dict[str, list[int]], path: ClaimPath, candidate: Candidate, pos: int
    ) -> Iterable[str]:
        if path == _FORMAT:
            values: Iterable[str] = (candidate.format,)
        else:
            found, value = value_at(candidate.claims, path)
            values = dict.fromkeys(_scalars(value)) if found else ()
        for scalar in values:
            table.setdefault(scalar, []).append(pos)
        return values

    def _table(self, path: ClaimPath) -> dict[str, list[int]]:
        table = self._maps.get(path)
        if table is None:
            table = {}
            for position, candidate in enumerate(self._items):
                self._enter(table, path, candidate, position)
            self._maps[path] = table
        return table

    def _set(self, path: ClaimPath, value: str) -> set[int]:
        found = self._sets.get((path, value))
        if found is None:
            found = self._sets[path, value] = set(self._table(path).get(value, ()))
        return found

    def candidates(self, hint: Hint) -> Iterator[Candidate]:
        """Lazily, in insertion order: walks the smallest pool, tests the others by set lookup."""
        wanted = list(hint.equals)
        if hint.formats is not None:
            wanted.append((_FORMAT, hint.formats))
        if not wanted:
            yield from self._items
            return
        sizes = [sum(len(self._table(path).get(v, ())) for v in values) for path, values in wanted]
        first = min(range(len(wanted)), key=sizes.__getitem__)
        path, values = wanted[first]
        lists = [self._table(path)[v] for v in values if v in self._table(path)]
        others = [[self._set(p, v) for v in vs] for i, (p, vs) in enumerate(wanted) if i != first]
        positions = lists[0] if len(lists) == 1 else heapq.merge(*lists)
        last = -1
        for position in positions:
            if position == last:  # an array holding two of the wanted values
                continue
            last = position
            if all(any(position in s for s in sets) for sets in others):
                yield self._items[position]


def narrow(source: Iterable[Candidate] | CandidateSource, hint: Hint) -> Iterable[Candidate]:
    """Candidates worth evaluating: from the wallet's index, or a plain iterable filtered here."""
    if isinstance(source, CandidateSource):
        return source.candidates(hint)
    return (c for c in source if hint_admits(hint, c))


def build_submission(
    definition_id: str,
    matches: Iterable[Match],
    keys: Sequence[str],
    *,
    root: str = "$.verifiableCredential",
    vp_format: str | None = None,
) -> dict[str, Any]:
    """A ``presentation_submission``: each descriptor points at ``root[i]`` (``i``: its key's
    place in ``keys``), or at ``$`` when ``root`` is ``"$"`` (a single credential response)."""
    position = {key: i for i, key in enumerate(keys)}
    if root == "$" and len(position) != 1:
        raise ValueError("root '$' fits a response holding exactly one credential")

    def entry(match: Match) -> dict[str, Any]:
        path = "$" if root == "$" else f"{root}[{position[match.key]}]"
        inner = {"id": match.query_id, "format": match.format_id, "path": path}
        if vp_format is None:
            return inner
        return {"id": match.query_id, "format": vp_format, "path": "$", "path_nested": inner}

    return {
        "id": str(uuid.uuid4()),
        "definition_id": definition_id,
        "descriptor_map": [entry(m) for m in matches],
    }


def describe_hint(hint: Hint) -> str:
    """Words for what no held credential had, e.g. "in format dc+sd-jwt with $.vct in [...]"."""
    parts = []
    if hint.formats is not None:
        parts.append(f"in format {' or '.join(sorted(hint.formats)) or '(none we hold)'}")
    for path, values in hint.equals:
        parts.append(f"with {format_path(path)} in {sorted(values)}")
    return " ".join(parts) or "at all"


def format_path(path: ClaimPath) -> str:
    """A claim path as JSONPath text, for messages and documentation."""
    text = "$"
    for step in path:
        text += (
            f"[{step}]"
            if isinstance(step, int)
            else (f".{step}" if step.isidentifier() else f"[{step!r}]")
        )
    return text
