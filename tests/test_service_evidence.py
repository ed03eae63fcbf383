"""``POST /ledger/evidence``: the fast path and its memos answer exactly what the route
answered before them, byte for byte, errors included, also while the log grows."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vcwallet.demo import example_subject
from vcwallet.errors import LedgerError
from vcwallet.issuer import Issuer, IssueRequest
from vcwallet.keys import KeyPair
from vcwallet.ledger import InclusionProof, open_checkpoint
from vcwallet.ledger.hashing import leaf_hash
from vcwallet.service import ServiceConfig, create_app

LIMIT = 32 * 1024  # room for a 257-leaf request, which must be refused for its size


class InProcess:
    """An issuer and its app, driven by direct ASGI calls (no sockets, so both the fast
    path and the router can be reached on purpose)."""

    def __init__(self, tmp: Path) -> None:
        self.issuer = Issuer(name="Evidence U", base_url="http://127.0.0.1:9",
                             keys=[KeyPair.generate()], data_dir=tmp / "issuer")
        self.app = create_app(self.issuer, ServiceConfig(
            name="Evidence U", issue_tokens=("t" * 24,), max_body_bytes=LIMIT))
        self.holder = KeyPair.generate()
        self.leaves: list[bytes] = []
        self.sizes: list[int] = []

    def issue(self, count: int = 1) -> None:
        wanted = [IssueRequest("diploma", {**example_subject("diploma"),
                                           "id": self.holder.did_key}, "di-eddsa", None, None)
                  for _ in range(count)]
        for issued in self.issuer.issue_many(wanted):
            self.leaves.append(issued.receipt.leaf_hash)
        self.sizes.append(self.size)

    @property
    def size(self) -> int:
        return self.issuer.latest_checkpoint().checkpoint.tree_size

    def post(self, body: bytes | list[bytes], *, routed: bool = False,
             content_type: str = "application/json") -> tuple[int, list[Any], bytes]:
        """(status, headers, body). ``routed``: under a root path, where the fast path
        steps aside and FastAPI's route answers; a list body arrives in chunks."""
        chunks = body if isinstance(body, list) else [body]
        headers = [(b"host", b"test"), (b"content-type", content_type.encode())]
        if not isinstance(body, list):
            headers.append((b"content-length", str(len(body)).encode()))
        root = "/svc" if routed else ""
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": root + "/ledger/evidence",
                 "raw_path": (root + "/ledger/evidence").encode(), "query_string": b"",
                 "root_path": root, "headers": headers, "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 2)}
        messages = [{"type": "http.request", "body": c, "more_body": n < len(chunks) - 1}
                    for n, c in enumerate(chunks)]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(self.app(scope, receive, send))
        start = sent[0]
        return start["status"], start["headers"], b"".join(m.get("body", b"") for m in sent[1:])

    def reference(self, hashes: list[str], since: int) -> bytes:
        """The answer as the route computed it before the memos: straight from the log,
        serialised by JSONResponse's rules."""
        latest = self.issuer.latest_checkpoint()
        note, size = latest.note, latest.checkpoint.tree_size
        log = self.issuer.log
        found: dict[int, int] = {}
        for number, text in enumerate(hashes):
            try:
                index = log.find_leaf(bytes.fromhex(text))
            except LedgerError:
                continue
            if index < size:
                found[number] = index
        proofs = dict(zip(found, log.inclusion_proofs(list(found.values()), size))) \
            if found else {}
        consistency = log.consistency_proof(since, size).to_json() if since else None
        answer = {"checkpoint": note, "consistency": consistency,
                  "inclusions": [proofs[n].to_json() if n in proofs else None
                                 for n in range(len(hashes))]}
        return json.dumps(answer, ensure_ascii=False, allow_nan=False, indent=None,
                          separators=(",", ":")).encode("utf-8")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[InProcess]:
    running = InProcess(tmp_path)
    running.issue(3)
    running.issue(2)
    yield running
    running.issuer.close()


def body_of(hashes: list[str], since: Any = None) -> bytes:
    request: dict[str, Any] = {"leafHashes": hashes}
    if since is not None:
        request["since"] = since
    return json.dumps(request).encode()


def assert_same_everywhere(served: InProcess, hashes: list[str], since: int) -> bytes:
    """Fast path, router and the pre-memo reference give the same 200 answer."""
    fast = served.post(body_of(hashes, since))
    routed = served.post(body_of(hashes, since), routed=True)
    assert fast[0] == routed[0] == 200, (fast, routed)
    assert fast[1] == routed[1]
    assert fast[2] == routed[2] == served.reference(hashes, since)
    return fast[2]


UNKNOWN = hashlib.sha256(b"no such leaf").hexdigest()


def test_answers_are_byte_identical_to_the_unmemoised_route(served: InProcess) -> None:
    known = [leaf.hex() for leaf in served.leaves]
    cases = [known[:1], known, [UNKNOWN], [known[2], UNKNOWN, known[0]],
             [known[1], known[1]], [known[3].upper()], [known[0].upper(), known[0]]]
    for hashes in cases:
        for since in (0, 1, served.sizes[0], served.size):
            assert_same_everywhere(served, hashes, since)
            assert_same_everywhere(served, hashes, since)  # again: now from the memos
    headers = dict(served.post(body_of(known, 0))[1])
    assert headers[b"content-type"] == b"application/json"
    assert served.post(body_of(known))[2] == served.reference(known, 0)  # since defaults to 0


def test_proofs_follow_the_log_as_it_grows(served: InProcess) -> None:
    known = [leaf.hex() for leaf in served.leaves]
    first = json.loads(assert_same_everywhere(served, known, served.sizes[0]))
    served.issue(3)  # a new checkpoint: every proof is for a new size
    grown = json.loads(assert_same_everywhere(served, known, served.sizes[0]))
    assert grown["checkpoint"] != first["checkpoint"]
    key = served.issuer.log.public_key
    checkpoint = open_checkpoint(grown["checkpoint"], key)
    assert grown["consistency"]["second"] == checkpoint.tree_size == served.size
    for text, proof in zip(known, grown["inclusions"], strict=True):
        parsed = InclusionProof.from_json(proof)
        assert parsed.leaf_hash.hex() == text and parsed.tree_size == checkpoint.tree_size
        parsed.verify(checkpoint.root_hash)


def test_a_leaf_is_found_once_it_is_appended_and_covered(served: InProcess) -> None:
    data = b"a leaf that is not there yet"
    wanted = [leaf_hash(data).hex(), served.leaves[0].hex()]
    assert json.loads(assert_same_everywhere(served, wanted, 0))["inclusions"][0] is None
    served.issuer.log.append(data)  # in the log, not yet under a checkpoint
    assert json.loads(assert_same_everywhere(served, wanted, 0))["inclusions"][0] is None
    served.issue()  # the next checkpoint covers it
    answer = json.loads(assert_same_everywhere(served, wanted, 0))
    proof = InclusionProof.from_json(answer["inclusions"][0])
    proof.verify(open_checkpoint(answer["checkpoint"], served.issuer.log.public_key).root_hash)


@pytest.mark.parametrize("body, status", [
    (b'{"leafHashes": []}', 400),
    (b'{"leafHashes": ["zz"]}', 400),
    (b'{"leafHashes": [1]}', 400),
    (b'{"leafHashes": "' + UNKNOWN.encode() + b'"}', 400),
    (json.dumps({"leafHashes": [UNKNOWN] * 257}).encode(), 400),
    (b'{"leafHashes": ["' + UNKNOWN.encode() + b'"], "since": -1}', 400),
    (b'{"leafHashes": ["' + UNKNOWN.encode() + b'"], "since": true}', 400),
    (b'{"leafHashes": ["' + UNKNOWN.encode() + b'"], "since": "3"}', 400),
    (b'{"leafHashes": ["' + UNKNOWN.encode() + b'"], "since": 1.5}', 400),
    (b'{"leafHashes": ["' + UNKNOWN.encode() + b'"], "since": 1000000}', 409),
    (b'["' + UNKNOWN.encode() + b'"]', 400),
    (b'{"leafHashes": 1, "leafHashes": 2}', 400),
    (b'{"leafHashes": [NaN]}', 400),
    (b'not json', 400),
    (b'\xff\xfe', 400),
    (b'{"pad": "' + b"x" * LIMIT + b'"}', 413),
])
def test_refusals_are_the_routes(served: InProcess, body: bytes, status: int) -> None:
    fast = served.post(body)
    routed = served.post(body, routed=True)
    assert fast == routed
    assert fast[0] == status
    assert json.loads(fast[2])["error"]["status"] == status


def test_media_type_and_chunked_limits_are_the_routes(served: InProcess) -> None:
    good = body_of([UNKNOWN], 0)
    for kind in ("text/plain", "", "application/jsonx"):
        fast = served.post(good, content_type=kind)
        assert fast == served.post(good, content_type=kind, routed=True)
        assert fast[0] == 415
    assert served.post(good, content_type="application/ld+json; charset=utf-8")[0] == 200
    chunked = [b'{"leafHashes": ["', b"a" * LIMIT, b'"]}']  # no Content-Length: counted
    fast = served.post(chunked)
    assert fast == served.post(chunked, routed=True)
    assert fast[0] == 413
    split = [good[:10], good[10:]]
    assert served.post(split) == served.post(split, routed=True)
    assert served.post(split)[2] == served.reference([UNKNOWN], 0)
