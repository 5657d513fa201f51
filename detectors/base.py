"""The one small interface every detector implements."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import msgspec


class Finding(msgspec.Struct, frozen=True):
    """A span a detector flagged: character offsets into the text, end exclusive.

    A finding never carries the matched value: callers slice the text they own,
    so nothing outlives the request that produced it.
    """

    entity_type: str
    start: int
    end: int
    score: float
    detector: str


class DetectorError(Exception):
    """A detector could not give an answer; the pipeline applies the rule's `on_error`."""


@runtime_checkable
class Detector(Protocol):
    """Finds spans in texts. Synchronous and thread-safe: the pipeline runs it in a bounded pool.

    `detect_batch` receives every text pending for this detector at once, so a
    classifier can batch; it returns one list of findings per input text.

    A detector may also define `stream_holdback(pending: str) -> int`: how many
    characters at the end of a streamed text could still become, or extend, a match
    when more text arrives. Streams release everything before that tail. A detector
    without it has its stream held whole, up to the policy's `max_holdback_chars`.

    It may define `may_find(text: str) -> bool` too: a cheap check, run on the event
    loop, that is False only when `detect_batch` would certainly find nothing and raise
    nothing for that text. The engine then skips the call (and its thread hop).

    And `inline_chars: int`: batches up to that many characters in all are so quick to
    analyse that the engine runs them on the event loop instead of in the pool. Only a
    detector whose run time is small and bounded for such input (fixed, known regexes, no
    model) may set it: an inline call cannot be cut off at its deadline, only judged late.
    """

    name: str
    version: str

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]: ...
