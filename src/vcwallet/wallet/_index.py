"""The wallet's decrypted in-memory index: what each held credential is, without its
secured form. Built once when the wallet opens (and again if another process changed
the file), so listing, searching and narrowing a request's candidates never decrypt.

Search is decrypt-and-filter in memory: the file holds no searchable token at all, so a
copied file reveals neither types nor issuers, not even as equality patterns.

Each entry keeps its credential as JSON text and parses it on first use: opening a large
wallet costs one small parse per credential, and only a search on subject fields or a
presentation request pays for the full documents (once).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class CredentialEntry:
    """What the wallet knows about a held credential, from its decrypted index row.

    ``key`` names it inside this wallet; ``credential`` is the decoded credential JSON
    (treat it as read-only: it is the index's own copy). ``format`` is ``"di"``,
    ``"jwt"``, ``"cose"`` or ``"sd-jwt"``; ``alg`` the JWS / COSE algorithm or the Data
    Integrity cryptosuite it was secured with.
    """

    key: str
    format: str
    types: tuple[str, ...]
    issuer: str | None
    subject_id: str | None
    credential_id: str | None
    valid_from: str | None
    valid_until: str | None
    added: str
    summary: str
    alg: str | None
    credential_json: str = field(repr=False, compare=False)

    @property
    def credential(self) -> dict[str, Any]:
        """The decoded credential JSON, parsed on first use. Read-only: it is shared with
        the wallet's index (``Wallet.get`` returns a private copy)."""
        parsed = self.__dict__.get("_parsed")
        if parsed is None:
            parsed = json.loads(self.credential_json)
            object.__setattr__(self, "_parsed", parsed)  # a cache, not a change of value
        return parsed

    @property
    def subjects(self) -> Any:
        """``credentialSubject`` as written (object or list); for an SD-JWT VC, whose
        claims are flat, the claims themselves."""
        return self.credential.get("credentialSubject", self.credential)

    @property
    def subject(self) -> dict[str, Any]:
        """``credentialSubject`` (the first one when there are several)."""
        subject = self.subjects
        if isinstance(subject, list):
            subject = subject[0] if subject else {}
        return subject if isinstance(subject, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "format": self.format, "types": list(self.types),
            "issuer": self.issuer, "subjectId": self.subject_id, "id": self.credential_id,
            "validFrom": self.valid_from, "validUntil": self.valid_until,
            "added": self.added, "summary": self.summary, "alg": self.alg,
        }


@dataclass(frozen=True)
class StoredCredential(CredentialEntry):
    """A held credential with its secured form as received and its ledger receipt.

    ``raw`` is the JSON text (Data Integrity), the compact token (vc+jwt, SD-JWT with
    every disclosure), or the COSE_Sign1 bytes (vc+cose).
    """

    raw: str | bytes = ""
    receipt: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        document = CredentialEntry.to_json(self)
        document["credential"] = self.credential
        document["receipt"] = self.receipt
        return document


def encode_entry(entry: CredentialEntry) -> bytes:
    """The plaintext sealed into the index column: a small JSON object, a NUL byte (never
    found in JSON text), then the credential's JSON, so opening need not parse the latter."""
    meta = json.dumps(_entry_fields(entry), ensure_ascii=False, separators=(",", ":"))
    return meta.encode("utf-8") + b"\x00" + entry.credential_json.encode("utf-8")


def decode_entry(key: str, plain: bytes) -> CredentialEntry:
    """Inverse of :func:`encode_entry`; ValueError / KeyError / TypeError if malformed."""
    meta, separator, credential = plain.partition(b"\x00")
    if not separator:
        raise ValueError("index entry has no credential part")
    return _entry_from_fields(key, json.loads(meta.decode("utf-8")), credential.decode("utf-8"))


def _entry_fields(entry: CredentialEntry) -> dict[str, Any]:
    return {
        "format": entry.format, "types": list(entry.types), "issuer": entry.issuer,
        "subject_id": entry.subject_id, "credential_id": entry.credential_id,
        "valid_from": entry.valid_from, "valid_until": entry.valid_until,
        "added": entry.added, "summary": entry.summary, "alg": entry.alg,
    }


def _entry_from_fields(key: str, fields: dict[str, Any], credential_json: str) -> CredentialEntry:
    return CredentialEntry(
        key=key, format=fields["format"], types=tuple(fields["types"]),
        issuer=fields["issuer"], subject_id=fields["subject_id"],
        credential_id=fields["credential_id"], valid_from=fields["valid_from"],
        valid_until=fields["valid_until"], added=fields["added"],
        summary=fields["summary"], alg=fields.get("alg"),
        credential_json=credential_json,
    )


def matches_subject(subject: Any, path: list[str], wanted: Any) -> bool:
    """Does ``subject`` hold ``wanted`` at ``path``? Lists fan out (any element may
    match); a dict ``wanted`` matches a dict holding at least those members."""
    if isinstance(subject, list):
        return any(matches_subject(item, path, wanted) for item in subject)
    if path:
        if not isinstance(subject, dict):
            return False
        value = subject.get(path[0], _MISSING)
        return value is not _MISSING and matches_subject(value, path[1:], wanted)
    if isinstance(wanted, dict):
        return isinstance(subject, dict) and all(
            matches_subject(subject.get(k, _MISSING), [], v) for k, v in wanted.items()
        )
    return subject is not _MISSING and _same_value(subject, wanted)


def _token(value: Any) -> tuple[str, Any] | None:
    """A hashable stand-in with the equality of :func:`_same_value` (scalars only)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(value))  # exact: strict JSON keeps integers within 2^53
    if isinstance(value, str):
        return ("s", value)
    return None


def _leaves(node: Any, path: Sequence[str]) -> Iterator[Any]:
    """Every value :func:`matches_subject` would compare at ``path`` (lists fan out)."""
    if isinstance(node, list):
        for item in node:
            yield from _leaves(item, path)
    elif not path:
        yield node
    elif isinstance(node, dict) and path[0] in node:
        yield from _leaves(node[path[0]], path[1:])


def _same_value(held: Any, wanted: Any) -> bool:
    # JSON equality: 3 == 3.0, but true is not 1 and "1" is not 1.
    if isinstance(held, bool) or isinstance(wanted, bool):
        return held is wanted
    if isinstance(held, (int, float)) and isinstance(wanted, (int, float)):
        return held == wanted
    return type(held) is type(wanted) and held == wanted


class Index:
    """Entries in insertion order, with postings by type and by credential id."""

    __slots__ = ("_by_id", "_by_type", "_entries", "_order", "_seq", "_values")

    def __init__(self) -> None:
        self._entries: dict[str, CredentialEntry] = {}
        self._order: dict[str, int] = {}
        self._seq = 0
        # per subject path, scalar value -> keys; built by the first search on that path
        self._values: dict[tuple[str, ...], dict[tuple[str, Any], list[str]]] = {}
        self._by_type: dict[str, dict[str, None]] = {}
        self._by_id: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def add(self, entry: CredentialEntry) -> None:
        self._entries[entry.key] = entry
        self._seq += 1
        self._order[entry.key] = self._seq
        self._values.clear()
        for name in entry.types:
            self._by_type.setdefault(name, {})[entry.key] = None
        if entry.credential_id:
            self._by_id.setdefault(entry.credential_id, entry.key)

    def discard(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        del self._order[key]
        self._values.clear()
        for name in entry.types:
            posting = self._by_type.get(name)
            if posting is not None:
                posting.pop(key, None)
                if not posting:
                    del self._by_type[name]
        if entry.credential_id and self._by_id.get(entry.credential_id) == key:
            del self._by_id[entry.credential_id]
            # the same credential may be held in another format too: let the id find it
            other = next((e.key for e in self._entries.values()
                          if e.credential_id == entry.credential_id), None)
            if other is not None:
                self._by_id[entry.credential_id] = other

    def resolve(self, key_or_id: str) -> CredentialEntry | None:
        """By wallet key, else by the credential's own ``id`` (the first held, when the
        same credential is held in several formats)."""
        entry = self._entries.get(key_or_id)
        if entry is None and key_or_id in self._by_id:
            entry = self._entries.get(self._by_id[key_or_id])
        return entry

    def pool(self, type_name: str | None,
             wanted: Sequence[tuple[list[str], Any]]) -> Iterable[CredentialEntry]:
        """A superset of the entries a search can match, as small as the index allows:
        those holding every scalar subject value asked for, else those of the type."""
        found = [keys for keys in (self._keys_with(tuple(path), value) for path, value in wanted)
                 if keys is not None]
        if found:
            found.sort(key=len)
            others = [set(keys) for keys in found[1:]]
            return [self._entries[key] for key in found[0]
                    if all(key in other for other in others)]
        if type_name is not None:
            return self.with_types([type_name])
        return self.entries()

    def _keys_with(self, path: tuple[str, ...], value: Any) -> list[str] | None:
        token = _token(value)
        if token is None:
            return None
        table = self._values.get(path)
        if table is None:
            table = {}
            for entry in self._entries.values():
                for leaf in _leaves(entry.subjects, path):
                    found = _token(leaf)
                    if found is not None:
                        keys = table.setdefault(found, [])
                        if not keys or keys[-1] != entry.key:
                            keys.append(entry.key)
            self._values[path] = table
        return table.get(token, [])

    def entries(self) -> list[CredentialEntry]:
        return list(self._entries.values())

    def with_types(self, types: Iterable[str]) -> Iterator[CredentialEntry]:
        """Entries having at least one of ``types``, in insertion order."""
        wanted = [self._by_type.get(name, {}) for name in set(types)]
        if len(wanted) == 1:
            keys: Iterable[str] = list(wanted[0])
        else:
            union: set[str] = set().union(*wanted)
            keys = sorted(union, key=self._order.__getitem__)
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None:
                yield entry
