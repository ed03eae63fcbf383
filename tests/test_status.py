"""Bitstring Status List: codec against the spec, allocation, persistence, revocation rules,
signed list credentials, forged lists, bombs, and the verifier's cache."""

from __future__ import annotations

import base64
import copy
import gzip
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from vcwallet import status as st
from vcwallet.credentials import verify_credential
from vcwallet.errors import (
    CredentialRevoked,
    MalformedDocumentError,
    StatusCheckUnavailable,
    StatusListError,
    TransportError,
)
from vcwallet.keys import KeyPair, KeyType
from vcwallet.model import Status

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BASE = "https://uni.example/status"
# The example encodedList of the spec's BitstringStatusListCredential: 16 KiB of zero bits.
SPEC_EXAMPLE = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
MIN_BYTES = st.STATUS_LIST_MIN_ENTRIES // 8


@pytest.fixture(scope="module")
def issuer_key() -> KeyPair:
    return KeyPair.generate(KeyType.ED25519)


@pytest.fixture(scope="module")
def other_key() -> KeyPair:
    return KeyPair.generate(KeyType.ED25519)


@pytest.fixture
def store(tmp_path):
    with st.SqliteStatusStore(tmp_path / "status.db") as opened:
        yield opened


@pytest.fixture
def registry(store, issuer_key) -> st.StatusRegistry:
    return st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key)


class Lists:
    """What the issuer publishes, by URL; counts fetches (the test's stand-in for HTTP)."""

    def __init__(self) -> None:
        self.served: dict[str, object] = {}
        self.fetches: list[str] = []

    def publish(self, registry, signer, *, fmt="di-eddsa", now=NOW, **options) -> None:
        for list_id in registry.list_ids():
            self.served[registry.list_url(list_id)] = registry.list_credential(
                list_id, signer=signer, format=fmt, now=now, **options)

    def __call__(self, url: str):
        self.fetches.append(url)
        if url not in self.served:
            raise TransportError(f"404 for {url}")
        return self.served[url]


def credential_with(entries, issuer) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:holder"},
        "credentialStatus": entries,
    }


def outcomes(results) -> dict[str, st.StatusOutcome]:
    return {r.purpose: r.outcome for r in results}


# --------------------------------------------------------------------------------------
# the codec
# --------------------------------------------------------------------------------------
def test_spec_example_encoded_list_decodes_to_131072_clear_bits():
    bits = st.decode_list(SPEC_EXAMPLE)
    assert bits == bytes(MIN_BYTES)
    assert not any(st.read_bit(bits, i) for i in (0, 94567, st.STATUS_LIST_MIN_ENTRIES - 1))


def test_bit_zero_is_the_most_significant_bit_of_byte_zero():
    bits = bytearray(MIN_BYTES)
    bits[0] = 0x80
    bits[1] = 0x01
    decoded = st.decode_list(st.encode_list(bytes(bits)))
    assert st.read_bit(decoded, 0) and not st.read_bit(decoded, 1)
    assert st.read_bit(decoded, 15) and not st.read_bit(decoded, 8)
    with pytest.raises(IndexError):
        st.read_bit(decoded, st.STATUS_LIST_MIN_ENTRIES)


def test_encoding_is_unpadded_base64url_of_gzip_and_deterministic():
    bits = bytes(range(256)) * (MIN_BYTES // 256)
    encoded = st.encode_list(bits)
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded
    assert encoded == st.encode_list(bits)
    raw = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert gzip.decompress(raw) == bits
    assert st.decode_list(encoded) == bits


def test_lists_shorter_than_the_herd_privacy_minimum_are_refused():
    with pytest.raises(ValueError):
        st.encode_list(bytes(MIN_BYTES - 1))
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(MIN_BYTES - 1))).decode().rstrip("=")
    with pytest.raises(MalformedDocumentError, match="fewer than the minimum"):
        st.decode_list(short)


def _encode_raw(payload: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def test_gzip_bomb_is_refused_after_bounded_inflation():
    bomb = _encode_raw(gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9))  # 64 MiB of zeros
    assert len(bomb) < 100_000
    with pytest.raises(MalformedDocumentError, match="inflates past"):
        st.decode_list(bomb)
    # the same list is fine for a caller who allows it
    assert len(st.decode_list(bomb, max_size=2**29)) == 64 * 1024 * 1024


def test_oversized_encoded_text_is_refused_before_decoding():
    with pytest.raises(MalformedDocumentError, match="longer than"):
        st.decode_list("u" + "A" * 200_000, max_size=st.STATUS_LIST_MIN_ENTRIES)


@pytest.mark.parametrize("encoded", [
    SPEC_EXAMPLE[1:],                       # no multibase prefix
    "z" + SPEC_EXAMPLE[1:],                 # base58btc prefix
    SPEC_EXAMPLE + "=",                     # padding
    SPEC_EXAMPLE + "\n",                    # a trailing newline
    SPEC_EXAMPLE[:-5] + "+/AA",             # standard base64 alphabet
    SPEC_EXAMPLE[:-4],                      # truncated GZIP stream
    "uAAAA",                                # not GZIP
    "u",                                    # empty
    _encode_raw(gzip.compress(bytes(MIN_BYTES)) + b"trailing"),
    _encode_raw(gzip.compress(bytes(MIN_BYTES)) + gzip.compress(b"x")),  # second member
    _encode_raw(__import__("zlib").compress(bytes(MIN_BYTES))),          # zlib, not GZIP
    12345,
    None,
])
def test_malformed_encoded_lists_raise_malformed_document(encoded):
    with pytest.raises(MalformedDocumentError):
        st.decode_list(encoded)


def test_corrupted_gzip_crc_is_refused():
    packed = bytearray(gzip.compress(bytes(MIN_BYTES)))
    packed[-8] ^= 0xFF  # the CRC-32 of the trailer
    with pytest.raises(MalformedDocumentError):
        st.decode_list(_encode_raw(bytes(packed)))


# --------------------------------------------------------------------------------------
# allocation
# --------------------------------------------------------------------------------------
def test_allocate_returns_spec_shaped_entries(registry):
    entries = registry.allocate("urn:uuid:a")
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    for entry in entries:
        assert entry["type"] == "BitstringStatusListEntry"
        index = entry["statusListIndex"]
        assert isinstance(index, str) and index.isdigit()
        assert 0 <= int(index) < st.STATUS_LIST_MIN_ENTRIES
        assert entry["statusListCredential"].startswith(BASE + "/")
        assert entry["id"] == f"{entry['statusListCredential']}#{index}"
    # one list per purpose
    assert entries[0]["statusListCredential"] != entries[1]["statusListCredential"]
    assert registry.entries("urn:uuid:a") == entries


def test_allocation_is_random_and_never_reuses_an_index(registry):
    indexes = []
    for n in range(1500):
        (entry,) = registry.allocate(f"urn:uuid:{n}", purposes=["revocation"])
        indexes.append(int(entry["statusListIndex"]))
    assert len(set(indexes)) == len(indexes)
    assert indexes != sorted(indexes)
    # spread over the whole list: each eighth gets roughly its share (expected 187.5)
    eighth = st.STATUS_LIST_MIN_ENTRIES // 8
    counts = [sum(1 for i in indexes if k * eighth <= i < (k + 1) * eighth) for k in range(8)]
    assert all(100 < c < 280 for c in counts), counts
    assert registry.list_ids("revocation") == ["1"]


def test_no_reuse_across_reopen_and_allocations_persist(tmp_path, issuer_key):
    path = tmp_path / "status.db"
    seen = set()
    for round_ in range(3):
        with st.SqliteStatusStore(path) as store:
            registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key)
            for n in range(200):
                for entry in registry.allocate(f"urn:uuid:{round_}-{n}"):
                    seen.add((entry["statusListCredential"], entry["statusListIndex"]))
    assert len(seen) == 3 * 200 * 2
    with st.SqliteStatusStore(path) as store:
        registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key)
        assert len(registry.entries("urn:uuid:1-7")) == 2


def test_a_collision_is_drawn_again(store, issuer_key):
    draws = iter([5, 5, 5, 9])
    registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key,
                                 pick=lambda n: next(draws))
    (first,) = registry.allocate("urn:a", ["revocation"])
    (second,) = registry.allocate("urn:b", ["revocation"])
    assert (first["statusListIndex"], second["statusListIndex"]) == ("5", "9")


def test_endless_collisions_raise_instead_of_looping(store, issuer_key):
    registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key,
                                 pick=lambda n: 3)
    registry.allocate("urn:a", ["revocation"])
    with pytest.raises(StatusListError) as caught:
        registry.allocate("urn:b", ["revocation"])
    assert caught.value.reason == "full"
    assert registry.entries("urn:b") == []  # all or nothing


def test_a_new_list_opens_once_half_of_one_is_taken(store, issuer_key):
    registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key,
                                 max_fill=0.001)  # 131 per list keeps the test quick
    per_list = int(st.STATUS_LIST_MIN_ENTRIES * 0.001)
    for n in range(per_list * 2 + 10):
        registry.allocate(f"urn:{n}", ["revocation"])
    ids = registry.list_ids("revocation")
    assert ids == ["1", "2", "3"]
    filled = [store.load_list(i).allocated for i in ids]
    assert filled == [per_list, per_list, 10]


def test_the_default_fill_limit_is_half_a_list(tmp_path, issuer_key):
    half = st.STATUS_LIST_MIN_ENTRIES // 2
    path = tmp_path / "status.db"
    st.SqliteStatusStore(path).close()
    # a list one short of half full, seeded through SQLite itself (65k allocations are slow)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO status_lists (purpose, size, bits, allocated) VALUES "
                   "('revocation', ?, ?, ?)", (st.STATUS_LIST_MIN_ENTRIES, bytes(MIN_BYTES),
                                               half - 1))
    db.close()
    with st.SqliteStatusStore(path) as store:
        registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key)
        (last,) = registry.allocate("urn:last-in-first", ["revocation"])
        (fresh,) = registry.allocate("urn:first-in-second", ["revocation"])
        assert store.load_list("1").allocated == half
    assert last["statusListCredential"].endswith("/1")
    assert fresh["statusListCredential"].endswith("/2")


def test_duplicate_credential_ids_and_bad_arguments_are_refused(registry):
    registry.allocate("urn:dup", ["revocation"])
    with pytest.raises(StatusListError) as caught:
        registry.allocate("urn:dup", ["suspension", "revocation"])
    assert caught.value.reason == "duplicate"
    assert [e["statusPurpose"] for e in registry.entries("urn:dup")] == ["revocation"]
    with pytest.raises(ValueError):
        registry.allocate("urn:x", ["message"])
    with pytest.raises(ValueError):
        registry.allocate("urn:x", [])
    with pytest.raises(ValueError):
        registry.allocate("", ["revocation"])


def test_registry_refuses_lists_below_the_minimum(store):
    with pytest.raises(ValueError):
        st.StatusRegistry(store, base_url=BASE, issuer="did:example:i", list_size=1024)
    with pytest.raises(ValueError):
        st.StatusRegistry(store, base_url="not a url", issuer="did:example:i")
    with pytest.raises(ValueError):
        st.StatusRegistry(store, base_url=BASE + "\n", issuer="did:example:i")


def test_korean_credential_ids_round_trip(registry):
    cid = "urn:한국대학교:졸업증명서:2026-001"
    entries = registry.allocate(cid)
    registry.suspend(cid)
    assert registry.entries(cid) == entries
    assert registry.status_of(cid) == {"revocation": False, "suspension": True}


# --------------------------------------------------------------------------------------
# revoke, suspend, unsuspend
# --------------------------------------------------------------------------------------
def test_revoke_suspend_unsuspend_and_persistence(tmp_path, issuer_key):
    path = tmp_path / "status.db"
    with st.SqliteStatusStore(path) as store:
        registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key)
        registry.allocate("urn:a")
        registry.allocate("urn:b")
        assert registry.status_of("urn:a") == {"revocation": False, "suspension": False}
        registry.suspend("urn:a")
        registry.revoke("urn:b")
    with st.SqliteStatusStore(path) as store:
        registry = st.StatusRegistry(store, base_url=BASE, issuer=issuer_key.did_key)
        assert registry.status_of("urn:a") == {"revocation": False, "suspension": True}
        assert registry.status_of("urn:b") == {"revocation": True, "suspension": False}
        registry.unsuspend("urn:a")
        assert registry.status_of("urn:a") == {"revocation": False, "suspension": False}
        # the bit really is in the stored list, at the allocated index
        (revocation, _) = registry.entries("urn:b")
        stored = store.load_list(revocation["statusListCredential"].rsplit("/", 1)[1])
        assert st.read_bit(stored.bits, int(revocation["statusListIndex"]))
        assert sum(b.bit_count() for b in stored.bits) == 1


def test_revocation_is_permanent(registry):
    registry.allocate("urn:gone")
    registry.revoke("urn:gone")
    registry.revoke("urn:gone")  # idempotent
    with pytest.raises(StatusListError) as caught:
        registry.set_status("urn:gone", "revocation", False)
    assert caught.value.reason == "permanent"
    assert registry.status_of("urn:gone")["revocation"] is True


def test_versions_grow_only_when_a_bit_changes(registry, store):
    (entry,) = registry.allocate("urn:v", ["suspension"])
    list_id = entry["statusListCredential"].rsplit("/", 1)[1]
    assert store.load_list(list_id).version == 0
    registry.suspend("urn:v")
    registry.suspend("urn:v")
    assert store.load_list(list_id).version == 1
    registry.unsuspend("urn:v")
    assert store.load_list(list_id).version == 2


def test_unknown_credentials_and_lists_raise_status_list_error(registry, store):
    registry.allocate("urn:only-revocation", ["revocation"])
    for call in (lambda: registry.revoke("urn:nobody"),
                 lambda: registry.suspend("urn:only-revocation"),
                 lambda: registry.status_of("urn:nobody"),
                 lambda: store.load_list("99"),
                 lambda: store.load_list("../etc"),
                 lambda: registry.list_id_for_url("https://elsewhere.example/status/1")):
        with pytest.raises(StatusListError) as caught:
            call()
        assert caught.value.reason == "unknown"
    assert registry.list_id_for_url(BASE + "/1") == "1"


def test_unusable_store_files_raise_status_list_error(tmp_path):
    with pytest.raises(StatusListError) as caught:
        st.SqliteStatusStore(tmp_path / "missing-dir" / "s.db")
    assert caught.value.reason == "store"
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StatusListError):
        st.SqliteStatusStore(junk)


def test_a_closed_store_raises_status_list_error(tmp_path):
    store = st.SqliteStatusStore(tmp_path / "s.db")
    store.close()
    store.close()
    with pytest.raises(StatusListError):
        store.list_ids()


def test_concurrent_allocations_from_threads_never_share_an_index(registry):
    found: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for n in range(100):
            for entry in registry.allocate(f"urn:{worker}:{n}"):
                with lock:
                    found.append((entry["statusListCredential"], entry["statusListIndex"]))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 800 and len(set(found)) == 800


_WORKER = """
import sys
from vcwallet.status import SqliteStatusStore, StatusRegistry
with SqliteStatusStore(sys.argv[1]) as store:
    registry = StatusRegistry(store, base_url="https://uni.example/status", issuer="did:example:u")
    for n in range(150):
        registry.allocate(f"urn:{sys.argv[2]}:{n}")
"""


def test_processes_sharing_one_file_never_share_an_index(tmp_path):
    path = tmp_path / "shared.db"
    st.SqliteStatusStore(path).close()
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(path), str(w)])
               for w in range(3)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT list_id, idx FROM status_allocations").fetchall()
    db.close()
    assert len(rows) == 3 * 150 * 2 and len(set(rows)) == len(rows)


# --------------------------------------------------------------------------------------
# the signed BitstringStatusListCredential
# --------------------------------------------------------------------------------------
def test_list_credential_is_signed_and_spec_shaped(registry, issuer_key):
    (entry,) = registry.allocate("urn:a", ["revocation"])
    registry.revoke("urn:a")
    signed = registry.list_credential("1", signer=issuer_key, now=NOW,
                                      valid_for=timedelta(minutes=10))
    assert isinstance(signed, dict)
    assert signed["id"] == BASE + "/1"
    assert signed["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert signed["issuer"] == issuer_key.did_key
    # validFrom is backdated for verifiers whose clocks run behind
    assert (signed["validFrom"], signed["validUntil"]) == ("2026-11-21T11:59:00Z",
                                                          "2026-11-21T12:10:00Z")
    assert verify_credential(signed, now=NOW - timedelta(seconds=59)).verified
    subject = signed["credentialSubject"]
    assert subject["id"] == BASE + "/1#list"
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    assert subject["ttl"] == 300_000
    bits = st.decode_list(subject["encodedList"])
    assert st.read_bit(bits, int(entry["statusListIndex"]))
    result = verify_credential(signed, now=NOW)
    assert result.verified, result.failures


@pytest.mark.parametrize("fmt, key_type", [("jwt", KeyType.ED25519), ("di-ecdsa", KeyType.P256),
                                           ("cose", KeyType.P256)])
def test_list_credential_in_other_formats_verifies(store, fmt, key_type):
    signer = KeyPair.generate(key_type)
    registry = st.StatusRegistry(store, base_url=BASE, issuer=signer.did_key)
    registry.allocate("urn:a", ["suspension"])
    signed = registry.list_credential("1", signer=signer, format=fmt, now=NOW)
    assert verify_credential(signed, now=NOW).verified


def test_signed_copies_are_reused_until_the_list_changes_or_half_their_validity(registry,
                                                                                issuer_key):
    registry.allocate("urn:a", ["revocation"])
    first = registry.list_credential("1", signer=issuer_key, now=NOW)
    assert registry.list_credential("1", signer=issuer_key, now=NOW + timedelta(minutes=4)) is first
    later = registry.list_credential("1", signer=issuer_key, now=NOW + timedelta(minutes=6))
    assert later is not first and later["validUntil"] == "2026-11-21T12:16:00Z"
    registry.revoke("urn:a")
    changed = registry.list_credential("1", signer=issuer_key, now=NOW + timedelta(minutes=6))
    assert changed is not later
    assert changed["credentialSubject"]["encodedList"] != later["credentialSubject"]["encodedList"]
    with pytest.raises(StatusListError):
        registry.list_credential("7", signer=issuer_key, now=NOW)


def test_unsigned_list_credential_can_be_inspected(registry):
    registry.allocate("urn:a", ["revocation"])
    unsigned = registry.unsigned_list_credential("1", now=NOW, ttl=timedelta(seconds=30))
    assert "proof" not in unsigned and unsigned["credentialSubject"]["ttl"] == 30_000
    with pytest.raises(ValueError):
        registry.unsigned_list_credential("1", now=NOW, valid_for=timedelta(0))


# --------------------------------------------------------------------------------------
# checking status (the verifier side)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["di-eddsa", "jwt"])
def test_check_status_reads_clear_revoked_suspended_and_unsuspended(registry, issuer_key, fmt):
    entries_a = registry.allocate("urn:a")
    entries_b = registry.allocate("urn:b")
    cred_a = credential_with(entries_a, issuer_key.did_key)
    cred_b = credential_with(entries_b, issuer_key.did_key)
    lists = Lists()
    lists.publish(registry, issuer_key, fmt=fmt)
    results = st.check_status(cred_a, fetch_list=lists, now=NOW)
    assert outcomes(results) == {"revocation": st.StatusOutcome.CLEAR,
                                 "suspension": st.StatusOutcome.CLEAR}
    assert all(r.set is False for r in results)
    st.verify_status(cred_a, fetch_list=lists, now=NOW)

    registry.revoke("urn:a")
    registry.suspend("urn:b")
    lists.publish(registry, issuer_key, fmt=fmt)
    revoked = st.check_status(cred_a, fetch_list=lists, now=NOW)
    assert outcomes(revoked)["revocation"] is st.StatusOutcome.SET
    assert outcomes(revoked)["suspension"] is st.StatusOutcome.CLEAR
    with pytest.raises(CredentialRevoked) as caught:
        st.verify_status(cred_a, fetch_list=lists, now=NOW)
    assert caught.value.purpose == "revocation"
    assert caught.value.index == int(entries_a[0]["statusListIndex"])
    suspended = st.check_status(cred_b, fetch_list=lists, now=NOW)
    assert outcomes(suspended) == {"revocation": st.StatusOutcome.CLEAR,
                                   "suspension": st.StatusOutcome.SET}
    assert [r.set for r in suspended] == [False, True]
    with pytest.raises(CredentialRevoked) as caught:
        st.verify_status(cred_b, fetch_list=lists, now=NOW)
    assert caught.value.purpose == "suspension"

    registry.unsuspend("urn:b")
    lists.publish(registry, issuer_key, fmt=fmt)
    st.verify_status(cred_b, fetch_list=lists, now=NOW)


def test_a_single_entry_object_is_accepted(registry, issuer_key):
    (entry,) = registry.allocate("urn:a", ["revocation"])
    lists = Lists()
    lists.publish(registry, issuer_key)
    results = st.check_status(credential_with(entry, issuer_key.did_key), fetch_list=lists,
                              now=NOW)
    assert [r.outcome for r in results] == [st.StatusOutcome.CLEAR]
    bare = credential_with(entry, issuer_key.did_key)
    del bare["credentialStatus"]
    assert st.check_status(bare, fetch_list=lists, now=NOW) == []


def test_a_list_from_another_issuer_is_invalid(registry, issuer_key, other_key, store):
    entries = registry.allocate("urn:a")
    # the forger runs its own registry over the same list ids and URLs, signed by its own key
    forged = st.StatusRegistry(store, base_url=BASE, issuer=other_key.did_key)
    lists = Lists()
    lists.publish(forged, other_key)
    assert verify_credential(lists.served[BASE + "/1"], now=NOW).verified  # genuine, wrong issuer
    results = st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists,
                              now=NOW)
    assert all(r.outcome is st.StatusOutcome.INVALID for r in results)
    assert "not by the credential's issuer" in results[0].reason
    with pytest.raises(StatusCheckUnavailable):
        st.verify_status(credential_with(entries, issuer_key.did_key), fetch_list=lists, now=NOW)


@pytest.mark.parametrize("fmt", ["di-eddsa", "jwt"])
def test_a_list_signed_by_another_key_in_the_issuers_name_is_invalid(registry, issuer_key,
                                                                     other_key, fmt, tmp_path):
    entries = registry.allocate("urn:a")
    registry.revoke("urn:a")
    vm = f"{issuer_key.did_key}#{issuer_key.did_key.removeprefix('did:key:')}"
    lists = Lists()
    with st.SqliteStatusStore(tmp_path / "forger.db") as forger_store:
        clean = st.StatusRegistry(forger_store, base_url=BASE, issuer=issuer_key.did_key)
        clean.allocate("x", ["revocation"])
        # a clean list claiming the issuer, signed by the forger's key under the issuer's key id
        lists.served[BASE + "/1"] = clean.list_credential(
            "1", signer=other_key, verification_method=vm, format=fmt, now=NOW)
    (result,) = st.check_status(credential_with(entries[:1], issuer_key.did_key),
                                fetch_list=lists, now=NOW)
    assert result.outcome is st.StatusOutcome.INVALID
    assert "does not verify" in result.reason


def test_a_tampered_encoded_list_is_invalid(registry, issuer_key):
    entries = registry.allocate("urn:a")
    registry.revoke("urn:a")
    lists = Lists()
    lists.publish(registry, issuer_key)
    tampered = copy.deepcopy(lists.served[BASE + "/1"])
    tampered["credentialSubject"]["encodedList"] = SPEC_EXAMPLE  # all clear
    lists.served[BASE + "/1"] = tampered
    results = st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists,
                              now=NOW)
    assert outcomes(results)["revocation"] is st.StatusOutcome.INVALID
    assert st.status_check(results).status is Status.FAILED


def test_a_list_for_the_other_purpose_or_at_the_wrong_url_is_invalid(registry, issuer_key):
    entries = registry.allocate("urn:a")
    lists = Lists()
    lists.publish(registry, issuer_key)
    # serve the suspension list where the revocation list lives: its id names the other URL
    lists.served[BASE + "/1"] = lists.served[BASE + "/2"]
    results = st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists,
                              now=NOW)
    assert outcomes(results)["revocation"] is st.StatusOutcome.INVALID
    assert "names itself" in results[0].reason
    # an entry that points at the suspension list while claiming revocation
    lying = dict(entries[0], statusListCredential=BASE + "/2", id=BASE + "/2#1")
    (result,) = st.check_status(credential_with(lying, issuer_key.did_key), fetch_list=lists,
                                now=NOW)
    assert result.outcome is st.StatusOutcome.INVALID and "not revocation" in result.reason


def test_unreachable_or_stale_lists_are_unavailable_never_valid(registry, issuer_key):
    entries = registry.allocate("urn:a")
    cred = credential_with(entries, issuer_key.did_key)

    def down(url: str):
        raise ConnectionRefusedError("issuer is down")

    results = st.check_status(cred, fetch_list=down, now=NOW)
    assert {r.outcome for r in results} == {st.StatusOutcome.UNAVAILABLE}
    assert all(r.set is None for r in results)
    check = st.status_check(results)
    assert check.status is Status.SKIPPED and check.required and "status unknown" in check.reason
    with pytest.raises(StatusCheckUnavailable) as caught:
        st.verify_status(cred, fetch_list=down, now=NOW)
    assert caught.value.status_list == entries[0]["statusListCredential"]

    lists = Lists()
    lists.publish(registry, issuer_key, valid_for=timedelta(minutes=10))
    stale = st.check_status(cred, fetch_list=lists, now=NOW + timedelta(minutes=11))
    assert {r.outcome for r in stale} == {st.StatusOutcome.UNAVAILABLE}
    assert "validity_period" in stale[0].reason


@pytest.mark.parametrize("served", [
    b"\xff\xfe not json",
    "not.a.jwt",
    {"just": "json"},
    "",
])
def test_garbage_from_the_issuer_is_invalid_not_a_crash(registry, issuer_key, served):
    entries = registry.allocate("urn:a", ["revocation"])
    (result,) = st.check_status(credential_with(entries, issuer_key.did_key),
                                fetch_list=lambda url: served, now=NOW)
    assert result.outcome in (st.StatusOutcome.INVALID, st.StatusOutcome.UNAVAILABLE)
    assert result.set is None


def test_an_unsigned_list_is_invalid(registry, issuer_key):
    entries = registry.allocate("urn:a", ["revocation"])
    unsigned = registry.unsigned_list_credential("1", now=NOW)
    (result,) = st.check_status(credential_with(entries, issuer_key.did_key),
                                fetch_list=lambda url: unsigned, now=NOW)
    assert result.outcome is st.StatusOutcome.INVALID


@pytest.mark.parametrize("mutation, outcome", [
    ({"statusListIndex": 5}, st.StatusOutcome.INVALID),
    ({"statusListIndex": "-1"}, st.StatusOutcome.INVALID),
    ({"statusListIndex": "+7"}, st.StatusOutcome.INVALID),
    ({"statusListIndex": "7\n"}, st.StatusOutcome.INVALID),
    ({"statusListIndex": "7.0"}, st.StatusOutcome.INVALID),
    ({"statusListIndex": "１２"}, st.StatusOutcome.INVALID),     # full-width digits
    ({"statusListIndex": "999999999"}, st.StatusOutcome.INVALID),   # beyond the list
    ({"statusListCredential": None}, st.StatusOutcome.INVALID),
    ({"statusPurpose": "message"}, st.StatusOutcome.UNAVAILABLE),
    ({"statusSize": 2}, st.StatusOutcome.UNAVAILABLE),
    ({"type": "StatusList2021Entry"}, st.StatusOutcome.UNAVAILABLE),
])
def test_malformed_or_unsupported_entries(registry, issuer_key, mutation, outcome):
    (entry,) = registry.allocate("urn:a", ["revocation"])
    lists = Lists()
    lists.publish(registry, issuer_key)
    bad = dict(entry, **mutation)
    (result,) = st.check_status(credential_with(bad, issuer_key.did_key), fetch_list=lists,
                                now=NOW)
    assert result.outcome is outcome, result.reason
    assert st.status_check([result]).status is not Status.PASSED
    (odd,) = st.check_status(credential_with(["not an object"], issuer_key.did_key),
                             fetch_list=lists, now=NOW)
    assert odd.outcome is st.StatusOutcome.INVALID


def test_status_check_summary(registry, issuer_key):
    entries = registry.allocate("urn:a")
    lists = Lists()
    lists.publish(registry, issuer_key)
    results = st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists,
                              now=NOW)
    check = st.status_check(results)
    assert check.name == "status" and check.status is Status.PASSED
    assert "not revoked" in check.reason and "not suspended" in check.reason
    assert st.status_check([], had_status=False).status is Status.SKIPPED
    assert results[0].to_json()["outcome"] == "clear"


def test_each_list_is_fetched_once_per_check(registry, issuer_key):
    entries = registry.allocate("urn:a")
    lists = Lists()
    lists.publish(registry, issuer_key)
    doubled = entries + [dict(entries[0])]
    st.check_status(credential_with(doubled, issuer_key.did_key), fetch_list=lists, now=NOW)
    assert sorted(lists.fetches) == [BASE + "/1", BASE + "/2"]


def test_verify_status_list_checks_the_purpose_asked_for(registry, issuer_key):
    registry.allocate("urn:a")
    signed = registry.list_credential("1", signer=issuer_key, now=NOW)
    found = st.verify_status_list(signed, url=BASE + "/1", purpose="revocation", now=NOW)
    assert found.issuer == issuer_key.did_key and found.size == st.STATUS_LIST_MIN_ENTRIES
    assert found.ttl == timedelta(minutes=5)
    with pytest.raises(StatusCheckUnavailable) as caught:
        st.verify_status_list(signed, url=BASE + "/1", purpose="suspension", now=NOW)
    assert caught.value.purpose == "suspension"


# --------------------------------------------------------------------------------------
# the cache
# --------------------------------------------------------------------------------------
def test_cache_serves_verified_lists_until_max_age(registry, issuer_key):
    entries = registry.allocate("urn:a")
    cred = credential_with(entries, issuer_key.did_key)
    lists = Lists()
    lists.publish(registry, issuer_key, valid_for=timedelta(hours=1), ttl=timedelta(hours=1))
    cache = st.StatusListCache(max_age=timedelta(minutes=2))
    st.check_status(cred, fetch_list=lists, now=NOW, cache=cache)
    assert len(lists.fetches) == 2 and len(cache) == 2
    registry.revoke("urn:a")  # the issuer changes the list; the cached copy is still used
    lists.publish(registry, issuer_key, valid_for=timedelta(hours=1), ttl=timedelta(hours=1))
    within = st.check_status(cred, fetch_list=lists, now=NOW + timedelta(seconds=119), cache=cache)
    assert len(lists.fetches) == 2
    assert outcomes(within)["revocation"] is st.StatusOutcome.CLEAR
    after = st.check_status(cred, fetch_list=lists, now=NOW + timedelta(minutes=2), cache=cache)
    assert len(lists.fetches) == 4
    assert outcomes(after)["revocation"] is st.StatusOutcome.SET


def test_cache_honours_the_lists_ttl_and_valid_until(registry, issuer_key):
    registry.allocate("urn:a", ["revocation"])
    cache = st.StatusListCache(max_age=timedelta(hours=1))
    short_ttl = st.verify_status_list(
        registry.list_credential("1", signer=issuer_key, now=NOW, ttl=timedelta(seconds=30)),
        url=BASE + "/1", now=NOW)
    cache.put(short_ttl, now=NOW)
    assert cache.get(BASE + "/1", now=NOW + timedelta(seconds=29)) is short_ttl
    assert cache.get(BASE + "/1", now=NOW + timedelta(seconds=30)) is None
    assert len(cache) == 0
    short_life = st.verify_status_list(
        registry.list_credential("1", signer=issuer_key, now=NOW, valid_for=timedelta(seconds=20),
                                 ttl=timedelta(hours=1)),
        url=BASE + "/1", now=NOW)
    cache.put(short_life, now=NOW)
    assert cache.get(BASE + "/1", now=NOW + timedelta(seconds=19)) is short_life
    assert cache.get(BASE + "/1", now=NOW + timedelta(seconds=21)) is None


def test_cache_keeps_no_invalid_lists_and_is_bounded(registry, issuer_key, other_key, store):
    entries = registry.allocate("urn:a", ["revocation"])
    cache = st.StatusListCache(max_entries=2)
    lists = Lists()
    lists.publish(st.StatusRegistry(store, base_url=BASE, issuer=other_key.did_key), other_key)
    st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists, now=NOW,
                    cache=cache)
    assert len(cache) == 1  # a genuine list of another issuer is cached under its URL...
    (again,) = st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists,
                               now=NOW, cache=cache)
    assert again.outcome is st.StatusOutcome.INVALID  # ...but never accepted for this issuer
    lists.served[BASE + "/1"] = "garbage"
    cache.clear()
    st.check_status(credential_with(entries, issuer_key.did_key), fetch_list=lists, now=NOW,
                    cache=cache)
    assert len(cache) == 0
    found = st.verify_status_list(registry.list_credential("1", signer=issuer_key, now=NOW),
                                  url=BASE + "/1", now=NOW)
    for n in range(5):
        cache.put(st.StatusList(f"https://x.example/{n}", found.issuer, found.purpose, found.bits,
                                None, None), now=NOW)
    assert len(cache) == 2
    assert cache.get("https://x.example/4", now=NOW) is not None
    assert cache.get("https://x.example/0", now=NOW) is None
    with pytest.raises(ValueError):
        st.StatusListCache(max_age=timedelta(0))
    with pytest.raises(ValueError):
        cache.get("https://x.example/4", now=datetime(2026, 1, 1))  # naive time


def test_cache_is_safe_under_threads(registry, issuer_key):
    registry.allocate("urn:a", ["revocation"])
    found = st.verify_status_list(registry.list_credential("1", signer=issuer_key, now=NOW),
                                  url=BASE + "/1", now=NOW)
    cache = st.StatusListCache(max_entries=50)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(500):
                url = f"https://x.example/{(worker * 7 + n) % 80}"
                cache.put(st.StatusList(url, found.issuer, found.purpose, found.bits, None, None),
                          now=NOW)
                got = cache.get(url, now=NOW + timedelta(seconds=n % 400))
                assert got is None or got.url == url
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 50


def test_entries_survive_signing_inside_a_real_credential(registry, issuer_key):
    from vcwallet.credentials import secure

    entries = registry.allocate("urn:uuid:00000000-0000-4000-8000-000000000001")
    unsigned = credential_with(entries, issuer_key.did_key)
    unsigned["credentialSubject"]["name"] = "김민준"
    unsigned["@context"].append("https://www.w3.org/ns/credentials/examples/v2")
    for fmt in ("di-eddsa", "jwt"):
        signed = secure(unsigned, signer=issuer_key, format=fmt, now=NOW)
        result = verify_credential(signed.data, now=NOW)
        assert result.verified, result.failures
        lists = Lists()
        lists.publish(registry, issuer_key)
        st.verify_status(result.credential, fetch_list=lists, now=NOW)
    registry.revoke("urn:uuid:00000000-0000-4000-8000-000000000001")
    lists.publish(registry, issuer_key, now=NOW + timedelta(seconds=1))
    check = st.status_check(st.check_status(result.credential, fetch_list=lists, now=NOW))
    assert check.status is Status.FAILED and "revoked" in check.reason
