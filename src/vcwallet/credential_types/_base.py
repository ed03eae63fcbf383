"""The CredentialType value object and the helpers every type's builder shares.

A credential type is data (name, VC types, contexts, schema URL) plus two functions supplied
by its module: ``shape`` turns a validated subject into the type-specific parts of the
credential, ``describe`` renders one readable line. Everything else (issuer, dates, ids,
``credentialSchema``, NFC, schema checks) is done here the same way for every type.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from .. import _json
from ..errors import SchemaValidationError

VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR2_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
VCWALLET_CONTEXT = "https://w3id.org/vcwallet/v1"
SCHEMA_BASE = "https://w3id.org/vcwallet/schemas/"


@dataclass(frozen=True)
class BuildParts:
    """What a type's ``shape`` function gets besides the subject (all already normalised)."""

    issuer: str | dict[str, Any]
    issuer_id: str
    credential_id: str
    valid_from: str
    holder: str | None


@dataclass(frozen=True)
class Shaped:
    """What a type's ``shape`` returns: the subject plus credential-level members."""

    credential_subject: dict[str, Any]
    top: dict[str, Any] = field(default_factory=dict)


ShapeFn = Callable[[dict[str, Any], BuildParts], Shaped]
DescribeFn = Callable[[dict[str, Any], str], str]


@dataclass(frozen=True)
class CredentialType:
    """One credential type: its VC types, contexts, JSON Schema and builder."""

    name: str
    vc_types: tuple[str, ...]
    contexts: tuple[str, ...]
    schema_id: str
    schema_file: str = field(kw_only=True, repr=False)
    shape: ShapeFn = field(kw_only=True, repr=False, compare=False)
    describe: DescribeFn = field(kw_only=True, repr=False, compare=False)
    # OB3 and CLR want the issuer as a named Profile object
    issuer_profile: bool = field(default=False, kw_only=True, repr=False)
    # what JSON Schema cannot say (sums, one value bounded by another)
    extra_check: Callable[[dict[str, Any]], None] | None = field(
        default=None, kw_only=True, repr=False, compare=False
    )

    def schema(self) -> dict[str, Any]:
        """The type's JSON Schema (2020-12), read from the package; a fresh copy each call."""
        return _json.loads(_schema_text(self.schema_file))

    def validate_subject(self, subject: dict[str, Any]) -> None:
        """Check a subject (as a user supplies it) against ``$defs/subject`` of the schema.

        Raises :class:`SchemaValidationError` with a JSONPath-like ``path`` to the first
        offending member (for a missing member, the path names the member itself).
        """
        _json.check_value(subject)
        if not _fast_validator(self.schema_file, "#/$defs/subject").is_valid(subject):
            _raise_first(_validator(self.schema_file, "#/$defs/subject"), subject)
        if self.extra_check is not None:
            self.extra_check(subject)

    def validate_credential(self, credential: dict[str, Any], *, check_json: bool = True) -> None:
        """Check a whole (unsigned or signed) credential against the type's schema.

        ``check_json=False`` skips the strict-JSON walk for a caller that has made it.
        """
        if check_json:
            _json.check_value(credential)
        if not _fast_validator(self.schema_file, "").is_valid(credential):
            _raise_first(_validator(self.schema_file, ""), credential)

    def build(
        self,
        subject: dict[str, Any],
        *,
        issuer: str | dict[str, Any],
        issuer_name: str | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        credential_id: str | None = None,
        holder: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Build the UNSIGNED VCDM 2.0 credential for ``subject``; ``subject`` is not mutated.

        All text is NFC-normalised. ``validFrom`` defaults to ``now`` (itself defaulting to
        the current UTC time), truncated to the second. Raises
        :class:`SchemaValidationError` when the subject or the result breaks the schema;
        ``ValueError`` / ``TypeError`` for misuse (naive datetimes, a nameless OB3 issuer).
        """
        if not isinstance(subject, dict):
            raise SchemaValidationError(
                f"a subject must be a JSON object, not {type(subject).__name__}", "$"
            )
        clean = _json.nfc(subject)
        self.validate_subject(clean)
        start = valid_from or now or datetime.now(UTC)
        issuer_value, issuer_id = _issuer(issuer, _json.nfc(issuer_name), self.issuer_profile)
        parts = BuildParts(
            issuer=issuer_value,
            issuer_id=issuer_id,
            credential_id=credential_id or f"urn:uuid:{uuid.uuid4()}",
            valid_from=xsd_datetime(start),
            holder=_holder(clean, holder),
        )
        shaped = self.shape(clean, parts)
        credential: dict[str, Any] = {
            "@context": list(self.contexts),
            "id": parts.credential_id,
            "type": list(self.vc_types),
            "issuer": issuer_value,
        }
        credential.update(shaped.top)
        credential["validFrom"] = parts.valid_from
        if valid_until is not None:
            if _aware(valid_until) <= _aware(start):
                raise ValueError("valid_until must lie after valid_from")
            credential["validUntil"] = xsd_datetime(valid_until)
        credential["credentialSubject"] = shaped.credential_subject
        credential["credentialSchema"] = {"id": self.schema_id, "type": "JsonSchema"}
        credential = _json.nfc(credential)
        self.validate_credential(credential)
        return credential

    def summary(self, credential: dict[str, Any], *, lang: str = "en") -> str:
        """One readable line describing ``credential`` in English (``en``) or Korean (``ko``)."""
        if lang not in ("en", "ko"):
            raise ValueError(f"unsupported language {lang!r}: use 'en' or 'ko'")
        if not isinstance(credential, dict):
            raise TypeError("credential must be a dict")
        return self.describe(credential, lang)


# ---- schema loading and validation -------------------------------------------------------


@functools.cache
def _schema_text(schema_file: str) -> str:
    return (resources.files("vcwallet") / "schemas" / schema_file).read_text(encoding="utf-8")


@functools.cache
def _validator(schema_file: str, pointer: str) -> Draft202012Validator:
    # Schemas are immutable package data, so one validator per (file, entry point) is reused.
    schema = _json.loads(_schema_text(schema_file))
    registry: Registry[Any] = Registry().with_resource(
        schema["$id"], Resource.from_contents(schema)
    )
    entry = {"$ref": schema["$id"] + pointer} if pointer else schema
    return Draft202012Validator(entry, registry=registry)


@functools.cache
def _fast_validator(schema_file: str, pointer: str) -> Any:
    # jsonschema-rs answers valid / invalid ~50x faster than the pure-Python validator; only
    # an invalid instance goes through `jsonschema` again, for its precise error path.
    schema = _json.loads(_schema_text(schema_file))
    if pointer:
        schema = {"$schema": schema.get("$schema"), "$defs": schema["$defs"],
                  "$ref": pointer}
    return jsonschema_rs.Draft202012Validator(schema)


def _raise_first(validator: Draft202012Validator, instance: Any) -> None:
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return
    raise SchemaValidationError(_message(error), _path(error))


def _path(error: ValidationError) -> str:
    path = error.json_path
    names = error.validator_value  # a "required" keyword's list of names (schemas are JSON)
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(names, list):
        missing = [p for p in names if p not in error.instance]
        if missing:
            path = f"{path}.{missing[0]}"
    return path


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return "required member is missing"
    text = error.message
    return text if len(text) <= 200 else text[:197] + "..."


def fail(path: str, message: str) -> SchemaValidationError:
    """A :class:`SchemaValidationError` for a semantic check (returned, for ``raise``)."""
    return SchemaValidationError(message, path)


# ---- shared pieces of a credential -------------------------------------------------------


def xsd_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, second precision (what validFrom carries)."""
    return _aware(moment).astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError("dates must be datetime objects")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone (e.g. datetime.now(UTC))")
    return moment


def _issuer(
    issuer: str | dict[str, Any], issuer_name: str | None, profile: bool
) -> tuple[str | dict[str, Any], str]:
    """Normalise ``issuer``: an id string, or an object with ``id`` (OB3: a named Profile)."""
    if isinstance(issuer, str):
        issuer_id, name, extra = issuer, issuer_name, {}
    elif isinstance(issuer, Mapping):
        extra = _json.nfc(dict(issuer))
        issuer_id = extra.pop("id", None)
        own_name = extra.pop("name", None)
        name = issuer_name or own_name
        extra.pop("type", None)
    else:
        raise TypeError("issuer must be an id string or an object with an id")
    if not isinstance(issuer_id, str) or ":" not in issuer_id:
        raise ValueError("issuer needs an absolute id (a DID or URL)")
    if profile:
        if not name:
            raise ValueError(
                "an Open Badges / CLR issuer is a Profile and needs a name: pass issuer_name"
            )
        return {"id": issuer_id, "type": ["Profile"], "name": name, **extra}, issuer_id
    if name or extra:
        value: dict[str, Any] = {"id": issuer_id}
        if name:
            value["name"] = name
        value.update(extra)
        return value, issuer_id
    return issuer_id, issuer_id


def _holder(subject: dict[str, Any], holder: str | None) -> str | None:
    if holder is None:
        existing = subject.get("id")
        return existing if isinstance(existing, str) else None
    if not isinstance(holder, str) or ":" not in holder:
        raise ValueError("holder must be an absolute id, usually a DID")
    existing = subject.get("id")
    if existing is not None and existing != holder:
        raise ValueError(f"subject id {existing!r} differs from holder {holder!r}")
    return holder


def stable_id(*parts: str) -> str:
    """A ``urn:uuid:`` derived from ``parts`` (UUIDv5), so rebuilding gives the same ids."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(parts))}"


def as_list(value: Any) -> list[Any]:
    """A JSON-LD value that may be one item or an array, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def type_list(value: Any, type_name: str) -> list[Any]:
    """A JSON-LD ``type`` value as an array that contains ``type_name``."""
    names = as_list(value)
    if type_name not in names:
        names.append(type_name)
    return names


def with_type(node: dict[str, Any], type_name: str) -> dict[str, Any]:
    """A copy of ``node`` whose ``type`` is an array containing ``type_name``."""
    out = dict(node)
    out["type"] = type_list(out.get("type"), type_name)
    return out


def recipient_name(subject: Mapping[str, Any]) -> str | None:
    """The first unhashed OB3 ``identifier`` of type ``name`` (a readable recipient name)."""
    for entry in as_list(subject.get("identifier")):
        if (
            isinstance(entry, Mapping)
            and entry.get("identityType") == "name"
            and entry.get("hashed") is False
            and isinstance(entry.get("identityHash"), str)
        ):
            return str(entry["identityHash"])
    return None


def issuer_label(credential: Mapping[str, Any]) -> str:
    """The issuer's name, else its id, for summaries."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        return str(issuer.get("name") or issuer.get("id") or "?")
    return str(issuer) if issuer else "?"


def subject_of(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The first credentialSubject object (empty dict when absent or malformed)."""
    subjects = as_list(credential.get("credentialSubject"))
    first = subjects[0] if subjects else {}
    return dict(first) if isinstance(first, Mapping) else {}


def day(value: Any) -> str:
    """The ``YYYY-MM-DD`` part of a dateTime string, or ``?``."""
    return value[:10] if isinstance(value, str) and len(value) >= 10 else "?"
