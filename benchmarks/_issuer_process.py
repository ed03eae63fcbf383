"""Shared by the HTTP benchmarks: run ``vcwallet serve`` for one issuer in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from vcwallet.client import IssuerClient
from vcwallet.errors import TransportError
from vcwallet.keys import KeyPair

TOKEN = "bench-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_issuer(folder: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    """``vcwallet serve`` for one issuer in a subprocess; (process, base URL) once it answers.

    Its staff token is :data:`TOKEN` (passed through the environment, as a config allows)."""
    folder.mkdir(parents=True, exist_ok=True)
    KeyPair.generate().save(folder / "issuer.key")
    port = free_port()
    (folder / "issuer.toml").write_text(
        f"[issuer]\nname = '{name}'\nkey_file = 'issuer.key'\ndata_dir = 'data'\n"
        f"[server]\nport = {port}\n[auth]\nissue_tokens = ['env:BENCH_TOKEN']\n", "utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from vcwallet.cli import main; sys.exit(main())",
         "serve", "--config", str(folder / "issuer.toml"), "--log-level", "warning"],
        env={**os.environ, "BENCH_TOKEN": TOKEN}, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    with IssuerClient(base, timeout=2) as probe:
        deadline = time.monotonic() + 30
        while True:
            try:
                probe.did_document()
                return process, base
            except TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise SystemExit(f"the issuer service {name} did not start") from None
                time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
