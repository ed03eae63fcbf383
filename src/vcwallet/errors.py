"""Every exception vcwallet raises, in one tree.

    VcwalletError
    ├── MalformedDocumentError        input that cannot be read as what it claims to be
    │   ├── UnknownContextError        a JSON-LD context URL that is not bundled
    │   ├── UndefinedTermError         a property or type JSON-LD would silently drop
    │   ├── CanonicalizationLimitError RDFC-1.0 work limit exceeded ("poison graph")
    │   └── SchemaValidationError      a credential subject that fails its JSON Schema
    ├── VerificationError             the evidence does not hold
    │   ├── InvalidSignature
    │   ├── ProofPurposeError          key not listed under the needed relationship, or
    │   │                              challenge / domain mismatch
    │   ├── UnsupportedAlgorithm       alg / cryptosuite outside the allow-list
    │   ├── NotYetValid / Expired
    │   ├── CredentialRevoked
    │   ├── StatusCheckUnavailable
    │   ├── PolicyError
    │   ├── DisclosureError           an SD-JWT disclosure that is edited, duplicated or unreferenced
    │   └── LogProofError              a Merkle proof or checkpoint does not verify
    │       ├── RootMismatch           (.expected_root, .calculated_root)
    │       ├── InconsistentLog
    │       └── InvalidCheckpoint
    ├── KeyFileError                  unreadable key file or wrong passphrase
    ├── ResolutionError               a DID that cannot be resolved
    ├── UnknownCredential             an issuer holds no credential with that id (.credential_id)
    ├── LedgerError                   the ledger store cannot do what was asked
    │   └── LedgerCorrupted            stored rows disagree with the tree (audit)
    ├── StatusListError               the status registry cannot do what was asked (.reason)
    ├── WalletError
    │   ├── UnmetRequirement          no held credential satisfies a request's requirement
    │   ├── WrongPassphrase           the passphrase does not unlock the wallet / backup
    │   ├── WalletLocked              the wallet is closed, or busy in another process
    │   ├── WalletCorrupted           a stored row fails authentication (tampered, swapped)
    │   └── CredentialRefused         a credential that did not verify, so was not stored
    └── TransportError                an HTTP peer did not answer usefully

Programmer misuse (wrong argument types, impossible options) stays ``TypeError`` /
``ValueError``. Messages never contain private key material.
"""

from __future__ import annotations

from typing import TypeVar

_E = TypeVar("_E", bound=BaseException)


def find_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of ``kind`` in ``exc``'s cause / context chain (``exc`` included).

    pyld wraps the errors our hooks raise; this finds ours again."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, kind):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return None


class VcwalletError(Exception):
    """Root of every error vcwallet raises on purpose."""


class MalformedDocumentError(VcwalletError):
    """Input that cannot be read as the document it claims to be."""


class UnknownContextError(MalformedDocumentError):
    """A JSON-LD context URL that is not bundled; vcwallet never fetches contexts."""

    def __init__(self, url: str) -> None:
        super().__init__(f"unknown JSON-LD context {url!r} (only bundled contexts are loaded)")
        self.url = url


class UndefinedTermError(MalformedDocumentError):
    """A property or type that JSON-LD expansion would silently drop."""

    def __init__(self, term: str, detail: str = "") -> None:
        msg = f"undefined JSON-LD term {term!r}"
        super().__init__(f"{msg}: {detail}" if detail else msg)
        self.term = term


class CanonicalizationLimitError(MalformedDocumentError):
    """RDFC-1.0 canonicalization exceeded its work limit (a "poison graph")."""


class SchemaValidationError(MalformedDocumentError):
    """A credential subject that does not satisfy its JSON Schema."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class VerificationError(VcwalletError):
    """The evidence does not hold."""


class InvalidSignature(VerificationError):
    """A signature that does not verify under the claimed key."""


class ProofPurposeError(VerificationError):
    """Key not authorised for the proof purpose, or challenge / domain mismatch."""


class UnsupportedAlgorithm(VerificationError):
    """An algorithm or cryptosuite outside the allow-list (``none``, HMAC, ...)."""


class NotYetValid(VerificationError):
    """``validFrom`` / ``nbf`` lies after the time of verification."""


class Expired(VerificationError):
    """``validUntil`` / ``exp`` lies before the time of verification."""


class CredentialRevoked(VerificationError):
    """The issuer's status list marks the credential revoked or suspended."""

    def __init__(
        self, message: str, *, purpose: str = "", status_list: str = "", index: int = -1
    ) -> None:
        super().__init__(message)
        self.purpose, self.status_list, self.index = purpose, status_list, index


class StatusCheckUnavailable(VerificationError):
    """The credential's status could not be determined."""

    def __init__(self, reason: str, *, purpose: str = "", status_list: str = "") -> None:
        super().__init__(reason)
        self.reason, self.purpose, self.status_list = reason, purpose, status_list


class PolicyError(VerificationError):
    """A valid credential that the verifier's policy does not accept."""


class DisclosureError(VerificationError):
    """An SD-JWT disclosure that no signed digest vouches for (edited, duplicated, unreferenced)."""


class LogProofError(VerificationError):
    """A Merkle inclusion / consistency proof or a checkpoint that does not verify."""


class RootMismatch(LogProofError):
    """The root calculated from a proof differs from the expected root."""

    def __init__(self, expected_root: bytes, calculated_root: bytes) -> None:
        super().__init__(
            f"root mismatch: expected {expected_root.hex()}, calculated {calculated_root.hex()}"
        )
        self.expected_root = expected_root
        self.calculated_root = calculated_root


class InconsistentLog(LogProofError):
    """Two views of the log that cannot both be true (a rewritten or forked log)."""


class InvalidCheckpoint(LogProofError):
    """A checkpoint note that is malformed or not signed by the log's key."""


class KeyFileError(VcwalletError):
    """A key file that cannot be read, or a wrong passphrase."""


class ResolutionError(VcwalletError):
    """A DID or DID URL that cannot be resolved."""


class UnknownCredential(VcwalletError):
    """An issuer holds no credential with that id (.credential_id)."""

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"no credential {credential_id[:200]!r} was issued here")
        self.credential_id = credential_id


class LedgerError(VcwalletError):
    """The ledger store cannot do what was asked."""


class LedgerCorrupted(LedgerError):
    """Stored ledger rows disagree with the tree they claim to form."""


class StatusListError(VcwalletError):
    """The status registry cannot do what was asked (.reason: unknown, duplicate, permanent, full)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WalletError(VcwalletError):
    """The wallet cannot do what was asked."""


class UnmetRequirement(WalletError):
    """No held credential satisfies a request (.requirement names it, .constraint says what failed)."""

    def __init__(self, requirement: str, constraint: str) -> None:
        super().__init__(f"requirement {requirement!r} is unmet: {constraint}")
        self.requirement = requirement
        self.constraint = constraint


class WrongPassphrase(WalletError):
    """The passphrase does not unlock the wallet or backup (the wrapped key's AEAD tag fails)."""


class WalletLocked(WalletError):
    """The wallet is closed, or another process holds its write lock past the timeout."""


class WalletCorrupted(WalletError):
    """A stored row that fails authentication: tampered, swapped or truncated (.record)."""

    def __init__(self, message: str, record: str = "") -> None:
        super().__init__(message)
        self.record = record


class CredentialRefused(WalletError):
    """A credential that did not verify, so it was not stored (.reason, .checks)."""

    def __init__(self, reason: str, checks: tuple[object, ...] = ()) -> None:
        super().__init__(f"credential refused: {reason}")
        self.reason = reason
        self.checks = checks


class TransportError(VcwalletError):
    """An HTTP peer did not answer usefully (.status: its HTTP status if it answered,
    .error_type: the error type its JSON body named)."""

    def __init__(self, message: str, *, status: int | None = None, error_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
