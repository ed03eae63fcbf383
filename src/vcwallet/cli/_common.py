"""Helpers shared by the command modules: exit codes, passphrases, reading input files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from .. import _json
from ..errors import MalformedDocumentError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PASSPHRASE_ENV = "VCWALLET_PASSPHRASE"


class CliFailure(Exception):
    """Stop the command with ``exit_code``, printing ``message`` (one line) if given."""

    def __init__(self, exit_code: int, message: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


def read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliFailure(EXIT_USAGE, f"cannot read {path}: {exc.strerror}") from None


def passphrase_from_env(required: bool = False, prompt: str = "Passphrase") -> str | None:
    """The passphrase comes from VCWALLET_PASSPHRASE or a prompt, never an argument."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if required:
        if sys.stdin is None or not sys.stdin.isatty():  # click.get_text_stream is deprecated
            raise CliFailure(EXIT_USAGE, f"a passphrase is needed: set {PASSPHRASE_ENV}")
        return str(click.prompt(prompt, hide_input=True))
    return None


def read_json_file(path: str) -> Any:
    """Strict JSON from a file; unreadable or invalid input is a usage error (exit 2)."""
    try:
        return _json.loads(read_bytes(path))
    except MalformedDocumentError as exc:
        raise CliFailure(EXIT_USAGE, f"{path}: {exc}") from None


def write_output(path: str, data: bytes) -> None:
    """Write through a temporary file, so a failed run never leaves half a file behind."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        raise CliFailure(EXIT_USAGE, f"cannot write {path}: {exc.strerror}") from None
