"""The issuer's HTTP service: a thin FastAPI adapter over :class:`vcwallet.issuer.Issuer`.

Routes (OpenAPI at ``/openapi.json``, interactive docs at ``/docs``):

* ``POST /credentials/issue`` (bearer): issue one credential (W3C VC API shape)
* ``POST /credentials/issue-batch`` (bearer): issue a class in one ledger batch
* ``POST /credentials/status`` (bearer): revoke / suspend / unsuspend
* ``POST /credentials/verify``: verify a credential (own status lists read directly)
* ``POST /presentations/verify``: verify a presentation
* ``POST /consent/credential`` (employer API key): consented release
* ``GET /.well-known/did.json``: the issuer's did:web document
* ``GET /status/{list_id}``: a signed BitstringStatusListCredential
* ``GET /ledger/checkpoint``: the latest signed checkpoint (note text)
* ``GET /ledger/inclusion``: inclusion proof by leaf hash
* ``GET /ledger/consistency``: consistency proof between two sizes
* ``GET /ledger/evidence``: checkpoint + inclusion + consistency in one round trip
* ``POST /ledger/evidence``: the same for many leaves at once (a verifier's batch)
* ``GET /ledger/key``: the log's origin and public key

Bodies are read with vcwallet's strict JSON (duplicate members and NaN refused) and capped
by :class:`BodyLimit`. Read routes are ``async`` (fast SQLite reads on the event loop, no
thread hop); routes that sign run in the thread pool. Errors are mapped in
:mod:`vcwallet.service.errors`, nowhere else. ``POST /ledger/evidence``, a verifier's
round trip per presentation, is answered ahead of the router by :class:`EvidenceFastPath`
from memoised proofs (:mod:`vcwallet.service.evidence`).
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from .. import _json, status
from ..credentials import verify_credential
from ..did import DidResolver, StaticResolver
from ..errors import LedgerError, MalformedDocumentError, ResolutionError, VcwalletError
from ..issuer import IssuedCredential, Issuer, IssueRequest, wire_form
from ..model import all_hold
from .config import ServiceConfig
from .errors import ApiError, error_response, install_error_handlers, response_for
from .evidence import EvidenceAnswers, evidence_request, leaf_hash_param

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BATCH = 1000  # credentials per /credentials/issue-batch request
_STATUS_ACTIONS = {"revoked": "revoke", "suspended": "suspend", "active": "unsuspend"}


# --------------------------------------------------------------------------------------
# request size limit
# --------------------------------------------------------------------------------------
class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413: at once when Content-Length says so, or
    while reading when a chunked body grows past it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "BadRequest", "Content-Length is not a number")(
                    scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, "PayloadTooLarge", self._message())(scope, receive, send)


# --------------------------------------------------------------------------------------
# the verifier's hot route, without the router
# --------------------------------------------------------------------------------------
_EVIDENCE_HEADERS = (b"content-type", b"application/json")


class EvidenceFastPath:
    """``POST /ledger/evidence`` answered here, ahead of FastAPI's routing, parameter
    machinery and response classes, which cost more than the answer itself (a verifier
    sends one per issuer per presentation). Same checks, same bytes, same errors as the
    route (:meth:`_Routes.evidence_batch`), which stays for the OpenAPI document and for
    any request this does not take (an app mounted under a root path)."""

    def __init__(self, app: ASGIApp, *, answers: EvidenceAnswers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/ledger/evidence" \
                or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._answer(scope, receive)
        except (ApiError, VcwalletError, ValueError) as exc:  # what the route's handlers map
            await response_for(exc)(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(body)).encode("latin-1")), _EVIDENCE_HEADERS]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive) -> bytes:
        _check_json_type(_first_header(scope, b"content-type"))
        wanted, since = evidence_request(_parse_json_body(await _read_body(receive)))
        return self.answers.answer(wanted, since)


def _first_header(scope: Scope, name: bytes) -> str:
    """The first ``name`` header's value, as Starlette's ``Headers.get`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, as Starlette's ``Request.body`` reads it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
async def _json_body(request: Request) -> dict[str, Any]:
    _check_json_type(request.headers.get("content-type", ""))
    return _parse_json_body(await request.body())


def _check_json_type(content_type: str) -> None:
    kind = content_type.split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "send the body as application/json")


def _parse_json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = _json.loads(raw)
    except MalformedDocumentError as exc:
        raise ApiError(400, f"body is not strict JSON: {exc}", kind="MalformedDocumentError") \
            from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def _object(body: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = body.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be a JSON object")
    return value


def _optional_text(holder: dict[str, Any], name: str) -> str | None:
    value = holder.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise ApiError(400, f"{name} must be a non-empty string")
    return value


def _secured_input(value: Any) -> dict[str, Any] | str | bytes:
    """A credential as the VC API carries it: a JSON object, a JWT, or base64 COSE."""
    if isinstance(value, dict | str):
        return value
    raise ApiError(400, "verifiableCredential must be a JSON object or a string")


def _refuse_fetch(url: str) -> bytes:
    raise ResolutionError(f"this service resolves only its own did:web, not {url[:200]}")


# --------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------
def create_app(issuer: Issuer, config: ServiceConfig) -> FastAPI:
    """The ASGI app serving ``issuer`` under ``config`` (auth, limits, docs)."""
    app = FastAPI(
        title=f"{issuer.name} (vcwallet issuer)",
        summary="Issue, revoke and anchor W3C Verifiable Credentials; "
                "serve did:web, status lists and the ledger.",
        version="1",
        docs_url="/docs" if config.docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if config.docs else None,
    )
    install_error_handlers(app)
    routes = _Routes(issuer, config)
    routes.register(app)
    # added first, so it sits inside BodyLimit: the same 413s apply to it
    app.add_middleware(EvidenceFastPath, answers=routes.answers)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.state.issuer = issuer
    return app


_bearer = HTTPBearer(auto_error=False, description="a token from [auth].issue_tokens")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="an employer's key from [[auth.employers]]")


class _Routes:
    """The route handlers, closed over one issuer and its configuration."""

    def __init__(self, issuer: Issuer, config: ServiceConfig) -> None:
        self.issuer = issuer
        self.config = config
        self._tokens = [t.encode("utf-8") for t in config.issue_tokens]
        self._employers = [(e.id, e.api_key.encode("utf-8")) for e in config.employers]
        self._did_json = _json.dumps(issuer.did_document()).encode("utf-8")
        # list id -> (signed copy, its bytes, media type): one serialisation per signing
        self._list_bodies: dict[str, tuple[Any, bytes, str]] = {}
        self._resolver = StaticResolver({issuer.did: issuer.did_document()},
                                        fallback=DidResolver(fetch=_refuse_fetch))
        self.answers = EvidenceAnswers(issuer)

    # -- auth ---------------------------------------------------------------------------------
    def staff(self, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                           Depends(_bearer)]) -> None:
        """Issuing and status changes need a bearer token from the configuration."""
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, "a bearer token is required", headers=challenge)
        offered = credentials.credentials.encode("utf-8")
        # compare with every token, so the time taken does not tell which one nearly matched
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(offered, token)
        if not matched:
            raise ApiError(401, "the bearer token is not valid", headers=challenge)

    def employer(self, key: Annotated[str | None, Depends(_api_key)]) -> str:
        """Consented releases need an employer's API key; the employer it names."""
        if not key:
            raise ApiError(401, "an X-API-Key header is required")
        offered = key.encode("utf-8")
        found = None
        for employer_id, employer_key in self._employers:
            if hmac.compare_digest(offered, employer_key):
                found = employer_id
        if found is None:
            raise ApiError(401, "the API key is not valid")
        return found

    # -- registration ---------------------------------------------------------------------------
    def register(self, app: FastAPI) -> None:
        staff = [Depends(self.staff)]
        app.add_api_route("/credentials/issue", self.issue, methods=["POST"], status_code=201,
                          dependencies=staff, tags=["VC API"],
                          openapi_extra=_body_doc(_ISSUE_EXAMPLE))
        app.add_api_route("/credentials/issue-batch", self.issue_batch, methods=["POST"],
                          status_code=201, dependencies=staff, tags=["issuing"],
                          openapi_extra=_body_doc({"items": [_ISSUE_EXAMPLE]}))
        app.add_api_route("/credentials/status", self.change_status, methods=["POST"],
                          dependencies=staff, tags=["VC API"],
                          openapi_extra=_body_doc({"credentialId": "urn:uuid:...",
                                                   "status": "revoked"}))
        app.add_api_route("/credentials/verify", self.verify_credential, methods=["POST"],
                          tags=["VC API"],
                          openapi_extra=_body_doc({"verifiableCredential": {}, "options": {}}))
        app.add_api_route("/presentations/verify", self.verify_presentation, methods=["POST"],
                          tags=["VC API"], openapi_extra=_body_doc(
                              {"verifiablePresentation": {},
                               "options": {"challenge": "...", "domain": "..."}}))
        # a default, not an annotation: annotations are strings here and cannot see `self`
        employer_dependency = Depends(self.employer)

        async def consent(request: Request, employer: str = employer_dependency) -> Response:
            """Release a credential to the authenticated employer under the holder's consent:
            ``{"consent": "<vp+jwt>"}``."""
            return await self.consent(request, employer)

        app.add_api_route("/consent/credential", consent, methods=["POST"],
                          tags=["consent"], openapi_extra=_body_doc({"consent": "<vp+jwt>"}))
        app.add_api_route("/.well-known/did.json", self.did_json, methods=["GET"],
                          tags=["did:web"])
        # a service mounted under a path (base_url https://host/dept) is did:web:host:dept,
        # whose document did:web reads from <base>/did.json
        app.add_api_route("/did.json", self.did_json, methods=["GET"], include_in_schema=False)
        app.add_api_route("/status/{list_id}", self.status_list, methods=["GET"],
                          tags=["status"])
        app.add_api_route("/ledger/checkpoint", self.checkpoint, methods=["GET"],
                          tags=["ledger"], response_class=PlainTextResponse)
        app.add_api_route("/ledger/inclusion", self.inclusion, methods=["GET"], tags=["ledger"])
        app.add_api_route("/ledger/consistency", self.consistency, methods=["GET"],
                          tags=["ledger"])
        app.add_api_route("/ledger/evidence", self.evidence, methods=["GET"], tags=["ledger"])
        app.add_api_route("/ledger/evidence", self.evidence_batch, methods=["POST"],
                          tags=["ledger"], openapi_extra=_body_doc(
                              {"leafHashes": ["<64 hex digits>"], "since": 0}))
        app.add_api_route("/ledger/key", self.ledger_key, methods=["GET"], tags=["ledger"])

    # -- VC API -----------------------------------------------------------------------------------
    async def issue(self, request: Request) -> JSONResponse:
        """Issue one credential: ``{"credential": {type, credentialSubject, validUntil?},
        "options": {credentialType?, format?, holder?}}``."""
        wanted = self._issue_request(await _json_body(request))
        issued = (await run_in_threadpool(self.issuer.issue_many, [wanted]))[0]
        return JSONResponse(_issued_json(issued), status_code=201)

    async def issue_batch(self, request: Request) -> JSONResponse:
        """Issue a whole class in one durable ledger batch (one checkpoint):
        ``{"items": [<issue body>, ...]}``, at most :data:`MAX_BATCH` items; all or none."""
        items = (await _json_body(request)).get("items")
        if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
            raise ApiError(400, f"items must be a list of 1 to {MAX_BATCH} issue requests")
        wanted = []
        for item in items:
            if not isinstance(item, dict):
                raise ApiError(400, "each item must be a JSON object")
            wanted.append(self._issue_request(item))
        issued = await run_in_threadpool(self.issuer.issue_many, wanted)
        return JSONResponse({"issued": [_issued_json(one) for one in issued]}, status_code=201)

    def _issue_request(self, body: dict[str, Any]) -> IssueRequest:
        credential = _object(body, "credential")
        options = _object(body, "options", required=False)
        subject = credential.get("credentialSubject")
        if not isinstance(subject, dict):
            raise ApiError(400, "credential.credentialSubject must be a JSON object")
        type_name = _optional_text(options, "credentialType") or self._type_from(credential)
        valid_until = _optional_text(credential, "validUntil")
        return IssueRequest(type_name, subject, _optional_text(options, "format") or "di-eddsa",
                            _optional_text(options, "holder"),
                            _datetime(valid_until) if valid_until else None)

    def _type_from(self, credential: dict[str, Any]) -> str:
        from ..credential_types import credential_type

        stated = credential.get("type")
        stated_set = set(stated if isinstance(stated, list) else [stated])
        fits = [name for name in self.issuer.credential_types
                if set(credential_type(name).vc_types) <= stated_set]
        if len(fits) != 1:
            raise ApiError(400, "name the credential type in options.credentialType "
                                f"(one of {', '.join(self.issuer.credential_types)})")
        return fits[0]

    async def change_status(self, request: Request) -> JSONResponse:
        """``{"credentialId": ..., "status": "revoked" | "suspended" | "active"}``."""
        body = await _json_body(request)
        credential_id = body.get("credentialId")
        wanted = body.get("status")
        if not isinstance(credential_id, str) or not credential_id:
            raise ApiError(400, "credentialId must be a non-empty string")
        if wanted not in _STATUS_ACTIONS:
            raise ApiError(400, "status must be one of revoked, suspended, active")
        action = getattr(self.issuer, _STATUS_ACTIONS[wanted])
        change = await run_in_threadpool(action, credential_id)
        return JSONResponse(change.to_json())

    async def verify_credential(self, request: Request) -> JSONResponse:
        """Verify a credential; this issuer's own status lists are read directly."""
        body = await _json_body(request)
        data = _secured_input(body.get("verifiableCredential"))
        result = await run_in_threadpool(self._verify, data)
        return JSONResponse(result)

    def _verify(self, data: dict[str, Any] | str | bytes) -> dict[str, Any]:
        result = verify_credential(data, resolver=self._resolver)
        if result.credential is None or "credentialStatus" not in result.credential:
            return result.to_json()
        results = status.check_status(result.credential, fetch_list=self._own_list,
                                      resolver=self._resolver)
        check = status.status_check(results)
        checks = tuple(check if c.name == "status" else c for c in result.checks)
        merged = dataclasses.replace(result, checks=checks,
                                     verified=result.verified and all_hold(checks))
        answer = merged.to_json()
        answer["status"] = [r.to_json() for r in results]
        return answer

    def _own_list(self, url: str) -> Any:
        return self.issuer.status_list_credential(self.issuer.status.list_id_for_url(url))

    async def verify_presentation(self, request: Request) -> JSONResponse:
        """Verify a presentation for ``options.challenge`` and ``options.domain``."""
        body = await _json_body(request)
        try:
            from ..presentations import verify_presentation
        except ImportError:
            raise ApiError(501, "presentation verification is not available in this build") \
                from None
        vp = body.get("verifiablePresentation")
        if not isinstance(vp, dict | str):
            raise ApiError(400, "verifiablePresentation must be a JSON object or a string")
        options = _object(body, "options")
        challenge = _optional_text(options, "challenge")
        domain = _optional_text(options, "domain")
        if challenge is None or domain is None:
            raise ApiError(400, "options.challenge and options.domain are required")
        result = await run_in_threadpool(verify_presentation, vp, challenge=challenge,
                                         domain=domain, resolver=self._resolver)
        return JSONResponse(result.to_json())

    # -- consent ----------------------------------------------------------------------------------
    async def consent(self, request: Request, employer: str) -> JSONResponse:
        body = await _json_body(request)
        consent = body.get("consent")
        if not isinstance(consent, str):
            raise ApiError(400, "consent must be a vp+jwt string")
        released = await run_in_threadpool(self.issuer.release, consent, employer=employer)
        return JSONResponse(released.to_json())

    # -- did:web and status lists ----------------------------------------------------------------
    async def did_json(self) -> Response:
        return Response(self._did_json, media_type="application/did+json")

    async def status_list(self, list_id: str) -> Response:
        """The signed BitstringStatusListCredential (re-signed only after a change)."""
        data = self.issuer.status_list_credential(list_id)
        cached = self._list_bodies.get(list_id)
        if cached is not None and cached[0] is data:  # the same signed copy: same bytes
            return Response(cached[1], media_type=cached[2])
        if isinstance(data, dict):
            body, kind = _json.dumps(data).encode("utf-8"), "application/vc"
        elif isinstance(data, bytes):
            body, kind = data, "application/vc+cose"
        else:
            body, kind = str(data).encode("ascii"), "application/vc+jwt"
        self._list_bodies[list_id] = (data, body, kind)
        return Response(body, media_type=kind)

    # -- ledger -----------------------------------------------------------------------------------
    async def checkpoint(self) -> PlainTextResponse:
        return PlainTextResponse(self.issuer.latest_checkpoint().note)

    async def inclusion(self, leaf_hash: str = Query(..., description="64 hex digits"),
                        tree_size: int | None = Query(None, ge=1)) -> JSONResponse:
        """Inclusion proof of a leaf; without ``tree_size``, against the latest checkpoint
        (whose note is returned beside the proof)."""
        wanted = leaf_hash_param(leaf_hash)
        log = self.issuer.log
        note = None
        if tree_size is None:
            latest = self.issuer.latest_checkpoint()
            note, tree_size = latest.note, latest.checkpoint.tree_size
        index = self._find(wanted)
        if index >= tree_size:
            raise ApiError(404, f"the leaf is not in the tree of size {tree_size}")
        proof = log.inclusion_proof(index, tree_size)
        return JSONResponse({"proof": proof.to_json(), "checkpoint": note})

    def _find(self, wanted: bytes) -> int:
        try:
            return self.issuer.log.find_leaf(wanted)
        except LedgerError:
            raise ApiError(404, f"leaf {wanted.hex()} is not in the ledger") from None

    async def consistency(self, first: int = Query(..., ge=1),
                          second: int = Query(..., ge=1)) -> JSONResponse:
        if first > second:
            raise ApiError(400, "first must not exceed second")
        return JSONResponse(self.issuer.log.consistency_proof(first, second).to_json())

    async def evidence(self, leaf_hash: str = Query(..., description="64 hex digits"),
                       since: int = Query(0, ge=0, description="a tree size seen before")
                       ) -> JSONResponse:
        """Everything a verifier needs in one round trip: the latest checkpoint, the leaf's
        inclusion proof against it, and (``since`` > 0) a consistency proof from ``since``."""
        wanted = leaf_hash_param(leaf_hash)
        latest = self.issuer.latest_checkpoint()
        note, size = latest.note, latest.checkpoint.tree_size
        index = self._find(wanted)
        if index >= size:
            raise ApiError(404, f"the leaf is not yet covered by a checkpoint (size {size})")
        if since > size:
            raise ApiError(409, f"the log has {size} leaves, fewer than the {since} you saw",
                           kind="InconsistentLog")
        log = self.issuer.log
        consistency = log.consistency_proof(since, size).to_json() if since else None
        return JSONResponse({"checkpoint": note,
                             "inclusion": log.inclusion_proof(index, size).to_json(),
                             "consistency": consistency})

    async def evidence_batch(self, request: Request) -> Response:
        """``{"leafHashes": [...], "since": n}``: one checkpoint, an inclusion proof for each
        leaf against it (``null`` for a leaf it does not cover) and one consistency proof."""
        # EvidenceFastPath answers ahead of the router; this route documents the call (the
        # docstring above is its OpenAPI text) and answers when the fast path steps aside
        wanted, since = evidence_request(await _json_body(request))
        return Response(self.answers.answer(wanted, since), media_type="application/json")

    async def ledger_key(self) -> JSONResponse:
        log = self.issuer.log
        raw = log.public_key.public_bytes_raw()
        return JSONResponse({"origin": log.origin, "verifierKey": self.issuer.log_verifier_key(),
                             "publicKey": base64.b64encode(raw).decode("ascii")})


def _issued_json(issued: IssuedCredential) -> dict[str, Any]:
    return {"verifiableCredential": wire_form(issued.secured), "id": issued.id,
            "format": issued.secured.format, "receipt": issued.receipt.to_json()}


def _datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{text[:40]!r} is not an XML Schema dateTime") from None
    if moment.tzinfo is None:
        raise ApiError(400, "validUntil needs a time zone")
    return moment


_ISSUE_EXAMPLE = {
    "credential": {"type": ["VerifiableCredential", "OpenBadgeCredential"],
                   "credentialSubject": {"id": "did:key:z6Mk...", "...": "..."}},
    "options": {"credentialType": "diploma", "format": "di-eddsa"},
}


def _body_doc(example: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object"}, "example": example}}}}
