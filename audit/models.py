"""The audit log's tables: one row per request, one row per decision, portable across SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored as UTC.

    SQLite keeps no offset, so values are normalised to UTC on the way in (which also keeps
    its text ordering chronological) and read back as UTC-aware datetimes on every backend.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # Losing an audit row over a naive timestamp is worse than assuming the gateway's UTC clock.
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class AuditRequest(Base):
    """Every RequestRecord field except `decisions`, which live in their own table."""

    __tablename__ = "guardgate_requests"

    id: Mapped[str] = mapped_column(String(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    route: Mapped[str] = mapped_column(String())
    model: Mapped[str | None] = mapped_column(Text)
    client_key_id: Mapped[str | None] = mapped_column(Text)
    policy_name: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(), index=True)
    status: Mapped[int] = mapped_column(Integer)
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    streamed_chars: Mapped[int | None] = mapped_column(Integer)
    latency_total_ms: Mapped[float] = mapped_column(Float)
    latency_upstream_ms: Mapped[float | None] = mapped_column(Float)
    latency_gateway_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    blocked_by: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    input_redacted: Mapped[str | None] = mapped_column(Text)
    output_redacted: Mapped[str | None] = mapped_column(Text)


class AuditDecision(Base):
    """One DecisionRecord; `id` keeps the order the pipeline reported them in."""

    __tablename__ = "guardgate_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        String(), ForeignKey("guardgate_requests.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String())
    rule: Mapped[str] = mapped_column(Text)
    detector: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String())
    entity_type: Mapped[str | None] = mapped_column(Text)
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    item: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)


requests_table = AuditRequest.__table__
decisions_table = AuditDecision.__table__
