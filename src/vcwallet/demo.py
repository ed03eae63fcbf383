"""A short tour on embedded defaults: issue the four credential types, verify them, tamper.

Used by ``vcwallet demo`` (the README's first command). Everything happens offline in a
temporary directory: issuers use did:key, nothing is fetched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import _json
from .credentials import issue, verify_credential
from .keys import KeyPair, KeyType

_ISSUER_NAMES = {
    "university": "한국대학교",
    "training institute": "SW아카데미 교육원",
    "battery assessor": "이브이체크 배터리진단센터",
}
# (credential type, issuing organisation, format): every format is shown once.
_PLAN = (
    ("diploma", "university", "di-eddsa"),
    ("transcript", "university", "jwt"),
    ("badge", "training institute", "cose"),
    ("battery", "battery assessor", "di-ecdsa"),
)


def example_subject(type_name: str) -> dict[str, Any]:
    """The bundled example subject for a credential type (examples/<type>.json)."""
    text = resources.files("vcwallet").joinpath("examples", f"{type_name}.json").read_text("utf-8")
    subject = _json.loads(text)
    if not isinstance(subject, dict):
        raise ValueError(f"example {type_name} is not a JSON object")
    return subject


def run_demo(out: Callable[[str], None] = print, *, workdir: Path | None = None,
             now: datetime | None = None) -> bool:
    """Run the tour, printing each step through ``out``. Returns True if all went as expected."""
    moment = now or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="vcwallet-demo-") as scratch:
        folder = workdir or Path(scratch)
        return _tour(out, folder, moment)


def _tour(out: Callable[[str], None], folder: Path, now: datetime) -> bool:
    out("vcwallet demo: issue four credentials, verify them, then tamper with one\n")
    out("1. Keys and DIDs")
    issuers = {
        "university": KeyPair.generate(KeyType.ED25519),
        "training institute": KeyPair.generate(KeyType.ED25519),
        "battery assessor": KeyPair.generate(KeyType.P256),
    }
    holder = KeyPair.generate(KeyType.ED25519)
    for role, pair in issuers.items():
        out(f"   {role:<19} {pair.key_type.value:<8} {pair.did_key}")
    out(f"   {'holder':<19} {holder.key_type.value:<8} {holder.did_key}\n")

    out("2. Issue")
    files: list[tuple[str, str, Path]] = []
    for type_name, role, fmt in _PLAN:
        secured = issue(type_name, example_subject(type_name), signer=issuers[role], format=fmt,
                        issuer_name=_ISSUER_NAMES[role], holder=holder.did_key, now=now)
        path = folder / f"{type_name}.{ 'json' if fmt.startswith('di') else fmt }"
        path.write_bytes(secured.to_bytes())
        files.append((type_name, fmt, path))
        out(f"   {type_name:<11} by the {role:<19} as {fmt:<9} {path.stat().st_size:>6} bytes")
    out("")

    out("3. Verify (offline)")
    all_good = True
    for type_name, fmt, path in files:
        result = verify_credential(path.read_bytes(), now=now)
        all_good &= result.verified
        verdict = "VERIFIED" if result.verified else "NOT VERIFIED"
        out(f"   {verdict:<12} {fmt:<9} {result.summary or type_name}")
        for check in result.failures:
            out(f"                {check.name}: {check.reason}")
    out("")

    out("4. Tamper: change the diploma's field of study after signing")
    diploma_path = files[0][2]
    document = _json.loads(diploma_path.read_bytes())
    document["credentialSubject"]["achievement"]["fieldOfStudy"] = "Forged Studies"
    result = verify_credential(document, now=now)
    caught = not result.verified
    out(f"   {'NOT VERIFIED' if caught else 'VERIFIED (unexpected!)'}: "
        + "; ".join(f"{c.name}: {c.reason}" for c in result.failures))
    out("")
    ok = all_good and caught
    out("All four credentials verified and the forgery was caught." if ok
        else "Something went wrong: see above.")
    return ok
