"""The streamed screen equals the whole-text screen, however the text is split into chunks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from detectors.executor import DetectorExecutor
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.incremental import IncrementalScreen
from policies.loader import load_policy, load_policy_text
from policies.redaction import Redactor

DEFAULT = Path(__file__).resolve().parents[1] / "policies" / "default.yaml"

PII = ["jane.roe@example.org", "4111 1111 1111 1111", "+1 415-555-0100", "192.168.10.24", "536-90-4399",
       "DE89 3704 0044 0532 0130 00", "bob_smith+tag@mail.example.co.uk", "(415) 555-0199"]
FILLER = ["Write to ", "my card is ", ". Then ", " call ", "ok", "\n", " 😀 ", "数据 ", "é", "  ", ", and ", "SSN "]

# Any mix of filler and PII; PII stands as a word of its own so the whole-text screen must find it.
pieces = st.lists(st.one_of(st.sampled_from(FILLER), st.sampled_from(PII).map(lambda v: f" {v} ")),
                  min_size=1, max_size=12).map("".join)


@pytest.fixture(scope="module")
def engine_and_policy():
    factory = DetectorFactory()
    policy = compile_policy(load_policy(DEFAULT), str(DEFAULT), factory)
    return PolicyEngine(DetectorExecutor(2), Redactor()), policy


async def screen_in_chunks(engine: PolicyEngine, policy, text: str, cuts: list[int]) -> str:
    screen = IncrementalScreen(engine, policy)
    out: list[str] = []
    previous = 0
    for cut in sorted(set(cuts)) + [len(text)]:
        released = await screen.feed(text[previous:cut])
        assert released.blocked is None
        out.append(released.text)
        previous = cut
    out.append((await screen.finish()).text)
    return "".join(out)


async def whole(engine: PolicyEngine, policy, text: str) -> str:
    (verdict,) = await engine.evaluate(policy, "output", [text])
    return verdict.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=pieces, data=st.data())
def test_any_split_releases_exactly_the_whole_text_redaction(engine_and_policy, text: str, data) -> None:
    engine, policy = engine_and_policy
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=len(text)))
    streamed = asyncio.run(screen_in_chunks(engine, policy, text, cuts))
    assert streamed == asyncio.run(whole(engine, policy, text))
    for value in PII:
        assert value not in streamed


@pytest.mark.parametrize("split", ["one-char", "all-at-once"])
def test_extreme_splits(engine_and_policy, split: str) -> None:
    engine, policy = engine_and_policy
    text = "Mail jane.roe@example.org or call +1 415-555-0100; card 4111 1111 1111 1111."
    cuts = list(range(len(text))) if split == "one-char" else []
    streamed = asyncio.run(screen_in_chunks(engine, policy, text, cuts))
    assert streamed == "Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>; card <CREDIT_CARD>."


def test_text_is_released_before_the_end_when_no_rule_could_change_it(engine_and_policy) -> None:
    engine, policy = engine_and_policy

    async def run() -> list[str]:
        screen = IncrementalScreen(engine, policy)
        return [(await screen.feed(chunk)).text for chunk in ["Hello there, ", "how are ", "you tod", "ay? "]]

    assert asyncio.run(run()) == ["Hello there, ", "how are ", "you ", "today? "]


def test_a_detector_without_holdback_holds_until_the_cap(engine_and_policy) -> None:
    engine, _ = engine_and_policy
    policy = compile_policy(load_policy_text("""
version: 1
name: capped
output:
  stream: {max_holdback_chars: 40}
  rules:
    - {id: words, detector: keywords, action: redact, lists: [{terms: [secret]}]}
""", "capped.yaml"), "capped.yaml", DetectorFactory())

    async def run() -> list[str]:
        screen = IncrementalScreen(engine, policy)
        return [(await screen.feed(c)).text for c in ["a" * 10 + " ", "b" * 20 + " ", "c" * 20 + " the secret"]]

    released = asyncio.run(run())
    assert released[:2] == ["", ""]
    assert released[2] and "secret" not in "".join(released)
