"""The audit store: records queue up off the request path and one background task writes them in batches.

Ordering and accounting: records are written in the order they were queued. `flush()` waits for
every record queued before it was called, counting a record as done once it is written or, for a
record the database refuses on its own (a duplicate id, say), once it has been logged and set aside.
A database outage is retried with backoff; after the last attempt the batch is logged by request id
and dropped so that the writer keeps serving the queue behind it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit.metrics import GatewayMetrics
from audit.models import Base, decisions_table, requests_table
from audit.records import DecisionRecord, RequestRecord

DEFAULT_AUDIT_URL = "sqlite+aiosqlite:///./guardgate-audit.db"

log = logging.getLogger("guardgate.audit")

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}
_REQUEST_FIELDS = tuple(f for f in RequestRecord.__struct_fields__ if f != "decisions")
_DECISION_FIELDS = DecisionRecord.__struct_fields__
_MAX_BACKOFF_S = 5.0


class AuditStoreError(RuntimeError):
    """The audit store cannot accept, write or reach records."""


def async_url(url: str) -> URL:
    """Map a plain `sqlite://` or `postgresql://` URL to its async driver; async URLs pass through."""
    parsed = make_url(url)
    return parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))


def display_url(url: str | URL) -> str:
    """The URL as it is safe to print: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str | URL) -> str | None:
    """The database file of a file-backed SQLite URL; None for in-memory SQLite and other backends."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def create_audit_engine(url: str) -> AsyncEngine:
    """An async engine for the audit database; SQL parameters never appear in its error messages."""
    target = async_url(url)
    # hide_parameters: a failed INSERT's message must not carry the redacted prompt into the logs.
    engine = create_async_engine(target, hide_parameters=True, pool_pre_ping=True)
    if target.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets `guardgate audit tail` read while the gateway writes; foreign_keys makes ON DELETE CASCADE real.
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def describe_error(exc: BaseException) -> str:
    """One line naming the error, without SQL parameters or any record content."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line[:300]}"


class AuditStore:
    """Queues RequestRecords and writes them from ONE background task, in batches, one transaction each."""

    def __init__(
        self,
        url: str,
        metrics: GatewayMetrics | None = None,
        *,
        queue_size: int = 10_000,
        batch_size: int = 256,
        flush_interval_s: float = 0.2,
        retry_attempts: int = 8,
        retry_backoff_s: float = 0.1,
    ) -> None:
        if queue_size < 1 or batch_size < 1 or retry_attempts < 1:
            raise ValueError("queue_size, batch_size and retry_attempts must be at least 1")
        if flush_interval_s < 0 or retry_backoff_s < 0:
            raise ValueError("flush_interval_s and retry_backoff_s must not be negative")
        self.url = url
        self._metrics = metrics
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._retry_attempts = retry_attempts
        self._retry_backoff_s = retry_backoff_s
        self._engine: AsyncEngine | None = None
        self._queue: asyncio.Queue[RequestRecord] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._queued = 0  # records put on the queue
        self._done = 0  # records written or set aside, in queue order
        self._flushers: list[tuple[int, asyncio.Future[None]]] = []
        self._room_waiters: list[asyncio.Future[None]] = []
        self._nudge = asyncio.Event()  # set by submit, flush and close to end the writer's wait for a fuller batch

    async def start(self) -> None:
        """Create the engine and any missing tables, then start the writer."""
        if self._writer is not None:
            raise AuditStoreError("the audit store is already started")
        engine = create_audit_engine(self.url)
        try:
            await _create_tables(engine)
        except Exception as exc:
            await engine.dispose()
            raise AuditStoreError(
                f"cannot open the audit database {display_url(async_url(self.url))}: {describe_error(exc)}"
            ) from exc
        self._engine = engine
        self._queue = asyncio.Queue(maxsize=self._queue_size)
        self._writer = asyncio.create_task(self._run_writer(), name="guardgate-audit-writer")
        self._writer.add_done_callback(self._on_writer_done)

    async def submit(self, record: RequestRecord) -> None:
        """Queue one record; waits while the queue is full rather than drop it."""
        queue = self._accepting()
        while queue.full():
            # Our own waiters, not Queue.put: enqueueing and counting must happen in one step for
            # flush() to be exact, and a dead writer must fail these waits instead of leaving them hanging.
            room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._room_waiters.append(room)
            await room
            queue = self._accepting()
        queue.put_nowait(record)
        self._queued += 1
        self._nudge.set()
        self._set_gauge()

    async def flush(self) -> None:
        """Wait until every record queued before this call is written (or set aside and logged)."""
        if self._writer is None:
            return
        target = self._queued
        if self._done >= target:
            return
        if self._writer.done():
            raise AuditStoreError("the audit writer stopped with records still queued")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushers.append((target, waiter))
        self._nudge.set()
        await waiter

    async def close(self) -> None:
        """Flush, stop the writer and dispose of the engine. Safe to call twice."""
        if self._closing:
            return
        self._closing = True
        self._nudge.set()
        try:
            await self.flush()
        finally:
            if self._writer is not None:
                self._writer.cancel()
                await asyncio.gather(self._writer, return_exceptions=True)
            if self._engine is not None:
                await self._engine.dispose()

    async def check_writable(self) -> None:
        """Raise AuditStoreError unless the writer runs and both tables take a write (rolled back)."""
        if self._engine is None or self._writer is None or self._closing:
            raise AuditStoreError("the audit store is not running")
        if self._writer.done():
            raise AuditStoreError("the audit writer stopped")
        probe_id = f"guardgate-readyz-probe-{uuid.uuid4().hex}"
        try:
            async with self._engine.connect() as conn:
                transaction = await conn.begin()
                try:
                    await conn.execute(insert(requests_table).values(
                        id=probe_id, created_at=datetime.now(timezone.utc), route="", model=None,
                        policy_name="", policy_version="", decision="", status=0, latency_total_ms=0.0))
                    await conn.execute(insert(decisions_table).values(
                        request_id=probe_id, stage="", rule="", detector="", action=""))
                finally:
                    await transaction.rollback()
        except Exception as exc:
            raise AuditStoreError(f"the audit database is not writable: {describe_error(exc)}") from exc

    def _accepting(self) -> asyncio.Queue[RequestRecord]:
        if self._queue is None or self._writer is None:
            raise AuditStoreError("the audit store is not started")
        if self._closing:
            raise AuditStoreError("the audit store is closed")
        if self._writer.done():
            raise AuditStoreError("the audit writer stopped")
        return self._queue

    def _set_gauge(self) -> None:
        if self._metrics is not None:
            # Queued plus the batch in flight: what would be lost if the process died now.
            self._metrics.audit_queue_depth.set(self._queued - self._done)

    async def _run_writer(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self._write(batch)
            except Exception:
                # A bug here must not stop the audit log; the batch is logged by id and counted.
                log.exception("audit writer failed on a batch of %d records (ids %s)", len(batch), _ids(batch))
                self._count_error()
            self._done += len(batch)
            self._set_gauge()
            self._wake_flushers()

    async def _collect(self) -> list[RequestRecord]:
        assert self._queue is not None
        queue = self._queue
        batch = [await queue.get()]
        self._wake_room()
        deadline = asyncio.get_running_loop().time() + self._flush_interval_s
        while len(batch) < self._batch_size:
            if not queue.empty():
                batch.append(queue.get_nowait())
                self._wake_room()
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if self._flushers or self._closing or remaining <= 0:
                break
            # Woken by the next submit or by a flush, whichever comes first; a flush must not wait out the interval.
            self._nudge.clear()
            try:
                await asyncio.wait_for(self._nudge.wait(), remaining)
            except TimeoutError:
                break
        return batch

    async def _write(self, batch: list[RequestRecord]) -> None:
        for attempt in range(1, self._retry_attempts + 1):
            try:
                await self._insert(batch)
                return
            except Exception as exc:
                self._count_error()
                log.warning("audit write of %d records failed (attempt %d/%d): %s",
                            len(batch), attempt, self._retry_attempts, describe_error(exc))
                if _is_bad_data(exc):
                    if len(batch) == 1:
                        log.error("dropped audit record %s that the database refuses", batch[0].id)
                        return
                    break
                if attempt == self._retry_attempts:
                    log.error("dropped %d audit records after %d attempts (ids %s)",
                              len(batch), attempt, _ids(batch))
                    return
                await asyncio.sleep(min(self._retry_backoff_s * 2 ** (attempt - 1), _MAX_BACKOFF_S))
        # Some record is refused on its own; write one at a time so only that one is lost.
        for record in batch:
            try:
                await self._insert([record])
            except Exception as exc:
                self._count_error()
                log.error("dropped audit record %s that the database refuses: %s", record.id, describe_error(exc))

    async def _insert(self, batch: Sequence[RequestRecord]) -> None:
        assert self._engine is not None
        requests = [{f: getattr(r, f) for f in _REQUEST_FIELDS} for r in batch]
        decisions = [
            {"request_id": r.id, **{f: getattr(d, f) for f in _DECISION_FIELDS}} for r in batch for d in r.decisions
        ]
        async with self._engine.begin() as conn:
            await conn.execute(insert(requests_table), requests)
            if decisions:
                await conn.execute(insert(decisions_table), decisions)

    def _count_error(self) -> None:
        if self._metrics is not None:
            self._metrics.audit_write_errors.inc()

    def _wake_room(self) -> None:
        for room in self._room_waiters:
            if not room.done():
                room.set_result(None)
        self._room_waiters = []

    def _wake_flushers(self) -> None:
        waiting = []
        for target, waiter in self._flushers:
            if waiter.done():
                continue
            if self._done >= target:
                waiter.set_result(None)
            else:
                waiting.append((target, waiter))
        self._flushers = waiting

    def _on_writer_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() and self._closing:
            return
        exc = None if task.cancelled() else task.exception()
        reason = f"died: {describe_error(exc)}" if exc is not None else "stopped"
        log.error("the audit writer %s; audit records are no longer written", reason, exc_info=exc)
        for waiter in [w for _, w in self._flushers] + self._room_waiters:
            if not waiter.done():
                waiter.set_exception(AuditStoreError(f"the audit writer {reason}"))
        self._flushers = []
        self._room_waiters = []


async def _create_tables(engine: AsyncEngine) -> None:
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    except DBAPIError:
        # Another gateway process may have created them between our check and our CREATE: look again.
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)


def _is_bad_data(exc: Exception) -> bool:
    # Refusals caused by a record itself: retrying the same batch cannot succeed.
    if isinstance(exc, IntegrityError | DataError):
        return True
    # A StatementError that is not a DBAPIError failed while binding a value, before reaching the database.
    return isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)


def _ids(batch: Sequence[RequestRecord], shown: int = 5) -> str:
    ids = [r.id for r in batch]
    return ", ".join(ids) if len(ids) <= shown else f"{', '.join(ids[:shown])} and {len(ids) - shown} more"
