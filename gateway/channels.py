"""Screened text channels of one streamed choice: its content, and each tool call's arguments.

Each channel turns upstream deltas into text safe to send, through an `IncrementalScreen`
(and, for pseudonymized requests, a placeholder restorer after it). Tool-call arguments
are JSON: every string and number inside them is its own screened text, so the JSON
stays valid whatever is redacted.
"""

from __future__ import annotations

from typing import Callable, Protocol

from gateway.json_stream import JsonLexer, Number, Raw, StringEnd, StringStart, StringText, encode_string_text
from policies.compiled import CompiledPolicy
from policies.engine import PolicyEngine
from policies.incremental import IncrementalScreen, Released
from policies.verdict import Verdict


class Restorer(Protocol):
    def feed(self, delta: str) -> str: ...
    def finish(self) -> str: ...


RestorerFactory = Callable[[], Restorer]


class ContentChannel:
    def __init__(self, engine: PolicyEngine, policy: CompiledPolicy, restorer: RestorerFactory | None = None) -> None:
        self.screen = IncrementalScreen(engine, policy)
        self._restorer = restorer() if restorer else None
        self.sent_chars = 0

    async def feed(self, delta: str) -> Released:
        return self._restore(await self.screen.feed(delta), final=False)

    async def finish(self) -> Released:
        return self._restore(await self.screen.finish(), final=True)

    def _restore(self, released: Released, final: bool) -> Released:
        if not self._restorer:
            self.sent_chars += len(released.text)
            return released
        text = self._restorer.feed(released.text)
        if final or released.blocked:
            text += self._restorer.finish()
        self.sent_chars += len(text)
        return Released(text, released.blocked)

    def verdicts(self) -> list[Verdict]:
        return [self.screen.verdict()]


class ArgumentsChannel:
    """A tool call's arguments, screened string by string (and number by number) as they stream."""

    def __init__(self, engine: PolicyEngine, policy: CompiledPolicy, restorer: RestorerFactory | None = None) -> None:
        self._engine = engine
        self._policy = policy
        self._restorer = restorer
        self._lexer = JsonLexer()
        self._string: ContentChannel | None = None
        self._done: list[ContentChannel] = []
        self.sent_chars = 0

    async def feed(self, fragment: str) -> Released:
        return await self._consume(self._lexer.feed(fragment))

    async def finish(self) -> Released:
        released = await self._consume(self._lexer.close())
        if released.blocked or self._string is None:
            return released
        tail = await self._string.finish()  # an unterminated string: release it screened, still unterminated
        self._done.append(self._string)
        self._string = None
        if tail.blocked:
            return Released("", tail.blocked)
        return Released(released.text + encode_string_text(tail.text))

    async def _consume(self, events: list) -> Released:
        out: list[str] = []
        for event in events:
            if isinstance(event, Raw):
                out.append(event.text)
            elif isinstance(event, StringStart):
                self._string = ContentChannel(self._engine, self._policy, self._restorer)
                out.append('"')
            elif isinstance(event, (StringText, StringEnd)):
                assert self._string is not None
                step = await (self._string.feed(event.text) if isinstance(event, StringText)
                              else self._string.finish())
                if step.blocked:
                    return Released("", step.blocked)  # a half-written argument is not sent
                out.append(encode_string_text(step.text))
                if isinstance(event, StringEnd):
                    out.append('"')
                    self._done.append(self._string)
                    self._string = None
            elif isinstance(event, Number):
                number = ContentChannel(self._engine, self._policy)
                first = await number.feed(event.text)
                step = first if first.blocked else await number.finish()
                self._done.append(number)
                if step.blocked:
                    return Released("", step.blocked)
                screened = first.text + step.text
                # A redacted number is no longer a number: it goes out as a string, so the JSON stays valid.
                out.append(event.text if screened == event.text else f'"{encode_string_text(screened)}"')
        text = "".join(out)
        self.sent_chars += len(text)
        return Released(text)

    def verdicts(self) -> list[Verdict]:
        channels = self._done + ([self._string] if self._string else [])
        return [v for c in channels for v in c.verdicts()]

