"""A PII rule skips a text only when none of its recognizers could match it: the skip never changes a result.

The anchors are derived from the recognizers' regexes; these tests check the derivation
on hand-made patterns, then check the outcome against Presidio itself: on random text,
on the CN generator's texts and on presidio-research's labelled sentences, every result
Presidio finds is in a text the rule would have analysed.
"""

from __future__ import annotations

import asyncio
import functools
import re

import pytest
from hypothesis import given, settings, strategies as st

from detectors.anchors import Need, anchor_regex, pattern_need
from detectors.executor import DetectorExecutor
from detectors.pii import PiiDetector, PresidioPool, entities_need
from evaluation.cn_synth import generate
from evaluation.datasets import default_data_dir, load_dataset, public_path
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.loader import load_policy_text
from policies.redaction import Redactor

DIGIT = Need(digit=True)
POOL = PresidioPool()
SHARED = default_data_dir()


@pytest.mark.parametrize(("regex", "flags", "need"), [
    (r"\d{3}#\d{4}", 0, Need(frozenset("#"))),  # the rarest required piece wins: '#' over a digit
    (r"\d{3}-\d{4}", 0, DIGIT),  # but a digit over a hyphen, which prose is full of
    (r"\b\d{3}\b", 0, DIGIT),
    (r"[\w.]+@[\w.]+", 0, Need(frozenset("@"))),
    (r"(?:[0-9a-f]{1,4}:){2,7}", re.IGNORECASE, Need(frozenset(":"))),
    (r"(bc1|[13])[a-z0-9]{25}", re.IGNORECASE, Need(frozenset("13"))),  # each branch needs one of them
    (r"(@|\d)x", 0, Need(frozenset("@"), digit=True)),
    (r"(?<![\d@])abc\d", 0, DIGIT),  # a look-behind consumes nothing: it neither anchors nor spoils
    (r"[0-9]+", 0, Need(frozenset("0123456789"))),
])
def test_a_pattern_needs_what_every_match_contains(regex: str, flags: int, need: Need) -> None:
    assert pattern_need(regex, flags) == need


@pytest.mark.parametrize(("regex", "flags"), [
    (r"\d*", 0),  # may match nothing
    (r"[a-z]+\d?", 0),  # letters are in every text
    (r"secret|\d+", 0),  # one branch needs no rare character
    (r"k\d", re.IGNORECASE),  # the digit anchors; the cased k alone would not
    (r"(.)\1", 0),
    (r"\p{Han}", 0),  # syntax of the `regex` module: cannot be read, so no anchor
])
def test_a_pattern_without_a_certain_character_has_no_narrow_anchor(regex: str, flags: int) -> None:
    need = pattern_need(regex, flags)
    assert need is None or need == DIGIT


def test_an_empty_need_matches_nothing() -> None:
    assert anchor_regex(Need()).search("anything at all 123 @:") is None


def test_the_default_entities_are_anchored_on_digits_at_signs_and_colons() -> None:
    analyzer = POOL.analyzer("en", None)
    need = entities_need(analyzer, "en", ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS"])
    assert need is not None and need.digit and {"@", ":"} <= need.chars
    assert not re.search(r"[a-z\s.,]", "".join(need.chars))  # nothing that ordinary prose is made of


@pytest.mark.parametrize("entities", [["SECRET"], ["CN_LICENSE_PLATE"], ["EMAIL_ADDRESS", "SECRET"]])
def test_a_recognizer_without_an_anchor_makes_the_rule_analyse_every_text(entities: list[str]) -> None:
    detector = PiiDetector(POOL.analyzer("en", None), entities, 0.4, "en")
    assert detector.may_find("plain words only")


def test_an_oversized_text_is_still_analysed_so_it_fails_closed() -> None:
    policy = load_policy_text("version: 1\nname: t\noutput:\n  rules:\n    - {id: pii, detector: pii, action: redact,"
                              " entities: [EMAIL_ADDRESS], max_chars: 10, on_error: block}\n")
    compiled = compile_policy(policy, "<test>", DetectorFactory())
    engine = PolicyEngine(DetectorExecutor(1), Redactor())
    (verdict,) = asyncio.run(engine.evaluate(compiled, "output", ["no anchors in this long text at all"]))
    assert verdict.decision == "block" and "max_chars" in verdict.errors[0].reason


def all_entities(language: str) -> list[str]:
    return sorted(POOL.supported_entities(language, None))


@functools.cache
def one_rule_per_entity(language: str) -> dict[str, PiiDetector]:
    return {e: PiiDetector(POOL.analyzer(language, None), [e], 0.0, language) for e in all_entities(language)}


def assert_skips_lose_nothing(language: str, texts: list[str]) -> int:
    """Every result Presidio finds is in a text its entity's rule analyses; returns how many results there were."""
    analyzer = POOL.analyzer(language, None)
    detectors = one_rule_per_entity(language)
    found = 0
    for text in texts:
        for result in analyzer.analyze(text=text, language=language, entities=all_entities(language),
                                       score_threshold=0.0):
            assert detectors[result.entity_type].may_find(text), (result, text)
            found += 1
    return found


texts = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from("0123456789@:.-+ ()/")), max_size=80)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_random_text_loses_no_english_result(text: str) -> None:
    assert_skips_lose_nothing("en", [text])


def assert_narrowing_changes_nothing(language: str, texts: list[str]) -> None:
    """A rule over every entity, which analyses only the entities a text could hold, finds what Presidio finds."""
    analyzer = POOL.analyzer(language, None)
    rule = PiiDetector(analyzer, all_entities(language), 0.0, language)
    for text, findings in zip(texts, rule.detect_batch(texts)):
        expected = analyzer.analyze(text=text, language=language, entities=all_entities(language), score_threshold=0.0)
        assert sorted((f.entity_type, f.start, f.end, f.score) for f in findings) == \
            sorted((r.entity_type, r.start, r.end, r.score) for r in expected), text


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_analysing_only_the_possible_entities_changes_no_result(text: str) -> None:
    assert_narrowing_changes_nothing("en", [text])


def test_analysing_only_the_possible_entities_changes_no_chinese_result() -> None:
    assert_narrowing_changes_nothing("en", [item.text for item in generate(200, seed=11)])


def test_generated_chinese_identifiers_lose_no_result() -> None:
    items = generate(400, seed=7)
    assert assert_skips_lose_nothing("en", [item.text for item in items]) > 400


@pytest.mark.skipif(not public_path("presidio-synth", SHARED).exists(),
                    reason=f"shared data set 'presidio-synth' absent under {SHARED} (set GUARDGATE_DATA_DIR)")
def test_presidio_research_sentences_lose_no_result() -> None:
    dataset = load_dataset("presidio-synth", SHARED)
    assert assert_skips_lose_nothing("en", [item.text for item in dataset.items]) > 500
    assert_narrowing_changes_nothing("en", [item.text for item in dataset.items])
