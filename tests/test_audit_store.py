"""The audit store and reader against real SQLite and PostgreSQL: what goes in comes back out, in full."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from audit import reader
from audit.metrics import GatewayMetrics
from audit.models import Base, decisions_table, requests_table
from audit.reader import AmbiguousRequestId, AuditReadError
from audit.records import DecisionRecord
from audit.store import AuditStore, AuditStoreError, async_url
from tests.fixtures.databases import audit_record, pii_decision


@asynccontextmanager
async def running_store(url: str, metrics: GatewayMetrics | None = None, **options: Any) -> AsyncIterator[AuditStore]:
    store = AuditStore(url, metrics, **options)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def row_counts(url: str) -> tuple[int, int]:
    """(requests, decisions) as another client of the database sees them."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            requests = (await conn.execute(select(func.count()).select_from(requests_table))).scalar_one()
            decisions = (await conn.execute(select(func.count()).select_from(decisions_table))).scalar_one()
        return requests, decisions
    finally:
        await engine.dispose()


async def run_ddl(url: str, statement: str | None = None) -> None:
    """Execute `statement`, or (re)create any missing audit tables, from a separate connection."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            if statement is None:
                await conn.run_sync(Base.metadata.create_all)
            else:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def sample(metrics: GatewayMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None, name
    return value


async def test_round_trip_keeps_every_field_and_decision_order(audit_url: str) -> None:
    paris = timezone(timedelta(hours=2))
    full = audit_record(
        "req-full",
        created_at=datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=paris),
        client_key_id="key-7",
        decision="redact",
        stream=True,
        prompt_tokens=31,
        completion_tokens=7,
        blocked_by=None,
        error=None,
        input_redacted="Mail <EMAIL_ADDRESS> about [bold]ünïcödé[/bold] 🚀",
        output_redacted="Sure, I wrote to <EMAIL_ADDRESS>.",
        decisions=(
            pii_decision(5, 20),
            pii_decision(18, 33, stage="output", item=0),
            DecisionRecord(stage="output", rule="toxicity", detector="classifier", action="error:allow",
                           reason="TimeoutError: detector took longer than 2.0s"),
        ),
    )
    sparse = audit_record("req-sparse", model=None, latency_upstream_ms=None, latency_gateway_ms=None,
                          decision="block", blocked_by="injection", error="blocked by policy")
    async with running_store(audit_url) as store:
        await store.submit(full)
        await store.submit(sparse)
        await store.flush()

    for record in (full, sparse):
        found = await reader.get(audit_url, record.id)
        assert found is not None
        detail, decisions = found
        expected = msgspec.structs.asdict(record)
        expected_decisions = [msgspec.structs.asdict(d) for d in expected.pop("decisions")]
        assert msgspec.structs.asdict(detail) == expected
        assert detail.created_at.utcoffset() == timedelta(0)  # the same instant, read back as UTC
        assert [msgspec.structs.asdict(d) for d in decisions] == expected_decisions


async def test_a_thousand_records_are_written_in_batches(audit_url: str) -> None:
    metrics = GatewayMetrics()
    async with running_store(audit_url, metrics, batch_size=64) as store:
        for i in range(1000):
            record = audit_record(f"req-{i:04d}", seconds=i, decisions=[pii_decision(0, 5), pii_decision(9, 12)])
            await store.submit(record)
        await store.flush()
        assert await row_counts(audit_url) == (1000, 2000)
        assert sample(metrics, "guardgate_audit_queue_depth") == 0
        assert sample(metrics, "guardgate_audit_write_errors_total") == 0
    newest = await reader.recent(audit_url, limit=3)
    assert [r.id for r in newest] == ["req-0999", "req-0998", "req-0997"]


async def test_close_writes_what_is_still_queued(audit_url: str) -> None:
    # A batch that never fills and an interval no test waits out: only close() can write these.
    store = AuditStore(audit_url, batch_size=1000, flush_interval_s=3600)
    await store.start()
    for i in range(50):
        await store.submit(audit_record(f"req-{i}", decisions=[pii_decision(0, 5)]))
    async with asyncio.timeout(60):  # a hang guard: close() must not wait out the interval
        await store.close()
    assert await row_counts(audit_url) == (50, 50)
    with pytest.raises(AuditStoreError, match="closed"):
        await store.submit(audit_record("late"))


async def test_a_full_queue_makes_submit_wait_and_loses_nothing(audit_url: str) -> None:
    metrics = GatewayMetrics()
    deepest = 0.0
    async with running_store(audit_url, metrics, queue_size=3, batch_size=2) as store:
        for i in range(300):
            await store.submit(audit_record(f"req-{i:03d}", seconds=i))
            deepest = max(deepest, sample(metrics, "guardgate_audit_queue_depth"))
        # Many producers at once, all held back by the same three slots.
        await asyncio.gather(*(store.submit(audit_record(f"burst-{i:03d}")) for i in range(200)))
        await store.flush()
    assert deepest <= 3 + 2  # the queue plus the batch in flight, never more
    assert await row_counts(audit_url) == (500, 0)
    assert [r.id for r in await reader.recent(audit_url, limit=2)] == ["req-299", "req-298"]


async def test_write_errors_are_counted_and_the_writer_recovers(audit_url: str) -> None:
    metrics = GatewayMetrics()
    async with running_store(audit_url, metrics, retry_attempts=1000, retry_backoff_s=0.02) as store:
        await store.submit(audit_record("before", decisions=[pii_decision(0, 5)]))
        await store.flush()
        await store.check_writable()

        await run_ddl(audit_url, "DROP TABLE guardgate_decisions")
        await store.submit(audit_record("during", decisions=[pii_decision(1, 6), pii_decision(7, 9)]))
        async with asyncio.timeout(60):  # a hang guard, not a timing assertion
            while sample(metrics, "guardgate_audit_write_errors_total") == 0:
                await asyncio.sleep(0.01)
        with pytest.raises(AuditStoreError, match="not writable"):
            await store.check_writable()

        await run_ddl(audit_url)  # the table comes back; the writer's next retry succeeds
        await store.flush()
        await store.check_writable()
        await store.submit(audit_record("after", decisions=[pii_decision(2, 4)]))
        await store.flush()

    assert sample(metrics, "guardgate_audit_write_errors_total") >= 1
    assert sample(metrics, "guardgate_audit_queue_depth") == 0
    # "before"'s decision went with the dropped table; "during" was written whole, once, in one transaction.
    assert await row_counts(audit_url) == (3, 3)
    found = await reader.get(audit_url, "during")
    assert found is not None and [(d.start, d.end) for d in found[1]] == [(1, 6), (7, 9)]


async def test_a_record_the_database_refuses_is_set_aside_and_the_rest_written(
    audit_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = GatewayMetrics()
    marker = "redacted-text-marker"
    async with running_store(audit_url, metrics, flush_interval_s=3600) as store:
        # One batch: the second "dup" violates the primary key and must not take its neighbours with it.
        for request_id in ("a", "dup", "b", "dup", "c"):
            await store.submit(audit_record(request_id, decisions=[pii_decision(0, 1)], input_redacted=marker))
        await store.flush()
        await store.submit(audit_record("d"))
        await store.flush()
    assert sample(metrics, "guardgate_audit_write_errors_total") >= 2  # the batch, then the duplicate alone
    assert await row_counts(audit_url) == (5, 4)
    assert sorted(r.id for r in await reader.recent(audit_url)) == ["a", "b", "c", "d", "dup"]
    assert "dropped audit record dup" in caplog.text
    assert marker not in caplog.text  # the log names records, never their content


async def test_plain_urls_are_mapped_to_async_drivers(audit_url: str) -> None:
    plain = audit_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    assert plain != audit_url
    async with running_store(plain) as store:
        await store.submit(audit_record("plain"))
        await store.flush()
    assert [r.id for r in await reader.recent(plain)] == ["plain"]


async def test_check_writable_fails_once_the_store_is_closed(audit_url: str) -> None:
    store = AuditStore(audit_url)
    with pytest.raises(AuditStoreError, match="not running"):
        await store.check_writable()
    await store.start()
    await store.check_writable()
    await store.close()
    with pytest.raises(AuditStoreError, match="not running"):
        await store.check_writable()
    assert await row_counts(audit_url) == (0, 0)  # the readiness probe leaves nothing behind


async def test_start_fails_clearly_where_the_database_cannot_be_created(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'no-such-dir' / 'audit.db'}")
    with pytest.raises(AuditStoreError, match="cannot open the audit database"):
        await store.start()


async def test_recent_is_newest_first_and_filters_by_decision(audit_url: str) -> None:
    async with running_store(audit_url) as store:
        for i, decision in enumerate(["allow", "block", "redact", "block", "allow"]):
            await store.submit(audit_record(f"req-{i}", seconds=i, decision=decision))
        await store.flush()
    assert [r.id for r in await reader.recent(audit_url, limit=3)] == ["req-4", "req-3", "req-2"]
    blocked = await reader.recent(audit_url, decision="block")
    assert [(r.id, r.status) for r in blocked] == [("req-3", 403), ("req-1", 403)]
    assert await reader.recent(audit_url, decision="error") == []


async def test_get_accepts_a_unique_prefix_and_refuses_an_ambiguous_one(audit_url: str) -> None:
    async with running_store(audit_url) as store:
        for i, request_id in enumerate(["7f3a01", "7f3a02", "9c1b00", "abc", "abcd", "x_y"]):
            await store.submit(audit_record(request_id, seconds=i, decisions=[pii_decision(i, i + 1)]))
        await store.flush()

    found = await reader.get(audit_url, "9c")
    assert found is not None and found[0].id == "9c1b00" and found[1][0].start == 2
    with pytest.raises(AmbiguousRequestId, match="7f3a01.*7f3a02|7f3a02.*7f3a01"):
        await reader.get(audit_url, "7f3a")
    exact = await reader.get(audit_url, "abc")  # an exact id wins over the longer ids it prefixes
    assert exact is not None and exact[0].id == "abc"
    assert await reader.get(audit_url, "nope") is None
    assert await reader.get(audit_url, "x%") is None  # LIKE wildcards in a prefix are literal
    assert await reader.get(audit_url, "_") is None


async def test_reading_a_missing_sqlite_file_explains_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "never-written.db"
    with pytest.raises(AuditReadError, match="no audit database at"):
        await reader.recent(f"sqlite:///{missing}")
    assert not missing.exists()
