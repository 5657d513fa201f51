"""An incremental JSON lexer for tool-call arguments: strings and numbers come out as text to screen.

Arguments stream a few characters per delta (`{`, `"`, `t`, …), so every string's
content is decoded as it arrives and handed to a screen; structure passes through
verbatim. Invalid JSON never raises: what is not a string or a number is passed on raw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Union

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER_STARTS = frozenset("-0123456789")
_NUMBER_CHARS = frozenset("-+0123456789.eE")


@dataclass(frozen=True)
class Raw:
    text: str


@dataclass(frozen=True)
class StringStart:
    pass


@dataclass(frozen=True)
class StringText:
    text: str


@dataclass(frozen=True)
class StringEnd:
    pass


@dataclass(frozen=True)
class Number:
    text: str


Event = Union[Raw, StringStart, StringText, StringEnd, Number]


def encode_string_text(text: str) -> str:
    """JSON-escape string content, without the quotes."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


class JsonLexer:
    def __init__(self) -> None:
        self._in_string = False
        self._escape: str | None = None  # an escape sequence in progress, from its backslash
        self._high_surrogate: str | None = None
        self._number = ""

    def feed(self, chunk: str) -> list[Event]:
        events: list[Event] = []
        raw: list[str] = []
        text: list[str] = []

        def flush_raw() -> None:
            if raw:
                events.append(Raw("".join(raw)))
                raw.clear()

        def flush_text() -> None:
            if text:
                events.append(StringText("".join(text)))
                text.clear()

        for ch in chunk:
            if self._in_string:
                if self._escape is not None:
                    self._escape += ch
                    decoded = self._decode_escape()
                    if decoded is not None:
                        text.append(decoded)
                elif ch == "\\":
                    self._escape = "\\"
                elif ch == '"':
                    flush_text()
                    if self._high_surrogate:
                        text.append(self._high_surrogate)
                        self._high_surrogate = None
                        flush_text()
                    events.append(StringEnd())
                    self._in_string = False
                else:
                    text.append(ch)
                continue
            if ch in (_NUMBER_CHARS if self._number else _NUMBER_STARTS):
                flush_raw()
                self._number += ch
                continue
            if self._number:
                events.append(Number(self._number))
                self._number = ""
            if ch == '"':
                flush_raw()
                events.append(StringStart())
                self._in_string = True
            else:
                raw.append(ch)
        flush_text()
        flush_raw()
        return events

    def close(self) -> list[Event]:
        """End of the arguments: a number at the very end is complete now."""
        events: list[Event] = []
        if self._number:
            events.append(Number(self._number))
            self._number = ""
        if self._in_string and self._escape:
            events.append(StringText(self._escape))  # a cut-off escape is passed on as text
            self._escape = None
        return events

    def _decode_escape(self) -> str | None:
        """The decoded text once the escape in progress is complete, else None."""
        seq = self._escape or ""
        if len(seq) == 2 and seq[1] != "u":
            self._escape = None
            return _ESCAPES.get(seq[1], seq[1])
        if len(seq) < 6:
            return None
        self._escape = None
        try:
            code = int(seq[2:6], 16)
        except ValueError:
            return seq
        if 0xD800 <= code <= 0xDBFF:
            self._high_surrogate = chr(code)
            return ""
        if 0xDC00 <= code <= 0xDFFF and self._high_surrogate:
            pair = (self._high_surrogate + chr(code)).encode("utf-16", "surrogatepass").decode("utf-16")
            self._high_surrogate = None
            return pair
        return chr(code)
