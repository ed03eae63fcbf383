"""The EV battery lifespan report, in Battery Pass data model v1.2.0 (DIN DKE SPEC 99100) names.

The subject is the battery: identity (``batteryPassportIdentifier``, ``productIdentifier``,
``manufacturer``, ``model``, ``batteryCategory``, ``batteryChemistry``, optional
``vehicleIdentificationNumber``, ``batteryStatus``), static reference values and measured
health values, the measurement method / standard, the ``assessor``, and an optional
``previousReport`` link (id + digest) so that reports on one battery form a history.

Quantities are objects ``{"value": <number>, "unit": "<unit>"}``, each field's unit fixed by
the schema (``Ah``, ``kWh``, ``kW``, ``%``, ``year``); measured values also carry
``lastUpdate`` (an XSD dateTime). Counts are plain integers, or ``{"value", "lastUpdate"}``
when measured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from multiformats import multibase, multihash

from .. import _json
from ..errors import MalformedDocumentError
from ._base import (
    SCHEMA_BASE,
    VC2_CONTEXT,
    VCWALLET_CONTEXT,
    BuildParts,
    CredentialType,
    Shaped,
    day,
    subject_of,
    type_list,
)


def shape(subject: dict[str, Any], parts: BuildParts) -> Shaped:
    """The credentialSubject is the battery (``type: Battery``), with the holder as its id."""
    credential_subject: dict[str, Any] = {}
    if parts.holder:
        credential_subject["id"] = parts.holder
    credential_subject["type"] = type_list(subject.get("type"), "Battery")
    credential_subject.update({k: v for k, v in subject.items() if k not in ("id", "type")})
    name = f"Battery lifespan report: {subject['batteryPassportIdentifier']}"
    return Shaped(credential_subject, {"name": name})


def previous_report_link(previous: Mapping[str, Any]) -> dict[str, str]:
    """The ``previousReport`` value pointing at an earlier report credential.

    The digest is the sha2-256 multihash, base58btc multibase (``z...``), of the earlier
    report as vcwallet serialises it (compact UTF-8 JSON, members in stored order), so the
    holder can show which exact report came before.
    """
    report_id = previous.get("id")
    if not isinstance(report_id, str):
        raise MalformedDocumentError("the previous report has no id to link to")
    data = _json.dumps(dict(previous)).encode("utf-8")
    digest = multihash.wrap(hashlib.sha256(data).digest(), "sha2-256")
    return {"id": report_id, "digestMultibase": multibase.encode(digest, "base58btc")}


def _value(subject: Mapping[str, Any], key: str) -> str:
    item = subject.get(key)
    if isinstance(item, Mapping) and isinstance(item.get("value"), int | float):
        number = item["value"]
        return str(int(number)) if float(number).is_integer() else str(number)
    return "?"


def describe(credential: dict[str, Any], lang: str) -> str:
    """Battery, state of certified energy (with its date), capacity fade, cycles, assessor."""
    s = subject_of(credential)
    maker = s.get("manufacturer")
    maker_name = str(maker.get("name")) if isinstance(maker, Mapping) else "?"
    battery = f"{maker_name} {s.get('model', '?')} ({s.get('batteryPassportIdentifier', '?')})"
    soce = s.get("stateOfCertifiedEnergy")
    when = day(soce.get("lastUpdate")) if isinstance(soce, Mapping) else "?"
    assessor = s.get("assessor")
    by = str(assessor.get("name")) if isinstance(assessor, Mapping) else "?"
    soce_v, fade, cycles = (
        _value(s, "stateOfCertifiedEnergy"),
        _value(s, "capacityFade"),
        _value(s, "numberOfFullCycles"),
    )
    if lang == "ko":
        return (
            f"배터리 수명 평가서, {battery}: 인증 에너지 상태(SOCE) {soce_v}% ({when}), "
            f"용량 감소 {fade}%, 완전 충방전 {cycles}회, 평가 {by}"
        )
    return (
        f"Battery lifespan report, {battery}: state of certified energy {soce_v}% ({when}), "
        f"capacity fade {fade}%, {cycles} full cycles, assessed by {by}"
    )


BATTERY = CredentialType(
    name="battery",
    vc_types=("VerifiableCredential", "BatteryLifespanCredential"),
    contexts=(VC2_CONTEXT, VCWALLET_CONTEXT),
    schema_id=SCHEMA_BASE + "battery-v1.json",
    schema_file="battery-v1.json",
    shape=shape,
    describe=describe,
)
