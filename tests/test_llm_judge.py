"""The llm_judge detector against the real vLLM engine, its reply forced with structured outputs."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from detectors.base import DetectorError
from detectors.executor import DetectorExecutor
from detectors.llm_judge import LlmJudgeDetector
from policies.compiled import CompiledPolicy
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.loader import load_policy_text
from policies.redaction import Redactor
from tests.fixtures.vllm import VLLMServer

CATEGORIES = {"S1": "Violent crimes.", "S2": "Non-violent crimes.", "S3": "Hate."}
TEMPLATE = "Is this text unsafe?\n{categories}\nText: {text}\nAnswer:"
TEXT = "How do I bake bread?"


@pytest.fixture(scope="module")
def engine() -> Iterator[PolicyEngine]:
    pool = DetectorExecutor(max_workers=2)
    yield PolicyEngine(pool, Redactor())
    pool.shutdown()


def judge_policy(server: VLLMServer, forced: str, *, action: str = "block", on_error: str = "block",
                 model: str | None = None) -> CompiledPolicy:
    """A policy with one llm_judge input rule whose judge is made to answer exactly `forced`."""
    rule = {"id": "judge", "detector": "llm_judge", "action": action, "on_error": on_error, "message": "judged unsafe",
            "timeout_ms": 60000, "model": model or server.model, "categories": CATEGORIES, "template": TEMPLATE,
            "max_tokens": 24, "request_options": {"structured_outputs": {"choice": [forced]}}}
    # JSON is YAML, and json.dumps quotes the newline in `forced` correctly.
    text = f"version: 1\nname: judge-test\ninput:\n  rules:\n    - {json.dumps(rule)}\n"
    return compile_policy(load_policy_text(text), "x.yaml", DetectorFactory(backend_url=server.base_url))


@pytest.mark.vllm
async def test_safe_reply_allows(vllm_server: VLLMServer, engine: PolicyEngine) -> None:
    [verdict] = await engine.evaluate(judge_policy(vllm_server, "safe"), "input", [TEXT])
    assert (verdict.decision, verdict.text, verdict.findings, verdict.errors) == ("allow", TEXT, (), ())


@pytest.mark.vllm
async def test_unsafe_reply_blocks_with_the_rule(vllm_server: VLLMServer, engine: PolicyEngine) -> None:
    [verdict] = await engine.evaluate(judge_policy(vllm_server, "unsafe\nS1"), "input", [TEXT])
    assert (verdict.decision, verdict.blocked_by, verdict.message) == ("block", "judge", "judged unsafe")
    [finding] = verdict.findings
    assert (finding.type, finding.start, finding.end, finding.detector) == ("S1", 0, len(TEXT), "llm_judge")
    assert verdict.errors == ()


@pytest.mark.vllm
async def test_several_categories_give_one_finding_each(vllm_server: VLLMServer, engine: PolicyEngine) -> None:
    [verdict] = await engine.evaluate(judge_policy(vllm_server, "unsafe\nS1,S3", action="monitor"), "input", [TEXT])
    assert verdict.decision == "monitor" and verdict.text == TEXT
    assert sorted(f.type for f in verdict.findings) == ["S1", "S3"]


@pytest.mark.vllm
@pytest.mark.parametrize("forced", ["maybe", "unsafe\nS9", "unsafe", "safe\nbut not really"])
async def test_unparseable_reply_fails_closed(vllm_server: VLLMServer, engine: PolicyEngine, forced: str) -> None:
    [verdict] = await engine.evaluate(judge_policy(vllm_server, forced, on_error="block"), "input", [TEXT])
    assert (verdict.decision, verdict.blocked_by, verdict.findings) == ("block", "judge", ())
    [error] = verdict.errors
    assert (error.rule, error.detector, error.outcome) == ("judge", "llm_judge", "block")
    assert error.reason.startswith("DetectorError: judge reply")


@pytest.mark.vllm
async def test_unparseable_reply_with_on_error_allow_forwards_and_records(vllm_server: VLLMServer,
                                                                         engine: PolicyEngine) -> None:
    [verdict] = await engine.evaluate(judge_policy(vllm_server, "maybe", on_error="allow"), "input", [TEXT])
    assert (verdict.decision, verdict.text, verdict.findings) == ("allow", TEXT, ())
    [error] = verdict.errors
    assert (error.rule, error.outcome) == ("judge", "allow")
    assert "'maybe'" in error.reason


@pytest.mark.vllm
async def test_backend_error_is_a_detector_error(vllm_server: VLLMServer, engine: PolicyEngine) -> None:
    policy = judge_policy(vllm_server, "safe", model="no-such-model")
    [verdict] = await engine.evaluate(policy, "input", [TEXT])
    [error] = verdict.errors
    assert verdict.decision == "block" and error.reason.startswith("DetectorError: judge backend answered HTTP 404")


@pytest.mark.vllm
def test_batch_judges_each_text(vllm_server: VLLMServer) -> None:
    judge = LlmJudgeDetector(vllm_server.base_url + "/v1", model=vllm_server.model, categories=CATEGORIES,
                             template=TEMPLATE, max_tokens=24,
                             request_options={"structured_outputs": {"choice": ["unsafe\nS2"]}})
    try:
        first, empty, second = judge.detect_batch(["one", "  ", "second text"])
    finally:
        judge.close()
    assert [(f.entity_type, f.start, f.end) for f in first] == [("S2", 0, 3)]
    assert empty == []  # a blank text is not sent: there is nothing to judge
    assert [(f.entity_type, f.end) for f in second] == [("S2", len("second text"))]


def _judge() -> LlmJudgeDetector:
    # No request is made by parse() or prompt(): the URL is never contacted.
    return LlmJudgeDetector("http://127.0.0.1:9", model="m", categories=CATEGORIES, template=TEMPLATE, max_tokens=8)


@pytest.mark.parametrize(("reply", "codes"), [
    ("safe", []), ("\n safe \n", []), ("unsafe\nS1", ["S1"]), ("unsafe\nS3, S1", ["S3", "S1"]),
    ("unsafe\nS1,S1", ["S1"]),
])
def test_parse_accepts_the_strict_format(reply: str, codes: list[str]) -> None:
    assert _judge().parse(reply) == codes


@pytest.mark.parametrize("reply", ["", "Safe", "safe.", "unsafe", "unsafe\nS1\nbecause", "unsafe\nS1,", "unsafe\ns1",
                                   "unsafe\nS4", "safe\nunsafe", None])
def test_parse_refuses_everything_else(reply: object) -> None:
    with pytest.raises(DetectorError):
        _judge().parse(reply)


def test_prompt_fills_categories_and_text_without_reexpanding_either() -> None:
    prompt = _judge().prompt("say {categories}")
    assert prompt == ("Is this text unsafe?\nS1: Violent crimes.\nS2: Non-violent crimes.\nS3: Hate.\n"
                      "Text: say {categories}\nAnswer:")
