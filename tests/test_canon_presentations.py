"""Fast RDFC-1.0 on presentations: byte-identical to pyld on generated VPs, bounds intact.

A presentation without an ``id`` is a blank node, each embedded credential a blank-node named
graph and each proof another: first-degree hashing leaves look-alike nodes, so the template
path hands the filled quads to the bounded RDFC-1.0 (see ``vcwallet._canon_cache``). Every
case here is checked against ``canonize(..., fast=False)`` (pyld all the way).
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcwallet.credentials import issue
from vcwallet.demo import example_subject
from vcwallet.documents import DocumentLoader, canonize
from vcwallet.errors import CanonicalizationLimitError
from vcwallet.keys import KeyPair, KeyType
from vcwallet.presentations import envelope

V2 = "https://www.w3.org/ns/credentials/v2"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
OUR_TYPES = ("diploma", "badge", "transcript", "battery")
KOREAN = [
    "김민준",
    "이서연",
    "박지후",
    "최우등",
    "컴퓨터공학 학사",
    "한국대학교",
    "배터리 성능 평가",
    "",
]
TRICKY_TEXT = ['따옴표 " 와 \\ 역슬래시', "줄\n바꿈\t탭", "mixed 한글 text", "é"]
GENERIC_CONTEXT = {
    "ex": "https://vc.example/vocab#",
    "Skill": "ex:Skill",
    "SkillCredential": "ex:SkillCredential",
    "skill": "ex:skill",
    "level": {"@id": "ex:level", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
    "note": {"@id": "ex:note", "@language": "ko"},
    "evidenceOf": {"@id": "ex:evidenceOf", "@type": "@id"},
}


@pytest.fixture(scope="module")
def issued() -> dict[str, dict[str, Any]]:
    """One signed credential of each of our four types, and one ecdsa-rdfc-2019 diploma."""
    holder = KeyPair.generate()
    issuer = KeyPair.generate()
    credentials = {
        kind: issue(kind, example_subject(kind), signer=issuer, holder=holder.did_key, now=NOW).data
        for kind in OUR_TYPES
    }
    p256 = KeyPair.generate(KeyType.P256)
    credentials["diploma-ecdsa"] = issue(
        "diploma",
        example_subject("diploma"),
        signer=p256,
        format="di-ecdsa",
        holder=holder.did_key,
        now=NOW,
    ).data
    return credentials


def _generic(shape: random.Random, values: random.Random) -> dict[str, Any]:
    """A VCDM 2.0 credential with an inline context, nested anonymous nodes and a proof."""
    skills = [
        {"type": "Skill", "name": values.choice(KOREAN), "level": values.randint(1, 3)}
        for _ in range(shape.randint(1, 3))
    ]
    credential: dict[str, Any] = {
        "@context": [V2, dict(GENERIC_CONTEXT)],
        "type": ["VerifiableCredential", "SkillCredential"],
        "issuer": {"id": "did:example:academy", "name": values.choice(KOREAN)},
        "validFrom": f"2026-01-0{values.randint(1, 9)}T00:00:00Z",
        "credentialSubject": {"skill": skills, "note": values.choice(KOREAN + TRICKY_TEXT)},
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-01-01T00:00:00Z",
            "verificationMethod": "did:example:academy#key-1",
            "proofPurpose": "assertionMethod",
            "proofValue": "z" + "".join(values.choices("123456789ABCDEFGHJKLMN", k=20)),
        },
    }
    if shape.random() < 0.5:
        credential["id"] = f"urn:uuid:{values.getrandbits(64):016x}"
    if shape.random() < 0.5:
        credential["credentialSubject"]["id"] = f"did:example:{values.choice('abc')}"
    if shape.random() < 0.3:
        credential["credentialSubject"]["evidenceOf"] = (
            f"https://vc.example/e/{values.randint(0, 2)}"
        )
    return credential


def _vary(value: Any, values: random.Random) -> Any:
    """The same shape with other values: names, texts, proof values (signatures not kept)."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key in ("name", "description", "narrative", "identityHash") and isinstance(
                item, str
            ):
                result[key] = values.choice(KOREAN + TRICKY_TEXT) if values.random() < 0.5 else item
            elif key == "proofValue":
                result[key] = "z" + "".join(values.choices("123456789abcdefghijk", k=30))
            elif key == "created" and isinstance(item, str):
                result[key] = f"2026-0{values.randint(1, 9)}-1{values.randint(0, 9)}T00:00:00Z"
            else:
                result[key] = _vary(item, values)
        return result
    if isinstance(value, list):
        return [_vary(item, values) for item in value]
    return value


def _embedded(
    kind: str, issued: dict[str, dict[str, Any]], shape: random.Random, values: random.Random
) -> dict[str, Any]:
    if kind == "generic":
        return _generic(shape, values)
    if kind.startswith("enveloped-"):
        media = kind.removeprefix("enveloped-")
        token = "".join(values.choices("ABCDEFabcdef0123456789-_", k=40))
        data: str | bytes = token.encode() if media == "cose" else f"eyJ{token}.eyJ{token}.sig"
        return envelope(data, media)
    credential = _vary(copy.deepcopy(issued[kind]), values)
    if shape.random() < 0.3:
        credential.pop("id", None)  # an anonymous credential: its graph subject is blank too
    if shape.random() < 0.15:
        credential.pop("proof", None)
    return credential


def _presentation(
    issued: dict[str, dict[str, Any]], shape: random.Random, values: random.Random
) -> dict[str, Any]:
    kinds = [
        *OUR_TYPES,
        "diploma-ecdsa",
        "generic",
        "enveloped-jwt",
        "enveloped-sd-jwt",
        "enveloped-cose",
    ]
    chosen = [shape.choice(kinds) for _ in range(shape.randint(1, 4))]
    credentials = [_embedded(kind, issued, shape, values) for kind in chosen]
    if shape.random() < 0.2 and credentials:
        credentials.append(copy.deepcopy(credentials[0]))  # the same credential twice
    presentation: dict[str, Any] = {"@context": [V2], "type": ["VerifiablePresentation"]}
    if shape.random() < 0.3:
        presentation["id"] = f"urn:uuid:{values.getrandbits(64):016x}"
    if shape.random() < 0.8:
        presentation["holder"] = f"did:example:holder{values.randint(0, 3)}"
    single = len(credentials) == 1 and shape.random() < 0.5
    presentation["verifiableCredential"] = credentials[0] if single else credentials
    if shape.random() < 0.3:
        presentation["proof"] = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-11-21T12:00:00Z",
            "verificationMethod": "did:example:holder0#key-1",
            "proofPurpose": "authentication",
            "challenge": values.choice(KOREAN + ["c"]),
            "domain": "https://employer.example",
            "proofValue": "z" + "".join(values.choices("123456789abcdefghijk", k=30)),
        }
    return presentation


@pytest.mark.parametrize("shapes", [6, 30])
def test_generated_presentations_are_byte_identical_to_pyld(issued, shapes):
    values = random.Random(20261122 + shapes)
    fast, reference = DocumentLoader(), DocumentLoader(use_templates=False)
    for _ in range(90):
        shape = random.Random(values.randrange(shapes))
        presentation = _presentation(issued, shape, values)
        hash_name = "sha384" if values.random() < 0.2 else "sha256"
        expected = canonize(presentation, loader=reference, hash_name=hash_name)
        assert canonize(presentation, loader=fast, hash_name=hash_name) == expected, presentation
    stats = fast.templates().stats
    assert stats["template"] > stats["built"]  # shapes were reused
    assert stats["bounded"] > 0  # and look-alike blank nodes went through the bounded path


@pytest.mark.parametrize("kind", [*OUR_TYPES, "diploma-ecdsa"])
def test_each_credential_and_a_presentation_of_it(issued, kind):
    fast = DocumentLoader()
    values = random.Random(kind)
    for _ in range(4):
        credential = _vary(copy.deepcopy(issued[kind]), values)
        unsigned = {key: item for key, item in credential.items() if key != "proof"}
        presentation = {
            "@context": [V2],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [credential],
        }
        for document in (credential, unsigned, presentation):
            assert canonize(document, loader=fast) == canonize(document, fast=False)
    assert fast.templates().stats["template"] >= 6


def test_presentations_of_the_official_vectors(vectors):
    fast = DocumentLoader()
    folder = vectors / "vc-di-eddsa" / "eddsa-rdfc-2022" / "employ"
    signed = json.loads(Path(folder / "signedDataInt.json").read_text("utf-8"))
    for number in range(3):
        other = copy.deepcopy(signed)
        other["proof"]["proofValue"] = f"z{number}abc"
        presentation = {
            "@context": [V2],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [signed, other],
        }
        assert canonize(presentation, loader=fast) == canonize(presentation, fast=False)
    assert fast.templates().stats["bounded"] >= 2


def _families(labels: list[list[str]]) -> dict[str, Any]:
    """Anonymous parents, each with anonymous children: look-alikes when the labels repeat."""
    return {
        "@context": {
            "kid": "https://poison.example/kid",
            "family": "https://poison.example/family",
            "label": "https://poison.example/label",
        },
        "family": [{"kid": [{"label": label} for label in kids]} for kids in labels],
    }


def test_work_bound_still_stops_a_poison_graph_of_a_known_shape():
    fast = DocumentLoader()
    distinct = _families([[f"{p}{k}" for k in range(9)] for p in "ab"])
    assert canonize(distinct, loader=fast) == canonize(distinct, fast=False)
    # two identical parents with nine identical children: 9! permutations, over the budget
    poison = _families([["same"] * 9, ["same"] * 9])
    with pytest.raises(CanonicalizationLimitError):
        canonize(poison, fast=False)
    with pytest.raises(CanonicalizationLimitError):
        canonize(poison, loader=fast)
    assert fast.templates().stats["pyld"] == 1  # the template's bounded run handed it to pyld
    assert fast.templates().stats["bounded"] == 1  # only ``distinct`` took the bounded path


def test_work_that_could_depend_on_labels_is_left_to_pyld():
    fast = DocumentLoader()
    shape = [["a", "b", "c"], ["d", "e", "f"]]
    first = _families(shape)
    assert canonize(first, loader=fast) == canonize(first, fast=False)
    # look-alike kids under one look-alike parent: several permutations, whose pruning
    # (and so the work counted against the bound) follows the blank node labels
    twins = _families([["same", "same", "x"], ["same", "same", "y"]])
    assert canonize(twins, loader=fast) == canonize(twins, fast=False)
    assert fast.templates().stats["pyld"] == 1
    # one look-alike kid per look-alike parent: a single permutation each, the fast path's
    bounded = fast.templates().stats["bounded"]
    mild = _families([["same", "x", "y"], ["same", "z", "w"]])
    assert canonize(mild, loader=fast) == canonize(mild, fast=False)
    assert fast.templates().stats["bounded"] == bounded + 1
    assert fast.templates().stats["pyld"] == 1


def test_work_factor_zero_is_honoured_on_the_fast_path(issued):
    fast = DocumentLoader()
    presentation = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [issued["transcript"]],
    }
    canonize(presentation, loader=fast)  # builds the template
    for loader in (fast, DocumentLoader(use_templates=False)):
        with pytest.raises(CanonicalizationLimitError):
            canonize(presentation, loader=loader, max_work_factor=0)


TREE_CONTEXT = {
    "label": "https://tree.example/label",
    "kid": "https://tree.example/kid",
    "boxed": {"@id": "https://tree.example/boxed", "@container": "@graph"},
    "ref": {"@id": "https://tree.example/ref", "@type": "@id"},
}


def _tree(shape: random.Random, values: random.Random, depth: int) -> dict[str, Any]:
    """Anonymous nodes in a fixed shape; a two-letter alphabet makes look-alikes likely."""
    node: dict[str, Any] = {"label": values.choice("ab")}
    if depth < 3:
        kids = shape.randint(0, 3)
        if kids:
            node["kid"] = [_tree(shape, values, depth + 1) for _ in range(kids)]
        if shape.random() < 0.3:
            node["boxed"] = _tree(shape, values, depth + 1)  # a blank-node named graph
    if shape.random() < 0.2:
        node["ref"] = f"https://tree.example/n{values.randint(0, 1)}"
    return node


def _outcome(document: dict[str, Any], **options: Any) -> Any:
    try:
        return canonize(document, **options)
    except CanonicalizationLimitError as exc:
        return type(exc)


def test_generated_look_alike_trees_agree_with_pyld():
    values = random.Random(4242)
    fast, reference = DocumentLoader(), DocumentLoader(use_templates=False)
    for _ in range(250):
        shape = random.Random(values.randrange(12))
        document = {"@context": TREE_CONTEXT, **_tree(shape, values, 0)}
        hash_name = "sha384" if values.random() < 0.2 else "sha256"
        expected = _outcome(document, loader=reference, hash_name=hash_name)
        assert _outcome(document, loader=fast, hash_name=hash_name) == expected, document
    stats = fast.templates().stats
    # Hash N-Degree Quads ran on the fast path, and multi-permutation work went to pyld
    assert stats["bounded"] > 20 and stats["pyld"] > 5, stats


def _smallest_budget(document: dict[str, Any]) -> int:
    """The fewest permutations pyld's bounded RDFC-1.0 needs for ``document``."""
    low, high = 0, 4096
    while low < high:
        middle = (low + high) // 2
        try:
            canonize(document, fast=False, max_permutations=middle)
        except CanonicalizationLimitError:
            low = middle + 1
        else:
            high = middle
    return low


def test_fast_path_spends_exactly_the_permutation_budget_pyld_spends(issued):
    presentation = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [issued["diploma"], issued["transcript"]],
    }
    transcript = {key: item for key, item in issued["transcript"].items() if key != "proof"}
    # the transcript's look-alikes have no blank neighbours: nothing to permute
    for document in (presentation, transcript):
        budget = _smallest_budget(document)
        assert (budget > 0) is (document is presentation)
        fast = DocumentLoader()
        canonize(document, loader=fast)  # builds the template
        before = fast.templates().stats["bounded"]
        if budget > 0:
            # one permutation short: refused, as pyld refuses it
            with pytest.raises(CanonicalizationLimitError):
                canonize(document, loader=fast, max_permutations=budget - 1)
            assert fast.templates().stats["bounded"] == before
        # exactly enough: served by the fast path itself, with pyld's answer
        expected = canonize(document, fast=False, max_permutations=budget)
        assert canonize(document, loader=fast, max_permutations=budget) == expected
        assert fast.templates().stats["bounded"] == before + 1


def test_unknown_hash_names_are_refused_on_the_fast_path_too(issued):
    loader = DocumentLoader()
    canonize(issued["transcript"], loader=loader)
    for name in ("md5", "sha1", "SHA256"):
        with pytest.raises(ValueError):
            canonize(issued["transcript"], loader=loader, hash_name=name)


# -- the compiled fill plan (vcwallet._canon_cache._Plan) ---------------------------------
def _employer_presentation(
    issued: dict[str, dict[str, Any]], values: random.Random, holder: str
) -> dict[str, Any]:
    """What the employer's verifier receives: two DI credentials and an enveloped vc+jwt,
    every value varied (tricky text, control characters, '%' and IRIs with '%')."""
    token = "".join(values.choices("ABCDEFabcdef0123456789-_", k=60))
    return {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [
            _vary(copy.deepcopy(issued["diploma"]), values),
            envelope(f"eyJ{token}.eyJ{token}.sig", "jwt"),
            _vary(copy.deepcopy(issued["battery"]), values),
        ],
    }


def test_the_plan_serves_the_usual_presentation_byte_for_byte(issued):
    fast, reference = DocumentLoader(), DocumentLoader(use_templates=False)
    values = random.Random(2026)
    odd_texts = [*TRICKY_TEXT, "ctl\x01\x08\x0b end", "100 % sure %s %%", "끝 .\n_:c14n0 <x> ."]
    for number in range(12):
        presentation = _employer_presentation(issued, values, f"did:example:h{number}%41")
        presentation["verifiableCredential"][0]["credentialSubject"]["name"] = odd_texts[
            number % len(odd_texts)
        ]
        unsigned = {key: item for key, item in presentation.items() if key != "proof"}
        credential = {
            key: item
            for key, item in presentation["verifiableCredential"][2].items()
            if key != "proof"
        }
        for document in (unsigned, credential):
            expected = canonize(document, loader=reference)
            assert canonize(document, loader=fast) == expected, document
    stats = fast.templates().stats
    # every answer after the first of each shape came from the plan
    assert stats["planned"] >= stats["template"] > 20, stats
    assert stats["bounded"] == 0


def test_the_plan_leaves_look_alikes_and_merges_to_the_general_path(issued):
    fast = DocumentLoader()
    values = random.Random(7)
    for _ in range(3):
        presentation = _employer_presentation(issued, values, "did:example:h")
        canonize(presentation, loader=fast)  # the shape is known from here on
        stats = dict(fast.templates().stats)
        # the same credential twice: first-degree hashing cannot tell them apart
        twice = copy.deepcopy(presentation)
        twice["verifiableCredential"][1] = copy.deepcopy(twice["verifiableCredential"][0])
        canonize(twice, loader=fast)  # builds that shape's template
        before = dict(fast.templates().stats)
        assert canonize(twice, loader=fast) == canonize(twice, fast=False)
        after = fast.templates().stats
        assert after["bounded"] == before["bounded"] + 1
        assert after["planned"] == before["planned"]
        assert stats["planned"] > 0
    # one node stated twice: pyld merges it (its credentialSubject edge, and a value it
    # holds twice: 3 and 3, or 1 and 1.0, are one value); distinct nodes stay apart
    def stated_twice(ids: tuple[str, str], levels: tuple[Any, Any]) -> dict[str, Any]:
        return {
            "@context": [V2, GENERIC_CONTEXT],
            "type": ["VerifiableCredential"],
            "credentialSubject": [
                {"id": ids[0], "level": levels[0]},
                {"id": ids[1], "level": levels[1]},
            ],
        }

    apart = ("did:example:a", "did:example:b")
    same = ("did:example:same", "did:example:same")
    for ids, levels in ((apart, (1, 1)), (same, (1, 2)), (same, (3, 3)), (same, (1, 1.0))):
        canonize(stated_twice(apart, (5, 6 * levels[1])), loader=fast)  # the shape, unmerged
        document = stated_twice(ids, levels)
        planned = fast.templates().stats["planned"]
        assert canonize(document, loader=fast) == canonize(document, fast=False), document
        served_by_plan = fast.templates().stats["planned"] == planned + 1
        assert served_by_plan is (ids == apart), document


def test_number_literals_are_written_as_pyld_writes_them():
    from vcwallet import _canon_cache
    from vcwallet._canon_cache import (
        TemplateCache,
        _literal_nquads,
        _number_nquads,
        _number_suffixes,
    )

    cache = TemplateCache(frozenset(), frozenset())
    xsd = "http://www.w3.org/2001/XMLSchema#"
    metas = [
        {},
        {"@type": xsd + "integer"},
        {"@type": xsd + "boolean"},
        {"@type": xsd + "string"},
        {"@type": "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"},
        {"@type": "https://vc.example/vocab#unit"},
        {"@type": xsd + "double"},
        {"@type": "@json"},
        {"@language": "ko"},
        {"@type": ""},
    ]
    numbers: list[Any] = [True, False, 0, 1, -1, 7, 2**53 - 1, -(2**53) + 1, 10**21 - 1]
    numbers += [10**21, -(10**21), 10**22, 0.0, -0.0, 5.0, -5.0, 0.5, -0.5, 93.5, 1e20]
    numbers += [1e21, -1e21, 1e22, 1e-7, 123.456, 1 / 3, -1.5e-300, 5e-324, 1.7976931348623157e308]
    generator = random.Random(11)
    numbers += [generator.uniform(-1e6, 1e6) for _ in range(300)]
    numbers += [round(generator.uniform(-100, 100), generator.randint(0, 4)) for _ in range(300)]
    numbers += [generator.uniform(-1, 1) * 10.0 ** generator.randint(-300, 300) for _ in range(300)]
    served = 0
    for meta in metas:
        for value in numbers:
            fast = _number_nquads(value, _number_suffixes(meta))
            if fast is not None:
                served += 1
                assert fast == _literal_nquads(cache._literal_term(value, meta)), (value, meta)
    assert served > 5000
    assert _canon_cache._number_suffixes({"@type": "@json"}) is None


def test_the_shape_cache_stays_bounded(monkeypatch, issued):
    from vcwallet import _canon_cache

    monkeypatch.setattr(_canon_cache, "_MAX_SHAPES", 3)
    fast = DocumentLoader()
    documents_ = [issued[kind] for kind in OUR_TYPES]
    documents_ += [{key: item for key, item in issued[kind].items() if key != "proof"}
                   for kind in OUR_TYPES]
    for document in documents_ * 2:
        assert canonize(document, loader=fast) == canonize(document, fast=False)
        assert len(fast.templates()._shapes) <= 3
    assert fast.templates().stats["built"] > len(documents_)  # evicted shapes were rebuilt


def test_shapes_do_not_depend_on_member_order_or_remembered_orders(issued):
    from vcwallet._canon_cache import _MEMBER_ORDERS, describe

    def reordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: reordered(value[key]) for key in reversed(list(value))}
        if isinstance(value, list):
            return [reordered(item) for item in value]
        return value

    document = issued["transcript"]
    for steering in (frozenset(), frozenset({"type", "credentialSubject"})):
        _MEMBER_ORDERS.clear()
        first = describe(document, steering)
        assert describe(reordered(document), steering) == first
        assert describe(document, steering) == first  # from the remembered orders
        _MEMBER_ORDERS.clear()
        assert describe(reordered(document), steering) == first
    assert describe(document, frozenset())[0] != describe(document, frozenset({"type"}))[0]
