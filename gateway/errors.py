"""The gateway's exception tree, each mapped to an OpenAI-shaped error body.

    GatewayError                 (status, type, code)
     ├── InvalidRequest          400 invalid_request_error
     │    └── PolicyViolation    400 policy_violation, code = the blocking rule's id
     ├── ModelNotFound           404 invalid_request_error / model_not_found
     ├── PayloadTooLarge         413 invalid_request_error / request_too_large
     ├── ClientDisconnected      499 client_disconnected (recorded only: nobody is left to read it)
     ├── NotReady                503 service_unavailable
     ├── UpstreamError           502 upstream_error
     └── UpstreamTimeout         504 upstream_timeout

Handlers raise these; `error_body` is the one place that shapes the JSON.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status: int = 500
    type: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class PolicyViolation(InvalidRequest):
    type = "policy_violation"


class ModelNotFound(GatewayError):
    status = 404
    type = "invalid_request_error"

    def __init__(self, model: str, available: list[str]) -> None:
        hint = f" Available models: {', '.join(available)}." if available else ""
        super().__init__(f"The model '{model}' does not exist or is not allowed by the gateway's policy.{hint}",
                         code="model_not_found", param="model")


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"


class ClientDisconnected(GatewayError):
    status = 499
    type = "client_disconnected"

    def __init__(self) -> None:
        super().__init__("The client disconnected before the answer was ready.")


class NotReady(GatewayError):
    status = 503
    type = "service_unavailable"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"


class UpstreamTimeout(GatewayError):
    status = 504
    type = "upstream_timeout"


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
