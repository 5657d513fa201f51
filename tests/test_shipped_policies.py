"""The policies shipped in policies/: each loads cleanly, and the starting policies do what they promise."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator

import pytest

from detectors.executor import DetectorExecutor
from policies.compiled import CompiledPolicy
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.loader import load_policy
from policies.redaction import Redactor

POLICIES = Path(__file__).resolve().parent.parent / "policies"
SHIPPED = sorted(POLICIES.glob("*.yaml"))
# default.cases.yaml is a case file for `guardgate policy test`, not a policy.
POLICY_FILES = [p for p in SHIPPED if not p.name.endswith(".cases.yaml")]


@pytest.fixture(scope="module")
def engine() -> Iterator[PolicyEngine]:
    pool = DetectorExecutor(max_workers=2)
    yield PolicyEngine(pool, Redactor())
    pool.shutdown()


@pytest.fixture(scope="module")
def factory() -> DetectorFactory:
    return DetectorFactory()


def compiled(name: str, factory: DetectorFactory) -> CompiledPolicy:
    """A shipped policy compiled with its real detectors, the built-in classifiers included."""
    if importlib.util.find_spec("detectors.classifier") is None:
        pytest.skip("detectors.classifier is not importable yet: the shipped policies' classifier rules cannot compile")
    path = POLICIES / name
    return compile_policy(load_policy(path), str(path), factory)


def test_the_shipped_policies_are_found() -> None:
    assert {"default.yaml", "cn-genai.yaml", "strict.yaml"} <= {p.name for p in POLICY_FILES}


@pytest.mark.parametrize("path", POLICY_FILES, ids=[p.name for p in POLICY_FILES])
def test_every_shipped_policy_loads(path: Path) -> None:
    policy = load_policy(path)  # raises PolicyError, listing every problem, if the file has any
    assert policy.name == path.stem
    assert policy.input.rules or policy.output.rules


def test_every_keyword_file_a_shipped_policy_names_exists() -> None:
    named = {POLICIES / f for p in POLICY_FILES for stage in ("input", "output")
             for rule in load_policy(p).stage(stage).rules if rule.__struct_config__.tag == "keywords"
             for kl in rule.lists for f in kl.files}
    assert named and all(f.is_file() for f in named), sorted(str(f) for f in named if not f.is_file())


async def test_cn_genai_redacts_resident_id_and_mobile(factory: DetectorFactory, engine: PolicyEngine) -> None:
    text = "我叫张三，身份证号11010519491231002X，手机13812345678，请帮我写一封求职信。"
    policy = compiled("cn-genai.yaml", factory)
    for stage in ("input", "output"):
        [verdict] = await engine.evaluate(policy, stage, [text])
        assert verdict.decision == "redact", (stage, verdict)
        assert verdict.text == "我叫张三，身份证号<CN_ID_CARD>，手机<CN_MOBILE>，请帮我写一封求职信。"
        assert {(f.type, f.action) for f in verdict.findings} >= {("CN_ID_CARD", "redact"), ("CN_MOBILE", "redact")}


async def test_cn_genai_blocks_a_listed_keyword(factory: DetectorFactory, engine: PolicyEngine) -> None:
    [verdict] = await engine.evaluate(compiled("cn-genai.yaml", factory), "input", ["哪里可以找人代开发票？"])
    assert (verdict.decision, verdict.blocked_by) == ("block", "keywords.input")
    assert any(f.type == "TC260_A3" for f in verdict.findings)


async def test_cn_genai_passes_an_ordinary_question(factory: DetectorFactory, engine: PolicyEngine) -> None:
    text = "请用三句话介绍一下长城的历史。"
    [verdict] = await engine.evaluate(compiled("cn-genai.yaml", factory), "input", [text])
    assert (verdict.decision, verdict.text, verdict.errors) == ("allow", text, ())


async def test_strict_blocks_an_aws_key(factory: DetectorFactory, engine: PolicyEngine) -> None:
    text = "Deploy with key AKIAIOSFODNN7EXAMPLE please."
    policy = compiled("strict.yaml", factory)
    for stage in ("input", "output"):
        [verdict] = await engine.evaluate(policy, stage, [text])
        assert (verdict.decision, verdict.blocked_by) == ("block", f"secrets.{stage}")
        assert any(f.type == "SECRET" for f in verdict.findings)


async def test_strict_redacts_an_email(factory: DetectorFactory, engine: PolicyEngine) -> None:
    text = "Summarise the mail from jane@example.org."
    [verdict] = await engine.evaluate(compiled("strict.yaml", factory), "input", [text])
    assert (verdict.decision, verdict.text) == ("redact", "Summarise the mail from <EMAIL_ADDRESS>.")
