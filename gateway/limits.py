"""Generation-parameter limits: clamp the request or reject it, as the policy says."""

from __future__ import annotations

from typing import Any

from audit.records import DecisionRecord
from gateway.errors import InvalidRequest
from policies.schema import Limits


def apply_limits(limits: Limits, body: dict[str, Any], chat: bool) -> list[DecisionRecord]:
    """Rewrites `body` in place when clamping; returns one record per clamp, raises on reject."""
    events: list[DecisionRecord] = []

    def violate(param: str, value: Any, allowed: Any, clamped: Any) -> None:
        if limits.on_violation == "reject":
            raise InvalidRequest(f"'{param}' is {value}, but the gateway's policy allows {allowed}.",
                                 param=param, code="limit_exceeded")
        body[param] = clamped
        events.append(DecisionRecord(stage="input", rule=f"limits.{param}", detector="limits", action="clamp",
                                     reason=f"{value} -> {clamped}"))

    if limits.max_tokens is not None:
        keys = ["max_completion_tokens", "max_tokens"] if chat else ["max_tokens"]
        present = [k for k in keys if body.get(k) is not None]
        for key in present:
            if body[key] > limits.max_tokens:
                violate(key, body[key], f"at most {limits.max_tokens}", limits.max_tokens)
        if not present:
            body["max_tokens"] = limits.max_tokens  # absent means "up to the context", which the cap bounds
    if limits.temperature is not None and body.get("temperature") is not None:
        low, high = limits.temperature.min, limits.temperature.max
        value = body["temperature"]
        if not low <= value <= high:
            violate("temperature", value, f"{low} to {high}", min(max(value, low), high))
    if limits.n is not None and body.get("n") is not None and body["n"] > limits.n:
        violate("n", body["n"], f"at most {limits.n}", limits.n)
    return events
