"""Evaluates one stage of a compiled policy: the only place where `on_error` is applied."""

from __future__ import annotations

import asyncio
import time
from typing import Callable, Sequence

from msgspec.structs import replace

from detectors import Detector, DetectorError, Finding
from detectors.executor import DetectorExecutor
from policies.compiled import CompiledPolicy, CompiledRule
from policies.pseudonymize import Vault
from policies.redaction import Redactor
from policies.schema import StageName
from policies.verdict import RuleError, RuleFinding, Verdict, decide

DetectorTimer = Callable[[str, str, float], None]
"""Called with (detector, rule id, seconds) after each detector call, for metrics."""


class PolicyEngine:
    """Runs a stage's rules concurrently over a batch of texts and folds their findings into verdicts."""

    def __init__(self, executor: DetectorExecutor, redactor: Redactor, on_timing: DetectorTimer | None = None) -> None:
        self._executor = executor
        self._redactor = redactor
        self._on_timing = on_timing

    async def evaluate(self, policy: CompiledPolicy, stage: StageName, texts: Sequence[str],
                       vault: Vault | None = None, *, inline: bool = True) -> list[Verdict]:
        """One verdict per text. Never raises for a detector failure: `on_error` turns it into a decision.

        `vault`, given for a request whose input rules pseudonymize, issues their placeholders.
        `inline=False` keeps every detector call off the event loop, for callers that overlap other work with it.
        """
        rules = policy.stage_rules(stage)
        if not rules or not texts:
            return [Verdict(decision="allow", text=t, audit_text=t) for t in texts]
        outcomes: list[list[list[Finding]] | RuleError | None] = [self._skip(rule, texts) for rule in rules]
        pending = [i for i, outcome in enumerate(outcomes) if outcome is None]
        if len(pending) == 1:  # no tasks to schedule for one rule: a streamed step stays one loop turn
            outcomes[pending[0]] = await self._run_rule(rules[pending[0]], texts, inline)
        elif pending:
            ran = await asyncio.gather(*(self._run_rule(rules[i], texts, inline) for i in pending))
            for i, outcome in zip(pending, ran):
                outcomes[i] = outcome
        verdicts = []
        for i, text in enumerate(texts):
            findings: list[RuleFinding] = []
            errors: list[RuleError] = []
            for rule, outcome in zip(rules, outcomes):
                if isinstance(outcome, RuleError):
                    errors.append(outcome)
                else:
                    findings.extend(_tag(rule, f) for f in outcome[i])
            verdicts.append(self._fold(policy, rules, text, tuple(findings), tuple(errors), vault))
        return verdicts

    def redact(self, policy: CompiledPolicy, text: str, findings: Sequence[RuleFinding]) -> str:
        """Apply the transforming actions of `findings` (offsets into `text`)."""
        return self._redactor.apply(text, findings, policy.masks)

    def audit_text(self, policy: CompiledPolicy, text: str, findings: Sequence[RuleFinding]) -> str:
        """Every finding's span replaced by its type, whatever its action: what the audit log may keep."""
        return self._redactor.apply(text, [replace(f, action="redact") for f in findings], policy.masks)

    def _skip(self, rule: CompiledRule, texts: Sequence[str]) -> list[list[Finding]] | None:
        """No findings, when the detector can tell at once that none of the texts can match; else None."""
        detector: Detector = rule.detector
        may_find = getattr(detector, "may_find", None)
        if may_find is None:
            return None
        started = time.perf_counter()
        if any(may_find(t) for t in texts):
            return None
        # The usual case for streamed prose: answered on the event loop, without a thread hop or a task.
        if self._on_timing:
            self._on_timing(detector.name, rule.spec.id, time.perf_counter() - started)
        return [[] for _ in texts]

    async def _run_rule(self, rule: CompiledRule, texts: Sequence[str],
                        inline: bool = True) -> list[list[Finding]] | RuleError:
        detector: Detector = rule.detector
        started = time.perf_counter()
        timeout_s = rule.spec.timeout_ms / 1000
        try:
            if inline and sum(map(len, texts)) <= getattr(detector, "inline_chars", 0):
                # Cheaper than the thread hop it saves; a run past the deadline still counts as a timeout.
                result = detector.detect_batch(texts)
                if time.perf_counter() - started > timeout_s:
                    raise TimeoutError
            else:
                result = await self._executor.run(lambda: detector.detect_batch(texts), timeout_s)
            if len(result) != len(texts):
                raise DetectorError(f"returned {len(result)} results for {len(texts)} texts")
            return result
        except TimeoutError:
            return RuleError(rule=rule.spec.id, detector=detector.name, outcome=rule.spec.on_error,
                             reason=f"timed out after {rule.spec.timeout_ms} ms")
        except Exception as exc:  # noqa: BLE001 - any failure is a detector error; on_error decides
            return RuleError(rule=rule.spec.id, detector=detector.name, outcome=rule.spec.on_error,
                             reason=f"{type(exc).__name__}: {exc}")
        finally:
            if self._on_timing:
                self._on_timing(detector.name, rule.spec.id, time.perf_counter() - started)

    def _fold(self, policy: CompiledPolicy, rules: Sequence[CompiledRule], text: str, findings: tuple[RuleFinding, ...],
              errors: tuple[RuleError, ...], vault: Vault | None = None) -> Verdict:
        decision = decide(findings, errors)
        audit_text = self.audit_text(policy, text, findings)
        if decision == "block":
            blocker = _first_blocking_rule(rules, findings, errors)
            return Verdict(decision="block", text=text, audit_text=audit_text, findings=findings, errors=errors,
                           blocked_by=blocker.spec.id, message=blocker.spec.message)
        redacted = self._redactor.apply(text, findings, policy.masks, vault) if decision == "redact" else text
        return Verdict(decision=decision, text=redacted, audit_text=audit_text, findings=findings, errors=errors)


def _tag(rule: CompiledRule, f: Finding) -> RuleFinding:
    return RuleFinding(type=f.entity_type, start=f.start, end=f.end, score=round(f.score, 4),
                       detector=f.detector, rule=rule.spec.id, action=rule.spec.action)


def _first_blocking_rule(rules: Sequence[CompiledRule], findings: tuple[RuleFinding, ...],
                         errors: tuple[RuleError, ...]) -> CompiledRule:
    """The first rule in policy order that blocked, so the error code is stable across runs."""
    blocking = {f.rule for f in findings if f.action == "block"} | {e.rule for e in errors if e.outcome == "block"}
    return next(r for r in rules if r.spec.id in blocking)
