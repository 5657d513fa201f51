"""One request's state as it moves through the gateway, and its audit record."""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from audit.records import DecisionRecord, RequestRecord
from policies.compiled import CompiledPolicy
from policies.pseudonymize import PlaceholderRestorer, Vault
from policies.schema import StageName
from policies.verdict import ACTION_STRENGTH, Verdict

_DECISION_ORDER = {"allow": 0, "monitor": 1, "redact": 2, "block": 3}


def new_request_id() -> str:
    return "gg-" + uuid.uuid4().hex


def key_id(authorization: str | None) -> str | None:
    """A stable, non-secret id for the caller's bearer token: the audit log never stores the token."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:].strip()
    return "key-" + hashlib.sha256(token.encode()).hexdigest()[:12] if token else None


@dataclass
class Exchange:
    route: str
    policy: CompiledPolicy  # the policy this request started with, even if a reload lands meanwhile
    client_key_id: str | None = None
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    model: str | None = None
    stream: bool = False
    input_verdicts: list[Verdict] = field(default_factory=list)
    input_items: list[int] = field(default_factory=list)
    output_verdicts: list[Verdict] = field(default_factory=list)
    output_items: list[int] = field(default_factory=list)
    upstream_seconds: float = 0.0
    upstream_opened: float | None = None  # seconds after arrival when a stream's upstream call began
    first_byte_seconds: float | None = None
    stream_added: list[tuple[str, float]] = field(default_factory=list)  # ("first" | "chunk", seconds) per release
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None
    blocked_by: str | None = None
    streamed_chars: int | None = None
    limit_events: list[DecisionRecord] = field(default_factory=list)  # clamps of generation parameters
    vault: Vault | None = field(default=None, repr=False)  # pseudonymized values, for restoring the output

    def restorer(self) -> Callable[[], PlaceholderRestorer] | None:
        """Builds one placeholder restorer per output channel, when this request pseudonymized its input."""
        vault = self.vault
        return (lambda: PlaceholderRestorer(vault)) if vault else None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def decision(self, status: int) -> str:
        verdicts = [*self.input_verdicts, *self.output_verdicts]
        if any(v.blocked for v in verdicts):
            return "block"
        if status >= 400:
            return "error"
        return max((v.decision for v in verdicts), key=_DECISION_ORDER.__getitem__, default="allow")

    def record(self, status: int) -> RequestRecord:
        total = self.elapsed()
        upstream = self.upstream_seconds or None
        return RequestRecord(
            id=self.request_id, created_at=self.created_at, route=self.route, model=self.model,
            client_key_id=self.client_key_id, policy_name=self.policy.policy.name,
            policy_version=self.policy.version, decision=self.decision(status), status=status, stream=self.stream,
            streamed_chars=self.streamed_chars,
            latency_total_ms=total * 1000, latency_upstream_ms=upstream * 1000 if upstream else None,
            latency_gateway_ms=(total - (upstream or 0.0)) * 1000,
            prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
            blocked_by=self.blocked_by, error=self.error,
            input_redacted=_joined(self.input_verdicts), output_redacted=_joined(self.output_verdicts),
            decisions=(*self.limit_events, *_decision_rows("input", self.input_verdicts, self.input_items),
                       *_decision_rows("output", self.output_verdicts, self.output_items)),
        )


def _joined(verdicts: list[Verdict]) -> str | None:
    return "\n".join(v.audit_text for v in verdicts) if verdicts else None


def _decision_rows(stage: StageName, verdicts: list[Verdict], items: list[int]) -> list[DecisionRecord]:
    rows: list[DecisionRecord] = []
    for verdict, item in zip(verdicts, items):
        for f in sorted(verdict.findings, key=lambda f: (f.start, -ACTION_STRENGTH[f.action])):
            rows.append(DecisionRecord(stage=stage, rule=f.rule, detector=f.detector, action=f.action,
                                       entity_type=f.type, start=f.start, end=f.end, score=f.score, item=item))
        for e in verdict.errors:
            rows.append(DecisionRecord(stage=stage, rule=e.rule, detector=e.detector, action=f"error:{e.outcome}",
                                       item=item, reason=e.reason))
    return rows
