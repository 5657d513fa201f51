"""The one place a request's decisions are made: model and limits, input stage, output stage, audit."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from audit.metrics import GatewayMetrics
from audit.store import AuditStore
from gateway.backend import Upstream
from gateway.errors import GatewayError, InvalidRequest, ModelNotFound, PolicyViolation
from gateway.exchange import Exchange, key_id
from gateway.limits import apply_limits
from gateway.protocol import ChatRequest, CompletionRequest, decode_json_object
from gateway.texts import SlotSet, chat_input, completion_input
from policies.engine import PolicyEngine
from policies.live import LivePolicy
from policies.pseudonymize import Vault
from policies.schema import StageName
from policies.verdict import Verdict

log = logging.getLogger("guardgate.pipeline")


class Pipeline:
    """Built once in the lifespan; handlers call `begin`, `admit`, `screen` and `finish` in that order."""

    def __init__(self, *, policy: LivePolicy, engine: PolicyEngine, upstream: Upstream, audit: AuditStore,
                 metrics: GatewayMetrics) -> None:
        self.policy = policy
        self.engine = engine
        self.upstream = upstream
        self.audit = audit
        self.metrics = metrics

    def begin(self, route: str, authorization: str | None, request_id: str) -> Exchange:
        return Exchange(route=route, policy=self.policy.current, client_key_id=key_id(authorization),
                        request_id=request_id)

    async def admit(self, ex: Exchange, raw: bytes, chat: bool) -> dict[str, Any]:
        """Decode and check the request; returns the body to forward, with limits and redactions applied."""
        body = await self.prepare(ex, raw, chat)
        await self.check_input(ex, body, chat)
        return body

    @staticmethod
    def parallel(ex: Exchange) -> bool:
        """Whether the input rules run while the backend already works (`input: {mode: parallel}`)."""
        return ex.policy.policy.input.mode == "parallel"

    async def prepare(self, ex: Exchange, raw: bytes, chat: bool) -> dict[str, Any]:
        """Decode, check the model and apply the generation limits."""
        body = _decode(raw, ChatRequest if chat else CompletionRequest)
        ex.model = body["model"]
        ex.stream = bool(body.get("stream"))
        await self._check_model(ex, body["model"])
        ex.limit_events.extend(apply_limits(ex.policy.policy.limits, body, chat))
        return body

    async def check_input(self, ex: Exchange, body: dict[str, Any], chat: bool) -> None:
        """The input stage; raises `PolicyViolation` on a block, rewrites `body` in place otherwise."""
        slots = chat_input(body) if chat else completion_input(body)
        if any(r.spec.action == "pseudonymize" for r in ex.policy.input_rules):
            ex.vault = Vault()  # this request's only: never logged, never stored, gone with the exchange
            for slot in slots.slots:
                ex.vault.reserve(slot.text)  # placeholders the client wrote itself are never issued
        verdicts = await self.screen(ex, "input", slots)
        blocked = next((v for v in verdicts if v.blocked), None)
        if blocked:
            ex.blocked_by = blocked.blocked_by
            raise PolicyViolation(blocked.message or "Blocked by policy.", code=blocked.blocked_by)

    async def screen(self, ex: Exchange, stage: StageName, slots: SlotSet) -> list[Verdict]:
        """Evaluate a stage over every slot, record it on the exchange, and write redactions back."""
        vault = ex.vault if stage == "input" else None
        # In parallel mode the backend call must make progress meanwhile, so no rule may hold the event loop.
        overlapped = stage == "input" and self.parallel(ex)
        verdicts = await self.engine.evaluate(ex.policy, stage, [s.text for s in slots.slots], vault,
                                              inline=not overlapped)
        items = [s.item for s in slots.slots]
        if stage == "input":
            ex.input_verdicts, ex.input_items = verdicts, items
        else:
            ex.output_verdicts.extend(verdicts)
            ex.output_items.extend(items)
        self.count(stage, verdicts)
        slots.write_back([v.text for v in verdicts])  # a blocked slot keeps its text: its owner is replaced whole
        return verdicts

    async def allowed_models(self, ex: Exchange | None = None) -> list[str]:
        allow = (ex.policy if ex else self.policy.current).policy.limits.models
        served = await self.upstream.models()
        return [m for m in served if allow is None or m in allow]

    async def _check_model(self, ex: Exchange, model: str) -> None:
        allow = ex.policy.policy.limits.models
        if allow is not None and model not in allow:
            raise ModelNotFound(model, list(allow))
        try:
            served = await self.upstream.models()
        except GatewayError:
            return  # the backend will judge the model itself; its error passes through
        if model not in served:
            raise ModelNotFound(model, [m for m in served if allow is None or m in allow])

    def count(self, stage: StageName, verdicts: list[Verdict]) -> None:
        """Metrics for a stage's verdicts: decisions, PII entities, detector errors."""
        m = self.metrics
        for v in verdicts:
            for f in v.findings:
                m.decisions.labels(stage, f.rule, f.action).inc()
                if f.detector == "pii":
                    m.pii_entities.labels(stage, f.type).inc()
            for e in v.errors:
                m.decisions.labels(stage, e.rule, f"error:{e.outcome}").inc()
                m.policy_errors.labels(stage, e.rule, e.outcome).inc()
                log.warning("rule %s failed on %s (%s): on_error=%s", e.rule, stage, e.reason, e.outcome)

    async def finish(self, ex: Exchange, status: int) -> None:
        """Metrics and the audit record; never raises into the response path."""
        m = self.metrics
        model = ex.model if ex.model is not None else "-"
        m.requests.labels(ex.route, model, str(status)).inc()
        total = ex.elapsed()
        m.gateway_seconds.labels(ex.route).observe(max(total - ex.upstream_seconds, 0.0))
        if ex.upstream_seconds:
            m.upstream_seconds.labels(ex.route, model).observe(ex.upstream_seconds)
        if ex.first_byte_seconds is not None:
            m.ttft_seconds.labels(ex.route, model).observe(ex.first_byte_seconds)
        for at, seconds in ex.stream_added:
            m.stream_added_seconds.labels(ex.route, at).observe(seconds)
        for event in ex.limit_events:
            m.decisions.labels("input", event.rule, event.action).inc()
        try:
            await self.audit.submit(ex.record(status))
        except Exception:  # noqa: BLE001 - the store counts its own failures; a response must not fail on them
            log.exception("audit submit failed for request %s", ex.request_id)


def _decode(raw: bytes, view: type[ChatRequest] | type[CompletionRequest]) -> dict[str, Any]:
    try:
        body = decode_json_object(raw)
    except (msgspec.DecodeError, TypeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}", code="invalid_json") from exc
    try:
        msgspec.convert(body, view)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"Invalid request: {exc}", param=_param(str(exc)), code="invalid_value") from exc
    return body


def _param(message: str) -> str | None:
    """msgspec says "... - at `$.messages[0].role`"; OpenAI's `param` is that path without `$.`."""
    if "at `$." in message:
        return message.rsplit("at `$.", 1)[1].rstrip("`")
    return None
