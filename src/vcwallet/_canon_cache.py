"""Fast RDFC-1.0 for documents of a shape seen before (private helper of ``documents``).

Low level. Credentials an issuer signs differ in their values, not in their shape, and
JSON-LD expansion (~80 % of pyld's time) depends almost only on the shape. So:

* A document's *shape* is its JSON structure with every key, the JSON kind of every leaf,
  and the values of the leaves that steer JSON-LD processing (``@context``, types and other
  keyword-valued members).
* The first document of a shape is expanded by pyld once, through a tracing processor that
  hands pyld every real value but records, for each leaf, what it became: a literal (with
  its datatype / language from the context), or an IRI (a node ``id`` or an ``@id``-typed
  value that expands to itself). Leaves that expand in any other way (``@vocab``-typed
  values, compact IRIs) become part of the shape and the probe is repeated. The resulting
  quads, with numbered slots where the leaves go, are the shape's *template*.
* Every template is checked once against pyld on the document that created it; a mismatch
  marks the shape as pyld-only for good.
* Later documents of the shape fill the slots, and RDFC-1.0 runs directly on the quads when
  first-degree hashing names every blank node (a credential with an id: no ambiguity).
* When it does not (look-alike blank nodes: a presentation's credential graphs and proofs,
  a transcript's repeated identifier objects), Hash N-Degree Quads runs here too, under the
  caller's work bound (``bounds``), as long as every related-node group it meets has a
  single permutation. Then the work is the same whatever the blank node labels, so pyld,
  on its own dataset, would do the same work and pass the same bound. A group with several
  permutations (whose pruning, and so the work counted, follows the labels), a tripped
  bound, or no ``bounds``: ``None``, and pyld decides.
* Anything else (an IRI that could expand differently) returns ``None`` and the caller
  uses pyld.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from pyld import jsonld
from pyld.identifier_issuer import IdentifierIssuer
from pyld.nquads import escape

from .errors import find_cause

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
_MAX_SHAPES = 256
_MAX_VARIANTS_PER_SHAPE = 64
_PYLD_ONLY = object()
# pyld's own test for an absolute IRI (jsonld._is_absolute_iri), compiled once
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
# iri_ok's verdict in one match: the scheme, and whether "//" follows it
_IRI_PARTS = re.compile(r"([A-Za-z][A-Za-z0-9+-.]*):(//)?[^\s]*")
_JUST_STR = {str}
_HASHES: dict[str, Callable[..., Any]] = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}
_NO_PLAN = object()
_GENERAL = object()


_KIND_BY_TYPE = {str: "s", int: "i", float: "f", bool: "b", type(None): "n"}


def _kind(value: Any) -> str:
    """The JSON kind of a leaf (bool before int: True is an int in Python)."""
    if value is None:
        return "n"
    if isinstance(value, bool):
        return "b"
    if isinstance(value, str):
        return "s"
    if isinstance(value, int):
        return "i"
    return "f"


class TemplateControl(Exception):
    """Raised through pyld by the tracer; never escapes this module's callers."""


class NotTemplatable(TemplateControl):
    """The document's shape cannot be templated; use pyld for it."""


class ValueNeedsPyld(TemplateControl):
    """This document's value at an IRI position may expand to something else: pyld, this once."""


class _MakeStructural(TemplateControl):
    """Leaf ``index`` steers expansion: make its value part of the shape and probe again."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


# ---------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------
def describe(document: Any, steering_keys: frozenset[str]) -> tuple[Any, list[Any]]:
    """Return ``(shape, leaves)``: the hashable shape and the leaf values in shape order."""
    leaves: list[Any] = []
    orders = _MEMBER_ORDERS.get(steering_keys)
    if orders is None or len(orders) >= _MAX_MEMBER_ORDERS:
        orders = _MEMBER_ORDERS[steering_keys] = {}
    shape = _describe(document, steering_keys, leaves, orders)
    return shape, leaves


# per set of steering keys: an object's member names (as stored) -> those names in shape
# order, each with whether its value steers expansion (objects of one shape repeat; small
# name lists only, at most _MAX_MEMBER_ORDERS of them before a fresh start)
_MEMBER_ORDERS: dict[frozenset[str], dict[tuple[str, ...], tuple[tuple[str, bool], ...]]] = {}
_MAX_MEMBER_ORDERS = 4096


def _member_order(
    names: tuple[str, ...], steering: frozenset[str]
) -> tuple[tuple[str, bool], ...]:
    return tuple((name, name in steering or name[:1] == "@") for name in sorted(names))


def _describe(
    value: Any,
    steering: frozenset[str],
    leaves: list[Any],
    orders: dict[tuple[str, ...], tuple[tuple[str, bool], ...]],
) -> Any:
    # leaf members are described in place (most members are leaves): a call saved each
    kinds = _KIND_BY_TYPE
    kind = kinds.get(type(value))
    if kind is not None:
        leaves.append(value)
        return kind
    if isinstance(value, dict):
        members: list[Any] = []
        add = members.append
        names = tuple(value)
        order = orders.get(names)
        if order is None:
            order = _member_order(names, steering)
            if len(names) <= 64 and sum(map(len, names)) <= 2048:  # bounded memory
                orders[names] = order
        for key, steers in order:
            item = value[key]
            if steers:
                add((key, ("=", _freeze(item))))
                continue
            kind = kinds.get(type(item))
            if kind is None:
                add((key, _describe(item, steering, leaves, orders)))
            else:
                leaves.append(item)
                add((key, kind))
        return tuple(members)
    if isinstance(value, list):
        described = ["["]
        for item in value:
            kind = kinds.get(type(item))
            if kind is None:
                described.append(_describe(item, steering, leaves, orders))
            else:
                leaves.append(item)
                described.append(kind)
        return tuple(described)
    leaves.append(value)
    return _kind(value)


def _freeze(value: Any) -> Any:
    """A hashable copy of a steering value (kinds kept apart: 1, 1.0 and True differ)."""
    if type(value) is str:
        return value
    if isinstance(value, list) and (not value or set(map(type, value)) == _JUST_STR):
        return ("[s", *value)  # the usual type list: every item exactly a str
    return ("json", json.dumps(value, sort_keys=True, ensure_ascii=False))


def _substitute(
    value: Any,
    steering: frozenset[str],
    keep: frozenset[int],
    sentinel: Callable[[int], str],
    counter: list[int],
) -> Any:
    """A copy of ``value`` with every leaf not in ``keep`` replaced by its sentinel."""
    if isinstance(value, dict):
        result = {}
        for key in sorted(value):
            item = value[key]
            if key in steering or key.startswith("@"):
                result[key] = item
            else:
                result[key] = _substitute(item, steering, keep, sentinel, counter)
        return result
    if isinstance(value, list):
        return [_substitute(item, steering, keep, sentinel, counter) for item in value]
    index = counter[0]
    counter[0] += 1
    if index in keep or value is None:
        return value
    return sentinel(index)


# ---------------------------------------------------------------------------------------
# the tracing processor
# ---------------------------------------------------------------------------------------
class _Tracer(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's expansion, seeing real values, while noting what each leaf turned into."""

    def __init__(
        self,
        leaves: list[Any],
        token: str,
        iri_ok: Callable[[Any], bool],
        on_property_dropped: Callable[[str | None], None],
    ) -> None:
        super().__init__(on_property_dropped=on_property_dropped)
        self.leaves = leaves
        self.token = token
        self.iri_ok = iri_ok
        self.literal_slots: dict[int, dict[str, Any]] = {}
        self.iri_slots: set[int] = set()

    def literal_sentinel(self, index: int) -> str:
        return f"vcwslot{self.token}n{index}"

    def iri_sentinel(self, index: int) -> str:
        return f"urn:vcwslot{self.token}:{index}"

    def _index(self, value: Any) -> int | None:
        prefix = f"vcwslot{self.token}n"
        if isinstance(value, str) and value.startswith(prefix):
            return int(value[len(prefix) :])
        return None

    def _expand_value(self, active_ctx: Any, active_property: Any, value: Any, options: Any) -> Any:
        index = self._index(value)
        if index is None:
            return super()._expand_value(active_ctx, active_property, value, options)
        original = self.leaves[index]
        result = super()._expand_value(active_ctx, active_property, original, options)
        if (
            isinstance(result, dict)
            and "@value" in result
            and result["@value"] == original
            and type(result["@value"]) is type(original)
        ):
            meta = {k: v for k, v in result.items() if k != "@value"}
            if meta.get("@type") in ("@json", _XSD_DOUBLE) and isinstance(original, str):
                raise _MakeStructural(index)
            self.literal_slots[index] = meta
            return dict(meta, **{"@value": self.literal_sentinel(index)})
        term_type = jsonld.JsonLdProcessor.get_context_value(active_ctx, active_property, "@type")
        if isinstance(result, dict) and set(result) == {"@id"} and term_type == "@id":
            if result["@id"] != original or not self.iri_ok(original):
                raise ValueNeedsPyld(index)
            self.iri_slots.add(index)
            return {"@id": self.iri_sentinel(index)}
        raise _MakeStructural(index)

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        index = self._index(value)
        if index is None:
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        original = self.leaves[index]
        if vocab or local_ctx is not None:
            raise _MakeStructural(index)
        if not self.iri_ok(original) or (
            super()._expand_iri(active_ctx, original, base, vocab, local_ctx, defined) != original
        ):
            raise ValueNeedsPyld(index)
        self.iri_slots.add(index)
        return self.iri_sentinel(index)


# ---------------------------------------------------------------------------------------
# templates
# ---------------------------------------------------------------------------------------
# A quad component: ("i", "<iri>") fixed IRI, ("b", k) blank node, ("s", index) IRI slot,
# ("l", index) literal slot, ("t", '"text"^^<dt>') fixed literal.
_Component = tuple[str, Any]


@dataclass
class Template:
    quads: list[tuple[_Component, str, _Component, _Component | None]]
    blank_nodes: int
    # per literal slot: the text after the quoted value ("", "@ko", "^^<dt>"), or the
    # expanded value object's members when pyld's literal rules must run per value
    literal_suffix: dict[int, str]
    literal_meta: dict[int, dict[str, Any]]
    iri_slots: frozenset[int]
    prefix_terms: frozenset[str]
    # per literal slot: the value object's (@type, @language), part of pyld's value identity
    literal_identity: dict[int, tuple[Any, Any]]
    has_fixed_literals: bool
    # the template compiled for filling (see _Plan); built on first use
    plan: Any = None


@dataclass
class ShapeEntry:
    structural: frozenset[int] = frozenset()
    variants: dict[tuple[Any, ...], Any] = field(default_factory=dict)


class TemplateCache:
    """Per-loader templates, keyed by shape. Bounded; never shared between loaders."""

    def __init__(self, steering_keys: frozenset[str], prefix_terms: frozenset[str]) -> None:
        self.steering_keys = steering_keys
        self.prefix_terms = prefix_terms
        # a plain dict, oldest shape out first: a shape is a deep tuple that is hashed and
        # compared on every lookup, so one lookup per document (an LRU takes three)
        self._shapes: dict[Any, ShapeEntry] = {}
        self._literal = jsonld.JsonLdProcessor()
        # how documents were served: from a template, by building one, or by pyld; how
        # many template answers came from the compiled plan, and how many needed the
        # bounded RDFC-1.0 (look-alike blank nodes)
        self.stats = {"template": 0, "built": 0, "pyld": 0, "planned": 0, "bounded": 0}

    def iri_ok(self, value: Any, prefix_terms: frozenset[str] | None = None) -> bool:
        """An IRI that pyld's expansion returns unchanged, whatever the active context."""
        terms = self.prefix_terms if prefix_terms is None else prefix_terms
        if not isinstance(value, str) or value.startswith("_:") or value in terms:
            return False
        if not _ABSOLUTE_IRI.match(value):
            return False
        prefix, suffix = value.split(":", 1)
        return suffix.startswith("//") or prefix not in terms

    def canonize(
        self,
        document: dict[str, Any],
        *,
        build: Callable[[dict[str, Any], list[Any], frozenset[int]], Template],
        reference: Callable[[], str],
        hash_name: str,
        bounds: tuple[int, int] | None = None,
    ) -> str | None:
        """Canonical N-Quads from the shape's template, or None when pyld must do it.

        ``bounds`` is the caller's ``(max_work_factor, max_permutations)`` for Hash N-Degree
        Quads (see ``documents.canonize``); without it only first-degree hashing runs here.
        """
        shape, leaves = describe(document, self.steering_keys)
        entry = self._shapes.get(shape)
        if entry is None:
            if len(self._shapes) >= _MAX_SHAPES:
                del self._shapes[next(iter(self._shapes))]
            entry = self._shapes[shape] = ShapeEntry()
        key = tuple(leaves[i] for i in sorted(entry.structural))
        template = entry.variants.get(key)
        if template is _PYLD_ONLY:
            self.stats["pyld"] += 1
            return None
        if template is not None:
            result = self.fill(template, leaves, hash_name, bounds)
            self.stats["template" if result is not None else "pyld"] += 1
            return result
        self.stats["built"] += 1
        return self._first_of_variant(entry, document, leaves, build, reference, hash_name, bounds)

    def _first_of_variant(
        self,
        entry: ShapeEntry,
        document: dict[str, Any],
        leaves: list[Any],
        build: Callable[..., Template],
        reference: Callable[[], str],
        hash_name: str,
        bounds: tuple[int, int] | None,
    ) -> str | None:
        template: Template | None = None
        odd_value = probe_failed = False
        for _ in range(len(leaves) + 1):
            try:
                template = build(document, leaves, entry.structural)
                break
            except NotTemplatable:
                break
            except ValueNeedsPyld:
                odd_value = True
                break
            except _MakeStructural as grow:
                # this leaf steers expansion: key the shape's variants by its value too
                entry.structural = entry.structural | {grow.index}
                entry.variants.clear()
            except Exception:  # noqa: BLE001 - the verdict is pyld's, just below
                # the document's own error (pyld will raise it again), or a pyld whose
                # internals moved under the tracer: either way pyld decides
                probe_failed = True
                break
        if odd_value:
            # an odd value, not an odd shape: pyld for this document, the cache as it was
            # (outside the handler, so no control exception rides along as __context__)
            return reference()
        key = tuple(leaves[i] for i in sorted(entry.structural))
        if len(entry.variants) >= _MAX_VARIANTS_PER_SHAPE:
            entry.variants.clear()
        expected = reference()
        if (
            probe_failed
            or template is None
            or (self.fill(template, leaves, hash_name, bounds) not in (None, expected))
        ):
            entry.variants[key] = _PYLD_ONLY
        else:
            entry.variants[key] = template
        return expected

    # -- filling ----------------------------------------------------------------------
    def fill(
        self,
        template: Template,
        leaves: list[Any],
        hash_name: str,
        bounds: tuple[int, int] | None = None,
    ) -> str | None:
        """The canonical N-Quads of the template filled with ``leaves``, or None for pyld.

        The compiled plan serves the usual case (every quad kept, first-degree hashing
        names every blank node); anything else takes the general path below, which the
        plan's answers equal byte for byte.
        """
        plan = template.plan
        if plan is None:
            plan = template.plan = _compile(template)
        if plan is not _NO_PLAN:
            result = self._fill_planned(plan, template, leaves, hash_name)
            if result is not _GENERAL:
                self.stats["planned"] += result is not None
                return result
        return self._fill_general(template, leaves, hash_name, bounds)

    def _fill_planned(
        self, plan: _Plan, template: Template, leaves: list[Any], hash_name: str
    ) -> Any:
        """:meth:`fill` through the plan; ``_GENERAL`` where the general path must decide."""
        iri_values = plan.iri_values(leaves)
        iri_texts = self._iri_texts(iri_values, template.prefix_terms)
        if iri_texts is None or iri_texts is _GENERAL:
            return iri_texts
        string_values = plan.string_values(leaves)
        if string_values and set(map(type, string_values)) != _JUST_STR:
            return None  # as the general path: a string slot holds a string
        joined = "".join(string_values)
        if '"' in joined or "\\" in joined or "\n" in joined or "\r" in joined or "\t" in joined:
            string_values = tuple(map(escape, string_values))  # what escape rewrites
        terms: list[Any] = list(plan.blank_range)
        terms += iri_texts
        terms += string_values
        for index, meta, suffixes in plan.numbers:
            value = leaves[index]
            text = _number_nquads(value, suffixes)
            terms.append(
                _literal_nquads(self._literal_term(value, meta)) if text is None else text
            )
        terms += plan.pieces
        if plan.merge_rows and _rows_merge(plan.merge_rows, terms, leaves, template):
            return _GENERAL
        join = "".join
        count = plan.blank_nodes
        if count == 1:
            terms[0] = "_:c14n0"
        elif count > 1:
            new = _HASHES.get(hash_name) or functools.partial(hashlib.new, hash_name)
            lines = [join(get(terms)) for get in plan.first_degree]
            hashes = []
            for start, stop, fixed in plan.node_lines:
                mine = lines[start:stop]
                mine += fixed
                mine.sort()
                hashes.append(new(join(mine).encode("utf-8")).hexdigest())
            if len(set(hashes)) != count:
                return _GENERAL  # look-alike blank nodes: Hash N-Degree Quads
            for rank, node in enumerate(sorted(range(count), key=hashes.__getitem__)):
                terms[node] = _c14n_label(rank)
        lines = [join(get(terms)) for get in plan.lines]
        lines += plan.fixed_lines
        lines.sort()
        return join(lines)

    def _iri_texts(self, values: tuple[Any, ...], prefix_terms: frozenset[str]) -> Any:
        """``<iri>`` for each IRI slot value; None where :meth:`iri_ok` refuses one, and
        ``_GENERAL`` for a value it takes that the fast test does not (a final newline)."""
        texts = []
        for value in values:
            match = _IRI_PARTS.fullmatch(value) if type(value) is str else None
            if match is None:
                return _GENERAL if self.iri_ok(value, prefix_terms) else None
            if value in prefix_terms or (match[2] is None and match[1] in prefix_terms):
                return None  # what iri_ok refuses: a term, or a term used as a prefix
            texts.append("<" + value + ">")
        return texts

    def _fill_general(
        self,
        template: Template,
        leaves: list[Any],
        hash_name: str,
        bounds: tuple[int, int] | None = None,
    ) -> str | None:
        iri_ok, terms = self.iri_ok, template.prefix_terms
        for index in template.iri_slots:
            if not iri_ok(leaves[index], terms):
                return None
        literals = {}
        for index, suffix in template.literal_suffix.items():
            value = leaves[index]
            if type(value) is not str:
                return None
            literals[index] = '"' + escape(value) + '"' + suffix
        for index, meta in template.literal_meta.items():
            literals[index] = _literal_nquads(self._literal_term(leaves[index], meta))
        rows = self._rows(template, leaves, literals)
        if rows is None:
            return None
        labelled = _label_blank_nodes(rows, template.blank_nodes, hash_name, bounds)
        if labelled is None:
            return None
        labels, n_degree = labelled
        self.stats["bounded"] += n_degree
        lines = [_line(row, labels) for row in rows]
        lines.sort()
        return "".join(lines)

    @staticmethod
    def _rows(
        template: Template, leaves: list[Any], literals: dict[int, str]
    ) -> list[tuple[Any, ...]] | None:
        """The filled quads, merged as pyld's node map merges them.

        Two occurrences of one IRI are one node: a property value it holds twice is kept
        once, compared as pyld compares values (for literals: value, with 1 == 1.0 but
        True != 1, datatype and language of the value object; for nodes: the IRI).
        """
        rows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        fixed_groups: set[tuple[Any, ...]] = set()
        slot_groups: set[tuple[Any, ...]] = set()
        for subject, predicate, obj, graph in template.quads:
            s = _term(subject, leaves, literals)
            g = None if graph is None else _term(graph, leaves, literals)
            o = _term(obj, leaves, literals)
            if obj[0] == "l":
                value = leaves[obj[1]]
                identity: Any = ("l", value, type(value) is bool, template.literal_identity[obj[1]])
                if template.has_fixed_literals:
                    slot_groups.add((s, predicate, g))
            else:
                identity = o
                if obj[0] == "t":
                    fixed_groups.add((s, predicate, g))
            rows.setdefault((s, predicate, identity, g), (s, predicate, o, g))
        if fixed_groups & slot_groups:
            return None  # a fixed and a filled literal on one node: pyld's comparison unknown
        return list(rows.values())

    def _literal_term(self, value: Any, meta: dict[str, Any]) -> dict[str, str]:
        """pyld's own literal rules (numbers, booleans, doubles): exact by construction."""
        item = dict(meta, **{"@value": value})
        obj = self._literal._object_to_rdf(
            item, IdentifierIssuer("_:t"), [], {"processingMode": "json-ld-1.1"}
        )
        term = {"type": "literal", "value": str(obj["value"]), "datatype": str(obj["datatype"])}
        if obj.get("language"):
            term["language"] = str(obj["language"])
        return term


def _literal_nquads(term: dict[str, str]) -> str:
    """A literal term as pyld's N-Quads serializer writes it."""
    text = '"' + escape(term["value"]) + '"'
    datatype = term["datatype"]
    if datatype == _RDF_LANGSTRING:
        return text + ("@" + term["language"] if term.get("language") else "")
    if datatype != _XSD_STRING:
        return text + "^^<" + datatype + ">"
    return text


def _term(component: _Component, leaves: list[Any], literals: dict[int, str]) -> Any:
    kind, value = component
    if kind == "i" or kind == "t":
        return value
    if kind == "b":
        return value  # an int: labelled later
    if kind == "s":
        return "<" + leaves[value] + ">"
    return literals[value]


def _line(row: tuple[Any, ...], labels: list[str]) -> str:
    subject, predicate, obj, graph = row
    s = labels[subject] if type(subject) is int else subject
    o = labels[obj] if type(obj) is int else obj
    if graph is None:
        return f"{s} {predicate} {o} .\n"
    g = labels[graph] if type(graph) is int else graph
    return f"{s} {predicate} {o} {g} .\n"


def _label_blank_nodes(
    rows: list[tuple[Any, ...]], count: int, hash_name: str, bounds: tuple[int, int] | None
) -> tuple[list[str], bool] | None:
    """RDFC-1.0 labels and whether Hash N-Degree Quads was needed; None: pyld must run."""
    if count == 0:
        return [], False
    if count == 1:
        return ["_:c14n0"], False
    # pyld lists a quad once per position the node holds in it (a self-loop twice)
    quads_of: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
    for row in rows:
        for part in (row[0], row[2], row[3]):
            if type(part) is int:
                quads_of[part].append(row)
    hashes = []
    for node in range(count):
        mentions = [_first_degree_line(row, node) for row in quads_of[node]]
        mentions.sort()
        digest = hashlib.new(hash_name)
        for line in mentions:
            digest.update(line.encode("utf-8"))
        hashes.append(digest.hexdigest())
    if len(set(hashes)) == count:
        canonical = [""] * count
        for rank, node in enumerate(sorted(range(count), key=hashes.__getitem__)):
            canonical[node] = f"_:c14n{rank}"
        return canonical, False
    if bounds is None:
        return None
    try:
        return _NDegree(quads_of, hashes, hash_name, *bounds).labels(), True
    except (_NeedsPyld, RecursionError):
        return None


class _NeedsPyld(Exception):
    """Hash N-Degree Quads met work whose amount could depend on labels, or the bound."""


class _Issuer:
    """RDFC-1.0's identifier issuer over integer blank nodes."""

    __slots__ = ("existing", "order", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.existing: dict[int, str] = {}
        self.order: list[int] = []

    def issue(self, node: int) -> str:
        label = self.existing.get(node)
        if label is None:
            label = self.existing[node] = f"{self.prefix}{len(self.order)}"
            self.order.append(node)
        return label

    def copy(self) -> _Issuer:
        other = _Issuer(self.prefix)
        other.existing = dict(self.existing)
        other.order = list(self.order)
        return other


class _NDegree:
    """RDFC-1.0 labelling after first-degree hashing (section 4.4.3), single permutations only.

    The bound is documents._BoundedRdfc10's: each blank node may enter Hash N-Degree Quads
    at most ``ambiguous ** max_work_factor`` times, and every related-node group spends one
    of ``max_permutations``. A group with several permutations raises :class:`_NeedsPyld`
    before any work on it, as does the bound.
    """

    def __init__(
        self,
        quads_of: list[list[tuple[Any, ...]]],
        first_degree: list[str],
        hash_name: str,
        max_work_factor: int,
        max_permutations: int,
    ) -> None:
        self.quads_of = quads_of
        self.first_degree = first_degree
        self.hash_name = hash_name
        self.max_work_factor = max_work_factor
        self.permutations_left = max_permutations
        self.canonical = _Issuer("_:c14n")
        self.entries = [0] * len(first_degree)
        self.max_entries = 0

    def labels(self) -> list[str]:
        """Every blank node's canonical label, by node number."""
        groups: dict[str, list[int]] = {}
        for node, digest in enumerate(self.first_degree):
            groups.setdefault(digest, []).append(node)
        for digest in sorted(groups):
            if len(groups[digest]) == 1:
                self.canonical.issue(groups[digest][0])
        ambiguous = len(self.first_degree) - len(self.canonical.order)
        self.max_entries = (
            0 if self.max_work_factor <= 0 else max(1, ambiguous) ** self.max_work_factor
        )
        for digest in sorted(groups):
            if len(groups[digest]) == 1:
                continue
            results = []
            for node in groups[digest]:
                if node in self.canonical.existing:
                    continue
                issuer = _Issuer("_:b")
                issuer.issue(node)
                results.append(self.hash_n_degree(node, issuer))
            # RDFC-1.0 orders equal hashes no further (pyld: its set's order); a stable sort
            for _, issuer in sorted(results, key=lambda result: result[0]):
                for node in issuer.order:
                    self.canonical.issue(node)
        return [self.canonical.existing[node] for node in range(len(self.first_degree))]

    def hash_n_degree(self, node: int, issuer: _Issuer) -> tuple[str, _Issuer]:
        self.entries[node] += 1
        if self.entries[node] > self.max_entries:
            raise _NeedsPyld("deep iterations")
        related = self._related(node, issuer)
        for members in related.values():
            if any(member != members[0] for member in members):
                raise _NeedsPyld("several permutations")
            self.permutations_left -= 1
            if self.permutations_left < 0:
                raise _NeedsPyld("permutations")
        digest = hashlib.new(self.hash_name)
        for related_hash in sorted(related):
            digest.update(related_hash.encode("utf-8"))
            other = related[related_hash][0]
            copy = issuer.copy()
            recurse = []
            path = ""
            for _ in related[related_hash]:  # the one permutation: ``other``, maybe repeated
                known = self.canonical.existing.get(other)
                if known is not None:
                    path += known
                    continue
                if other not in copy.existing:
                    recurse.append(other)
                path += copy.issue(other)
            for member in recurse:
                result, copy = self.hash_n_degree(member, copy)
                path += copy.issue(member) + "<" + result + ">"
            digest.update(path.encode("utf-8"))
            issuer = copy
        return digest.hexdigest(), issuer

    def _related(self, node: int, issuer: _Issuer) -> dict[str, list[int]]:
        related: dict[str, list[int]] = {}
        for row in self.quads_of[node]:
            for position, part in (("s", row[0]), ("o", row[2]), ("g", row[3])):
                if type(part) is int and part != node:
                    label = (
                        self.canonical.existing.get(part)
                        or issuer.existing.get(part)
                        or self.first_degree[part]
                    )
                    digest = hashlib.new(self.hash_name)
                    digest.update(position.encode("utf-8"))
                    if position != "g":
                        digest.update(row[1].encode("utf-8"))
                    digest.update(label.encode("utf-8"))
                    related.setdefault(digest.hexdigest(), []).append(part)
        return related


def _first_degree_line(row: tuple[Any, ...], node: int) -> str:
    """A quad as Hash First Degree Quads writes it: ``_:a`` for ``node``, ``_:z`` for others."""
    subject, predicate, obj, graph = row
    if type(subject) is int:
        subject = "_:a" if subject == node else "_:z"
    if type(obj) is int:
        obj = "_:a" if obj == node else "_:z"
    if graph is None:
        return f"{subject} {predicate} {obj} .\n"
    if type(graph) is int:
        graph = "_:a" if graph == node else "_:z"
    return f"{subject} {predicate} {obj} {graph} .\n"


# ---------------------------------------------------------------------------------------
# compiled plans: the fill's hot path
# ---------------------------------------------------------------------------------------
# The fill's term table: blank node k at k (its number, then its label), then the IRI
# slots, the string literal slots and the other literal slots, in the plan's order, then
# the plan's fixed pieces of text. A line is the join of its pieces, taken from the table
# by one getter (no formatting: copying is all the work).
_Getter = Callable[[list[Any]], tuple[str, ...]]


@dataclass(frozen=True)
class _Plan:
    """A template compiled once, so that a fill is lookups and joins only.

    Valid where the general path would keep every quad (no two rows can merge for these
    values: checked per fill on the few rows that might) and first-degree hashing names
    every blank node; otherwise the general path runs.
    """

    blank_nodes: int
    blank_range: tuple[int, ...]
    iri_values: Callable[[list[Any]], tuple[Any, ...]]
    string_values: Callable[[list[Any]], tuple[Any, ...]]  # their escaped text in the table
    # (leaf, value object members, suffixes after a boolean / integer / double or None)
    numbers: tuple[tuple[int, dict[str, Any], tuple[str, str, str] | None], ...]
    pieces: tuple[str, ...]  # the fixed pieces, at the end of the table
    # rows that might merge with another: (subject, predicate, object, graph, literal
    # leaf), each term a table position or fixed text (None: default graph / not a literal)
    merge_rows: tuple[tuple[Any, str, Any, Any, int | None], ...]
    # Hash First Degree Quads: the getters of every blank node's lines that hold a value,
    # node after node, and per node (start, stop, its lines without a value)
    first_degree: tuple[_Getter, ...]
    node_lines: tuple[tuple[int, int, tuple[str, ...]], ...]
    # the canonical lines: getters of those that hold a value or a blank node, the others
    lines: tuple[_Getter, ...]
    fixed_lines: tuple[str, ...]


def _compile(template: Template) -> Any:
    """The template's :class:`_Plan`, or ``_NO_PLAN`` where only the general path is exact."""
    if template.has_fixed_literals:
        return _NO_PLAN  # fixed and filled literals on one node: the general path's check
    count = template.blank_nodes
    iris = sorted(template.iri_slots)
    strings = list(template.literal_suffix.items())
    numbers = list(template.literal_meta.items())
    position: dict[Any, int] = {}
    for leaf in [*iris, *(index for index, _ in strings), *(index for index, _ in numbers)]:
        position[leaf] = count + len(position)
    for quad in template.quads:
        for part in (quad[0], quad[2], quad[3]):
            if part is not None and part[0] in ("s", "l") and part[1] not in position:
                return _NO_PLAN
    pieces: dict[str, int] = {}  # fixed text -> its table position
    first = count + len(position)

    suffixes = dict(strings)

    def line(quad: Any, node: int | None) -> tuple[_Getter | None, str]:
        """The getter of the line's pieces, or None and the whole line when it is fixed."""
        subject, predicate, obj, graph = quad
        parts: list[Any] = []  # fixed text, or a table position

        def text(piece: str) -> None:
            if parts and type(parts[-1]) is str:
                parts[-1] += piece
            else:
                parts.append(piece)

        terms = [subject, ("i", predicate), obj] + ([] if graph is None else [graph])
        for number, (kind, value) in enumerate(terms):
            if number:
                text(" ")
            if kind == "i" or kind == "t":
                text(value)
            elif kind == "b":
                if node is None:
                    parts.append(value)
                else:
                    text("_:a" if value == node else "_:z")
            elif kind == "l" and value in suffixes:  # the table holds the escaped text
                text('"')
                parts.append(position[value])
                text('"' + suffixes[value])
            else:
                parts.append(position[value])
        text(" .\n")
        if len(parts) == 1:
            return None, parts[0]
        indexes = [
            part if type(part) is int else pieces.setdefault(part, first + len(pieces))
            for part in parts
        ]
        return itemgetter(*indexes), ""

    def group(quads: list[Any], node: int | None) -> tuple[list[_Getter], list[str]]:
        getters, fixed = [], []
        for quad in quads:
            get, text = line(quad, node)
            if get is None:
                fixed.append(text)
            else:
                getters.append(get)
        return getters, fixed

    mentions: list[list[Any]] = [[] for _ in range(count)]
    for quad in template.quads:
        for part in (quad[0], quad[2], quad[3]):
            if part is not None and part[0] == "b":
                mentions[part[1]].append(quad)  # once per position, as pyld lists them
    first_degree: list[_Getter] = []
    node_lines = []
    for node in range(count):
        getters, fixed = group(mentions[node], node)
        node_lines.append((len(first_degree), len(first_degree) + len(getters), tuple(fixed)))
        first_degree += getters
    getters, fixed = group(template.quads, None)
    return _Plan(
        blank_nodes=count,
        blank_range=tuple(range(count)),
        iri_values=_tuple_getter(iris),
        string_values=_tuple_getter([index for index, _ in strings]),
        numbers=tuple((index, meta, _number_suffixes(meta)) for index, meta in numbers),
        pieces=tuple(pieces),
        merge_rows=tuple(
            _merge_row(template.quads[row], position)
            for row in _rows_that_may_merge(template.quads)
        ),
        first_degree=tuple(first_degree),
        node_lines=tuple(node_lines),
        lines=tuple(getters),
        fixed_lines=tuple(fixed),
    )


def _tuple_getter(indexes: list[int]) -> Callable[[list[Any]], tuple[Any, ...]]:
    """``itemgetter`` that always returns a tuple (itemgetter(i) returns the item)."""
    if not indexes:
        return lambda _: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda values: (values[only],)
    return itemgetter(*indexes)


def _number_suffixes(meta: dict[str, Any]) -> tuple[str, str, str] | None:
    """What follows a boolean, integer and double's quoted text, where pyld's rule for it
    is a plain default datatype (None: run pyld's rules for every value)."""
    datatype = meta.get("@type")
    if set(meta) - {"@type"} or not (datatype is None or type(datatype) is str):
        return None
    if datatype in ("@json", _XSD_DOUBLE):
        return None

    def suffix(default: str) -> str:
        chosen = datatype or default
        if chosen == _RDF_LANGSTRING or chosen == _XSD_STRING:
            return ""  # no language: _literal_nquads writes nothing after the quotes
        return "^^<" + chosen + ">"

    return suffix(_XSD_BOOLEAN), suffix(_XSD_INTEGER), suffix(_XSD_DOUBLE)


def _number_nquads(value: Any, suffixes: tuple[str, str, str] | None) -> str | None:
    """pyld's ``_object_to_rdf`` for a boolean or number, written as N-Quads (None: ask it)."""
    if suffixes is None:
        return None
    kind = type(value)
    if kind is bool:
        return ('"true"' if value else '"false"') + suffixes[0]
    if kind is float and not value.is_integer():
        if not math.isfinite(value):
            return None
        return '"' + _double_text(value) + '"' + suffixes[2]
    if (kind is int or kind is float) and abs(value) < 1e21:
        return '"' + str(int(value)) + '"' + suffixes[1]
    return None  # huge numbers, strings: pyld's own rules


def _double_text(value: float) -> str:
    """pyld's canonical xsd:double text (its ``_canonicalize_double``) without a regex:
    trailing zeros of the mantissa dropped down to one decimal, the exponent as an int."""
    mantissa, exponent = f"{value:1.15E}".split("E")
    mantissa = mantissa.rstrip("0")
    if mantissa[-1] == ".":
        mantissa += "0"
    return mantissa + "E" + str(int(exponent))


def _rows_that_may_merge(quads: list[Any]) -> list[int]:
    """Rows whose filled form could equal another row's (same predicate, and every other
    term either the same fixed term or an IRI slot that might hold it)."""
    by_predicate: dict[str, list[int]] = {}
    for row, quad in enumerate(quads):
        by_predicate.setdefault(quad[1], []).append(row)
    involved: set[int] = set()
    for rows in by_predicate.values():
        for place, first in enumerate(rows):
            for second in rows[place + 1 :]:
                a, b = quads[first], quads[second]
                if (
                    _node_may_equal(a[0], b[0])
                    and _object_may_equal(a[2], b[2])
                    and _node_may_equal(a[3], b[3])
                ):
                    involved.update((first, second))
    return sorted(involved)


def _node_may_equal(a: _Component | None, b: _Component | None) -> bool:
    if a is None or b is None:
        return a is b
    if a[0] == "s" or b[0] == "s":  # an IRI slot may hold any IRI, never a blank node
        return a[0] in ("s", "i") and b[0] in ("s", "i")
    return a == b


def _object_may_equal(a: _Component, b: _Component) -> bool:
    if a[0] == "l" or b[0] == "l":  # a filled literal's identity meets only another one
        return a[0] == b[0]
    return _node_may_equal(a, b)


def _merge_row(quad: Any, position: dict[int, int]) -> tuple[Any, str, Any, Any, int | None]:
    def term(part: _Component | None) -> Any:
        if part is None:
            return None
        kind, value = part
        if kind == "b":
            return value
        return position[value] if kind in ("s", "l") else value

    subject, predicate, obj, graph = quad
    literal = obj[1] if obj[0] == "l" else None
    return term(subject), predicate, term(obj), term(graph), literal


def _rows_merge(
    rows: tuple[tuple[Any, str, Any, Any, int | None], ...],
    terms: list[Any],
    leaves: list[Any],
    template: Template,
) -> bool:
    """Whether two of ``rows`` are one quad to pyld (keys as in :meth:`_rows`)."""
    identity = template.literal_identity
    seen = set()
    for subject, predicate, obj, graph, literal in rows:
        if literal is not None:
            value = leaves[literal]
            obj = ("l", value, type(value) is bool, identity[literal])
        elif type(obj) is int:
            obj = terms[obj]
        key = (
            terms[subject] if type(subject) is int else subject,
            predicate,
            obj,
            terms[graph] if type(graph) is int else graph,
        )
        if key in seen:
            return True
        seen.add(key)
    return False


_C14N_LABELS = tuple(f"_:c14n{rank}" for rank in range(256))


def _c14n_label(rank: int) -> str:
    return _C14N_LABELS[rank] if rank < 256 else f"_:c14n{rank}"


# ---------------------------------------------------------------------------------------
# building a template
# ---------------------------------------------------------------------------------------
def build_template(
    document: dict[str, Any],
    leaves: list[Any],
    structural: frozenset[int],
    *,
    cache: TemplateCache,
    expand: Callable[[jsonld.JsonLdProcessor, dict[str, Any]], Any],
    to_rdf: Callable[[Any], dict[str, list[Any]]],
    on_property_dropped: Callable[[str | None], None],
) -> Template:
    """Probe pyld once with sentinels in the non-structural leaves; return the template.

    ``expand(processor, probe)`` runs the strict expansion (it raises the document's own
    errors); ``to_rdf(expanded)`` turns the expanded probe into a pyld dataset.
    """
    token = secrets.token_hex(8)
    prefix_terms = cache.prefix_terms | _inline_terms(document)

    def iri_ok(value: Any) -> bool:
        return cache.iri_ok(value, prefix_terms)

    tracer = _Tracer(leaves, token, iri_ok, on_property_dropped)
    probe = _substitute(document, cache.steering_keys, structural, tracer.literal_sentinel, [0])
    try:
        expanded = expand(tracer, probe)
    except Exception as exc:
        control = find_cause(exc, TemplateControl)
        if control is not None:
            raise control from None
        raise
    if _mentions(expanded, "@index"):
        raise NotTemplatable("index maps: pyld compares values with their @index")
    substituted = {i for i, leaf in enumerate(leaves) if i not in structural and leaf is not None}
    if substituted != set(tracer.literal_slots) | tracer.iri_slots:
        raise NotTemplatable("a leaf was consumed outside value expansion")
    dataset = to_rdf(expanded)
    return _template_from_dataset(dataset, tracer, token, prefix_terms)


def _mentions(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(_mentions(item, key) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, key) for item in value)
    return False



def _inline_terms(value: Any) -> frozenset[str]:
    """Every member name inside the document's own inline contexts."""
    names: set[str] = set()

    def collect(item: Any, inside: bool) -> None:
        if isinstance(item, dict):
            for key, member in item.items():
                if inside:
                    names.add(key)
                collect(member, inside or key == "@context")
        elif isinstance(item, list):
            for member in item:
                collect(member, inside)

    collect(value, False)
    return frozenset(names)


def _template_from_dataset(
    dataset: dict[str, list[Any]], tracer: _Tracer, token: str, prefix_terms: frozenset[str]
) -> Template:
    blank: dict[str, int] = {}
    quads = []
    for graph_name, triples in dataset.items():
        graph = (
            None
            if graph_name == "@default"
            else _component(
                {
                    "type": "blank node" if graph_name.startswith("_:") else "IRI",
                    "value": graph_name,
                },
                blank,
                tracer,
                token,
            )
        )
        for triple in triples:
            predicate = triple["predicate"]
            if predicate["type"] != "IRI" or token in predicate["value"]:
                raise NotTemplatable("unexpected predicate")
            quads.append(
                (
                    _component(triple["subject"], blank, tracer, token),
                    "<" + predicate["value"] + ">",
                    _component(triple["object"], blank, tracer, token),
                    graph,
                )
            )
    suffixes: dict[int, str] = {}
    metas: dict[int, dict[str, Any]] = {}
    for index, meta in tracer.literal_slots.items():
        suffix = _string_suffix(tracer.leaves[index], meta)
        if suffix is None:
            metas[index] = meta
        else:
            suffixes[index] = suffix
    if len(set(quads)) != len(quads):
        raise NotTemplatable("pyld emitted the same quad twice")
    identity = {
        index: (meta.get("@type"), meta.get("@language"))
        for index, meta in tracer.literal_slots.items()
    }
    fixed = any(quad[2][0] == "t" for quad in quads)
    return Template(
        quads,
        len(blank),
        suffixes,
        metas,
        frozenset(tracer.iri_slots),
        prefix_terms,
        identity,
        fixed,
    )


def _string_suffix(value: Any, meta: dict[str, Any]) -> str | None:
    """What follows a string literal's quoted text, when pyld's rule is a plain copy."""
    if type(value) is not str or "@direction" in meta:
        return None
    datatype = meta.get("@type")
    if datatype is None:
        language = meta.get("@language")
        return "@" + language if language else ""
    if datatype in ("@json", _XSD_DOUBLE):
        return None
    return "" if datatype == _XSD_STRING else "^^<" + datatype + ">"


def _component(
    term: dict[str, Any], blank: dict[str, int], tracer: _Tracer, token: str
) -> _Component:
    kind, value = term["type"], term["value"]
    if kind == "blank node":
        return ("b", blank.setdefault(value, len(blank)))
    if kind == "IRI":
        prefix = f"urn:vcwslot{token}:"
        if value.startswith(prefix):
            return ("s", int(value[len(prefix) :]))
        if token in value:
            raise NotTemplatable("a slot was folded into an IRI")
        return ("i", "<" + value + ">")
    number = _slot_number(value, token)
    if number in tracer.literal_slots and value == tracer.literal_sentinel(number):
        return ("l", number)
    if token in value or token in term.get("datatype", ""):
        raise NotTemplatable("a slot was folded into a literal")
    literal = {"type": "literal", "value": value, "datatype": term["datatype"]}
    if term.get("language"):
        literal["language"] = term["language"]
    return ("t", _literal_nquads(literal))


def _slot_number(value: str, token: str) -> int:
    prefix = f"vcwslot{token}n"
    if value.startswith(prefix) and value[len(prefix) :].isdigit():
        return int(value[len(prefix) :])
    return -1
