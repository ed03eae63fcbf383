"""DIF Presentation Exchange 2.x: read a presentation definition, pick credentials, write the submission.

Low level. JSONPath is evaluated by ``jsonpath-ng`` (its extended grammar, so filter
expressions work); a path made only of member names and indices is looked up directly,
which is what keeps a request over a large wallet fast. ``filter`` is a JSON Schema checked
with ``jsonschema`` (formats checked; ``$ref`` to anything outside the filter is refused,
nothing is ever fetched).

Supported: ``input_descriptors`` (``id``, ``group``, ``format``, ``constraints.fields`` with
``path`` / ``filter`` / ``optional``, ``constraints.limit_disclosure``), definition-level
``format``, and ``submission_requirements`` (``all`` / ``pick`` with ``count`` / ``min`` /
``max``, ``from`` or ``from_nested``). Not acted on: ``predicate`` (the value itself is
disclosed), ``is_holder`` / ``same_subject`` / ``subject_is_issuer`` (the presentation's
holder binding is the wallet's job), ``intent_to_retain``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonpath_ng import DatumInContext, Fields, Index, Root
from jsonpath_ng.ext.parser import parse as _parse_jsonpath
from jsonpath_ng.jsonpath import Child, JSONPath, Slice, This, Wildcard

from .._json import dumps
from ..errors import MalformedDocumentError, UnmetRequirement
from ._common import (
    DI,
    PE_DEFAULT_ID,
    PE_FORMATS,
    SELECTIVELY_DISCLOSABLE,
    Candidate,
    CandidateSource,
    ClaimPath,
    Hint,
    Match,
    Selection,
    build_submission,
    describe_hint,
    hint_admits,
    narrow,
    value_at,
)

MAX_DESCRIPTORS = 64
MAX_FIELDS = 64
MAX_PATH_LENGTH = 512


@dataclass(frozen=True)
class _CompiledPath:
    text: str
    simple: ClaimPath | None  # set when the path is only names / indices: looked up directly
    trailing_wildcard: bool  # simple + "[*]": every element of the array at ``simple``
    expr: JSONPath


@dataclass(frozen=True)
class Field:
    paths: tuple[_CompiledPath, ...]
    filter: Mapping[str, Any] | None
    validator: Any  # a jsonschema validator instance, or None
    quick: Callable[[Any], bool] | None  # the same test without jsonschema, for plain filters
    optional: bool
    field_id: str | None

    def describe(self) -> str:
        where = " or ".join(p.text for p in self.paths)
        return f"field {self.field_id!r} ({where})" if self.field_id else f"field {where}"


@dataclass(frozen=True)
class InputDescriptor:
    id: str
    fields: tuple[Field, ...]
    formats: tuple[tuple[str, str, Mapping[str, Any]], ...] | None  # (request id, ours, params)
    limit_disclosure: str | None
    groups: tuple[str, ...]


@dataclass(frozen=True)
class SubmissionRequirement:
    name: str
    rule: str
    count: int | None
    min: int | None
    max: int | None
    from_group: str | None
    from_nested: tuple[SubmissionRequirement, ...]


@dataclass(frozen=True)
class PresentationDefinition:
    """A validated presentation definition, its JSONPaths and JSON Schemas compiled once."""

    id: str
    input_descriptors: tuple[InputDescriptor, ...]
    submission_requirements: tuple[SubmissionRequirement, ...]
    raw: Mapping[str, Any]


# -- parsing -------------------------------------------------------------------------------------


def _fail(message: str) -> MalformedDocumentError:
    return MalformedDocumentError(f"presentation definition: {message}")


def _simple_steps(expr: JSONPath) -> tuple[ClaimPath, bool] | None:
    """The claim path of an expression made only of names / single indices (+ a final [*])."""
    steps: list[str | int] = []
    trailing = False
    node = expr
    if isinstance(node, Child) and isinstance(node.right, Wildcard | Slice):
        if isinstance(node.right, Slice) and (
            node.right.start,
            node.right.end,
            node.right.step,
        ) != (None, None, None):
            return None
        trailing, node = True, node.left
    while isinstance(node, Child):
        right = node.right
        if isinstance(right, Fields) and len(right.fields) == 1 and right.fields[0] != "*":
            steps.append(right.fields[0])
        elif isinstance(right, Index) and len(right.indices) == 1 and right.indices[0] >= 0:
            steps.append(right.indices[0])
        else:
            return None
        node = node.left
    if isinstance(node, Fields) and len(node.fields) == 1 and node.fields[0] != "*":
        steps.append(node.fields[0])
    elif not isinstance(node, Root):
        return None
    return tuple(reversed(steps)), trailing


@functools.lru_cache(maxsize=1024)
def compile_path(text: str) -> _CompiledPath:
    """Parse one JSONPath (cached: the same request paths come back again and again)."""
    if not isinstance(text, str) or not text.startswith("$") or len(text) > MAX_PATH_LENGTH:
        raise _fail(f"path {str(text)[:80]!r} is not a JSONPath starting with '$'")
    try:
        expr = _parse_jsonpath(text)
    except Exception as exc:  # noqa: BLE001 - jsonpath-ng raises unrelated types for bad syntax
        raise _fail(f"invalid JSONPath {text!r}: {exc}") from None
    simple = _simple_steps(expr)
    return _CompiledPath(text, simple[0] if simple else None, bool(simple and simple[1]), expr)


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _compile_filter(schema: Any, where: str) -> Any:
    if not isinstance(schema, dict):
        raise _fail(f"{where}: filter must be a JSON Schema object")
    try:
        text = json.dumps(schema, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise _fail(f"{where}: filter is not JSON") from None
    try:
        return _validator(text)
    except jsonschema.SchemaError as exc:
        raise _fail(f"{where}: filter is not a valid JSON Schema: {exc.message}") from None


@functools.lru_cache(maxsize=1024)
def _validator(text: str) -> Any:
    """A validator for one schema (cached by its JSON text: checking a schema costs ~1 ms)."""
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def _quick_test(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """For the filters requests use most (a string ``const`` / ``enum``, an array that
    ``contains`` one), the same verdict as JSON Schema without its machinery; else None."""
    keys = set(schema) - {"type"}
    kind = schema.get("type")
    if keys == {"const"} and kind in (None, "string") and isinstance(schema["const"], str):
        wanted = schema["const"]
        return lambda v: isinstance(v, str) and v == wanted
    if (
        keys == {"enum"}
        and kind in (None, "string")
        and isinstance(schema["enum"], list)
        and all(isinstance(e, str) for e in schema["enum"])
    ):
        allowed = frozenset(schema["enum"])
        return lambda v: isinstance(v, str) and v in allowed
    if keys == {"contains"} and kind in (None, "array") and isinstance(schema["contains"], dict):
        inner = _quick_test(schema["contains"])
        if inner is None:
            return None
        if kind is None:  # "contains" says nothing about non-arrays
            return lambda v: not isinstance(v, list) or any(inner(x) for x in v)
        return lambda v: isinstance(v, list) and any(inner(x) for x in v)
    return None


def _parse_field(raw: Any, where: str) -> Field:
    if not isinstance(raw, dict):
        raise _fail(f"{where} must be an object")
    paths = raw.get("path")
    if (
        not isinstance(paths, list)
        or not paths
        or len(paths) > MAX_FIELDS
        or not all(isinstance(p, str) for p in paths)
    ):
        raise _fail(f"{where}.path must be a non-empty array of JSONPath strings")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise _fail(f"{where}.optional must be a boolean")
    field_id = raw.get("id")
    if field_id is not None and not isinstance(field_id, str):
        raise _fail(f"{where}.id must be a string")
    schema = raw.get("filter")
    validator = None if schema is None else _compile_filter(schema, where)
    quick = None if schema is None else _quick_test(schema)
    paths_ = tuple(compile_path(p) for p in paths)
    return Field(paths_, schema, validator, quick, optional, field_id)


def _parse_formats(raw: Any, where: str) -> tuple[tuple[str, str, Mapping[str, Any]], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise _fail(f"{where}.format must be a non-empty object")
    out = []
    for name, params in raw.items():
        if not isinstance(params, dict):
            raise _fail(f"{where}.format.{name} must be an object")
        if name in PE_FORMATS:
            out.append((name, PE_FORMATS[name], params))
    return tuple(out)  # empty: the verifier accepts none of our formats


def _parse_descriptor(raw: Any, where: str, default_formats: Any) -> InputDescriptor:
    if not isinstance(raw, dict):
        raise _fail(f"{where} must be an object")
    desc_id = raw.get("id")
    if not isinstance(desc_id, str) or not desc_id:
        raise _fail(f"{where}.id must be a non-empty string")
    constraints = raw.get("constraints", {})
    if not isinstance(constraints, dict):
        raise _fail(f"descriptor {desc_id!r}: constraints must be an object")
    fields = constraints.get("fields", [])
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        raise _fail(
            f"descriptor {desc_id!r}: constraints.fields must be an array (<= {MAX_FIELDS})"
        )
    limit = constraints.get("limit_disclosure")
    if limit not in (None, "required", "preferred"):
        raise _fail(f"descriptor {desc_id!r}: limit_disclosure must be 'required' or 'preferred'")
    groups = raw.get("group", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise _fail(f"descriptor {desc_id!r}: group must be an array of strings")
    formats = raw.get("format", default_formats)
    return InputDescriptor(
        id=desc_id,
        fields=tuple(
            _parse_field(f, f"descriptor {desc_id!r} field {i}") for i, f in enumerate(fields)
        ),
        formats=_parse_formats(formats, f"descriptor {desc_id!r}"),
        limit_disclosure=limit,
        groups=tuple(groups),
    )


def _parse_requirement(raw: Any, groups: set[str], depth: int = 0) -> SubmissionRequirement:
    if not isinstance(raw, dict) or depth > 8:
        raise _fail("submission requirement must be an object (nested at most 8 deep)")
    name = next(
        (n for n in (raw.get("name"), raw.get("from")) if isinstance(n, str) and n),
        "submission requirement",
    )
    rule = raw.get("rule")
    if rule not in ("all", "pick"):
        raise _fail(f"{name!r}: rule must be 'all' or 'pick'")
    numbers = {}
    for key in ("count", "min", "max"):
        value = raw.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise _fail(f"{name!r}: {key} must be a non-negative integer")
        numbers[key] = value
    if ("from" in raw) == ("from_nested" in raw):
        raise _fail(f"{name!r}: exactly one of 'from' and 'from_nested' is required")
    nested: tuple[SubmissionRequirement, ...] = ()
    if "from" in raw:
        if not isinstance(raw["from"], str) or raw["from"] not in groups:
            raise _fail(f"{name!r}: 'from' names group {raw['from']!r} that no descriptor is in")
    else:
        if not isinstance(raw["from_nested"], list) or not raw["from_nested"]:
            raise _fail(f"{name!r}: from_nested must be a non-empty array")
        nested = tuple(_parse_requirement(r, groups, depth + 1) for r in raw["from_nested"])
    return SubmissionRequirement(
        str(name), rule, numbers["count"], numbers["min"], numbers["max"], raw.get("from"), nested
    )


def parse_definition(raw: Any) -> PresentationDefinition:
    """Validate a presentation definition; raise :class:`MalformedDocumentError`."""
    if not isinstance(raw, dict):
        raise _fail("must be a JSON object")
    def_id = raw.get("id")
    if not isinstance(def_id, str) or not def_id:
        raise _fail("id must be a non-empty string")
    descriptors = raw.get("input_descriptors")
    if not isinstance(descriptors, list) or not descriptors or len(descriptors) > MAX_DESCRIPTORS:
        raise _fail(f"input_descriptors must be a non-empty array (<= {MAX_DESCRIPTORS})")
    parsed = tuple(
        _parse_descriptor(d, f"input_descriptors[{i}]", raw.get("format"))
        for i, d in enumerate(descriptors)
    )
    ids = [d.id for d in parsed]
    if len(set(ids)) != len(ids):
        raise _fail("input descriptor ids must be unique")
    requirements = raw.get("submission_requirements", [])
    if not isinstance(requirements, list):
        raise _fail("submission_requirements must be an array")
    groups = {g for d in parsed for g in d.groups}
    return PresentationDefinition(
        def_id, parsed, tuple(_parse_requirement(r, groups) for r in requirements), raw
    )


# -- evaluation ----------------------------------------------------------------------------------


def _concrete_path(datum: DatumInContext) -> ClaimPath:
    steps: list[str | int] = []
    node: DatumInContext | None = datum
    while node is not None:
        step = node.path
        if isinstance(step, Fields):
            steps.append(step.fields[0])
        elif isinstance(step, Index):
            index = step.indices[0]
            parent = node.context.value if node.context is not None else None
            steps.append(index + len(parent) if index < 0 and isinstance(parent, list) else index)
        elif not isinstance(step, Root | This):
            raise MalformedDocumentError(f"JSONPath step {step!r} has no claim path")
        node = node.context
    return tuple(reversed(steps))


def _matches(path: _CompiledPath, claims: Mapping[str, Any]) -> Iterable[tuple[ClaimPath, Any]]:
    if path.simple is not None:
        found, value = value_at(claims, path.simple)
        if not found:
            return ()
        if path.trailing_wildcard:
            if isinstance(value, list):
                return [((*path.simple, i), item) for i, item in enumerate(value)]
            if isinstance(value, dict):
                return [((*path.simple, k), item) for k, item in value.items()]
            return ()
        return [(path.simple, value)]
    return ((_concrete_path(d), d.value) for d in path.expr.find(claims))


def _field_values(field: Field, claims: Mapping[str, Any]) -> list[ClaimPath]:
    """Claim paths satisfying the field: the first path with a value passing the filter,
    and every value of that path that passes it (``courses[*].grade`` asks for all grades)."""
    for path in field.paths:
        found = []
        for concrete, value in _matches(path, claims):
            if field.quick is not None:
                if field.quick(value):
                    found.append(concrete)
                continue
            try:
                if field.validator is None or field.validator.is_valid(value):
                    found.append(concrete)
            except referencing.exceptions.Unresolvable as exc:
                raise _fail(f"{field.describe()}: filter refers to {exc.ref!r}") from None
        if found:
            return found
    return []


def _listed(params: Mapping[str, Any], *names: str) -> list[str]:
    return [
        v for n in names if isinstance(params.get(n), list) for v in params[n] if isinstance(v, str)
    ]


def _format_ok(desc: InputDescriptor, cand: Candidate) -> str | None:
    """The request's format id under which ``cand`` is acceptable, or None.

    Algorithms are checked when both sides name one: JWS ``alg`` lists for the JWT formats,
    ``cryptosuite`` for Data Integrity, whose ``proof_type`` (if listed) must allow
    ``DataIntegrityProof``, the only proof type vcwallet makes.
    """
    if desc.formats is None:
        return PE_DEFAULT_ID[cand.format]
    for request_id, ours, params in desc.formats:
        if ours != cand.format:
            continue
        if (
            ours == DI
            and "proof_type" in params
            and "DataIntegrityProof" not in _listed(params, "proof_type")
        ):
            continue
        algs = _listed(params, "alg", "alg_values", "sd-jwt_alg_values", "cryptosuite")
        if cand.alg is None or not algs or cand.alg in algs:
            return request_id
    return None


@dataclass
class _Attempt:
    """The closest miss so far, for the UnmetRequirement message."""

    satisfied: int = -2
    reason: str = ""

    def note(self, satisfied: int, reason: str) -> None:
        if satisfied > self.satisfied:
            self.satisfied, self.reason = satisfied, reason


def _evaluate(desc: InputDescriptor, cand: Candidate, attempt: _Attempt) -> Match | None:
    format_id = _format_ok(desc, cand)
    if format_id is None:
        attempt.note(-1, f"credential {cand.key!r} is signed with an algorithm the request refuses")
        return None
    if desc.limit_disclosure == "required" and cand.format not in SELECTIVELY_DISCLOSABLE:
        attempt.note(
            0, f"limit_disclosure is required but {cand.format} cannot disclose selectively"
        )
        return None
    disclose: list[ClaimPath] = []
    for number, field in enumerate(desc.fields):
        found = _field_values(field, cand.claims)
        if not found:
            if field.optional:
                continue
            wanted = f" matching {_short(field.filter)}" if field.filter is not None else ""
            attempt.note(number, f"{field.describe()}: no value{wanted}")
            return None
        disclose.extend(found)
    return Match(desc.id, cand.key, cand.format, format_id, tuple(dict.fromkeys(disclose)), cand)


def _short(schema: Any) -> str:
    text = dumps(schema)
    return text if len(text) <= 120 else text[:117] + "..."


def descriptor_hint(desc: InputDescriptor) -> Hint:
    """Formats and exact values the descriptor demands, for the wallet's index."""
    formats = None if desc.formats is None else frozenset(ours for _, ours, _ in desc.formats)
    equals: list[tuple[ClaimPath, frozenset[str]]] = []
    for field in desc.fields:
        if field.optional or len(field.paths) != 1 or field.paths[0].simple is None:
            continue
        values = _exact_values(field.filter)
        if values:
            equals.append((field.paths[0].simple, values))
    return Hint(formats, tuple(equals))


def _exact_values(schema: Any, *, inside: bool = False) -> frozenset[str] | None:
    """Strings the value (or an element of it) must equal, when the schema says so plainly.

    JSON Schema keywords only ever narrow, so a ``const`` / ``enum`` binds whatever else the
    schema says. ``contains`` binds only when ``type`` is ``array`` (it ignores other
    values) and ``minContains`` does not make it vacuous.
    """
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("const"), str):
        return frozenset([schema["const"]])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        return frozenset(enum)
    if inside or schema.get("type") != "array" or schema.get("minContains", 1) == 0:
        return None
    return _exact_values(schema.get("contains"), inside=True)


def _first_match(
    desc: InputDescriptor, source: Any, chosen: Mapping[str, Candidate]
) -> tuple[Match | None, _Attempt]:
    """The first candidate meeting ``desc``, preferring one already going out."""
    hint = descriptor_hint(desc)
    attempt = _Attempt(reason=f"no held credential {describe_hint(hint)}")
    for cand in chosen.values():
        if hint_admits(hint, cand) and (match := _evaluate(desc, cand, _Attempt())) is not None:
            return match, attempt
    for cand in narrow(source, hint):
        match = _evaluate(desc, cand, attempt)
        if match is not None:
            return match, attempt
    return None, attempt


_Resolve = Callable[[InputDescriptor], tuple[Match | None, "_Attempt"]]
_Take = Callable[[InputDescriptor], None]


def _pick_count(req: SubmissionRequirement, available: int) -> tuple[int, int]:
    """(needed, chosen): fewest that satisfy the rule, at least one when any is available."""
    if req.count is not None:
        return req.count, req.count
    needed = req.min or 0
    chosen = max(needed, min(1, available))
    if req.max is not None:
        chosen = min(chosen, req.max)
    return needed, chosen


def select_pe(
    definition: PresentationDefinition, source: Iterable[Candidate] | CandidateSource
) -> Selection:
    """Answer a presentation definition; raise :class:`UnmetRequirement` naming what is missing."""
    cache: dict[str, tuple[Match | None, _Attempt]] = {}
    chosen: dict[str, Match] = {}
    going_out: dict[str, Candidate] = {}

    def resolve(desc: InputDescriptor) -> tuple[Match | None, _Attempt]:
        if desc.id not in cache:
            cache[desc.id] = _first_match(desc, source, going_out)
        return cache[desc.id]

    def take(desc: InputDescriptor) -> None:
        match, _ = resolve(desc)
        if match is not None and desc.id not in chosen:
            chosen[desc.id] = match
            going_out[match.key] = match.candidate

    if not definition.submission_requirements:
        for desc in definition.input_descriptors:
            match, attempt = resolve(desc)
            if match is None:
                raise UnmetRequirement(desc.id, attempt.reason)
            take(desc)
    else:
        for req in definition.submission_requirements:
            _apply_requirement(req, definition, resolve, take)
    ordered = [chosen[d.id] for d in definition.input_descriptors if d.id in chosen]
    keys = tuple(dict.fromkeys(m.key for m in ordered))
    return Selection(
        "presentation_exchange",
        tuple(ordered),
        keys,
        build_submission(definition.id, ordered, keys),
    )


def _apply_requirement(
    req: SubmissionRequirement, definition: PresentationDefinition, resolve: _Resolve, take: _Take
) -> None:
    """Satisfy one submission requirement (taking its descriptors) or raise UnmetRequirement."""
    if req.from_group is not None:
        members = [d for d in definition.input_descriptors if req.from_group in d.groups]
        results = [(d, resolve(d)) for d in members]
        met = [d for d, (m, _) in results if m is not None]
        missing = [(d, a) for d, (m, a) in results if m is None]
        if req.rule == "all":
            if missing:
                desc, attempt = missing[0]
                raise UnmetRequirement(req.name, f"descriptor {desc.id!r}: {attempt.reason}")
            for desc in members:
                take(desc)
            return
        needed, count = _pick_count(req, len(met))
        if len(met) < needed or (req.count is not None and len(met) < req.count):
            detail = "; ".join(f"{d.id!r}: {a.reason}" for d, a in missing[:3])
            raise UnmetRequirement(
                req.name,
                f"pick needs {needed} of group {req.from_group!r}, {len(met)} met ({detail})",
            )
        for desc in met[:count]:
            take(desc)
        return
    _apply_nested(req, definition, resolve, take)


def _apply_nested(
    req: SubmissionRequirement, definition: PresentationDefinition, resolve: _Resolve, take: _Take
) -> None:
    """Nested requirements: dry-run each, then take the ones the rule needs."""
    outcomes: list[tuple[SubmissionRequirement, UnmetRequirement | None]] = []
    for sub in req.from_nested:
        try:
            _apply_requirement(sub, definition, resolve, lambda d: None)  # dry run
            outcomes.append((sub, None))
        except UnmetRequirement as exc:
            outcomes.append((sub, exc))
    met = [sub for sub, err in outcomes if err is None]
    failed = [err for _, err in outcomes if err is not None]
    if req.rule == "all":
        if failed:
            raise UnmetRequirement(req.name, str(failed[0]))
        targets = met
    else:
        needed, count = _pick_count(req, len(met))
        if len(met) < needed or (req.count is not None and len(met) < req.count):
            detail = "; ".join(str(e) for e in failed[:3])
            raise UnmetRequirement(req.name, f"pick needs {needed}, {len(met)} met ({detail})")
        targets = met[:count]
    for sub in targets:
        _apply_requirement(sub, definition, resolve, take)
