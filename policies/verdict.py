"""What evaluating one policy stage on one text decides, and why."""

from __future__ import annotations

from typing import Literal

import msgspec

from policies.schema import Action

Decision = Literal["allow", "monitor", "redact", "block"]

# Strongest first: when spans from several rules overlap, the strongest action wins.
ACTION_STRENGTH: dict[str, int] = {"block": 6, "redact": 5, "pseudonymize": 4, "hash": 3, "mask": 2, "monitor": 1,
                                   "allow": 0}
TRANSFORMING: frozenset[str] = frozenset({"redact", "pseudonymize", "hash", "mask"})


class RuleFinding(msgspec.Struct, frozen=True):
    """One span flagged by one rule: the unit of explanation in audit rows and `analyze` output."""

    type: str
    start: int
    end: int
    score: float
    detector: str
    rule: str
    action: Action


class RuleError(msgspec.Struct, frozen=True):
    """A rule whose detector failed or timed out, and what `on_error` made of it."""

    rule: str
    detector: str
    outcome: Literal["block", "allow"]
    reason: str


class Verdict(msgspec.Struct, frozen=True):
    """The outcome of one stage on one text.

    `text` is the text to forward: redacted where a rule transformed it, the
    original where nothing did. When `decision` is "block", `blocked_by` names
    the rule and `message` is that rule's message. `audit_text` has every
    finding's span replaced by its type, whatever the action: it is what the
    audit log may store, since monitored and blocked spans must not rest raw.
    """

    decision: Decision
    text: str
    audit_text: str
    findings: tuple[RuleFinding, ...] = ()
    errors: tuple[RuleError, ...] = ()
    blocked_by: str | None = None
    message: str | None = None

    @property
    def blocked(self) -> bool:
        return self.decision == "block"


def decide(findings: tuple[RuleFinding, ...], errors: tuple[RuleError, ...]) -> Decision:
    """The stage decision: any block wins, then any transformation, then monitoring."""
    actions = {f.action for f in findings}
    if "block" in actions or any(e.outcome == "block" for e in errors):
        return "block"
    if actions & TRANSFORMING:
        return "redact"
    if "monitor" in actions:
        return "monitor"
    return "allow"
