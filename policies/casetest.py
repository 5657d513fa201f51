"""Policy test cases, and the offline runner that evaluates texts with the real engine.

A cases file lists example texts and what the policy should decide about them:

    cases:
      - name: e-mail in a prompt is redacted
        stage: input              # input (the default) or output
        text: "write to jane@example.org"
        expect:
          decision: redact        # allow, monitor, redact or block
          text: "write to <EMAIL_ADDRESS>"   # optional: the text the gateway would forward
      - name: card numbers are refused
        text: "my card is 4111 1111 1111 1111"
        expect: {decision: block, rule: cards.block}   # rule: optional, the blocking rule's id

For a blocked case, `expect.text` is compared with the text that would have been
forwarded had nothing blocked: the text with every transforming rule applied.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Sequence

import msgspec

from detectors.executor import DetectorExecutor
from policies import loader, validate
from policies.compiled import CompiledPolicy
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.redaction import Redactor
from policies.schema import Policy, StageName
from policies.verdict import Decision, Verdict


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Cases files are as strict as policies: a misspelt `expect` key must not make a case pass vacuously."""


class Expect(_Strict, kw_only=True):
    decision: Decision
    text: str | None = None
    rule: str | None = None


class Case(_Strict, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    stage: StageName = "input"
    text: str
    expect: Expect


class CaseFile(_Strict, kw_only=True):
    cases: Annotated[list[Case], msgspec.Meta(min_length=1)]


def _check_cases(cases: CaseFile) -> list[validate.Issue]:
    issues = []
    seen: set[str] = set()
    for i, case in enumerate(cases.cases):
        if case.name in seen:
            issues.append(validate.Issue(("cases", i, "name"), f"duplicate case name {case.name!r}"))
        seen.add(case.name)
        if case.expect.rule is not None and case.expect.decision != "block":
            issues.append(validate.Issue(("cases", i, "expect", "rule"),
                                         "expect.rule names the blocking rule, so it needs decision: block"))
    return issues


def load_cases_text(text: str, filename: str = "<cases>") -> list[Case]:
    """Cases from YAML text; raises `loader.PolicyError` with every located problem."""
    return loader.load_document(text, filename, CaseFile, semantic=_check_cases)[0].cases


def load_cases(path: str | Path) -> list[Case]:
    return load_cases_text(loader.read_text(path), str(path))


HASH_KEY_ENV = "GUARDGATE_HASH_KEY"


def hash_key_from_env() -> bytes | None:
    """The gateway's hash key, so offline `hash` digests match what the gateway writes."""
    key = os.environ.get(HASH_KEY_ENV)
    return key.encode() if key else None


class OfflineRunner:
    """One compiled policy and the real engine around it, for `policy test` and `analyze`. Use as a context manager."""

    def __init__(self, policy: Policy, source: str, factory: DetectorFactory | None = None,
                 hash_key: bytes | None = None, max_workers: int = 2) -> None:
        self.compiled: CompiledPolicy = compile_policy(policy, source, factory or DetectorFactory())
        self._executor = DetectorExecutor(max_workers=max_workers)
        self._redactor = Redactor(hash_key)
        self._engine = PolicyEngine(self._executor, self._redactor)

    def __enter__(self) -> OfflineRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown()

    async def evaluate(self, stage: StageName, texts: Sequence[str]) -> list[Verdict]:
        """One verdict per text, batched; a batch where a rule failed is re-run text by text.

        A detector error or timeout fails a rule for its whole batch, so without the
        re-run one oversized text would block every text that shared its batch.
        """
        verdicts = await self._engine.evaluate(self.compiled, stage, texts)
        if len(texts) > 1 and any(v.errors for v in verdicts):
            verdicts = [(await self._engine.evaluate(self.compiled, stage, [t]))[0] for t in texts]
        return verdicts

    def forwarded_text(self, verdict: Verdict) -> str:
        """The text the gateway forwards; for a block, what it would have forwarded had nothing blocked."""
        if not verdict.blocked:
            return verdict.text
        return self._redactor.apply(verdict.text, verdict.findings, self.compiled.masks)


class CaseResult(msgspec.Struct, frozen=True):
    case: Case
    verdict: Verdict
    got_text: str
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


async def run_cases(runner: OfflineRunner, cases: Sequence[Case]) -> list[CaseResult]:
    """Each case alone, so one case's detector error cannot change another's outcome."""
    results = []
    for case in cases:
        verdict = (await runner.evaluate(case.stage, [case.text]))[0]
        got_text = runner.forwarded_text(verdict)
        results.append(CaseResult(case=case, verdict=verdict, got_text=got_text,
                                  failures=tuple(_compare(case.expect, verdict, got_text))))
    return results


def _compare(expect: Expect, verdict: Verdict, got_text: str) -> list[str]:
    failures = []
    if verdict.decision != expect.decision:
        failures.append(f"decision: expected {expect.decision}, got {verdict.decision}")
    if expect.text is not None and got_text != expect.text:
        failures.append("text differs")
    if expect.rule is not None and verdict.blocked_by != expect.rule:
        failures.append(f"rule: expected {expect.rule}, got {verdict.blocked_by or 'none'}")
    return failures
