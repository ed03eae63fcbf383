"""A verification report a person can read, in English or Korean, and its JSON form.

:func:`render` turns an :class:`~vcwallet.verifier.OnlineResult` into short lines: the
verdict, then the presentation's checks, then each credential (what it is, who issued it,
its claims in one line) with one sentence per check. A check that failed or could not run
says why (the reason from the check, which may be technical English). :func:`to_json`
gives programs the full result plus the same sentences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .credential_types import detect_type
from .model import Check, Status
from .verifier import OnlineCredential, OnlineResult

__all__ = ["LANGUAGES", "render", "sentence", "to_json"]

LANGUAGES = ("en", "ko")
_MARK = {Status.PASSED: "✓", Status.FAILED: "✗", Status.SKIPPED: "?"}

_TYPE_LABELS = {
    "en": {"diploma": "diploma", "transcript": "transcript", "badge": "badge",
           "battery": "battery lifespan report", None: "credential"},
    "ko": {"diploma": "학위증명서", "transcript": "성적증명서", "badge": "이수 배지",
           "battery": "배터리 수명 평가서", None: "증명서"},
}
_CHECK_LABELS_KO = {
    "format": "형식", "context": "JSON-LD 컨텍스트", "issuer_key": "발급자 키",
    "signature": "서명", "validity_period": "유효 기간", "schema": "스키마",
    "disclosures": "선택적 공개", "key_binding": "키 바인딩", "holder_proof": "제출자 서명",
    "challenge": "챌린지", "domain": "도메인", "holder_binding": "제출자 일치",
    "trust": "발급자 신뢰", "status": "상태", "ledger": "원장", "credentials": "증명서",
}


def _final_consonant(word: str) -> bool | None:
    """Whether a Korean word ends in a consonant (받침); None when it is not Hangul."""
    last = word.rstrip()[-1:] or " "
    if "가" <= last <= "힣":
        return (ord(last) - 0xAC00) % 28 != 0
    return None


def _josa(word: str, after_consonant: str, after_vowel: str) -> str:
    """``word`` with the particle that fits it (이/가, 은/는, 을/를)."""
    ends = _final_consonant(word)
    if ends is None:
        return f"{word}{after_consonant}({after_vowel})"
    return word + (after_consonant if ends else after_vowel)


class _Context:
    """What the sentences of one credential (or the presentation) refer to."""

    def __init__(self, lang: str, item: OnlineCredential | None, result: OnlineResult) -> None:
        self.lang = lang
        self.item = item
        self.domain = result.domain
        type_name = item.type_name if item is not None else None
        self.type_label = _TYPE_LABELS[lang].get(type_name, _TYPE_LABELS[lang][None])
        if item is not None:
            self.issuer = item.issuer_name or item.issuer or "?"
        else:
            self.issuer = "?"


# -- sentences ---------------------------------------------------------------------------
def _en(check: Check, c: _Context) -> str:
    ok = check.status is Status.PASSED
    why = f" ({check.reason})"
    item = c.item
    match check.name, check.status:
        case "holder_proof", _ if ok:
            return "The holder signed this presentation with one of its own keys."
        case "challenge", _ if ok:
            return "It answers this request's challenge (no replay)."
        case "challenge", Status.FAILED:
            return "It was made for another challenge: a replay, or meant for another request."
        case "domain", _ if ok:
            return f"It is addressed to {c.domain}."
        case "holder_binding", _ if ok:
            return "Every credential in it was issued to the holder."
        case "credentials", _:
            return "The credentials were not checked, because the presentation does not hold."
        case "format", _ if ok:
            return "It is a well-formed VC Data Model 2.0 credential."
        case "context", _ if ok:
            return "Every JSON-LD context is known and every term is defined."
        case "issuer_key", _ if ok:
            return "The signing key is one the issuer lists for issuing."
        case "signature", _ if ok:
            return f"A {c.type_label} signed by the issuer {c.issuer}."
        case "signature", Status.FAILED:
            return f"The issuer's signature does not hold{why}."
        case "validity_period", _ if ok:
            return "It is within its validity period."
        case "schema", _ if ok:
            return f"Its contents match the {c.type_label} schema."
        case "trust", _ if ok:
            if item is not None and item.trusted is None:
                return f"Issuer {c.issuer} accepted only because this verifier trusts anyone."
            return f"This verifier trusts {c.issuer} for {c.type_label}s."
        case "trust", Status.FAILED:
            return f"This verifier does not trust {c.issuer} for this credential{why}."
        case "status", _ if ok:
            return ("Not revoked and not suspended: the issuer's status list says so, "
                    "fetched from the issuer.")
        case "status", Status.FAILED if item is not None and item.revoked:
            return "REVOKED: the issuer has revoked this credential."
        case "status", Status.FAILED if item is not None and item.suspended:
            return "SUSPENDED: the issuer has suspended this credential."
        case "status", Status.FAILED:
            return f"The issuer's status list cannot be trusted{why}."
        case "status", Status.SKIPPED:
            return f"Status unknown: the issuer could not be asked{why}."
        case "ledger", _ if ok and item is not None and item.anchor is not None:
            a = item.anchor
            seen = a.checkpoint_seen_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            more = (f", consistent with the tree of size {a.consistent_with} seen before"
                    if a.consistent_with is not None else "")
            return (f"Anchored in the issuer's ledger as entry {a.leaf_index}, proved against "
                    f"its checkpoint (tree size {a.tree_size}) fetched at {seen}{more}.")
        case "ledger", Status.FAILED:
            return f"The issuer's ledger does not vouch for this credential{why}."
        case "ledger", Status.SKIPPED:
            return f"Ledger unknown: the issuer's log could not be checked{why}."
    if ok:
        return f"{check.name.replace('_', ' ').capitalize()}: {check.reason}."
    word = "failed" if check.status is Status.FAILED else "not checked"
    return f"{check.name.replace('_', ' ').capitalize()} {word}{why}."


def _ko(check: Check, c: _Context) -> str:
    ok = check.status is Status.PASSED
    why = f" ({check.reason})"
    item = c.item
    issuer = c.issuer
    match check.name, check.status:
        case "holder_proof", _ if ok:
            return "제출자가 자신의 키로 이 제출 문서에 서명했습니다."
        case "challenge", _ if ok:
            return "이번 요청의 챌린지에 대한 응답입니다 (재사용이 아닙니다)."
        case "challenge", Status.FAILED:
            return "다른 챌린지에 대한 응답입니다: 재사용되었거나 다른 요청을 위한 것입니다."
        case "domain", _ if ok:
            return f"{c.domain} 앞으로 제출되었습니다."
        case "holder_binding", _ if ok:
            return "모든 증명서가 제출자에게 발급된 것입니다."
        case "credentials", _:
            return "제출 문서가 유효하지 않아 증명서는 확인하지 않았습니다."
        case "format", _ if ok:
            return "VC 데이터 모델 2.0 형식에 맞는 증명서입니다."
        case "context", _ if ok:
            return "모든 JSON-LD 컨텍스트와 용어가 확인되었습니다."
        case "issuer_key", _ if ok:
            return "서명 키는 발급자가 발급용으로 공개한 키입니다."
        case "signature", _ if ok:
            return f"발급자 {_josa(issuer, '이', '가')} 서명한 {c.type_label}입니다."
        case "signature", Status.FAILED:
            return f"발급자의 서명이 유효하지 않습니다{why}."
        case "validity_period", _ if ok:
            return "유효 기간 안에 있습니다."
        case "schema", _ if ok:
            return f"내용이 {c.type_label} 스키마에 맞습니다."
        case "trust", _ if ok:
            if item is not None and item.trusted is None:
                return (f"모든 발급자를 받아들이는 설정이어서 {issuer}도 통과했습니다 "
                        "(신뢰 목록으로 확인한 것은 아닙니다).")
            return f"{_josa(issuer, '은', '는')} {c.type_label} 발급자로 신뢰하는 기관입니다."
        case "trust", Status.FAILED:
            return f"{_josa(issuer, '은', '는')} 이 증명서의 발급자로 신뢰하는 기관이 아닙니다{why}."
        case "status", _ if ok:
            return "폐기되지 않았고 정지되지도 않았습니다 (발급자에게서 받은 상태 목록으로 확인)."
        case "status", Status.FAILED if item is not None and item.revoked:
            return "폐기됨: 발급자가 이 증명서를 폐기했습니다."
        case "status", Status.FAILED if item is not None and item.suspended:
            return "정지됨: 발급자가 이 증명서의 효력을 정지했습니다."
        case "status", Status.FAILED:
            return f"발급자의 상태 목록을 믿을 수 없습니다{why}."
        case "status", Status.SKIPPED:
            return f"상태를 알 수 없습니다: 발급자에게 확인하지 못했습니다{why}."
        case "ledger", _ if ok and item is not None and item.anchor is not None:
            a = item.anchor
            seen = a.checkpoint_seen_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            more = (f", 이전에 본 크기 {a.consistent_with}의 체크포인트와 일관됩니다"
                    if a.consistent_with is not None else "")
            return (f"발급자 원장의 {a.leaf_index}번 항목으로 기록되어 있습니다 "
                    f"({seen}에 받은 크기 {a.tree_size}의 체크포인트로 증명{more}).")
        case "ledger", Status.FAILED:
            return f"발급자 원장이 이 증명서를 뒷받침하지 않습니다{why}."
        case "ledger", Status.SKIPPED:
            return f"원장을 확인하지 못했습니다{why}."
    label = _CHECK_LABELS_KO.get(check.name, check.name)
    if ok:
        return f"{label} 확인: {check.reason}."
    word = "실패" if check.status is Status.FAILED else "확인하지 못함"
    return f"{label} {word}{why}."


_WRITERS: dict[str, Callable[[Check, _Context], str]] = {"en": _en, "ko": _ko}


def sentence(check: Check, *, lang: str = "en", item: OnlineCredential | None = None,
             result: OnlineResult) -> str:
    """One check as one sentence, in ``lang`` (``en`` or ``ko``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}: use 'en' or 'ko'")
    return _WRITERS[lang](check, _Context(lang, item, result))


# -- the whole report ----------------------------------------------------------------------
def _headline(result: OnlineResult, lang: str) -> str:
    count = len(result.credentials)
    holder = result.holder or "?"
    if lang == "ko":
        verdict = "검증 완료" if result.verified else "검증 실패"
        return f"{verdict}: {holder}의 제출 문서 (증명서 {count}건, {result.domain} 앞)"
    verdict = "VERIFIED" if result.verified else "NOT VERIFIED"
    noun = "credential" if count == 1 else "credentials"
    return f"{verdict}: presentation by {holder} to {result.domain} ({count} {noun})"


def _credential_heading(index: int, item: OnlineCredential, lang: str) -> list[str]:
    labels = _TYPE_LABELS[lang]
    label = labels.get(item.type_name, labels[None])
    issuer = item.issuer_name or item.issuer or "?"
    if lang == "ko":
        verdict = "유효" if item.verified else "유효하지 않음"
        lines = [f"증명서 {index}: {issuer}의 {label} - {verdict}"]
    else:
        verdict = "valid" if item.verified else "NOT valid"
        lines = [f"Credential {index}: {label} from {issuer} - {verdict}"]
    summary = _summary(item, lang)
    if summary:
        lines.append(f"  {summary}")
    return lines


def _summary(item: OnlineCredential, lang: str) -> str | None:
    credential = item.result.credential
    kind = detect_type(credential) if credential is not None else None
    if kind is None or credential is None:
        return item.result.summary
    try:
        return kind.summary(credential, lang=lang)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return item.result.summary


def lines(result: OnlineResult, *, lang: str = "en") -> list[str]:
    """The report as a list of lines (see :func:`render`)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}: use 'en' or 'ko'")
    out = [_headline(result, lang), "제출 문서" if lang == "ko" else "Presentation"]
    writer = _WRITERS[lang]
    for check in result.checks:
        out.append(f"  {_MARK[check.status]} {writer(check, _Context(lang, None, result))}")
    for index, item in enumerate(result.credentials, start=1):
        out.extend(_credential_heading(index, item, lang))
        context = _Context(lang, item, result)
        for check in item.checks:
            out.append(f"  {_MARK[check.status]} {writer(check, context)}")
    return out


def render(result: OnlineResult, *, lang: str = "en") -> str:
    """The report as text: a verdict line, the presentation's checks, then each credential
    with a one-line summary and one sentence per check."""
    return "\n".join(lines(result, lang=lang)) + "\n"


def to_json(result: OnlineResult, *, lang: str = "en") -> dict[str, Any]:
    """The full result (:meth:`OnlineResult.to_json`) plus the report's sentences."""
    body = result.to_json()
    body["report"] = {"lang": lang, "lines": lines(result, lang=lang)}
    return body
