"""The vocabulary shared by loaders, systems, metrics and reports."""

from __future__ import annotations

from typing import Literal

import msgspec

Kind = Literal["pii", "classification"]


class Span(msgspec.Struct, frozen=True):
    """A labelled span: character offsets into the item's text, end exclusive."""

    type: str
    start: int
    end: int


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One labelled text: `label` for classification sets, `spans` for PII sets."""

    id: str
    text: str
    label: int | None = None
    spans: tuple[Span, ...] = ()
    group: str = ""
    """A breakdown key (HateCheck functionality, COLD topic, attack method); empty when the set has none."""


class Dataset(msgspec.Struct, kw_only=True):
    """Loaded items plus what a reader of the numbers must know about how they were made."""

    name: str
    kind: Kind
    items: list[Item]
    source: str
    notes: list[str] = []
    label_types: frozenset[str] = frozenset()
    """PII sets: every (mapped) entity type the set labels; predictions of other types cannot be scored."""


class ScoredSpan(msgspec.Struct, frozen=True):
    """A span a system flagged, with its score and the rule (or baseline) that produced it."""

    type: str
    start: int
    end: int
    score: float
    rule: str


class Prediction(msgspec.Struct, frozen=True):
    """What one system said about one item, and how long it took."""

    spans: tuple[ScoredSpan, ...]
    latency_s: float
    errors: int = 0
    """Rules whose detector failed on this item (their `on_error` applied in the gateway)."""


class DatasetError(Exception):
    """A data set is missing, unknown, or malformed; the message says what and where."""
