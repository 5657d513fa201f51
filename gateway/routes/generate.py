"""POST /v1/chat/completions and /v1/completions: admit, forward, screen, answer."""

from __future__ import annotations

from typing import Any, Awaitable, TypeVar

import asyncio
import msgspec
from litestar import Request, Response, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Stream

from gateway.backend import UpstreamStream
from gateway.errors import ClientDisconnected, GatewayError, PayloadTooLarge, UpstreamError
from gateway.exchange import Exchange
from gateway.middleware import request_id_of
from gateway.pipeline import Pipeline
from gateway.routes import pipeline_of
from gateway.relay import relay
from gateway.streaming import StreamRelay

T = TypeVar("T")
JSON = "application/json"


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request) -> Response[Any]:
    return await _generate(request, pipeline_of(request), "/v1/chat/completions", chat=True)


@post("/v1/completions", status_code=200)
async def completions(request: Request) -> Response[Any]:
    return await _generate(request, pipeline_of(request), "/v1/completions", chat=False)


async def _generate(request: Request, pipeline: Pipeline, route: str, chat: bool) -> Response[Any]:
    ex = pipeline.begin(route, request.headers.get("authorization"), request_id_of(request.scope))
    try:
        try:
            raw = await request.body()
        except RequestEntityTooLarge as exc:
            raise PayloadTooLarge(f"The request body is larger than this gateway accepts "
                                  f"({request.app.request_max_body_size} bytes).", code="request_too_large") from exc
        body = await pipeline.prepare(ex, raw, chat)
        if pipeline.parallel(ex):
            return await _parallel(request, pipeline, ex, route, body, chat)
        await pipeline.check_input(ex, body, chat)
        if ex.stream:
            return await _open_stream(request, pipeline, ex, route, body, chat)
        status, content = await _until_disconnect(request, relay(pipeline, ex, route, body, chat))
    except GatewayError as exc:
        ex.error = ex.error or exc.message
        await pipeline.finish(ex, exc.status)
        raise
    await pipeline.finish(ex, status)
    return Response(content, status_code=status, media_type=JSON)


async def _parallel(request: Request, pipeline: Pipeline, ex: Exchange, route: str, body: dict[str, Any],
                    chat: bool) -> Response[Any]:
    """Input rules and the backend call run together; a block cancels the backend call.

    The policy validator allows this mode only when no input rule rewrites text, so the
    body the backend got is exactly the one the rules approve.
    """
    if ex.stream:
        ex.upstream_opened = ex.elapsed()
        opening = asyncio.ensure_future(pipeline.upstream.open_stream(route, msgspec.json.encode(body)))
        try:
            await pipeline.check_input(ex, body, chat)
        except BaseException:
            opening.cancel()
            opened = (await asyncio.gather(opening, return_exceptions=True))[0]
            if isinstance(opened, UpstreamStream):
                await opened.close()  # closing the stream aborts the generation
            raise
        return await _stream_response(pipeline, ex, await opening, chat)
    backend = asyncio.ensure_future(_until_disconnect(request, relay(pipeline, ex, route, dict(body), chat)))
    try:
        await pipeline.check_input(ex, body, chat)
    except BaseException:
        backend.cancel()
        await asyncio.gather(backend, return_exceptions=True)
        raise
    status, content = await backend
    await pipeline.finish(ex, status)
    return Response(content, status_code=status, media_type=JSON)


async def _open_stream(request: Request, pipeline: Pipeline, ex: Exchange, route: str, body: dict[str, Any],
                       chat: bool) -> Response[Any]:
    ex.upstream_opened = ex.elapsed()
    response = await pipeline.upstream.open_stream(route, msgspec.json.encode(body))
    return await _stream_response(pipeline, ex, response, chat)


async def _stream_response(pipeline: Pipeline, ex: Exchange, response: UpstreamStream, chat: bool) -> Response[Any]:
    if response.status != 200:
        try:
            content = await response.read()
        finally:
            await response.close(ended=True)
        if response.status >= 500:
            raise UpstreamError(f"The backend failed with HTTP {response.status}.")
        ex.error = f"backend answered {response.status}"
        await pipeline.finish(ex, response.status)
        return Response(content, status_code=response.status, media_type=JSON)
    stream = StreamRelay(pipeline, ex, response, chat, ex.restorer())
    return Stream(stream.events(), media_type="text/event-stream",
                  headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


async def _until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Run `work`, cancelling it (and so the upstream call) if the client disconnects first."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        raise ClientDisconnected()
    finally:
        for pending in (task, watcher):
            pending.cancel()
