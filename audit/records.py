"""The audit log's wire records: what the gateway hands the store for each request.

Text fields hold redacted content only; raw PII never reaches these structs.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One rule's finding, or one rule's error, for one stage of one request."""

    stage: str  # "input" | "output"
    rule: str
    detector: str
    action: str  # the rule's action, or "error:block" / "error:allow" for a failed detector
    entity_type: str | None = None
    start: int | None = None
    end: int | None = None
    score: float | None = None
    item: int = 0  # which message (input) or choice (output) the span is in
    reason: str | None = None  # for errors: why the detector failed


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    created_at: datetime
    route: str  # route template, e.g. "/v1/chat/completions"
    model: str | None
    client_key_id: str | None = None
    policy_name: str
    policy_version: str
    decision: str  # "allow" | "monitor" | "redact" | "block" | "error"
    status: int
    stream: bool = False
    streamed_chars: int | None = None  # for streams: characters already sent when the stream ended or was blocked
    latency_total_ms: float
    latency_upstream_ms: float | None = None
    latency_gateway_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    blocked_by: str | None = None
    error: str | None = None
    input_redacted: str | None = None  # redacted prompt text, never raw
    output_redacted: str | None = None  # redacted completion text, never raw
    decisions: tuple[DecisionRecord, ...] = ()
