"""Builds the gateway's long-lived parts at start-up and closes them at shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from contextlib import AsyncExitStack, asynccontextmanager
from typing import AsyncIterator

from litestar import Litestar

from audit.metrics import GatewayMetrics
from audit.store import AuditStore
from detectors.executor import DetectorExecutor
from gateway.backend import Upstream
from gateway.pipeline import Pipeline
from gateway.settings import Settings
from policies.compiler import DetectorFactory
from policies.engine import PolicyEngine
from policies.live import LivePolicy
from policies.redaction import Redactor

log = logging.getLogger("guardgate")


def lifespan(settings: Settings, metrics: GatewayMetrics):  # -> Callable[[Litestar], AsyncContextManager]
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            upstream_url = settings.upstream_url
            if settings.model:
                from gateway.vllm_process import ManagedVLLM

                vllm = ManagedVLLM(settings.model, **settings.vllm_options)  # type: ignore[arg-type]
                await vllm.start()
                stack.push_async_callback(vllm.stop)
                upstream_url = vllm.base_url
            if not upstream_url:
                raise RuntimeError("no backend: pass --upstream URL or --model PATH_OR_NAME")
            executor = DetectorExecutor(settings.detector_workers)
            stack.callback(executor.shutdown)
            policy = await asyncio.to_thread(LivePolicy, settings.policy_path, DetectorFactory(backend_url=upstream_url))
            upstream = Upstream(upstream_url, api_key=settings.upstream_api_key, timeout_s=settings.upstream_timeout_s)
            stack.push_async_callback(upstream.aclose)
            audit = AuditStore(settings.audit_url, metrics)
            await audit.start()
            stack.push_async_callback(audit.close)
            engine = PolicyEngine(executor, Redactor(settings.hash_key),
                                  on_timing=lambda d, r, s: metrics.detector_seconds.labels(d, r).observe(s))
            app.state.pipeline = Pipeline(policy=policy, engine=engine, upstream=upstream, audit=audit,
                                          metrics=metrics)
            _reload_on_sighup(policy, metrics)
            # spaCy, Presidio and torch leave hundreds of thousands of long-lived objects; a full collection that
            # walks them all paused the event loop for about 300 ms here. Frozen, they are never walked again.
            gc.collect()
            gc.freeze()
            log.info("guardgate ready: backend %s, policy %s (%s), audit %s", upstream_url, policy.current.policy.name,
                     policy.current.short_version, _safe_url(settings.audit_url))
            yield

    return run


def _reload_on_sighup(policy: LivePolicy, metrics: GatewayMetrics) -> None:
    """`kill -HUP` reloads the policy file; a bad file is refused with its problems and the old one keeps serving."""

    async def reload() -> None:
        try:
            await asyncio.to_thread(policy.reload)
            metrics.policy_reloads.labels("ok").inc()
        except Exception as exc:  # noqa: BLE001 - a bad policy must never take the gateway down
            metrics.policy_reloads.labels("refused").inc()
            log.error("policy reload refused, still serving version %s:\n%s", policy.current.short_version, exc)

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload()))
    except (NotImplementedError, RuntimeError, ValueError):
        log.info("SIGHUP reload is not available in this event loop")


def _safe_url(url: str) -> str:
    """The audit URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
