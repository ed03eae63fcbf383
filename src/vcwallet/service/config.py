"""The issuer service's configuration: one TOML file, read with ``tomllib``.

Relative paths in the file are relative to the file itself. Secrets (tokens, API keys)
may be written literally or as ``"env:NAME"`` to be read from the environment. The key
file's passphrase, when it has one, comes from ``VCWALLET_PASSPHRASE``. See
``examples/issuer.toml`` and ``docs/issuer-service.md``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MalformedDocumentError
from ..keys import KeyPair

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
PASSPHRASE_ENV = "VCWALLET_PASSPHRASE"

# A file that cannot be read as a configuration is a malformed document like any other.
ConfigError = MalformedDocumentError

@dataclass(frozen=True)
class Employer:
    """An employer allowed to ask for consented releases, and the API key it presents."""

    id: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``vcwallet serve`` needs. Secrets are kept out of ``repr``."""

    name: str
    host: str = "127.0.0.1"
    port: int = 8443
    base_url: str = ""  # default: http://host:port
    key_files: tuple[Path, ...] = ()
    log_key_file: Path | None = None
    data_dir: Path = Path("issuer-data")
    ledger: str | None = None  # SQLite path or postgresql:// URL; default data_dir/ledger.sqlite
    credential_types: tuple[str, ...] | None = None
    issue_tokens: tuple[str, ...] = field(default=(), repr=False)
    employers: tuple[Employer, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    docs: bool = True

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def load_keys(self) -> tuple[list[KeyPair], KeyPair | None]:
        """(signing keys, checkpoint key or None) from the key files."""
        passphrase = os.environ.get(PASSPHRASE_ENV) or None
        keys = [KeyPair.load(path, passphrase=passphrase) for path in self.key_files]
        log_key = (KeyPair.load(self.log_key_file, passphrase=passphrase)
                   if self.log_key_file is not None else None)
        return keys, log_key


def _secret(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string")
    if value.startswith("env:"):
        name = value[4:]
        found = os.environ.get(name)
        if not found:
            raise ConfigError(f"{where} names environment variable {name}, which is not set")
        return found
    if len(value) < 16:
        raise ConfigError(f"{where} is too short to be a secret (16 characters at least)")
    return value


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _text(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value


def _path(base: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def parse_config(data: Mapping[str, Any], *, base_dir: Path) -> ServiceConfig:
    """Build a :class:`ServiceConfig` from parsed TOML; :class:`ConfigError` when it is wrong."""
    issuer = _table(data, "issuer")
    server = _table(data, "server")
    auth = _table(data, "auth")
    keys = issuer.get("key_files", [issuer["key_file"]] if "key_file" in issuer else [])
    if not isinstance(keys, list) or not keys:
        raise ConfigError("[issuer] needs key_file (or key_files, a list)")
    port = server.get("port", 8443)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError("[server].port must be a port number")
    limit = server.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1024:
        raise ConfigError("[server].max_body_bytes must be an integer of at least 1024")
    types = issuer.get("credential_types")
    if types is not None and (not isinstance(types, list)
                              or not all(isinstance(t, str) for t in types)):
        raise ConfigError("[issuer].credential_types must be a list of type names")
    tokens = auth.get("issue_tokens", [])
    if not isinstance(tokens, list) or not tokens:
        raise ConfigError("[auth].issue_tokens must list at least one token "
                          "(there is no anonymous issuance)")
    employers = auth.get("employers", [])
    if not isinstance(employers, list) or not all(isinstance(e, Mapping) for e in employers):
        raise ConfigError("[[auth.employers]] entries must be tables with id and api_key")
    ledger = issuer.get("ledger")
    if ledger is not None and not isinstance(ledger, str):
        raise ConfigError("[issuer].ledger must be a path or a postgresql:// URL")
    if isinstance(ledger, str) and not ledger.startswith(("postgresql://", "postgres://")):
        ledger = str(_path(base_dir, ledger, "[issuer].ledger"))
    docs = server.get("docs", True)
    if not isinstance(docs, bool):
        raise ConfigError("[server].docs must be true or false")
    return ServiceConfig(
        name=_text(issuer, "name", "[issuer]"),
        host=_text(server, "host", "[server]", "127.0.0.1"),
        port=port,
        base_url=str(issuer.get("base_url", "")),
        key_files=tuple(_path(base_dir, k, "[issuer].key_files") for k in keys),
        log_key_file=(_path(base_dir, issuer["log_key_file"], "[issuer].log_key_file")
                      if "log_key_file" in issuer else None),
        data_dir=_path(base_dir, issuer.get("data_dir", "issuer-data"), "[issuer].data_dir"),
        ledger=ledger,
        credential_types=tuple(types) if types is not None else None,
        issue_tokens=tuple(_secret(t, "[auth].issue_tokens") for t in tokens),
        employers=tuple(
            Employer(_text(e, "id", "[[auth.employers]]"),
                     _secret(e.get("api_key"), f"[[auth.employers]] {e.get('id')!r} api_key"))
            for e in employers),
        max_body_bytes=limit,
        docs=docs,
    )


def load_config(path: str | os.PathLike[str]) -> ServiceConfig:
    """Read and check the TOML file at ``path``."""
    target = Path(path)
    try:
        with target.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {target}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target} is not valid TOML: {exc}") from None
    return parse_config(data, base_dir=target.resolve().parent)


def build_issuer(config: ServiceConfig) -> Any:
    """The :class:`vcwallet.issuer.Issuer` a configuration describes (keys loaded here)."""
    from ..issuer import Issuer

    keys, log_key = config.load_keys()
    try:
        return Issuer(name=config.name, base_url=config.public_url, keys=keys,
                      data_dir=config.data_dir, ledger=config.ledger, log_key=log_key,
                      credential_types=config.credential_types)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
