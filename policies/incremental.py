"""Screening a text that arrives in pieces: release each part as soon as no rule could still change it.

The guarantee, for any split of the text into chunks: the concatenation of what `feed`
and `finish` release equals what screening the whole text at once gives, provided every
rule's findings depend only on text within `CONTEXT_CHARS` to their left and the
detector's own `stream_holdback` to their right. Pattern recognizers satisfy this; a
detector that cannot say how much it needs holds everything (up to the stage's
`max_holdback_chars`, after which a release is forced at a conservative cut).
"""

from __future__ import annotations

from typing import Sequence

from msgspec.structs import replace

from policies.compiled import CompiledPolicy
from policies.engine import PolicyEngine
from policies.schema import StageName
from policies.verdict import RuleError, RuleFinding, Verdict, decide

CONTEXT_CHARS = 96  # left context given to detectors, for context words and look-behinds


class Released:
    """What one step released: redacted text, or a block (the text is then empty)."""

    __slots__ = ("text", "blocked")

    def __init__(self, text: str, blocked: Verdict | None = None) -> None:
        self.text = text
        self.blocked = blocked


class IncrementalScreen:
    """One text channel (a choice's content, or one string inside tool-call arguments)."""

    def __init__(self, engine: PolicyEngine, policy: CompiledPolicy, stage: StageName = "output") -> None:
        self._engine = engine
        self._policy = policy
        self._stage = stage
        self._max_hold = policy.policy.stage(stage).stream.max_holdback_chars
        self.original = ""
        self.released = 0
        self.findings: list[RuleFinding] = []
        self.errors: list[RuleError] = []
        self.sent: list[str] = []
        self.blocked: Verdict | None = None

    @property
    def text(self) -> str:
        """Everything released so far."""
        return "".join(self.sent)

    def verdict(self) -> Verdict:
        """The channel's decision so far, for the audit log: offsets are into `original`."""
        findings, errors, blocked = tuple(self.findings), tuple(self.errors), self.blocked
        audit_text = self._engine.audit_text(self._policy, self.original, findings)
        if blocked is not None:
            return Verdict(decision="block", text=self.text, audit_text=audit_text, findings=findings,
                           errors=errors, blocked_by=blocked.blocked_by, message=blocked.message)
        return Verdict(decision=decide(findings, errors), text=self.text, audit_text=audit_text,
                       findings=findings, errors=errors)

    async def feed(self, delta: str) -> Released:
        self.original += delta
        pending = len(self.original) - self.released
        hold = min(self._holdback(self.original[self.released :]), pending)
        cut = len(self.original) - hold
        forced = False
        if cut <= self.released:
            if pending <= self._max_hold:
                return Released("")
            cut, forced = self._forced_cut(), True
        return await self._release(cut, forced)

    async def finish(self) -> Released:
        """The text is complete: screen and release the rest."""
        if self.released >= len(self.original) and self.original:
            return Released("")
        return await self._release(len(self.original), forced=True)

    def _holdback(self, pending: str) -> int:
        hold = 0
        for rule in self._policy.stage_rules(self._stage):
            measure = getattr(rule.detector, "stream_holdback", None)
            hold = max(hold, measure(pending) if measure else len(pending))
        return hold

    def _forced_cut(self) -> int:
        """Past the hold-back cap: cut at the last whitespace before the cap, so a word is not split if avoidable."""
        limit = len(self.original) - self._max_hold
        space = max(self.original.rfind(" ", self.released, limit), self.original.rfind("\n", self.released, limit))
        return space + 1 if space >= self.released else limit

    async def _release(self, cut: int, forced: bool) -> Released:
        start = max(0, self.released - CONTEXT_CHARS)
        (verdict,) = await self._engine.evaluate(self._policy, self._stage, [self.original[start:]])
        findings = [replace(f, start=f.start + start, end=f.end + start) for f in verdict.findings]
        for f in findings:
            if f.start < cut < f.end and f.start >= self.released:
                # A span crossing the cut may still grow: hold all of it, unless a release is forced,
                # when the conservative choice is to release through its end, transformed.
                cut = f.end if forced else f.start
        if cut < self.released:
            cut = self.released
        mine = [_clip(f, self.released, cut) for f in findings if f.end > self.released and f.start < cut]
        if verdict.errors:
            self.errors.extend(e for e in verdict.errors if e not in self.errors)
        blocked = _block(verdict, mine)
        self.findings.extend(mine)
        if blocked is not None:
            self.blocked = blocked
            # Text before the first blocking span is screened and may go out; nothing after it will.
            spans = [f.start for f in mine if f.action == "block"]
            if not spans or any(e.outcome == "block" for e in verdict.errors):
                return Released("", blocked)
            cut = min(spans)
            before = [f for f in mine if f.end <= cut]
            shifted = [replace(f, start=f.start - self.released, end=f.end - self.released) for f in before]
            out = self._engine.redact(self._policy, self.original[self.released : cut], shifted)
            self.released = cut
            self.sent.append(out)
            return Released(out, blocked)
        segment = self.original[self.released : cut]
        shifted = [replace(f, start=f.start - self.released, end=f.end - self.released) for f in mine]
        out = self._engine.redact(self._policy, segment, shifted)
        self.released = cut
        self.sent.append(out)
        return Released(out)


def _clip(f: RuleFinding, low: int, high: int) -> RuleFinding:
    return replace(f, start=max(f.start, low), end=min(f.end, high))


def _block(verdict: Verdict, mine: Sequence[RuleFinding]) -> Verdict | None:
    """A block only counts if its span is in the part being released, or a rule failed closed."""
    if not verdict.blocked:
        return None
    if any(e.outcome == "block" for e in verdict.errors) or any(f.action == "block" for f in mine):
        return verdict
    return None
