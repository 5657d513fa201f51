"""GET /v1/models, /healthz, /readyz and /metrics."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.errors import NotReady
from gateway.routes import pipeline_of


@get("/v1/models")
async def list_models(request: Request) -> dict[str, Any]:
    pipeline = pipeline_of(request)
    payload = await pipeline.upstream.get_json("/v1/models")
    allow = pipeline.policy.current.policy.limits.models
    data = [m for m in payload.get("data", []) if allow is None or m.get("id") in allow]
    return {"object": "list", "data": data}


@get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/readyz")
async def readyz(request: Request) -> dict[str, Any]:
    """Readiness: the backend answers, a policy is loaded and the audit log can be written."""
    pipeline = pipeline_of(request)
    problems: list[str] = []
    if not await pipeline.upstream.healthy():
        problems.append(f"backend {pipeline.upstream.base_url} is not healthy")
    try:
        await pipeline.audit.check_writable()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason goes in the answer
        problems.append(f"audit log is not writable: {exc}")
    if problems:
        raise NotReady("; ".join(problems), code="not_ready")
    policy = pipeline.policy.current
    return {"status": "ready", "policy": policy.policy.name, "policy_version": policy.version,
            "backend": pipeline.upstream.base_url}


@get("/metrics", media_type=CONTENT_TYPE_LATEST)
async def metrics(request: Request) -> Response[bytes]:
    return Response(generate_latest(pipeline_of(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)

