"""The Digital Credentials Query Language of OpenID for Verifiable Presentations 1.0.

Low level. Supports credential queries (``id``, ``format``, ``meta.vct_values`` /
``meta.type_values``, ``claims`` with claims path pointers and ``values``, ``claim_sets``,
``multiple``) and ``credential_sets`` (``options``, ``required``). Claims path pointers are
arrays of member names, array indices and ``null`` (every element), processed as the spec's
section 7 says. ``type_values`` hold expanded type IRIs; a wallet that has not expanded its
credentials compares an IRI's last segment (after ``#`` or ``/``) with the compact ``type``
values as well: a wallet-side preference only, the verifier checks the real types.

When ``claims`` is absent the verifier asks for no selectively disclosable claim, so the
match discloses nothing beyond what the format always shows. ``multiple: true`` is honoured
by returning the first match only (the least the holder can show).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedDocumentError, UnmetRequirement
from ._common import (
    DCQL_FORMATS,
    Candidate,
    CandidateSource,
    ClaimPath,
    Hint,
    Match,
    Selection,
    describe_hint,
    narrow,
)

_ID = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_QUERIES = 64
MAX_CLAIMS = 128

RequestPath = tuple[str | int | None, ...]


@dataclass(frozen=True)
class ClaimQuery:
    id: str | None
    path: RequestPath
    values: tuple[Any, ...] | None


@dataclass(frozen=True)
class CredentialQuery:
    id: str
    format: str
    ours: str | None  # our format name, None when we hold nothing of that format
    vct_values: tuple[str, ...] | None
    type_values: tuple[tuple[str, ...], ...] | None
    claims: tuple[ClaimQuery, ...] | None
    claim_sets: tuple[tuple[str, ...], ...] | None
    multiple: bool


@dataclass(frozen=True)
class CredentialSet:
    options: tuple[tuple[str, ...], ...]
    required: bool


@dataclass(frozen=True)
class DcqlQuery:
    """A validated DCQL query."""

    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSet, ...] | None
    raw: Mapping[str, Any]


# -- parsing -------------------------------------------------------------------------------------


def _fail(message: str) -> MalformedDocumentError:
    return MalformedDocumentError(f"DCQL query: {message}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(f"{where} must be a non-empty array of strings")
    return tuple(value)


def _parse_claim(raw: Any, where: str) -> ClaimQuery:
    if not isinstance(raw, dict):
        raise _fail(f"{where} must be an object")
    claim_id = raw.get("id")
    if claim_id is not None and (not isinstance(claim_id, str) or not _ID.match(claim_id)):
        raise _fail(f"{where}.id must be alphanumeric, '_' or '-'")
    path = raw.get("path")
    if not isinstance(path, list) or not path or len(path) > 32:
        raise _fail(f"{where}.path must be a non-empty array")
    for step in path:
        ok = (
            step is None
            or isinstance(step, str)
            or (isinstance(step, int) and not isinstance(step, bool) and step >= 0)
        )
        if not ok:
            raise _fail(f"{where}.path holds {step!r}: only names, indices >= 0 and null")
    values = raw.get("values")
    if values is not None:
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str | int | bool) and not isinstance(v, float) for v in values)
        ):
            raise _fail(f"{where}.values must be a non-empty array of strings, integers, booleans")
        values = tuple(values)
    return ClaimQuery(claim_id, tuple(path), values)


def _parse_meta(
    raw: Any, where: str
) -> tuple[tuple[str, ...] | None, tuple[tuple[str, ...], ...] | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise _fail(f"{where}.meta must be an object")
    vct = _strings(raw["vct_values"], f"{where}.meta.vct_values") if "vct_values" in raw else None
    types = None
    if "type_values" in raw:
        outer = raw["type_values"]
        if not isinstance(outer, list) or not outer:
            raise _fail(f"{where}.meta.type_values must be a non-empty array of string arrays")
        types = tuple(_strings(inner, f"{where}.meta.type_values[]") for inner in outer)
    return vct, types


def _parse_credential(raw: Any, index: int) -> CredentialQuery:
    where = f"credentials[{index}]"
    if not isinstance(raw, dict):
        raise _fail(f"{where} must be an object")
    query_id = raw.get("id")
    if not isinstance(query_id, str) or not _ID.match(query_id):
        raise _fail(f"{where}.id must be a non-empty string of alphanumerics, '_' or '-'")
    where = f"credential query {query_id!r}"
    fmt = raw.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise _fail(f"{where}: format must be a non-empty string")
    multiple = raw.get("multiple", False)
    if not isinstance(multiple, bool):
        raise _fail(f"{where}: multiple must be a boolean")
    vct, types = _parse_meta(raw.get("meta"), where)
    claims = None
    if "claims" in raw:
        if (
            not isinstance(raw["claims"], list)
            or not raw["claims"]
            or len(raw["claims"]) > MAX_CLAIMS
        ):
            raise _fail(f"{where}: claims must be a non-empty array (<= {MAX_CLAIMS})")
        claims = tuple(_parse_claim(c, f"{where} claims[{i}]") for i, c in enumerate(raw["claims"]))
    claim_sets = None
    if "claim_sets" in raw:
        claim_sets = _parse_claim_sets(raw["claim_sets"], claims, where)
    return CredentialQuery(
        query_id, fmt, DCQL_FORMATS.get(fmt), vct, types, claims, claim_sets, multiple
    )


def _parse_claim_sets(
    raw: Any, claims: tuple[ClaimQuery, ...] | None, where: str
) -> tuple[tuple[str, ...], ...]:
    if claims is None:
        raise _fail(f"{where}: claim_sets needs claims")
    known = [c.id for c in claims]
    if None in known or len(set(known)) != len(known):
        raise _fail(f"{where}: with claim_sets every claim needs a unique id")
    if not isinstance(raw, list) or not raw:
        raise _fail(f"{where}: claim_sets must be a non-empty array")
    sets = tuple(_strings(option, f"{where}.claim_sets[]") for option in raw)
    for option in sets:
        for claim_id in option:
            if claim_id not in known:
                raise _fail(f"{where}: claim_sets names unknown claim {claim_id!r}")
    return sets


def parse_dcql(raw: Any) -> DcqlQuery:
    """Validate a DCQL query; raise :class:`MalformedDocumentError`."""
    if not isinstance(raw, dict):
        raise _fail("must be a JSON object")
    creds = raw.get("credentials")
    if not isinstance(creds, list) or not creds or len(creds) > MAX_QUERIES:
        raise _fail(f"credentials must be a non-empty array (<= {MAX_QUERIES})")
    queries = tuple(_parse_credential(c, i) for i, c in enumerate(creds))
    ids = [q.id for q in queries]
    if len(set(ids)) != len(ids):
        raise _fail("credential query ids must be unique")
    sets = None
    if "credential_sets" in raw:
        value = raw["credential_sets"]
        if not isinstance(value, list) or not value:
            raise _fail("credential_sets must be a non-empty array")
        sets = tuple(_parse_credential_set(s, i, set(ids)) for i, s in enumerate(value))
    return DcqlQuery(queries, sets, raw)


def _parse_credential_set(raw: Any, index: int, ids: set[str]) -> CredentialSet:
    where = f"credential_sets[{index}]"
    if not isinstance(raw, dict):
        raise _fail(f"{where} must be an object")
    options = raw.get("options")
    if not isinstance(options, list) or not options:
        raise _fail(f"{where}.options must be a non-empty array")
    parsed = tuple(_strings(option, f"{where}.options[]") for option in options)
    for option in parsed:
        for query_id in option:
            if query_id not in ids:
                raise _fail(f"{where} names unknown credential query {query_id!r}")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise _fail(f"{where}.required must be a boolean")
    return CredentialSet(parsed, required)


# -- evaluation ----------------------------------------------------------------------------------


def resolve_claims_path(claims: Any, path: RequestPath) -> list[tuple[ClaimPath, Any]]:
    """Process a claims path pointer (OpenID4VP 1.0 section 7): the selected (path, value) pairs.

    Returns an empty list where the spec says processing fails (a name applied to a non-object,
    an index or null applied to a non-array, or nothing left selected).
    """
    selected: list[tuple[ClaimPath, Any]] = [((), claims)]
    for step in path:
        following: list[tuple[ClaimPath, Any]] = []
        for where, node in selected:
            if isinstance(step, str):
                if not isinstance(node, Mapping):
                    return []
                if step in node:
                    following.append(((*where, step), node[step]))
            elif not isinstance(node, list):
                return []
            elif step is None:
                following.extend(((*where, i), item) for i, item in enumerate(node))
            elif step < len(node):
                following.append(((*where, step), node[step]))
        if not following:
            return []
        selected = following
    return selected


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _claim_paths(claim: ClaimQuery, claims: Mapping[str, Any]) -> list[ClaimPath]:
    found = resolve_claims_path(claims, claim.path)
    if claim.values is not None:
        found = [(p, v) for p, v in found if any(_same(v, want) for want in claim.values)]
    return [p for p, _ in found]


def _compact(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


def _types_ok(wanted: tuple[tuple[str, ...], ...], claims: Mapping[str, Any]) -> bool:
    held = claims.get("type")
    types = (
        {held}
        if isinstance(held, str)
        else {t for t in held if isinstance(t, str)}
        if isinstance(held, list)
        else set()
    )
    return any(all(t in types or _compact(t) in types for t in option) for option in wanted)


def _meta_problem(query: CredentialQuery, cand: Candidate) -> str | None:
    if query.vct_values is not None and cand.claims.get("vct") not in query.vct_values:
        return f"vct is not one of {list(query.vct_values)}"
    if query.type_values is not None and not _types_ok(query.type_values, cand.claims):
        return f"type is none of {[list(t) for t in query.type_values]}"
    return None


def _evaluate(query: CredentialQuery, cand: Candidate) -> tuple[int, tuple[ClaimPath, ...]] | str:
    """(rank of the claim set satisfied, paths to disclose), or why the candidate fails."""
    problem = _meta_problem(query, cand)
    if problem is not None:
        return problem
    if query.claims is None:
        return 0, ()
    per_claim = [(c, _claim_paths(c, cand.claims)) for c in query.claims]
    if query.claim_sets is None:
        for claim, paths in per_claim:
            if not paths:
                return f"claim {_describe(claim)} is missing"
        return 0, tuple(dict.fromkeys(p for _, paths in per_claim for p in paths))
    by_id = {c.id: paths for c, paths in per_claim}
    for rank, option in enumerate(query.claim_sets):
        if all(by_id[i] for i in option):
            return rank, tuple(dict.fromkeys(p for i in option for p in by_id[i]))
    return f"no claim set is satisfied (first: {list(query.claim_sets[0])})"


def _describe(claim: ClaimQuery) -> str:
    text = repr(list(claim.path))
    if claim.values is not None:
        text += f" with a value in {list(claim.values)}"
    return f"{claim.id!r} {text}" if claim.id else text


def query_hint(query: CredentialQuery) -> Hint:
    """Formats and exact values the credential query demands, for the wallet's index."""
    equals: list[tuple[ClaimPath, frozenset[str]]] = []
    if query.vct_values is not None:
        equals.append((("vct",), frozenset(query.vct_values)))
    if query.type_values is not None:
        last = {option[-1] for option in query.type_values}
        equals.append((("type",), frozenset(last | {_compact(t) for t in last})))
    if query.claims is not None and query.claim_sets is None:
        for claim in query.claims:
            path = claim.path[:-1] if claim.path[-1] is None else claim.path
            if (
                claim.values
                and path
                and None not in path
                and all(isinstance(v, str) for v in claim.values)
            ):
                equals.append((tuple(s for s in path if s is not None), frozenset(claim.values)))
    ours = frozenset([query.ours]) if query.ours is not None else frozenset()
    return Hint(ours, tuple(equals))


def _answer(query: CredentialQuery, source: Any) -> Match | str:
    """The best candidate for one credential query, or why there is none."""
    hint = query_hint(query)
    best: tuple[int, Candidate, tuple[ClaimPath, ...]] | None = None
    reason = f"no held credential {describe_hint(hint)}"
    for cand in narrow(source, hint):
        outcome = _evaluate(query, cand)
        if isinstance(outcome, str):
            reason = f"credential {cand.key!r}: {outcome}"
            continue
        rank, paths = outcome
        if best is None or rank < best[0]:
            best = (rank, cand, paths)
            if rank == 0:
                break
    if best is None:
        return reason
    _, cand, paths = best
    return Match(query.id, cand.key, cand.format, query.format, paths, cand)


def select_dcql(query: DcqlQuery, source: Iterable[Candidate] | CandidateSource) -> Selection:
    """Answer a DCQL query; raise :class:`UnmetRequirement` naming what is missing."""
    answers: dict[str, Match | str] = {}
    by_id = {q.id: q for q in query.credentials}

    def answer(query_id: str) -> Match | str:
        if query_id not in answers:
            answers[query_id] = _answer(by_id[query_id], source)
        return answers[query_id]

    wanted: list[str] = []
    if query.credential_sets is None:
        for q in query.credentials:
            outcome = answer(q.id)
            if isinstance(outcome, str):
                raise UnmetRequirement(q.id, outcome)
            wanted.append(q.id)
    else:
        for number, cset in enumerate(query.credential_sets):
            option = next(
                (o for o in cset.options if all(isinstance(answer(i), Match) for i in o)), None
            )
            if option is not None:
                wanted.extend(option)
            elif cset.required:
                first = cset.options[0]
                missing = next(i for i in first if isinstance(answer(i), str))
                raise UnmetRequirement(
                    f"credential_sets[{number}]",
                    f"no option can be met; first option {list(first)}: "
                    f"query {missing!r}: {answer(missing)}",
                )
    matches = tuple(m for i in dict.fromkeys(wanted) if isinstance(m := answers[i], Match))
    return Selection("dcql", matches, tuple(dict.fromkeys(m.key for m in matches)))
