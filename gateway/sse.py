"""Server-sent events: reassemble whole events from arbitrary byte chunks, and encode them."""

from __future__ import annotations

from typing import Any, Iterator

import msgspec

DONE = b"data: [DONE]\n\n"


class SSEDecoder:
    """Feeds bytes, yields the `data` payload of each complete event (comments and other fields dropped).

    Chunks may split anywhere, including inside a multi-byte character or a line ending.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        self._buffer += chunk
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return
            line, width = cut
            raw, self._buffer = self._buffer[:line], self._buffer[line + width :]
            if not raw:
                if self._data:
                    yield b"\n".join(self._data)
                    self._data = []
                continue
            if raw.startswith(b"data:"):
                value = raw[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)

    def close(self) -> Iterator[bytes]:
        """Flush an event the upstream ended without its blank line."""
        if self._buffer.startswith(b"data:"):
            value = self._buffer[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        self._buffer = b""
        if self._data:
            yield b"\n".join(self._data)
            self._data = []


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line ends and how wide its terminator is (LF, CRLF or CR)."""
    lf, cr = buffer.find(b"\n"), buffer.find(b"\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return None if lf == -1 else (lf, 1)
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be half of a CRLF: wait for the next byte
    return (cr, 2) if buffer[cr + 1] == 0x0A else (cr, 1)


def encode_event(payload: Any) -> bytes:
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"
