"""JSON-LD safety: the offline document loader, strict expansion and bounded RDFC-1.0.

Low level. Everything JSON-LD in vcwallet goes through this module, because pyld's defaults
are unsafe for signed data:

* it fetches contexts from the network: :class:`DocumentLoader` serves only the contexts
  bundled in ``vcwallet/contexts/`` (plus any the caller hands it) and raises
  :class:`UnknownContextError` for every other URL. The loader is passed to pyld per call;
  the process-wide ``jsonld.set_document_loader`` is never touched.
* it silently drops undefined properties and types (so a typo'd claim is signed as if it
  were absent): :func:`expand` turns every drop into :class:`UndefinedTermError`. An inline
  ``@vocab`` is refused too (it would make every term "defined"), and so is an inline
  redefinition of a protected term (pyld reports it; we keep its verdict). Inline
  definitions of new terms are legitimate and accepted.
* the VC 2.0 "undefined terms" context (``https://www.w3.org/ns/credentials/undefined-terms/v2``)
  is an ``@vocab`` catch-all published by the W3C. A document that names it is refused with
  :class:`UndefinedTermError` unless the verifier opted in with
  ``DocumentLoader(allow_undefined_terms=True)``; with that opt-in such terms expand to
  ``https://www.w3.org/ns/credentials/undefined-term#...`` IRIs, which are signed like any
  other. (The W3C examples contexts also carry an ``@vocab``; they are bundled for the spec
  test vectors and accepted as ordinary published contexts.)
* its canonicalization default is URGNA2012 and it has no work bound: :func:`canonize`
  always runs RDFC-1.0 (``URDNA2015``) and stops a "poison graph" with
  :class:`CanonicalizationLimitError`.
* it resolves relative IRIs against ``http://example.org/base/`` when no base is given
  (pyld 3.3): we pass no base, so a relative ``id`` or an undefined type stays relative
  and is refused instead of being signed as an example.org IRI.

Speed: :func:`canonize` serves documents of a shape the loader has seen from a template
(``vcwallet._canon_cache``), byte-identical to pyld and ~10x faster, presentations too
(their look-alike blank nodes get Hash N-Degree Quads there, under the same work bound);
:func:`validate` gives :func:`expand`'s verdict the same way.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from . import _canon_cache, _json
from .errors import (
    CanonicalizationLimitError,
    MalformedDocumentError,
    UndefinedTermError,
    UnknownContextError,
    VcwalletError,
    find_cause,
)

UNDEFINED_TERMS_V2 = "https://www.w3.org/ns/credentials/undefined-terms/v2"

# rdf-canonize's defaults: a deep-iteration budget linear in the number of blank nodes
# that first-degree hashing could not tell apart.
DEFAULT_MAX_WORK_FACTOR = 1
DEFAULT_MAX_PERMUTATIONS = 20_000

_RESOLVED_CONTEXT_CACHE_SIZE = 256


class DocumentLoader:
    """Serve JSON-LD contexts offline: the bundled ones, plus ``extra`` given by the caller.

    ``extra`` maps URL -> parsed context document (e.g. a verifier's own contexts); it
    overrides a bundled document of the same URL. Bundled files are parsed lazily, once per
    loader. The loader also owns pyld's resolved-context cache and the shape templates of
    :func:`canonize` for its documents, so two loaders never share processed contexts.
    ``use_templates=False`` makes every canonicalization run through pyld (for comparison).
    A loader may be shared between threads: its operations take turns (``lock``).
    """

    def __init__(
        self,
        extra: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        allow_undefined_terms: bool = False,
        use_templates: bool = True,
    ) -> None:
        self._extra: dict[str, Any] = {}
        for url, document in (extra or {}).items():
            if not isinstance(url, str) or not isinstance(document, Mapping):
                raise TypeError("extra must map context URLs to JSON objects")
            _json.check_value(dict(document), where=url)
            self._extra[url] = copy.deepcopy(dict(document))
        self.allow_undefined_terms = allow_undefined_terms
        self.use_templates = use_templates
        self._index: dict[str, str] | None = None
        self._parsed: dict[str, Any] = {}
        self._resolved_contexts: LRUCache[str, Any] = LRUCache(maxsize=_RESOLVED_CONTEXT_CACHE_SIZE)
        self._template_cache: _canon_cache.TemplateCache | None = None
        # pyld's caches and ours are plain dicts: one operation at a time per loader (the
        # work is CPU-bound Python, so the lock costs threads almost nothing under the GIL)
        self.lock = threading.RLock()

    def __repr__(self) -> str:
        return f"DocumentLoader(extra={sorted(self._extra)!r})"

    @property
    def urls(self) -> frozenset[str]:
        """Every context URL this loader can serve."""
        return frozenset(self._bundled_index()) | frozenset(self._extra)

    def document(self, url: str) -> Any:
        """Return a fresh copy of the context document for ``url`` or raise UnknownContextError."""
        return copy.deepcopy(self._load(url))

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """pyld's document-loader interface: a RemoteDocument for ``url``."""
        # pyld rewrites relative URLs inside fetched contexts in place: hand it a copy.
        # 'static' lets pyld keep the processed context in this loader's cache.
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(self._load(url)),
            "tag": "static",
        }

    def context_resolver(self) -> ContextResolver:
        """A pyld context resolver over this loader's own cache (one per operation)."""
        return ContextResolver(self._resolved_contexts, self)

    def pyld_options(self) -> dict[str, Any]:
        """The options every pyld call of ours needs, with this loader plugged in."""
        return {
            "documentLoader": self,
            "contextResolver": self.context_resolver(),
            "base": None,
            "processingMode": "json-ld-1.1",
        }

    # -- internals ------------------------------------------------------------------
    def _load(self, url: str) -> Any:
        if not isinstance(url, str):
            raise UnknownContextError(repr(url))
        if url == UNDEFINED_TERMS_V2 and not self.allow_undefined_terms:
            raise UndefinedTermError(
                "@vocab",
                f"{url} maps every undefined term to a catch-all IRI; refused unless the "
                "loader is built with allow_undefined_terms=True",
            )
        if url in self._extra:
            return self._extra[url]
        return self._load_bundled(url)

    def _load_bundled(self, url: str) -> Any:
        cached = self._parsed.get(url)
        if cached is not None:
            return cached
        filename = self._bundled_index().get(url)
        if filename is None:
            raise UnknownContextError(url)
        text = (resources.files("vcwallet") / "contexts" / filename).read_text("utf-8")
        parsed = _json.loads(text)
        self._parsed[url] = parsed
        return parsed

    def templates(self) -> _canon_cache.TemplateCache:
        """This loader's shape templates for fast canonicalization (built on first use)."""
        if self._template_cache is None:
            steering: set[str] = set()
            terms: set[str] = set()
            for url in sorted(self.urls):
                document = self._extra.get(url)
                if document is None:
                    document = self._load_bundled(url)
                _collect_terms(document, steering, terms, inside=False)
            self._template_cache = _canon_cache.TemplateCache(frozenset(steering), frozenset(terms))
        return self._template_cache

    def _bundled_index(self) -> dict[str, str]:
        if self._index is None:
            text = (resources.files("vcwallet") / "contexts" / "index.json").read_text("utf-8")
            self._index = json.loads(text)
        return self._index


def _collect_terms(value: Any, steering: set[str], terms: set[str], *, inside: bool) -> None:
    """Gather every term name, and the names aliasing a keyword other than ``@id``."""
    if isinstance(value, list):
        for item in value:
            _collect_terms(item, steering, terms, inside=inside)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if inside and not key.startswith("@"):
            terms.add(key)
            target = item.get("@id") if isinstance(item, dict) else item
            if isinstance(target, str) and target.startswith("@") and target != "@id":
                steering.add(key)
        _collect_terms(item, steering, terms, inside=inside or key == "@context")


@functools.cache
def default_loader() -> DocumentLoader:
    """A shared loader over the bundled contexts only (a cache: its behaviour never changes)."""
    return DocumentLoader()


# ---------------------------------------------------------------------------------------
# strict expansion
# ---------------------------------------------------------------------------------------
def expand(document: dict[str, Any], *, loader: DocumentLoader | None = None) -> list[Any]:
    """Expand ``document`` strictly; raise rather than drop anything.

    Raises :class:`UnknownContextError` (context not bundled), :class:`UndefinedTermError`
    (a property or type that would be dropped, an inline ``@vocab``),
    :class:`MalformedDocumentError` (not valid JSON-LD, a protected-term redefinition, a
    relative IRI that RDF would drop).
    """
    loader = loader or default_loader()
    if not isinstance(document, dict):
        raise MalformedDocumentError("a JSON-LD document must be a JSON object")
    _json.check_value(document)
    _refuse_inline_vocab(document)
    with loader.lock:
        expanded: list[Any] = _run_pyld(
            lambda: _processor().expand(document, loader.pyld_options())
        )
    _check_expanded(expanded)
    return expanded


def validate(document: dict[str, Any], *, loader: DocumentLoader | None = None) -> None:
    """Raise what :func:`expand` raises, or return None; fast for a shape seen before.

    For callers that only need the strictness verdict (not the expanded form): it runs
    :func:`canonize`, which uses the loader's shape templates.
    """
    canonize(document, loader=loader)


def _processor() -> jsonld.JsonLdProcessor:
    return jsonld.JsonLdProcessor(on_property_dropped=_property_dropped)


def _property_dropped(expanded_property: str | None) -> None:
    if expanded_property is None:
        raise UndefinedTermError("(null)", "a property mapped to null would be dropped")
    raise UndefinedTermError(expanded_property, "not defined by any context; it would be dropped")


def _refuse_inline_vocab(value: Any) -> None:
    """Refuse ``@vocab`` in any inline context, at any depth of the document."""
    for context in _inline_contexts(value):
        if "@vocab" in context:
            raise UndefinedTermError(
                "@vocab", "an inline @vocab would make every term defined; define terms instead"
            )


def _inline_contexts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                entries = item if isinstance(item, list) else [item]
                yield from (entry for entry in entries if isinstance(entry, dict))
                # scoped contexts inside an inline context can carry @vocab too
                yield from _nested_contexts(entries)
            else:
                yield from _inline_contexts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _inline_contexts(item)


def _nested_contexts(entries: list[Any]) -> Iterator[dict[str, Any]]:
    for entry in entries:
        if isinstance(entry, dict):
            for definition in entry.values():
                if isinstance(definition, dict) and "@context" in definition:
                    yield from _inline_contexts({"@context": definition["@context"]})


def _check_expanded(value: Any) -> None:
    """Find what pyld keeps in expanded form but RDF conversion would silently drop."""
    if isinstance(value, list):
        for item in value:
            _check_expanded(item)
        return
    if not isinstance(value, dict):
        return
    if "@value" in value:
        datatype = value.get("@type")
        if isinstance(datatype, str) and not _is_usable_iri(datatype) and datatype != "@json":
            raise UndefinedTermError(datatype, "value type is not an absolute IRI")
        return
    node_id = value.get("@id")
    if isinstance(node_id, str) and not _is_usable_iri(node_id):
        raise MalformedDocumentError(
            f"relative IRI {node_id!r} would be dropped; use an absolute IRI"
        )
    for type_ in value.get("@type", []):
        if isinstance(type_, str) and not _is_usable_iri(type_):
            raise UndefinedTermError(
                type_, "type is not defined by any context; it would be dropped"
            )
    for key, item in value.items():
        if key not in ("@id", "@type"):
            _check_expanded(item)


def _is_usable_iri(value: str) -> bool:
    return value.startswith("_:") or ":" in value


def _run_pyld(call: Callable[[], Any]) -> Any:
    """Run a pyld call, turning its errors into vcwallet's."""
    try:
        return call()
    except VcwalletError:
        raise
    except jsonld.JsonLdError as exc:
        control = find_cause(exc, _canon_cache.TemplateControl)
        if control is not None:
            raise control from None
        own = find_cause(exc, VcwalletError)
        if own is not None:
            raise own from None
        raise MalformedDocumentError(f"JSON-LD processing failed: {_describe(exc)}") from None
    except RecursionError:
        raise MalformedDocumentError("JSON-LD document is nested too deeply") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # pyld assumes well-formed JSON-LD in places and fails with bare Python errors
        raise MalformedDocumentError(f"JSON-LD processing failed: {type(exc).__name__}") from None



def _describe(exc: jsonld.JsonLdError) -> str:
    """pyld's message and error code for each link of the chain, innermost last."""
    parts = []
    seen: BaseException | None = exc
    while isinstance(seen, jsonld.JsonLdError):
        message = str(seen.args[0]) if seen.args else ""
        parts.append(f"{message} ({seen.code})" if seen.code else message)
        seen = seen.__cause__
    return "; ".join(part for part in parts if part)


# ---------------------------------------------------------------------------------------
# RDFC-1.0
# ---------------------------------------------------------------------------------------
def canonize(
    document: dict[str, Any],
    *,
    loader: DocumentLoader | None = None,
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR,
    max_permutations: int = DEFAULT_MAX_PERMUTATIONS,
    hash_name: str = "sha256",
    fast: bool = True,
    check_json: bool = True,
) -> str:
    """Return the RDFC-1.0 canonical N-Quads of ``document`` (strictly expanded first).

    The work of the blank-node disambiguation step is bounded as in rdf-canonize: each
    blank node that first-degree hashing leaves ambiguous may enter Hash N-Degree Quads
    at most ``n ** max_work_factor`` times (``n`` = number of such nodes), and at most
    ``max_permutations`` permutations are tried in total. Beyond that:
    :class:`CanonicalizationLimitError`. ``hash_name`` is RDFC-1.0's hash parameter
    (SHA-256 by default; ``ecdsa-rdfc-2019`` with P-384 uses SHA-384).

    With ``fast`` (the default) a document whose shape this loader has seen before is
    canonicalised from that shape's template (see ``vcwallet._canon_cache``); the output
    is the same, byte for byte, as with ``fast=False`` (pyld all the way).
    ``check_json=False`` skips the strict-JSON check for a caller that just made it.
    """
    loader = loader or default_loader()
    if not isinstance(document, dict):
        raise MalformedDocumentError("a JSON-LD document must be a JSON object")
    if check_json:
        _json.check_value(document)
    if hash_name not in ("sha256", "sha384"):  # before the fast path, which takes any name
        raise ValueError(f"RDFC-1.0 hash must be sha256 or sha384, not {hash_name!r}")
    bounds: dict[str, Any] = {
        "max_work_factor": max_work_factor,
        "max_permutations": max_permutations,
        "hash_name": hash_name,
    }
    with loader.lock:
        if fast and loader.use_templates:
            templates = loader.templates()
            result = templates.canonize(
                document,
                build=functools.partial(_build_template, cache=templates, loader=loader),
                reference=lambda: _canonize_with_pyld(document, loader, **bounds),
                hash_name=hash_name,
                bounds=(max_work_factor, max_permutations),
            )
            if result is not None:
                return result
        return _canonize_with_pyld(document, loader, **bounds)


def _canonize_with_pyld(document: dict[str, Any], loader: DocumentLoader, **bounds: Any) -> str:
    expanded = expand(document, loader=loader)  # checks strict JSON again: pyld is the slow path
    dataset = _run_pyld(lambda: _processor().to_rdf(expanded, loader.pyld_options()))
    return canonize_dataset(dataset, **bounds)


def _build_template(
    document: dict[str, Any],
    leaves: list[Any],
    structural: frozenset[int],
    *,
    cache: _canon_cache.TemplateCache,
    loader: DocumentLoader,
) -> _canon_cache.Template:
    def strict_expand(processor: jsonld.JsonLdProcessor, probe: dict[str, Any]) -> Any:
        _refuse_inline_vocab(probe)
        expanded = _run_pyld(lambda: processor.expand(probe, loader.pyld_options()))
        _check_expanded(expanded)
        return expanded

    def to_rdf(expanded: Any) -> Any:
        return _run_pyld(lambda: jsonld.JsonLdProcessor().to_rdf(expanded, loader.pyld_options()))

    return _canon_cache.build_template(
        document,
        leaves,
        structural,
        cache=cache,
        expand=strict_expand,
        to_rdf=to_rdf,
        on_property_dropped=_property_dropped,
    )


def canonize_dataset(
    dataset: dict[str, list[Any]],
    *,
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR,
    max_permutations: int = DEFAULT_MAX_PERMUTATIONS,
    hash_name: str = "sha256",
) -> str:
    """RDFC-1.0 over a pyld RDF dataset (it is consumed); bounded as in :func:`canonize`."""
    algorithm = _BoundedRdfc10(
        max_work_factor=max_work_factor, max_permutations=max_permutations, hash_name=hash_name
    )
    try:
        return str(algorithm.main(dataset, {"format": "application/n-quads"}))
    except RecursionError:
        raise CanonicalizationLimitError("RDFC-1.0 recursion too deep") from None


def canonize_nquads(
    nquads: str,
    *,
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR,
    max_permutations: int = DEFAULT_MAX_PERMUTATIONS,
) -> str:
    """RDFC-1.0 over N-Quads text (used to test the work bound on hand-made graphs)."""
    try:
        dataset = jsonld.JsonLdProcessor.parse_nquads(nquads)
    except jsonld.JsonLdError:
        raise MalformedDocumentError("not valid N-Quads") from None
    return canonize_dataset(
        dataset, max_work_factor=max_work_factor, max_permutations=max_permutations
    )


class _BoundedRdfc10(URDNA2015):  # type: ignore[misc]
    """pyld's URDNA2015 (= RDFC-1.0) with rdf-canonize's deep-iteration bound."""

    def __init__(self, *, max_work_factor: int, max_permutations: int, hash_name: str) -> None:
        super().__init__()
        if hash_name not in ("sha256", "sha384"):
            raise ValueError(f"RDFC-1.0 hash must be sha256 or sha384, not {hash_name!r}")
        self._hash_name = hash_name
        self._max_work_factor = max_work_factor
        self._permutations_left = max_permutations
        self._deep_iterations: dict[str, int] = {}
        self._max_deep_iterations: int | None = None

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        if self._max_deep_iterations is None:
            # first call: every node still without a canonical id is ambiguous
            ambiguous = len(self.blank_node_info) - len(self.canonical_issuer.existing)
            self._max_deep_iterations = (
                0 if self._max_work_factor <= 0 else max(1, ambiguous) ** self._max_work_factor
            )
        count = self._deep_iterations.get(id_, 0) + 1
        if count > self._max_deep_iterations:
            raise CanonicalizationLimitError(
                f"RDFC-1.0 deep iterations exceeded ({self._max_deep_iterations} per blank node): "
                "the graph looks like a poison graph"
            )
        self._deep_iterations[id_] = count
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash(self) -> Any:
        return hashlib.new(self._hash_name)

    def modify_first_degree_component(self, id_: str, component: Any, key: str) -> Any:
        # pyld deep-copies a blank node term just to relabel it: a fresh term is the same
        if component["type"] != "blank node":
            return component
        return {"type": "blank node", "value": "_:a" if component["value"] == id_ else "_:z"}

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        related: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        for nodes in related.values():
            self._spend_permutations(nodes)
        return related

    def _spend_permutations(self, nodes: list[str]) -> None:
        # a node related through several quads is listed once per quad, and the
        # permutations tried are those of that multiset: n! / (m1! m2! ...), an upper bound
        cost, placed = 1, 0
        for count in Counter(nodes).values():
            placed += count
            cost *= math.comb(placed, count)
            if cost > self._permutations_left:
                break
        self._permutations_left -= cost
        if self._permutations_left < 0:
            raise CanonicalizationLimitError(
                "RDFC-1.0 permutation budget exceeded: the graph looks like a poison graph"
            )


__all__ = [
    "DEFAULT_MAX_PERMUTATIONS",
    "DEFAULT_MAX_WORK_FACTOR",
    "UNDEFINED_TERMS_V2",
    "DocumentLoader",
    "canonize",
    "canonize_dataset",
    "canonize_nquads",
    "default_loader",
    "expand",
    "validate",
]
