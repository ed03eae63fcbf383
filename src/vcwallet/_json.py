"""Strict JSON: what we sign and verify must mean the same thing in every implementation.

Python's ``json`` accepts NaN, Infinity, 1e400 (as inf), lone surrogates and duplicate
members (keeping the last). Each of these is a way for two parsers to disagree about a
signed document, so :func:`loads` refuses them all, and integers outside the IEEE-754
safe range (which JavaScript canonicalisers print differently). Text is NFC-normalised
only by :func:`nfc` (at issuance), never silently on verification.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from .errors import MalformedDocumentError

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64


def _reject_constant(name: str) -> Any:
    raise MalformedDocumentError(f"JSON value {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedDocumentError(f"duplicate JSON member {key!r}")
        result[key] = value
    return result


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedDocumentError(f"JSON number {text[:40]} is out of range")
    return value


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise MalformedDocumentError(f"JSON integer {text[:40]}... is too large")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise MalformedDocumentError(f"JSON integer {value} is beyond 2^53-1")
    return value


def check_value(value: Any, *, where: str = "$") -> None:
    """Refuse values that strict JSON cannot carry (used on Python objects we are given).

    The walk is done twice only on failure: first cheaply, then again to name the path.
    """
    if _fine(value, 0):
        return
    _explain(value, where, 0)
    raise MalformedDocumentError(f"{where}: not a strict JSON value")  # unreachable in practice


def _fine(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind is str:
        return value.isascii() or _utf8_ok(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _utf8_ok(key)):
                return False
            if not _fine(item, depth + 1):
                return False
        return True
    if kind is list:
        if depth >= MAX_DEPTH:
            return False
        return all(_fine(item, depth + 1) for item in value)
    if kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is float:
        return not (math.isnan(value) or math.isinf(value))
    return False


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _explain(value: Any, where: str, depth: int) -> None:
    """Raise the precise error for the first bad value below ``value``."""
    if depth > MAX_DEPTH:
        raise MalformedDocumentError(f"document nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise MalformedDocumentError(f"{where}: integer {value} is beyond 2^53-1")
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise MalformedDocumentError(f"{where}: {value} is not a JSON number")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedDocumentError(f"{where}: member name {key!r} is not a string")
            _check_text(key, where)
            _explain(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _explain(item, f"{where}[{index}]", depth + 1)
    else:
        raise MalformedDocumentError(f"{where}: {type(value).__name__} is not a JSON value")


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedDocumentError(f"{where}: text contains a lone surrogate") from None


def loads(data: str | bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse strict JSON (see module docstring); raise :class:`MalformedDocumentError`."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise MalformedDocumentError(f"document is larger than {max_bytes} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedDocumentError(f"document is not UTF-8: {exc.reason}") from None
    else:
        text = data
        if len(text) > max_bytes:
            raise MalformedDocumentError(f"document is larger than {max_bytes} characters")
    text = text.removeprefix("\ufeff")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        raise MalformedDocumentError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise MalformedDocumentError("document is nested too deeply") from None
    if _may_hide_problems(text, decoded=isinstance(data, bytes)):
        check_value(value)
    return value


def _may_hide_problems(text: str, *, decoded: bool) -> bool:
    """Whether parsed JSON still needs the full walk. The parse hooks already refused NaN,
    huge numbers and duplicates; what is left is a lone surrogate (only from a ``\\ud..``
    escape, or in text we were handed as ``str``) and nesting deeper than MAX_DEPTH (only
    possible with that many brackets)."""
    if not decoded and not _utf8_ok(text):
        return True
    if "\\ud" in text or "\\uD" in text:
        return True
    return text.count("{") + text.count("[") >= MAX_DEPTH


def dumps(value: Any, *, pretty: bool = False) -> str:
    """Serialise as UTF-8 JSON text (non-ASCII kept as is, so Korean stays readable)."""
    if pretty:
        return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def nfc_strict(value: Any) -> Any:
    """:func:`nfc` and :func:`check_value` in one walk (the issuance hot path)."""
    try:
        return _nfc_strict(value, 0)
    except _NotStrict:
        check_value(value)  # names the offending path
        raise MalformedDocumentError("not a strict JSON value") from None


class _NotStrict(Exception):
    pass


def _nfc_strict(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        if value.isascii():
            return value
        if not _utf8_ok(value):
            raise _NotStrict
        return unicodedata.normalize("NFC", value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise _NotStrict
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotStrict
            if not key.isascii():
                if not _utf8_ok(key):
                    raise _NotStrict
                key = unicodedata.normalize("NFC", key)
            out[key] = _nfc_strict(item, depth + 1)
        return out
    if kind is list:
        if depth >= MAX_DEPTH:
            raise _NotStrict
        return [_nfc_strict(item, depth + 1) for item in value]
    if kind is bool or value is None:
        return value
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        raise _NotStrict
    if kind is float and not (math.isnan(value) or math.isinf(value)):
        return value
    raise _NotStrict


def nfc(value: Any) -> Any:
    """Return a copy of ``value`` with every string (keys too) in Unicode NFC."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value
