"""Read the audit log back: the latest requests, or one request with its decisions, as typed structs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import msgspec
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.models import AuditDecision, AuditRequest
from audit.store import create_audit_engine, describe_error, display_url, sqlite_path


class AuditReadError(Exception):
    """The audit log cannot be read; the message says what to do about it."""


class AmbiguousRequestId(AuditReadError):
    """A request-id prefix matches more than one request."""


class RequestSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One line of `guardgate audit tail`."""

    id: str
    created_at: datetime
    route: str
    model: str | None
    decision: str
    status: int
    blocked_by: str | None
    latency_total_ms: float
    latency_gateway_ms: float | None
    policy_name: str
    policy_version: str


class RequestDetail(msgspec.Struct, frozen=True, kw_only=True):
    """Every stored field of one request."""

    id: str
    created_at: datetime
    route: str
    model: str | None
    client_key_id: str | None
    policy_name: str
    policy_version: str
    decision: str
    status: int
    stream: bool
    streamed_chars: int | None = None
    latency_total_ms: float
    latency_upstream_ms: float | None
    latency_gateway_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    blocked_by: str | None
    error: str | None
    input_redacted: str | None
    output_redacted: str | None


class DecisionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One decision of a request, in the order the pipeline reported it."""

    stage: str
    rule: str
    detector: str
    action: str
    entity_type: str | None
    start: int | None
    end: int | None
    score: float | None
    item: int
    reason: str | None


_SUMMARY_COLUMNS = [getattr(AuditRequest, f) for f in RequestSummary.__struct_fields__]
_DETAIL_COLUMNS = [getattr(AuditRequest, f) for f in RequestDetail.__struct_fields__]
_DECISION_COLUMNS = [getattr(AuditDecision, f) for f in DecisionRow.__struct_fields__]
_AMBIGUOUS_SHOWN = 5


async def recent(url: str, limit: int = 20, *, decision: str | None = None) -> list[RequestSummary]:
    """The latest `limit` requests, newest first, optionally only those with this decision."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    query = select(*_SUMMARY_COLUMNS).order_by(AuditRequest.created_at.desc(), AuditRequest.id.desc()).limit(limit)
    if decision is not None:
        query = query.where(AuditRequest.decision == decision)
    async with _connect(url) as conn:
        rows = (await conn.execute(query)).all()
    return [RequestSummary(**row._asdict()) for row in rows]


async def get(url: str, request_id: str) -> tuple[RequestDetail, list[DecisionRow]] | None:
    """One request and its decisions by full id or unique id prefix; None if nothing matches.

    An exact id wins even when it is also a prefix of other ids; a prefix that matches several
    requests raises AmbiguousRequestId naming some of them.
    """
    if not request_id:
        raise ValueError("request_id must not be empty")
    async with _connect(url) as conn:
        exact = select(*_DETAIL_COLUMNS).where(AuditRequest.id == request_id)
        row = (await conn.execute(exact)).first()
        if row is None:
            by_prefix = (
                select(*_DETAIL_COLUMNS)
                .where(AuditRequest.id.startswith(request_id, autoescape=True))
                .order_by(AuditRequest.created_at.desc())
                .limit(_AMBIGUOUS_SHOWN + 1)
            )
            rows = (await conn.execute(by_prefix)).all()
            if not rows:
                return None
            if len(rows) > 1:
                shown = ", ".join(r.id for r in rows[:_AMBIGUOUS_SHOWN])
                more = " and more" if len(rows) > _AMBIGUOUS_SHOWN else ""
                raise AmbiguousRequestId(
                    f"request id prefix {request_id!r} matches several requests ({shown}{more}); "
                    "give more characters of the id"
                )
            row = rows[0]
        detail = RequestDetail(**row._asdict())
        decisions = await conn.execute(
            select(*_DECISION_COLUMNS).where(AuditDecision.request_id == detail.id).order_by(AuditDecision.id)
        )
        return detail, [DecisionRow(**d._asdict()) for d in decisions.all()]


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[AsyncConnection]:
    path = sqlite_path(url)
    # Connecting would create an empty SQLite file; say where the log was expected instead.
    if path is not None and not os.path.exists(path):
        raise AuditReadError(
            f"no audit database at {os.path.abspath(path)}. The gateway creates it on its first request; "
            "point --audit-url (or GUARDGATE_AUDIT_URL) at the gateway's audit database."
        )
    engine = create_audit_engine(url)
    try:
        try:
            conn = await engine.connect()
        except Exception as exc:
            raise AuditReadError(
                f"cannot connect to the audit database {display_url(engine.url)}: {describe_error(exc)}"
            ) from exc
        try:
            if not await conn.run_sync(lambda c: inspect(c).has_table(AuditRequest.__tablename__)):
                raise AuditReadError(
                    f"{display_url(engine.url)} has no audit tables yet. Start the gateway with this "
                    "audit URL once (it creates them), or check --audit-url / GUARDGATE_AUDIT_URL."
                )
            yield conn
        finally:
            await conn.close()
    finally:
        await engine.dispose()
