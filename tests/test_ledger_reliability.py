"""Crash safety and concurrency with real processes: SIGKILL writers mid-batch, many times;
several processes appending to one PostgreSQL log at once."""

from __future__ import annotations

import itertools
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vcwallet.ledger import TransparencyLog, open_store

SEED = b"\x42" * 32
ORIGIN = "ledger.test/crash"

# The writer acknowledges a batch (prints ACK) only after append_batch returned, i.e. after
# the commit; the parent may then kill it at any moment, usually inside the next batch.
WRITER = r"""
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from vcwallet.ledger import TransparencyLog, open_store

location, tag, batch, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sys.argv[5]))
log = TransparencyLog.open(open_store(location))
for r in range(rounds):
    done = log.append_batch([f"{tag}:{r}:{j}".encode() for j in range(batch)])
    print(f"ACK {done.start} {done.stop} {tag}:{r}", flush=True)
    if r % 3 == 2:
        cp = log.sign_checkpoint(key, tree_size=done.stop)
        print(f"CP {cp.checkpoint.tree_size}", flush=True)
print("DONE", flush=True)
"""


def _spawn(location: str, tag: str, batch: int, rounds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, location, tag, str(batch), str(rounds), SEED.hex()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _check_log(location: str, acked: dict[tuple[int, int], str]) -> int:
    """Every acknowledged batch is there, the tree audits, every checkpoint extends to the newest."""
    with open_store(location) as store:  # type: ignore[attr-defined]
        log = TransparencyLog.open(store)
        size = log.size()
        for (start, stop), label in acked.items():
            assert stop <= size
            for i in (start, (start + stop) // 2, stop - 1):
                assert log.leaf(i)[1] == f"{label}:{i - start}".encode()
        report = log.audit()
        assert report.tree_size == size
        checkpoints = [c.checkpoint for c in log.checkpoints()]
        newest = checkpoints[-1]
        for cp in checkpoints:
            if cp.tree_size:
                log.consistency_proof(cp.tree_size, newest.tree_size).verify(
                    cp.root_hash, newest.root_hash
                )
        return size


def _kill_many_times(location: str, kills: int, batch: int) -> None:
    rng = random.Random(7)
    acked: dict[tuple[int, int], str] = {}
    killed_mid_batch = 0
    for attempt in range(kills):
        writer = _spawn(location, f"w{attempt}", batch, rounds=1000)
        assert writer.stdout is not None
        wanted = rng.randint(1, 3)
        seen = 0
        while seen < wanted:
            line = writer.stdout.readline()
            assert line, writer.stderr.read() if writer.stderr else "writer died"
            if line.startswith("ACK"):
                _, start, stop, label = line.split()
                acked[(int(start), int(stop))] = label
                seen += 1
        time.sleep(rng.uniform(0.0, 0.05))
        writer.send_signal(signal.SIGKILL)
        # whatever it printed before dying was acknowledged too
        rest, _ = writer.communicate()
        for line in rest.splitlines():
            if line.startswith("ACK"):
                _, start, stop, label = line.split()
                acked[(int(start), int(stop))] = label
        killed_mid_batch += writer.returncode == -signal.SIGKILL
        size = _check_log(location, acked)
        # A batch may commit just before the kill without its ACK being printed; but a
        # batch is all or nothing, never half there.
        assert size - max(stop for _, stop in acked) in (0, batch)
    assert killed_mid_batch == kills


def _init(location: str) -> None:
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    with open_store(location, create=True) as store:  # type: ignore[attr-defined]
        log = TransparencyLog.create(store, origin=ORIGIN, public_key=key.public_key())
        log.sign_checkpoint(key)


def test_sqlite_survives_sigkill_mid_batch(tmp_path: Path) -> None:
    location = str(tmp_path / "crash.db")
    _init(location)
    _kill_many_times(location, kills=12, batch=2000)


@pytest.fixture
def pg_location(postgres_url: str) -> object:
    schema = f"t_crash_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in postgres_url else "?"
    location = f"{postgres_url}{sep}schema={schema}"
    _init(location)
    yield location
    with open_store(location) as store:  # type: ignore[attr-defined]
        store.drop()


def test_postgres_survives_sigkill_mid_batch(pg_location: str) -> None:
    _kill_many_times(pg_location, kills=6, batch=2000)


def test_postgres_concurrent_appenders_form_one_history(pg_location: str) -> None:
    writers = [_spawn(pg_location, f"p{n}", batch=200, rounds=15) for n in range(4)]
    acked: dict[tuple[int, int], str] = {}
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        for line in out.splitlines():
            if line.startswith("ACK"):
                _, start, stop, label = line.split()
                acked[(int(start), int(stop))] = label
    assert len(acked) == 60
    spans = sorted(acked)
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # no gaps
    assert _check_log(pg_location, acked) == 4 * 15 * 200


def test_sqlite_concurrent_appenders_form_one_history(tmp_path: Path) -> None:
    location = str(tmp_path / "shared.db")
    _init(location)
    writers = [_spawn(location, f"s{n}", batch=100, rounds=10) for n in range(3)]
    acked: dict[tuple[int, int], str] = {}
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        for line in out.splitlines():
            if line.startswith("ACK"):
                _, start, stop, label = line.split()
                acked[(int(start), int(stop))] = label
    spans = sorted(acked)
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert _check_log(location, acked) == 3 * 10 * 100

