"""The streamed path: each choice's text is released as soon as the output policy can no longer change it.

A reader task drains the backend's SSE stream into a queue; the writer takes whatever has
arrived and feeds it, chunk by chunk, to each choice's screened channels, sending what
they release. When screening falls behind (a slow detector), the backlog is fed in one
step: chunks coalesce rather than pile up. OpenAI's shape is kept: the
role delta first, content and tool-call deltas, one `finish_reason` per choice, the usage
chunk when the backend sends one, then `[DONE]`. A block ends its choice with
`finish_reason: "content_filter"` and the rule's message; when every choice is blocked,
the backend request is closed, which aborts the generation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, AsyncIterator

import anyio
import msgspec

from gateway.backend import UpstreamStream
from gateway.channels import ArgumentsChannel, ContentChannel, RestorerFactory
from gateway.errors import error_body
from gateway.exchange import Exchange
from gateway.pipeline import Pipeline
from gateway.sse import DONE, SSEDecoder, encode_event
from policies.incremental import Released
from policies.verdict import Verdict

log = logging.getLogger("guardgate.streaming")

_END = object()
# Upstream chunks that arrive together are screened and sent one by one, keeping the backend's
# chunking, until a batch has taken this long; the rest of it is then screened in one step.
COALESCE_AFTER_S = 0.005


class _Choice:
    def __init__(self, index: int, content: ContentChannel) -> None:
        self.index = index
        self.content = content
        self.tools: dict[int, ArgumentsChannel] = {}
        self.pending_content = ""
        self.pending_args: dict[int, str] = {}
        self.finish_reason: str | None = None
        self.finish_extra: dict[str, Any] = {}
        self.done = False
        self.blocked = False

    def verdicts(self) -> list[Verdict]:
        return [*self.content.verdicts(), *(v for i in sorted(self.tools) for v in self.tools[i].verdicts())]

    @property
    def sent_chars(self) -> int:
        return self.content.sent_chars + sum(t.sent_chars for t in self.tools.values())


class StreamRelay:
    def __init__(self, pipeline: Pipeline, ex: Exchange, response: UpstreamStream, chat: bool,
                 restorer: RestorerFactory | None = None) -> None:
        self._pipeline = pipeline
        self._ex = ex
        self._response = response
        self._chat = chat
        self._restorer = restorer
        self._choices: dict[int, _Choice] = {}
        self._template: dict[str, Any] = {}
        self._usage: dict[str, Any] | None = None
        self._outbox: list[dict[str, Any]] = []
        self._waiting_since: float | None = None  # arrival of the oldest backend chunk not yet answered
        self._upstream_ended = False  # the backend sent its whole answer: its connection can be reused
        self.status = 200

    async def events(self) -> AsyncIterator[bytes]:
        ex = self._ex
        queue: asyncio.Queue[Any] = asyncio.Queue()
        reader = asyncio.create_task(self._read(queue))
        try:
            ended = False
            while not ended:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                started = time.perf_counter()
                for position, (arrived, item) in enumerate(batch):
                    if self._waiting_since is None:
                        self._waiting_since = arrived
                    ended = self._take(item)
                    behind = time.perf_counter() - started > COALESCE_AFTER_S
                    if not ended and behind and position < len(batch) - 1:
                        continue  # a backlog: screen the rest of it in one step
                    await self._advance(final=ended)
                    for event in self._drain():
                        yield event
                    if ended or self._all_blocked():
                        break
                if self._all_blocked():
                    break  # nothing left to send: stop the generation
            if self._usage is not None:
                ex.prompt_tokens = self._usage.get("prompt_tokens")
                ex.completion_tokens = self._usage.get("completion_tokens")
                yield encode_event({**self._template, "choices": [], "usage": self._usage})
            yield DONE
        except Exception as exc:  # noqa: BLE001 - headers are sent: report inside the stream, then end it
            self.status = 502
            ex.error = f"stream failed: {type(exc).__name__}"
            log.warning("stream %s failed: %s", ex.request_id, exc)
            yield encode_event(error_body("The backend stream failed; the rest of the generation was withheld.",
                                          "upstream_error"))
            yield DONE
        except BaseException:
            self.status = 499  # the client went away (nginx's "client closed request")
            ex.error = ex.error or "client disconnected"
            raise
        finally:
            reader.cancel()
            with anyio.CancelScope(shield=True):
                await self._response.close(ended=self._upstream_ended)  # closing it early aborts the generation
                self._record()
                await self._pipeline.finish(ex, self.status)

    def _take(self, item: Any) -> bool:
        """Absorb one item from the reader; True when the stream has ended."""
        if item is _END:
            return True
        if isinstance(item, BaseException):
            raise item
        if "error" in item and "choices" not in item:
            self._ex.error = "backend sent an error event"
            self._outbox.append(item)
            return True
        self._absorb(item)
        return False

    def _all_blocked(self) -> bool:
        return bool(self._choices) and all(c.blocked for c in self._choices.values())

    async def _read(self, queue: asyncio.Queue[Any]) -> None:
        """Queue each backend event with the time its bytes arrived, then `_END`."""
        decoder = SSEDecoder()
        arrived = time.perf_counter()
        try:
            async for chunk in self._response.chunks():
                arrived = time.perf_counter()
                for data in decoder.feed(chunk):
                    if data == b"[DONE]":
                        self._upstream_done(queue, arrived)
                        return
                    queue.put_nowait((arrived, msgspec.json.decode(data)))
            for data in decoder.close():
                if data != b"[DONE]":
                    queue.put_nowait((arrived, msgspec.json.decode(data)))
            self._upstream_done(queue, arrived)
        except Exception as exc:  # noqa: BLE001 - handed to the writer, which reports it in the stream
            queue.put_nowait((time.perf_counter(), exc))

    def _upstream_done(self, queue: asyncio.Queue[Any], arrived: float) -> None:
        ex = self._ex
        ex.upstream_seconds = arrived - ex.started - (ex.upstream_opened or 0.0)
        self._upstream_ended = True
        queue.put_nowait((arrived, _END))

    def _choice(self, index: int) -> _Choice:
        if index not in self._choices:
            content = ContentChannel(self._pipeline.engine, self._ex.policy, self._restorer)
            self._choices[index] = _Choice(index, content)
        return self._choices[index]

    def _absorb(self, event: dict[str, Any]) -> None:
        if not self._template:
            self._template = {k: event[k] for k in ("id", "object", "created", "model") if k in event}
        if event.get("usage"):
            self._usage = event["usage"]
        for raw in event.get("choices") or []:
            choice = self._choice(int(raw.get("index", 0)))
            if choice.done:
                continue
            if raw.get("finish_reason") is not None:
                choice.finish_reason = raw["finish_reason"]
                if "stop_reason" in raw:
                    choice.finish_extra["stop_reason"] = raw["stop_reason"]
            if not self._chat:
                choice.pending_content += raw.get("text") or ""
                continue
            delta = raw.get("delta") or {}
            if delta.get("role"):
                self._outbox.append(self._chunk(choice.index, {"role": delta["role"], "content": ""}))
            if isinstance(delta.get("content"), str):
                choice.pending_content += delta["content"]
            for call in delta.get("tool_calls") or []:
                self._absorb_tool_call(choice, call)

    def _absorb_tool_call(self, choice: _Choice, call: dict[str, Any]) -> None:
        index = int(call.get("index", 0))
        function = call.get("function") or {}
        if index not in choice.tools:
            choice.tools[index] = ArgumentsChannel(self._pipeline.engine, self._ex.policy, self._restorer)
            header = {"index": index, **{k: call[k] for k in ("id", "type") if k in call},
                      "function": {"name": function.get("name"), "arguments": ""}}
            self._outbox.append(self._chunk(choice.index, {"tool_calls": [header]}))
        choice.pending_args[index] = choice.pending_args.get(index, "") + (function.get("arguments") or "")

    async def _advance(self, final: bool) -> None:
        for choice in self._choices.values():
            if choice.done:
                continue
            finishing = final or choice.finish_reason is not None
            if choice.pending_content or finishing:
                text, choice.pending_content = choice.pending_content, ""
                released = await choice.content.feed(text)
                if finishing and not released.blocked:
                    rest = await choice.content.finish()
                    released = Released(released.text + rest.text, rest.blocked)
                if not self._send(choice, released, {"content": released.text}):
                    continue
            for index, channel in sorted(choice.tools.items()):
                fragment = choice.pending_args.pop(index, "")
                released = await channel.feed(fragment) if fragment else Released("")
                if finishing and not released.blocked:
                    rest = await channel.finish()
                    released = Released(released.text + rest.text, rest.blocked)
                delta = {"tool_calls": [{"index": index, "function": {"arguments": released.text}}]}
                if not self._send(choice, released, delta):
                    break
            if finishing and not choice.done:
                choice.done = True
                self._outbox.append(self._chunk(choice.index, {}, choice.finish_reason or "stop",
                                                **choice.finish_extra))

    def _send(self, choice: _Choice, released: Released, delta: dict[str, Any]) -> bool:
        """Queue a release; on a block, end the choice as OpenAI's content filter does. False once blocked."""
        if released.blocked is not None:
            verdict = released.blocked
            choice.blocked = choice.done = True
            if released.text:  # the screened text before the blocking span
                self._outbox.append(self._chunk(choice.index, delta))
            self._ex.blocked_by = self._ex.blocked_by or verdict.blocked_by
            self._outbox.append(self._chunk(choice.index, {"content": verdict.message or ""}, "content_filter"))
            return False
        if released.text:
            self._note_release()
            self._outbox.append(self._chunk(choice.index, delta))
        return True

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        if self._chat:
            body: dict[str, Any] = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        else:
            body = {"index": index, "text": delta.get("content", ""), "logprobs": None, "finish_reason": finish}
        return {**self._template, "choices": [{**body, **extra}]}

    def _note_release(self) -> None:
        """Time to first byte, and what the gateway added to this chunk (see `guardgate_stream_added_seconds`)."""
        ex = self._ex
        now = time.perf_counter()
        waited = now - self._waiting_since if self._waiting_since is not None else 0.0
        if ex.first_byte_seconds is None:
            ex.first_byte_seconds = now - ex.started
            ex.stream_added.append(("first", (ex.upstream_opened or 0.0) + waited))
        else:
            ex.stream_added.append(("chunk", waited))

    def _drain(self) -> list[bytes]:
        events, self._outbox = [encode_event(e) for e in self._outbox], []
        self._waiting_since = None
        return events

    def _record(self) -> None:
        ex = self._ex
        for index in sorted(self._choices):
            verdicts = self._choices[index].verdicts()  # each builds an audit text: once per choice
            ex.output_verdicts.extend(verdicts)
            ex.output_items.extend([index] * len(verdicts))
            self._pipeline.count("output", verdicts)
        ex.streamed_chars = sum(c.sent_chars for c in self._choices.values())
