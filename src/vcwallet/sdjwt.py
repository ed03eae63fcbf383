"""SD-JWT VC (RFC 9901 SD-JWT, IETF SD-JWT VC, ``typ: dc+sd-jwt``): issue, present, verify.

Low level. The issuer signs a JWT whose selectively disclosable claims are replaced by
SHA-256 digests of *disclosures* (``base64url(JSON [salt, name, value])`` for an object
member, ``[salt, value]`` for an array element); the holder keeps every disclosure and
reveals only those a verifier needs, then appends a key-binding JWT (``typ: kb+jwt``) with
the verifier's ``nonce`` and ``aud`` and the hash of what it presents (``sd_hash``). JWS
signing and checking are :mod:`vcwallet.jose`'s; this module never writes another JWS.

Disclosable paths (``disclosable=`` / ``disclose=``) are written ``credentialSubject.gpa``,
``credentialSubject.courses[*].grade``, ``credentialSubject.courses[0]`` (dot-separated
member names, each optionally followed by ``[n]`` or ``[*]``; a leading ``$.`` is allowed),
or given as claim paths (tuples of names, indices and ``None`` for every element, as DCQL
writes them). A disclosable path may lie inside another (``credentialSubject`` and
``credentialSubject.gpa``): the inner disclosure is then nested in the outer one.

Serialisation: ``<issuer-signed JWT>~<disclosure>~...~`` then the KB-JWT, or nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import _json
from .errors import (
    DisclosureError,
    Expired,
    MalformedDocumentError,
    NotYetValid,
    ProofPurposeError,
    UnsupportedAlgorithm,
)
from .jose import (
    b64url_decode,
    b64url_encode,
    check_header,
    kid_did,
    lookup_assertion_key,
    sign_jws,
    signing_input,
    unverified_header,
    unverified_payload,
    verify_jws,
)
from .keys import PublicKey, Signer

SD_JWT_TYP = "dc+sd-jwt"
KB_JWT_TYP = "kb+jwt"
SD_ALG = "sha-256"
ALLOWED_ALGS = frozenset({"EdDSA", "ES256"})
# SD-JWT VC: these stay in the clear, or the token cannot be processed at all.
NEVER_DISCLOSABLE = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "_sd_alg"}
)
RESERVED_NAMES = frozenset({"_sd", "..."})
MAX_DISCLOSURES = 4096
MAX_TOKEN_CHARS = 8 * 1024 * 1024

DisclosurePath = tuple[str | int | None, ...]
ClaimPath = tuple[str | int, ...]
_STEP = re.compile(r"\[(\*|\d+)\]")


def _random_salt() -> str:
    return b64url_encode(os.urandom(16))  # 128 bits, as RFC 9901 section 9.3 recommends


def digest(disclosure: str) -> str:
    """The ``sha-256`` digest of a disclosure as it appears on the wire (its ASCII text)."""
    return b64url_encode(hashlib.sha256(disclosure.encode("ascii")).digest())


def _now_seconds(now: datetime | None) -> int:
    if now is None:
        now = datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return int(now.timestamp())


# -- paths ---------------------------------------------------------------------------------------


def parse_path(path: str | Sequence[str | int | None]) -> DisclosurePath:
    """Turn ``"a.b[*].c"`` (or a claim path sequence) into ``("a", "b", None, "c")``."""
    if not isinstance(path, str):
        steps = tuple(path)
        if not steps or not all(
            s is None
            or isinstance(s, str)
            or (isinstance(s, int) and not isinstance(s, bool) and s >= 0)
            for s in steps
        ):
            raise ValueError(f"claim path {path!r} must hold names, indices >= 0 and None")
        return steps
    out: list[str | int | None] = []
    for segment in path.removeprefix("$.").split("."):
        cut = segment.find("[")
        name, rest = (segment, "") if cut < 0 else (segment[:cut], segment[cut:])
        if not name or "]" in name or _STEP.sub("", rest):
            raise ValueError(f"disclosable path {path!r}: cannot read segment {segment!r}")
        out.append(name)
        out.extend(None if m == "*" else int(m) for m in _STEP.findall(rest))
    return tuple(out)


def _matches(pattern: DisclosurePath, path: ClaimPath) -> bool:
    return len(pattern) == len(path) and all(
        p == s or (p is None and isinstance(s, int)) for p, s in zip(pattern, path, strict=True)
    )


def _related(pattern: DisclosurePath, path: ClaimPath) -> bool:
    """True when ``path`` lies on the way to ``pattern``, at it, or below it."""
    n = min(len(pattern), len(path))
    return _matches(pattern[:n], path[:n])


# -- issuance ------------------------------------------------------------------------------------


@dataclass
class _Encoder:
    """Replaces every disclosable claim by a digest, collecting the disclosures."""

    patterns: Sequence[DisclosurePath]
    salt: Callable[[], str]
    decoys: int
    used: set[int] = field(default_factory=set)
    disclosures: list[str] = field(default_factory=list)

    def _disclosable(self, path: ClaimPath) -> bool:
        hits = [i for i, p in enumerate(self.patterns) if _matches(p, path)]
        self.used.update(hits)
        return bool(hits)

    def _hide(self, content: list[Any]) -> str:
        disclosure = b64url_encode(_json.dumps([self.salt(), *content]).encode("utf-8"))
        self.disclosures.append(disclosure)
        return digest(disclosure)

    def encode(self, value: Any, where: ClaimPath) -> Any:
        if isinstance(value, Mapping):
            clear: dict[str, Any] = {}
            hidden: list[str] = []
            for name, item in value.items():
                path = (*where, name)
                encoded = self.encode(item, path)
                if not self._disclosable(path):
                    clear[name] = encoded
                elif not where and name in NEVER_DISCLOSABLE:
                    raise ValueError(f"claim {name!r} must not be selectively disclosable")
                else:
                    hidden.append(self._hide([name, encoded]))
            if hidden:
                # decoys hide how many claims there are; a digest of random bytes matches nothing
                hidden.extend(digest(_random_salt()) for _ in range(self.decoys))
                clear["_sd"] = sorted(hidden)  # sorted: the order must not reveal the claim order
            return clear
        if isinstance(value, list):
            items = []
            for index, item in enumerate(value):
                path = (*where, index)
                encoded = self.encode(item, path)
                items.append({"...": self._hide([encoded])} if self._disclosable(path) else encoded)
            return items
        return value


def _check_names(value: Any) -> None:
    if isinstance(value, Mapping):
        for name, item in value.items():
            if name in RESERVED_NAMES:
                raise ValueError(f"claim name {name!r} is reserved by SD-JWT")
            _check_names(item)
    elif isinstance(value, list):
        for item in value:
            _check_names(item)


def issue_sd_jwt(
    claims: Mapping[str, Any],
    signer: Signer,
    *,
    kid: str,
    disclosable: Iterable[str | Sequence[str | int | None]],
    holder_jwk: Mapping[str, Any] | None,
    vct: str,
    issuer: str,
    now: datetime | None = None,
    salt: Callable[[], str] = _random_salt,
    decoys: int = 0,
) -> str:
    """Issue an SD-JWT VC: ``"<jwt>~<disclosure>~...~"``.

    ``claims`` are NFC-normalised, then ``iss``, ``iat``, ``vct``, ``_sd_alg`` and (with
    ``holder_jwk``) ``cnf.jwk`` are set. ``kid`` is the issuer's DID URL and must belong to
    ``issuer``. Every disclosable path must name at least one claim. ``decoys`` adds that
    many decoy digests to each ``_sd`` array (RFC 9901 section 4.2.5). Raises ``ValueError``
    for such issuer mistakes.
    """
    if not 0 <= decoys <= 64:
        raise ValueError("decoys must be between 0 and 64")
    if _kid_did_or_value_error(kid) != issuer:
        raise ValueError(f"kid {kid!r} does not belong to issuer {issuer!r}")
    if not isinstance(vct, str) or not vct:
        raise ValueError("vct must be a non-empty string")
    body = _json.nfc(dict(claims))
    _check_names(body)
    for name, wanted in (("iss", issuer), ("vct", vct)):
        if name in body and body[name] != wanted:
            raise ValueError(f"claims carry {name}={body[name]!r}, but {name} is {wanted!r}")
    for name in ("_sd_alg", "cnf", "iat"):
        if name in body:
            raise ValueError(f"claims must not carry {name!r}: it is set here")
    body.update({"iss": issuer, "iat": _now_seconds(now), "vct": vct})
    if holder_jwk is not None:
        body["cnf"] = {"jwk": PublicKey.from_jwk(dict(holder_jwk)).to_jwk()}
    _json.check_value(body)
    encoder = _Encoder([parse_path(p) for p in disclosable], salt, decoys)
    payload = encoder.encode(body, ())
    unused = [p for i, p in enumerate(encoder.patterns) if i not in encoder.used]
    if unused:
        raise ValueError(f"disclosable path {_show(unused[0])} names no claim")
    payload["_sd_alg"] = SD_ALG
    token = sign_jws(payload, signer, header={"typ": SD_JWT_TYP, "kid": kid})
    return "~".join([token, *encoder.disclosures, ""])


def _kid_did_or_value_error(kid: str) -> str:
    try:
        return kid_did(kid)
    except MalformedDocumentError as exc:
        raise ValueError(str(exc)) from None


def _show(path: DisclosurePath) -> str:
    text = ""
    for step in path:
        text += "[*]" if step is None else f"[{step}]" if isinstance(step, int) else f".{step}"
    return text.lstrip(".")


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    """One decoded disclosure: ``name`` is None for an array element."""

    text: str
    digest: str
    salt: str
    name: str | None
    value: Any


@dataclass(frozen=True)
class _Parts:
    jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None


def _split(token: str) -> _Parts:
    if not isinstance(token, str):
        raise TypeError("an SD-JWT is a str")
    if len(token) > MAX_TOKEN_CHARS:
        raise MalformedDocumentError(f"SD-JWT is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split("~")
    if len(parts) < 2:
        raise MalformedDocumentError("not an SD-JWT: no '~' after the issuer-signed JWT")
    if len(parts) - 2 > MAX_DISCLOSURES:
        raise MalformedDocumentError(f"SD-JWT carries more than {MAX_DISCLOSURES} disclosures")
    jwt, *middle, last = parts
    if any(not d for d in middle):
        raise MalformedDocumentError("SD-JWT has an empty disclosure ('~~')")
    return _Parts(jwt, tuple(middle), last or None)


def decode_disclosure(text: str) -> Disclosure:
    """Decode one disclosure; refuse shapes and names RFC 9901 forbids."""
    value = _json.loads(b64url_decode(text, what="disclosure"))
    if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[0], str):
        raise MalformedDocumentError("a disclosure is a JSON array [salt, (name,) value]")
    if len(value) == 2:
        return Disclosure(text, digest(text), value[0], None, value[1])
    name = value[1]
    if not isinstance(name, str):
        raise MalformedDocumentError("a disclosure's claim name must be a string")
    if name in RESERVED_NAMES:
        raise DisclosureError(f"a disclosure may not carry the reserved claim name {name!r}")
    return Disclosure(text, digest(text), value[0], name, value[2])


@dataclass
class _Processor:
    """RFC 9901 section 7.1 step 3: replace digests by disclosed values, check every rule."""

    by_digest: dict[str, Disclosure]
    seen: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    paths: dict[str, ClaimPath] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)

    def _reference(self, value: Any, where: ClaimPath) -> Disclosure | None:
        if not isinstance(value, str):
            raise MalformedDocumentError(f"{_show(where) or '$'}: a digest must be a string")
        if value in self.seen:
            raise DisclosureError(f"digest {value} appears more than once")
        self.seen.add(value)
        return self.by_digest.get(value)

    def run(self, value: Any, where: ClaimPath, parent: str | None) -> Any:
        if len(where) > _json.MAX_DEPTH:  # disclosures nested in disclosures, without end
            raise MalformedDocumentError(f"SD-JWT claims nest deeper than {_json.MAX_DEPTH} levels")
        if isinstance(value, Mapping):
            return self._object(value, where, parent)
        if isinstance(value, list):
            return self._array(value, where, parent)
        return value

    def _object(
        self, value: Mapping[str, Any], where: ClaimPath, parent: str | None
    ) -> dict[str, Any]:
        out = {k: self.run(v, (*where, k), parent) for k, v in value.items() if k != "_sd"}
        digests = value.get("_sd", [])
        if not isinstance(digests, list):
            raise MalformedDocumentError(f"{_show(where) or '$'}: _sd must be an array")
        for ref in digests:
            disclosure = self._reference(ref, where)
            if disclosure is None:
                continue  # undisclosed or a decoy
            if disclosure.name is None:
                raise DisclosureError("an array-element disclosure is referenced from an _sd array")
            if disclosure.name in out:
                raise DisclosureError(
                    f"disclosed claim {disclosure.name!r} already exists at {_show(where) or '$'}"
                )
            path = (*where, disclosure.name)
            self._use(disclosure, path, parent)
            out[disclosure.name] = self.run(disclosure.value, path, disclosure.digest)
        return out

    def _array(self, value: list[Any], where: ClaimPath, parent: str | None) -> list[Any]:
        out: list[Any] = []
        for item in value:
            if isinstance(item, Mapping) and "..." in item:
                if len(item) != 1:
                    raise MalformedDocumentError("an array digest object must hold '...' only")
                disclosure = self._reference(item["..."], where)
                if disclosure is None:
                    continue
                if disclosure.name is not None:
                    raise DisclosureError("an object-member disclosure is referenced from an array")
                path = (*where, len(out))
                self._use(disclosure, path, parent)
                out.append(self.run(disclosure.value, path, disclosure.digest))
            else:
                out.append(self.run(item, (*where, len(out)), parent))
        return out

    def _use(self, disclosure: Disclosure, path: ClaimPath, parent: str | None) -> None:
        self.used.add(disclosure.digest)
        self.paths[disclosure.digest] = path
        self.parents[disclosure.digest] = parent


def _decode_all(texts: Sequence[str]) -> dict[str, Disclosure]:
    by_digest: dict[str, Disclosure] = {}
    for text in texts:
        disclosure = decode_disclosure(text)
        if disclosure.digest in by_digest:
            raise DisclosureError("the same disclosure is presented twice")
        by_digest[disclosure.digest] = disclosure
    return by_digest


def _process(payload: Mapping[str, Any], texts: Sequence[str]) -> tuple[dict[str, Any], _Processor]:
    alg = payload.get("_sd_alg", SD_ALG)
    if alg != SD_ALG:
        raise UnsupportedAlgorithm(f"_sd_alg {alg!r} is not supported (only sha-256)")
    processor = _Processor(_decode_all(texts))
    claims = processor.run(payload, (), None)
    claims.pop("_sd_alg", None)
    unreferenced = [d for d in processor.by_digest if d not in processor.used]
    if unreferenced:
        raise DisclosureError(
            f"{len(unreferenced)} disclosure(s) match no digest in the SD-JWT "
            f"(edited or foreign), e.g. digest {unreferenced[0]}"
        )
    return claims, processor


def unverified_claims(sd_jwt: str) -> dict[str, Any]:
    """Every claim the token's disclosures reveal, NOT verified (for a wallet's own index)."""
    parts = _split(sd_jwt)
    claims, _ = _process(unverified_payload(parts.jwt), parts.disclosures)
    return claims


def sd_jwt_signing_input(token: str) -> bytes:
    """The issuer-signed JWT's ``header.payload`` bytes (what a ledger anchors)."""
    return signing_input(_split(token).jwt)


def issuer_jwt(token: str) -> str:
    """The issuer-signed JWT alone (the part every presentation of the credential shares)."""
    return _split(token).jwt


# -- presentation --------------------------------------------------------------------------------


def _sd_hash(presented: str) -> str:
    return b64url_encode(hashlib.sha256(presented.encode("ascii")).digest())


def present_sd_jwt(
    sd_jwt: str,
    *,
    disclose: Iterable[str | Sequence[str | int | None]],
    holder: Signer | None,
    nonce: str | None,
    audience: str | None,
    now: datetime | None = None,
) -> str:
    """Keep only the disclosures needed to reveal ``disclose`` (and their parents); bind to the verifier.

    A requested path reveals the claim itself, the disclosures it sits in, and everything
    inside it. Paths that name always-visible claims are fine; a path that names no claim at
    all is a ``ValueError``. With ``holder`` a KB-JWT (``nonce``, ``aud``, ``iat``,
    ``sd_hash``) is appended; the holder key must be the token's ``cnf.jwk``.
    """
    parts = _split(sd_jwt)
    if parts.kb_jwt is not None:
        raise ValueError("this SD-JWT is already a presentation (it ends with a KB-JWT)")
    claims, processor = _process(unverified_payload(parts.jwt), parts.disclosures)
    keep: set[str] = set()
    for raw in disclose:
        pattern = parse_path(raw)
        hits = {d for d, path in processor.paths.items() if _related(pattern, path)}
        if not hits and not _names_claim(claims, pattern):
            raise ValueError(f"path {_show(pattern)} names no claim of this credential")
        keep |= hits
    for digest_value in list(keep):  # a disclosure is useless without the ones it sits in
        parent = processor.parents[digest_value]
        while parent is not None:
            keep.add(parent)
            parent = processor.parents[parent]
    chosen = [t for t in parts.disclosures if digest(t) in keep]
    presented = "~".join([parts.jwt, *chosen, ""])
    if holder is None:
        if nonce is not None or audience is not None:
            raise ValueError("nonce and audience go into a KB-JWT, which needs a holder key")
        return presented
    if not nonce or not audience:
        raise ValueError("a key-binding JWT needs the verifier's nonce and audience")
    cnf = claims.get("cnf")
    if not isinstance(cnf, Mapping) or not isinstance(cnf.get("jwk"), Mapping):
        raise ValueError("the credential has no cnf.jwk: it cannot be key-bound")  # noqa: TRY004
    if PublicKey.from_jwk(dict(cnf["jwk"])) != holder.public_key:
        raise ValueError("the holder key is not the credential's cnf.jwk")
    kb_payload = {
        "iat": _now_seconds(now),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": _sd_hash(presented),
    }
    return presented + sign_jws(kb_payload, holder, header={"typ": KB_JWT_TYP})


def _names_claim(claims: Any, pattern: DisclosurePath) -> bool:
    nodes = [claims]
    for step in pattern:
        following = []
        for node in nodes:
            if isinstance(step, str) and isinstance(node, Mapping) and step in node:
                following.append(node[step])
            elif step is None and isinstance(node, list):
                following.extend(node)
            elif isinstance(step, int) and isinstance(node, list) and step < len(node):
                following.append(node[step])
        nodes = following
    return bool(nodes)


# -- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedSdJwt:
    """An SD-JWT VC whose issuer signature, disclosures and key binding all hold.

    ``claims`` holds only what was disclosed (plus the always-visible claims);
    ``disclosed`` lists the claim path of every disclosure; ``key_binding`` is the KB-JWT
    payload (None when none was required and none was sent).
    """

    claims: dict[str, Any]
    header: dict[str, Any]
    verification_method: Any
    disclosed: tuple[ClaimPath, ...]
    key_binding: dict[str, Any] | None
    issuer_jwt: str


def _check_times(payload: Mapping[str, Any], now: int, skew: int) -> None:
    for claim in ("iat", "nbf", "exp"):
        if claim in payload and (
            isinstance(payload[claim], bool) or not isinstance(payload[claim], int | float)
        ):
            raise MalformedDocumentError(f"SD-JWT claim {claim!r} must be a number")
    if "nbf" in payload and payload["nbf"] > now + skew:
        raise NotYetValid(f"SD-JWT is not valid before {payload['nbf']} (now {now})")
    if "exp" in payload and payload["exp"] <= now - skew:
        raise Expired(f"SD-JWT expired at {payload['exp']} (now {now})")


def verify_sd_jwt(
    token: str,
    *,
    resolver: Any,
    nonce: str | None,
    audience: str | None,
    now: datetime | None = None,
    require_key_binding: bool = True,
    max_kb_age: timedelta = timedelta(minutes=5),
    clock_skew: timedelta = timedelta(seconds=60),
) -> VerifiedSdJwt:
    """Verify an SD-JWT VC presentation; raise a vcwallet error naming what does not hold.

    Checks: the issuer's key is ``kid`` under ``assertionMethod`` (via ``resolver``) and
    ``iss`` is the kid's DID; the signature; ``_sd_alg``; every disclosure's digest is
    referenced exactly once (no duplicated, unreferenced or colliding disclosures, no
    reserved names); ``nbf`` / ``exp``; then the KB-JWT: signed by ``cnf.jwk``,
    ``typ: kb+jwt``, ``nonce`` and ``aud`` as expected, ``iat`` within ``max_kb_age`` of
    ``now``, ``sd_hash`` over exactly what was presented. ``nonce`` / ``audience`` must be
    given whenever a KB-JWT is required or present.
    """
    moment = _now_seconds(now)
    skew = int(clock_skew.total_seconds())
    parts = _split(token)
    header = unverified_header(parts.jwt)
    check_header(header, expected_typ=SD_JWT_TYP, allowed_algs=ALLOWED_ALGS)  # before any fetch
    kid = header.get("kid")
    did = kid_did(kid)  # refuses anything but an absolute DID URL with a fragment
    method, key = lookup_assertion_key(resolver, str(kid))
    header, payload = verify_jws(parts.jwt, key, expected_typ=SD_JWT_TYP, allowed_algs=ALLOWED_ALGS)
    if payload.get("iss") != did:
        raise ProofPurposeError(
            f"SD-JWT iss {payload.get('iss')!r} is not the signing key's DID {did!r}"
        )
    if not isinstance(payload.get("vct"), str) or not payload["vct"]:
        raise MalformedDocumentError("SD-JWT VC has no vct")
    _check_times(payload, moment, skew)
    claims, processor = _process(payload, parts.disclosures)
    disclosed = tuple(processor.paths[d] for d in processor.by_digest)
    for path in disclosed:
        if len(path) == 1 and path[0] in NEVER_DISCLOSABLE:
            raise DisclosureError(
                f"claim {path[0]!r} must not be selectively disclosed (SD-JWT VC)"
            )
    binding = None
    if parts.kb_jwt is not None:
        binding = _verify_key_binding(
            parts, parts.kb_jwt, claims, nonce, audience, moment, max_kb_age, skew
        )
    elif require_key_binding:
        raise ProofPurposeError("SD-JWT presentation has no key-binding JWT")
    return VerifiedSdJwt(claims, header, method, disclosed, binding, parts.jwt)


def _verify_key_binding(
    parts: _Parts,
    kb_jwt: str,
    claims: Mapping[str, Any],
    nonce: str | None,
    audience: str | None,
    now: int,
    max_age: timedelta,
    skew: int,
) -> dict[str, Any]:
    if nonce is None or audience is None:
        raise ValueError("checking a key-binding JWT needs the expected nonce and audience")
    cnf = claims.get("cnf")
    if not isinstance(cnf, Mapping) or not isinstance(cnf.get("jwk"), Mapping):
        raise ProofPurposeError("a KB-JWT is present but the SD-JWT names no holder key (cnf.jwk)")
    _, kb = verify_jws(kb_jwt, dict(cnf["jwk"]), expected_typ=KB_JWT_TYP, allowed_algs=ALLOWED_ALGS)
    if kb.get("nonce") != nonce:
        raise ProofPurposeError(f"KB-JWT nonce {kb.get('nonce')!r} is not the expected {nonce!r}")
    if kb.get("aud") != audience:
        raise ProofPurposeError(f"KB-JWT aud {kb.get('aud')!r} is not the expected {audience!r}")
    iat = kb.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise MalformedDocumentError("KB-JWT iat must be a number")
    if iat > now + skew:
        raise NotYetValid(f"KB-JWT issued in the future (iat {iat}, now {now})")
    if iat < now - int(max_age.total_seconds()) - skew:
        raise Expired(f"KB-JWT is stale (iat {iat}, now {now}, max age {max_age})")
    presented = "~".join([parts.jwt, *parts.disclosures, ""])
    if kb.get("sd_hash") != _sd_hash(presented):
        raise ProofPurposeError(
            "KB-JWT sd_hash does not cover this presentation (disclosures changed)"
        )
    return kb
