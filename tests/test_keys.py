import json
import os
import stat

import pytest

from vcwallet.errors import InvalidSignature, KeyFileError, MalformedDocumentError
from vcwallet.keys import KeyPair, KeyType, PublicKey


@pytest.mark.parametrize("key_type", list(KeyType))
def test_sign_verify_and_conversions_round_trip(key_type):
    pair = KeyPair.generate(key_type)
    signature = pair.sign(b"message")
    assert len(signature) == 64
    pair.public_key.verify(signature, b"message")
    with pytest.raises(InvalidSignature):
        pair.public_key.verify(signature, b"other message")
    assert PublicKey.from_jwk(pair.public_key.to_jwk()) == pair.public_key
    assert PublicKey.from_multibase(pair.public_key.multibase) == pair.public_key
    assert PublicKey.from_did_key(pair.did_key) == pair.public_key
    prefix = "z6Mk" if key_type is KeyType.ED25519 else "zDna"
    assert pair.public_key.multibase.startswith(prefix)


def test_jwk_matches_jwcrypto():
    from jwcrypto import jwk

    for key_type in KeyType:
        pair = KeyPair.generate(key_type)
        ours = pair.public_key.to_jwk()
        theirs = jwk.JWK(**pair.private_jwk()).export_public(as_dict=True)
        assert {k: theirs[k] for k in ours} == ours


def test_vector_private_multibase_gives_vector_public_key(vectors):
    data = json.loads((vectors / "vc-di-eddsa" / "keyPair.json").read_text())
    pair = KeyPair.from_multibase(data["privateKeyMultibase"])
    assert pair.public_key.multibase == data["publicKeyMultibase"]
    p256 = json.loads((vectors / "vc-di-ecdsa" / "p256KeyPair.json").read_text())
    pair = KeyPair.from_multibase(p256["secretKeyMultibase"])
    assert pair.public_key.multibase == p256["publicKeyMultibase"]


@pytest.mark.parametrize("key_type", list(KeyType))
def test_key_file_mode_0600_and_encrypted(tmp_path, key_type):
    pair = KeyPair.generate(key_type)
    plain, sealed = tmp_path / "plain.json", tmp_path / "sealed.json"
    pair.save(plain)
    pair.save(sealed, passphrase="correct horse")
    for path in (plain, sealed):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyPair.load(plain).public_key == pair.public_key
    assert KeyPair.load(sealed, passphrase="correct horse").public_key == pair.public_key
    private_d = pair.private_jwk()["d"]
    assert private_d not in sealed.read_text()
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        KeyPair.load(sealed, passphrase="wrong")
    with pytest.raises(KeyFileError, match="passphrase is needed"):
        KeyPair.load(sealed)
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        pair.save(plain)


def test_private_key_never_in_repr_or_errors(tmp_path):
    pair = KeyPair.generate()
    d = pair.private_jwk()["d"]
    assert d not in repr(pair) and d not in str(pair)
    broken = tmp_path / "broken.json"
    jwk = pair.private_jwk()
    jwk["x"] = KeyPair.generate().public_key.to_jwk()["x"]
    broken.write_text(json.dumps(jwk))
    with pytest.raises(KeyFileError) as info:
        KeyPair.load(broken)
    assert d not in str(info.value)


@pytest.mark.parametrize("bad", ["", "abc", "z", "zzzz", "z6Mk", 7])
def test_bad_multibase_is_a_typed_error(bad):
    with pytest.raises(MalformedDocumentError):
        PublicKey.from_multibase(bad)


def test_p256_signature_length_is_strict():
    pair = KeyPair.generate(KeyType.P256)
    signature = pair.sign(b"m")
    for bad in (signature[:-1], signature + b"\x00", b"\x00" + signature):
        with pytest.raises(InvalidSignature):
            pair.public_key.verify(bad, b"m")
