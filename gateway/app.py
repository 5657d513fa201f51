"""`create_app(settings)`: wires routes, middleware, error handlers and the lifespan. No logic lives here."""

from __future__ import annotations

import logging

from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import HTTPException

from audit.metrics import GatewayMetrics
from gateway.errors import GatewayError, error_body
from gateway.lifespan import lifespan
from gateway.middleware import add_request_id
from gateway.routes.generate import chat_completions, completions
from gateway.routes.info import healthz, list_models, metrics, readyz
from gateway.settings import Settings

log = logging.getLogger("guardgate.app")


def create_app(settings: Settings, metrics_registry: GatewayMetrics | None = None) -> Litestar:
    gateway_metrics = metrics_registry or GatewayMetrics()
    return Litestar(
        route_handlers=[chat_completions, completions, list_models, healthz, readyz, metrics],
        lifespan=[lifespan(settings, gateway_metrics)],
        before_send=[add_request_id],
        exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error, Exception: _internal_error},
        request_max_body_size=settings.max_body_bytes,
        openapi_config=None,
        logging_config=None,
    )


def _json_error(status: int, message: str, type_: str, code: str | None = None,
                param: str | None = None) -> Response[dict]:
    return Response(error_body(message, type_, code, param), status_code=status, media_type=MediaType.JSON)


def _gateway_error(_: Request, exc: GatewayError) -> Response[dict]:
    return _json_error(exc.status, exc.message, exc.type, exc.code, exc.param)


def _http_error(_: Request, exc: HTTPException) -> Response[dict]:
    """Litestar's own errors (unknown route, wrong method, oversized body) in OpenAI's shape."""
    status = exc.status_code
    kind = "invalid_request_error" if status < 500 else "internal_error"
    return _json_error(status, str(exc.detail), kind, code={404: "not_found", 405: "method_not_allowed",
                                                             413: "request_too_large"}.get(status))


def _internal_error(request: Request, exc: Exception) -> Response[dict]:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return _json_error(500, "The gateway failed to handle this request; see its log.", "internal_error")
