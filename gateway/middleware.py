"""Every response, errors and unknown routes included, carries `x-guardgate-request-id`."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from gateway.exchange import new_request_id

REQUEST_ID_HEADER = "x-guardgate-request-id"


def request_id_of(scope: Scope) -> str:
    """The request's id, made on first use; handlers and the response hook share it through the scope."""
    state = scope.setdefault("state", {})  # type: ignore[misc]
    if "request_id" not in state:
        state["request_id"] = new_request_id()
    return state["request_id"]


async def add_request_id(message: Message, scope: Scope) -> None:
    """A `before_send` hook: it wraps the app's own `send`, so router 404s and 405s get the header too."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id_of(scope)
