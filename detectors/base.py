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
    """

    name: str
    version: str

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]: ...
