"""The streamed path: the generation is screened before any of its text reaches the client.

This version buffers a whole choice before releasing it, which is safe but adds the
generation time to time-to-first-token; OpenAI's chunk shape is kept exactly.
"""

from __future__ import annotations

import logging
import time
from typing import Any, AsyncIterator

import anyio
import httpx
import msgspec

from gateway.errors import error_body
from gateway.exchange import Exchange
from gateway.pipeline import Pipeline
from gateway.sse import DONE, SSEDecoder, encode_event
from gateway.texts import SlotSet

log = logging.getLogger("guardgate.streaming")


class _Choice:
    """Everything one choice streamed, reassembled."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.text: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.extra_finish: dict[str, Any] = {}

    def take(self, choice: dict[str, Any], chat: bool) -> None:
        if choice.get("finish_reason") is not None:
            self.finish_reason = choice["finish_reason"]
            if "stop_reason" in choice:
                self.extra_finish["stop_reason"] = choice["stop_reason"]
        if not chat:
            self.text.append(choice.get("text") or "")
            return
        delta = choice.get("delta") or {}
        self.role = self.role or delta.get("role")
        if isinstance(delta.get("content"), str):
            self.text.append(delta["content"])
        for call in delta.get("tool_calls") or []:
            slot = self.tool_calls.setdefault(int(call.get("index", 0)), {"function": {"arguments": ""}})
            for key in ("id", "type"):
                if call.get(key):
                    slot[key] = call[key]
            function = call.get("function") or {}
            if function.get("name"):
                slot["function"]["name"] = function["name"]
            slot["function"]["arguments"] += function.get("arguments") or ""


class StreamRelay:
    """Reads the backend's SSE stream to the end, screens each choice, then replays it to the client."""

    def __init__(self, pipeline: Pipeline, ex: Exchange, response: httpx.Response, chat: bool) -> None:
        self._pipeline = pipeline
        self._ex = ex
        self._response = response
        self._chat = chat
        self._choices: dict[int, _Choice] = {}
        self._template: dict[str, Any] = {}
        self._usage: dict[str, Any] | None = None
        self.status = 200

    async def events(self) -> AsyncIterator[bytes]:
        ex = self._ex
        try:
            upstream_started = time.perf_counter()
            error_event = await self._read_all()
            ex.upstream_seconds += time.perf_counter() - upstream_started
            if error_event is not None:
                ex.error = "backend sent an error event"
                yield encode_event(error_event)
                yield DONE
                return
            for event in await self._screened_events():
                if ex.first_byte_seconds is None:
                    ex.first_byte_seconds = ex.elapsed()
                yield encode_event(event)
            yield DONE
        except Exception as exc:  # noqa: BLE001 - headers are sent: report inside the stream, then end it
            self.status = 502
            ex.error = f"stream failed: {type(exc).__name__}"
            log.warning("stream %s failed: %s", ex.request_id, exc)
            yield encode_event(error_body("The backend stream failed; the generation was not released.",
                                          "upstream_error"))
            yield DONE
        except BaseException:
            self.status = 499  # the client went away (nginx's "client closed request")
            ex.error = ex.error or "client disconnected"
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self._response.aclose()  # closing the upstream stream aborts its generation
                await self._pipeline.finish(ex, self.status)

    async def _read_all(self) -> dict[str, Any] | None:
        decoder = SSEDecoder()
        async for chunk in self._response.aiter_raw():
            for data in decoder.feed(chunk):
                if data == b"[DONE]":
                    return None
                event = msgspec.json.decode(data)
                if "error" in event and "choices" not in event:
                    return event
                self._take(event)
        for data in decoder.close():
            if data != b"[DONE]":
                self._take(msgspec.json.decode(data))
        return None

    def _take(self, event: dict[str, Any]) -> None:
        if not self._template:
            self._template = {k: event[k] for k in ("id", "object", "created", "model") if k in event}
        if event.get("usage"):
            self._usage = event["usage"]
        for choice in event.get("choices") or []:
            index = int(choice.get("index", 0))
            self._choices.setdefault(index, _Choice(index)).take(choice, self._chat)

    async def _screened_events(self) -> list[dict[str, Any]]:
        ex = self._ex
        messages = {i: self._message(c) for i, c in sorted(self._choices.items())}
        slots = SlotSet()
        for i, message in messages.items():
            slots.add_message(message, i)
        verdicts = await self._pipeline.screen(ex, "output", slots)
        blocked = {slot.item: v for slot, v in zip(slots.slots, verdicts) if v.blocked}
        events: list[dict[str, Any]] = []
        for i, message in messages.items():
            choice = self._choices[i]
            verdict = blocked.get(i)
            if verdict:
                ex.blocked_by = ex.blocked_by or verdict.blocked_by
                events.extend(self._replay(i, {"content": verdict.message or ""}, "content_filter", {}))
            else:
                events.extend(self._replay(i, message, choice.finish_reason, choice.extra_finish))
        if self._usage is not None:
            ex.prompt_tokens = self._usage.get("prompt_tokens")
            ex.completion_tokens = self._usage.get("completion_tokens")
            events.append({**self._template, "choices": [], "usage": self._usage})
        ex.streamed_chars = sum(len(m.get("content") or "") for m in messages.values())
        return events

    def _message(self, choice: _Choice) -> dict[str, Any]:
        message: dict[str, Any] = {"content": "".join(choice.text)}
        if choice.tool_calls:
            message["tool_calls"] = [choice.tool_calls[k] for k in sorted(choice.tool_calls)]
        return message

    def _replay(self, index: int, message: dict[str, Any], finish_reason: str | None,
                extra: dict[str, Any]) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []

        def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
            if self._chat:
                body: dict[str, Any] = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
            else:
                body = {"index": index, "text": delta.get("content", ""), "logprobs": None, "finish_reason": finish}
            return {**self._template, "choices": [{**body, **more}]}

        if self._chat:
            chunks.append(chunk({"role": "assistant", "content": ""}))
        if message.get("content"):
            chunks.append(chunk({"content": message["content"]}))
        for position, call in enumerate(message.get("tool_calls") or []):
            chunks.append(chunk({"tool_calls": [{"index": position, **call}]}))
        chunks.append(chunk({}, finish_reason, **extra))
        return chunks
