"""Answering a verifier's request: which held credentials, and which of their claims, to present.

Low level, pure functions over credential JSON. A request is either a DIF Presentation
Exchange 2.x ``presentation_definition`` or an OpenID4VP 1.0 DCQL query;
:func:`parse_request` tells them apart and validates, :func:`select` picks credentials.

How a wallet should call this (see docs/requests.md): keep a :class:`CandidateIndex` (or any
:class:`CandidateSource`, e.g. one backed by a SQL index on ``type`` / ``vct``) and pass it to
:func:`select`; each requirement asks the source only for credentials that can match
(:class:`Hint`: formats and exact values such as ``type`` / ``vct`` / ``achievementType``),
so a request costs little even over 100,000 credentials. A plain iterable works too (it is
scanned once per requirement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import MalformedDocumentError
from ._common import (
    DCQL_FORMATS,
    DI,
    FORMATS,
    PE_DEFAULT_ID,
    PE_FORMATS,
    SD_JWT,
    VC_COSE,
    VC_JWT,
    Candidate,
    CandidateIndex,
    CandidateSource,
    ClaimPath,
    Hint,
    Match,
    Selection,
    build_submission,
    format_path,
    normalize_format,
)
from .dcql import DcqlQuery, parse_dcql, resolve_claims_path, select_dcql
from .presentation_exchange import (
    PresentationDefinition,
    parse_definition,
    select_pe,
)

__all__ = [
    "DCQL_FORMATS",
    "DI",
    "FORMATS",
    "PE_DEFAULT_ID",
    "PE_FORMATS",
    "SD_JWT",
    "VC_COSE",
    "VC_JWT",
    "Candidate",
    "CandidateIndex",
    "CandidateSource",
    "ClaimPath",
    "DcqlQuery",
    "Hint",
    "Match",
    "PresentationDefinition",
    "Selection",
    "build_submission",
    "format_path",
    "normalize_format",
    "parse_request",
    "resolve_claims_path",
    "select",
]


def parse_request(request: Any) -> PresentationDefinition | DcqlQuery:
    """Recognise and validate a request; raise :class:`MalformedDocumentError`.

    Accepted: ``{"presentation_definition": {...}}``, a bare definition (has
    ``input_descriptors``), ``{"dcql_query": {...}}`` or a bare DCQL query (has ``credentials``).
    Already parsed requests are returned as they are.
    """
    if isinstance(request, PresentationDefinition | DcqlQuery):
        return request
    if not isinstance(request, Mapping):
        raise MalformedDocumentError("request must be a JSON object")
    if "presentation_definition" in request:
        return parse_definition(request["presentation_definition"])
    if "dcql_query" in request:
        return parse_dcql(request["dcql_query"])
    if "input_descriptors" in request:
        return parse_definition(request)
    if "credentials" in request:
        return parse_dcql(request)
    raise MalformedDocumentError(
        "request is neither a presentation definition (input_descriptors) nor a DCQL query (credentials)"
    )


def select(request: Any, candidates: Iterable[Candidate] | CandidateSource) -> Selection:
    """Choose the credentials (and claims) that answer ``request``.

    ``candidates``: a :class:`CandidateSource` (preferred: an index) or any iterable of
    :class:`Candidate`. Raises :class:`MalformedDocumentError` for a bad request and
    :class:`~vcwallet.errors.UnmetRequirement` naming the requirement no credential meets.
    """
    parsed = parse_request(request)
    source = candidates if isinstance(candidates, CandidateSource) else list(candidates)
    if isinstance(parsed, PresentationDefinition):
        return select_pe(parsed, source)
    return select_dcql(parsed, source)
