"""What gets measured: a policy through the real engine, behind one small interface shared with the baselines."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol, Sequence

import msgspec

from evaluation.types import Prediction, ScoredSpan
from policies.casetest import OfflineRunner
from policies.compiler import DetectorFactory
from policies.schema import PiiRule, Policy, Rule, StageName


class System(Protocol):
    """Predicts spans with scores for one text at a time, so each prediction carries its own latency."""

    name: str
    thresholds: dict[str, float]
    """The operating threshold of each rule (or baseline) id: the headline numbers are taken there."""
    versions: dict[str, str]
    """What produced the scores, per rule (or baseline) id: detector versions name model weights and lists."""

    async def predict(self, text: str) -> Prediction: ...

    def close(self) -> None: ...


def relaxed(policy: Policy, stage: StageName, rule_ids: Sequence[str]) -> tuple[Policy, dict[str, float]]:
    """The policy with the evaluated rules' thresholds at 0, and the thresholds they had.

    Findings below a rule's threshold never leave its detector, so a threshold sweep
    needs them all; the report then applies each rule's own threshold for its headline.
    """
    rules = policy.stage(stage).rules
    chosen = set(rule_ids) if rule_ids else {r.id for r in rules}
    if missing := chosen - {r.id for r in rules}:
        raise ValueError(f"no rule {', '.join(sorted(missing))} in the policy's {stage} stage "
                         f"(its rules: {', '.join(r.id for r in rules) or 'none'})")
    thresholds: dict[str, float] = {}
    new_rules: list[Rule] = []
    for rule in rules:
        if rule.id in chosen:
            thresholds[rule.id] = getattr(rule, "threshold", 0.0)
            if hasattr(rule, "threshold"):
                rule = msgspec.structs.replace(rule, threshold=0.0)
        new_rules.append(rule)
    new_stage = msgspec.structs.replace(policy.stage(stage), rules=new_rules)
    return msgspec.structs.replace(policy, **{stage: new_stage}), thresholds


def pii_rules(policy: Policy, stage: StageName, rule_ids: Sequence[str]) -> list[PiiRule]:
    """The evaluated rules that are `pii` rules, whose entities decide which types a PII set is scored on."""
    return [r for r in policy.stage(stage).rules if isinstance(r, PiiRule) and (not rule_ids or r.id in rule_ids)]


class PolicySystem:
    """A policy stage through `OfflineRunner`: the same compiler, executor and engine as the gateway."""

    def __init__(self, name: str, policy: Policy, source: str | Path, stage: StageName,
                 rule_ids: Sequence[str] = (), factory: DetectorFactory | None = None) -> None:
        self.name = name
        self._stage = stage
        evaluated, self.thresholds = relaxed(policy, stage, rule_ids)
        self._runner = OfflineRunner(evaluated, source=str(source), factory=factory)
        self.versions = {r.spec.id: f"{r.detector.name} {r.detector.version}"
                         for r in self._runner.compiled.stage_rules(stage) if r.spec.id in self.thresholds}

    async def predict(self, text: str) -> Prediction:
        started = time.perf_counter()
        verdict = (await self._runner.evaluate(self._stage, [text]))[0]
        latency = time.perf_counter() - started
        spans = tuple(ScoredSpan(f.type, f.start, f.end, f.score, f.rule)
                      for f in verdict.findings if f.rule in self.thresholds)
        return Prediction(spans=spans, latency_s=latency,
                          errors=sum(1 for e in verdict.errors if e.rule in self.thresholds))

    def close(self) -> None:
        self._runner.__exit__(None, None, None)
