"""The ONE place where the service turns failures into HTTP statuses and JSON bodies.

Every error answer has the same shape::

    {"error": {"status": 403, "type": "ProofPurposeError", "message": "..."}}

vcwallet errors map by class (most specific first); anything else is a 500 whose body
names no exception and carries no traceback (the traceback goes to the server's log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import errors

LOG = logging.getLogger("vcwallet.service")

# (exception class, HTTP status), most specific first: the first match wins.
STATUS_FOR_ERROR: tuple[tuple[type[BaseException], int], ...] = (
    (errors.UnknownCredential, 404),
    (errors.SchemaValidationError, 422),
    (errors.MalformedDocumentError, 400),
    (errors.PolicyError, 403),
    (errors.NotYetValid, 403),
    (errors.Expired, 403),
    (errors.VerificationError, 403),
    (errors.ResolutionError, 422),
    (errors.LedgerCorrupted, 500),
    (errors.LedgerError, 400),
    (errors.TransportError, 502),
    (errors.KeyFileError, 500),
    (errors.VcwalletError, 400),
    (ValueError, 400),
)
# StatusListError says why in .reason
_STATUS_LIST_REASONS = {"unknown": 404, "duplicate": 409, "permanent": 409, "full": 507}


class ApiError(Exception):
    """A refusal a route decides itself (authentication, a missing parameter, 404s)."""

    def __init__(self, status: int, message: str, *, kind: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or reason_phrase(status)
        self.headers = headers


_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType",
            422: "UnprocessableEntity", 500: "InternalError", 501: "NotImplemented",
            503: "ServiceUnavailable"}


def reason_phrase(status: int) -> str:
    """The error ``type`` for a refusal that is not a vcwallet exception."""
    return _REASONS.get(status, "Error")


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "type": kind, "message": message[:2000]}}


def error_response(status: int, kind: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, kind, message), status_code=status, headers=headers)


def status_for(exc: BaseException) -> int:
    """The HTTP status for ``exc`` (500 when nothing in the table matches)."""
    if isinstance(exc, errors.StatusListError):
        return _STATUS_LIST_REASONS.get(exc.reason, 503)
    for cls, status in STATUS_FOR_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def response_for(exc: BaseException) -> JSONResponse:
    """The JSON answer for any exception a route let escape."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.kind, exc.message, exc.headers)
    status = status_for(exc)
    if status >= 500:
        LOG.error("request failed", exc_info=exc)
        if not isinstance(exc, errors.VcwalletError):
            return error_response(500, "InternalError", "the server could not answer")
    return error_response(status, type(exc).__name__, str(exc))


async def _any(request: Request, exc: Exception) -> Response:
    del request
    return response_for(exc)


async def _http(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown route, wrong method) in our shape."""
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    return error_response(exc.status_code, reason_phrase(exc.status_code), message,
                          dict(exc.headers) if exc.headers else None)


async def _invalid(request: Request, exc: Exception) -> Response:
    """FastAPI's parameter validation (query strings): 400 in our shape, not 422."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in exc.errors()[:5])
    return error_response(400, "BadRequest", problems or "invalid request")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure of ``app`` through this module."""
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    for kind in (ApiError, errors.VcwalletError, ValueError):
        app.add_exception_handler(kind, _any)
    app.add_exception_handler(Exception, _any)  # the catch-all: 500 without a traceback
