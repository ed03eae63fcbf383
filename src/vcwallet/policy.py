"""Trust policy: which issuers a verifier trusts, for which credential types.

A valid signature proves who signed, not that the signer may vouch for what it signed: a
verifier trusts only listed universities for diplomas, only registered assessors for
battery reports. A :class:`TrustPolicy` lists :class:`TrustedIssuer` entries (written in
code or read from TOML, see ``examples/trust.toml``); policies compose with :class:`AllOf`
and :class:`AnyOf` (as sigstore-python's verification policies do), and the one policy
that trusts everybody is named :class:`UnsafeAcceptAnyIssuer` (demos and tests only).

Types are named by vcwallet's type names (``diploma``, ``transcript``, ``badge``,
``battery``) or by VC type strings (``OpenBadgeCredential``); ``"*"`` means any type.
An entry may pin its issuer's ledger key (``log_key``, a C2SP verifier key
``origin+keyid+base64``); without one the verifier trusts the key on first use.

``Policy.check(issuer, types)`` returns the entry that vouches for the issuer (``None``
when nothing is on record, as for the unsafe policy) or raises :class:`PolicyError`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import _json
from .errors import InvalidCheckpoint, MalformedDocumentError, PolicyError
from .ledger import parse_verifier_key

__all__ = [
    "ANY_TYPE",
    "AllOf",
    "AnyOf",
    "Policy",
    "TrustPolicy",
    "TrustedIssuer",
    "UnsafeAcceptAnyIssuer",
    "load_policy",
]

ANY_TYPE = "*"


@dataclass(frozen=True)
class TrustedIssuer:
    """One issuer the verifier trusts: its DID, a display name, the types it may vouch for,
    and optionally its ledger's verifier key (pinned, instead of trust on first use)."""

    did: str
    name: str
    types: frozenset[str]
    log_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.did, str) or not self.did.startswith("did:"):
            raise ValueError(f"a trusted issuer needs a DID, not {self.did!r}")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"trusted issuer {self.did} needs a name")
        if not self.types or not all(isinstance(t, str) and t for t in self.types):
            raise ValueError(f"trusted issuer {self.did} needs at least one type")
        object.__setattr__(self, "name", _json.nfc(self.name))
        if self.log_key is not None:
            try:
                parse_verifier_key(self.log_key)
            except InvalidCheckpoint as exc:
                raise ValueError(f"trusted issuer {self.did}: log_key: {exc}") from None

    def accepts(self, types: Collection[str]) -> bool:
        return ANY_TYPE in self.types or not self.types.isdisjoint(types)


class Policy(Protocol):
    """Anything that decides whether ``issuer`` may vouch for a credential of ``types``."""

    def check(self, issuer: str, types: Collection[str]) -> TrustedIssuer | None:
        """The entry that vouches for ``issuer`` (or ``None``); PolicyError to refuse."""
        ...

    def log_key_for(self, issuer: str) -> str | None:
        """A pinned C2SP verifier key for ``issuer``'s ledger, if the policy has one."""
        ...


def _shown(types: Collection[str]) -> str:
    return ", ".join(sorted(t for t in types if t != "VerifiableCredential")) or "credential"


class TrustPolicy:
    """A list of trusted issuers: an issuer is trusted for a credential when one of its
    entries lists one of the credential's types. Everything else is refused."""

    def __init__(self, issuers: Iterable[TrustedIssuer]) -> None:
        self._by_did: dict[str, list[TrustedIssuer]] = {}
        for entry in issuers:
            if not isinstance(entry, TrustedIssuer):
                raise TypeError("TrustPolicy takes TrustedIssuer entries")
            self._by_did.setdefault(entry.did, []).append(entry)

    @property
    def issuers(self) -> tuple[TrustedIssuer, ...]:
        return tuple(e for entries in self._by_did.values() for e in entries)

    def __repr__(self) -> str:
        return f"TrustPolicy({len(self.issuers)} issuers)"

    def check(self, issuer: str, types: Collection[str]) -> TrustedIssuer | None:
        entries = self._by_did.get(issuer)
        if not entries:
            raise PolicyError(f"{issuer} is not a trusted issuer")
        for entry in entries:
            if entry.accepts(types):
                return entry
        listed = ", ".join(sorted({t for e in entries for t in e.types}))
        raise PolicyError(f"{entries[0].name} ({issuer}) is trusted for {listed}, "
                          f"not for {_shown(types)}")

    def log_key_for(self, issuer: str) -> str | None:
        return next((e.log_key for e in self._by_did.get(issuer, ()) if e.log_key), None)

    # -- TOML ------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "trust policy") -> TrustPolicy:
        """From parsed TOML: ``[[issuer]]`` tables with ``did``, ``name``, ``types`` and an
        optional ``log_key``. MalformedDocumentError names what is wrong."""
        tables = data.get("issuer", [])
        if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
            raise MalformedDocumentError(f"{where}: [[issuer]] entries must be tables")
        unknown = set(data) - {"issuer"}
        if unknown:
            raise MalformedDocumentError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        entries = []
        for number, table in enumerate(tables, start=1):
            entries.append(_entry(table, f"{where}: [[issuer]] #{number}"))
        return cls(entries)

    @classmethod
    def from_toml(cls, text: str, *, where: str = "trust policy") -> TrustPolicy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MalformedDocumentError(f"{where} is not valid TOML: {exc}") from None
        return cls.from_mapping(data, where=where)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrustPolicy:
        """Read a TOML trust policy file (MalformedDocumentError if unreadable or wrong)."""
        target = Path(path)
        try:
            text = target.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MalformedDocumentError(f"cannot read trust policy {target}: {exc}") from None
        return cls.from_toml(text, where=str(target))


_ENTRY_KEYS = {"did", "name", "types", "log_key"}


def _entry(table: Mapping[str, Any], where: str) -> TrustedIssuer:
    unknown = set(table) - _ENTRY_KEYS
    if unknown:
        raise MalformedDocumentError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    types = table.get("types")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise MalformedDocumentError(f"{where}: types must be a list of type names")
    log_key = table.get("log_key")
    if log_key is not None and not isinstance(log_key, str):
        raise MalformedDocumentError(f"{where}: log_key must be a string")
    did, name = table.get("did"), table.get("name")
    if not isinstance(did, str) or not isinstance(name, str):
        raise MalformedDocumentError(f"{where}: did and name must be strings")
    try:
        return TrustedIssuer(did, name, frozenset(types), log_key)
    except ValueError as exc:
        raise MalformedDocumentError(f"{where}: {exc}") from None


def load_policy(path: str | os.PathLike[str]) -> TrustPolicy:
    """Shorthand for :meth:`TrustPolicy.load`."""
    return TrustPolicy.load(path)


class AllOf:
    """Trusted only when every child policy trusts (e.g. a national registry AND our list)."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        if not policies:
            raise ValueError("AllOf needs at least one policy (an empty AllOf would trust all)")
        self.policies = tuple(policies)

    def check(self, issuer: str, types: Collection[str]) -> TrustedIssuer | None:
        found = [p.check(issuer, types) for p in self.policies]
        return next((e for e in found if e is not None), None)

    def log_key_for(self, issuer: str) -> str | None:
        return next((k for p in self.policies if (k := p.log_key_for(issuer))), None)


class AnyOf:
    """Trusted when at least one child policy trusts (e.g. universities OR assessors)."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        if not policies:
            raise ValueError("AnyOf needs at least one policy")
        self.policies = tuple(policies)

    def check(self, issuer: str, types: Collection[str]) -> TrustedIssuer | None:
        reasons = []
        for policy in self.policies:
            try:
                return policy.check(issuer, types)
            except PolicyError as exc:
                reasons.append(str(exc))
        raise PolicyError("; ".join(dict.fromkeys(reasons)))

    def log_key_for(self, issuer: str) -> str | None:
        return next((k for p in self.policies if (k := p.log_key_for(issuer))), None)


class UnsafeAcceptAnyIssuer:
    """Trusts every issuer for every type. For demos and tests only: a valid signature from
    anybody then counts as trusted."""

    def check(self, issuer: str, types: Collection[str]) -> TrustedIssuer | None:
        return None

    def log_key_for(self, issuer: str) -> str | None:
        return None

    def __repr__(self) -> str:
        return "UnsafeAcceptAnyIssuer()"
