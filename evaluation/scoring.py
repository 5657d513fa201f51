"""Turns one system's predictions on a data set into its section of the report."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

import msgspec

from evaluation.metrics import (PRF, SWEEP_GRID, ClassCounts, SpanReport, classify, confusion, flagged, percentile,
                                span_report, sweep, threshold_at_fpr)
from evaluation.types import Dataset, Prediction, ScoredSpan, Span


class Latency(msgspec.Struct, frozen=True):
    items: int
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None


class SpanSweepPoint(msgspec.Struct, frozen=True):
    threshold: float
    exact: PRF
    overlap: PRF


class PiiSection(msgspec.Struct, frozen=True, kw_only=True):
    system: str
    thresholds: dict[str, float]
    versions: dict[str, str]
    latency: Latency
    errors: int
    exact: SpanReport
    overlap: SpanReport
    unscored_predictions: dict[str, int]
    """Predicted types the set never labels: it cannot say whether they are right, so they are only counted."""
    sweep: list[SpanSweepPoint]


class Calibrated(msgspec.Struct, frozen=True, kw_only=True):
    on: str
    max_fpr: float
    threshold: float
    calibration: ClassCounts
    metrics: ClassCounts


class GroupRow(msgspec.Struct, frozen=True):
    group: str
    items: int
    positives: int
    flagged: int
    recall: float | None
    fpr: float | None


class ClassificationSection(msgspec.Struct, frozen=True, kw_only=True):
    system: str
    thresholds: dict[str, float]
    versions: dict[str, str]
    latency: Latency
    errors: int
    at_policy_threshold: ClassCounts
    calibrated: Calibrated | None = None
    sweep: list[ClassCounts]
    groups: list[GroupRow]


def latency(predictions: Sequence[Prediction]) -> Latency:
    ms = [p.latency_s * 1000 for p in predictions]
    return Latency(items=len(ms), p50_ms=percentile(ms, 50), p99_ms=percentile(ms, 99),
                   mean_ms=sum(ms) / len(ms) if ms else None)


def _as_spans(spans: Sequence[ScoredSpan]) -> list[Span]:
    """Distinct (type, start, end): two rules finding the same span are one prediction, not one right and one wrong."""
    return sorted({Span(s.type, s.start, s.end) for s in spans}, key=lambda s: (s.start, s.end, s.type))


def at_own_threshold(prediction: Prediction, thresholds: dict[str, float]) -> list[ScoredSpan]:
    return [s for s in prediction.spans if s.score >= thresholds.get(s.rule, 0.0)]


def scored_types(dataset: Dataset, rule_entities: set[str] | None) -> set[str]:
    """The types a PII set is scored on: what it labels, narrowed to what the evaluated rules look for."""
    return set(dataset.label_types) if rule_entities is None else set(dataset.label_types) & rule_entities


def pii_section(name: str, dataset: Dataset, predictions: Sequence[Prediction], thresholds: dict[str, float],
                versions: dict[str, str], types: set[str]) -> PiiSection:
    gold = [item.spans for item in dataset.items]
    chosen = [_as_spans(at_own_threshold(p, thresholds)) for p in predictions]
    unscored = Counter(s.type for spans in chosen for s in spans if s.type not in types)
    points = []
    for t in SWEEP_GRID:
        at_t = [_as_spans([s for s in p.spans if s.score >= t]) for p in predictions]
        points.append(SpanSweepPoint(threshold=t, exact=span_report(zip(gold, at_t), types, "exact").overall,
                                     overlap=span_report(zip(gold, at_t), types, "overlap").overall))
    return PiiSection(system=name, thresholds=thresholds, versions=versions, latency=latency(predictions),
                      errors=sum(p.errors for p in predictions),
                      exact=span_report(zip(gold, chosen), types, "exact"),
                      overlap=span_report(zip(gold, chosen), types, "overlap"),
                      unscored_predictions=dict(sorted(unscored.items())), sweep=points)


def item_score(prediction: Prediction) -> float | None:
    """An item's score: the highest score of any evaluated rule's finding; None when nothing was found."""
    return max((s.score for s in prediction.spans), default=None)


def policy_flags(predictions: Sequence[Prediction], thresholds: dict[str, float]) -> list[bool]:
    """Whether each item is flagged with every rule at its own threshold, as the gateway would decide."""
    return [bool(at_own_threshold(p, thresholds)) for p in predictions]


def classification_section(name: str, dataset: Dataset, predictions: Sequence[Prediction],
                           thresholds: dict[str, float], versions: dict[str, str],
                           calibrated: Calibrated | None = None) -> ClassificationSection:
    labels = [int(item.label or 0) for item in dataset.items]
    scores = [item_score(p) for p in predictions]
    flags = policy_flags(predictions, thresholds)
    headline = confusion(labels, flags, _single(thresholds))
    if calibrated is not None:
        flags = [flagged(s, calibrated.threshold) for s in scores]
    return ClassificationSection(
        system=name, thresholds=thresholds, versions=versions, latency=latency(predictions),
        errors=sum(p.errors for p in predictions),
        at_policy_threshold=headline, calibrated=calibrated, sweep=sweep(labels, scores),
        groups=_groups(dataset, labels, flags))


def calibrate(on: str, calibration: Dataset, predictions: Sequence[Prediction], max_fpr: float,
              dataset: Dataset, dataset_predictions: Sequence[Prediction]) -> Calibrated:
    """Picks the threshold on `calibration`'s negatives and reports `dataset` there."""
    negatives = [item_score(p) for item, p in zip(calibration.items, predictions) if not item.label]
    threshold = threshold_at_fpr(negatives, max_fpr)
    cal_labels = [int(item.label or 0) for item in calibration.items]
    labels = [int(item.label or 0) for item in dataset.items]
    return Calibrated(on=on, max_fpr=max_fpr, threshold=threshold,
                      calibration=classify(cal_labels, [item_score(p) for p in predictions], threshold),
                      metrics=classify(labels, [item_score(p) for p in dataset_predictions], threshold))


def _single(thresholds: dict[str, float]) -> float | None:
    values = set(thresholds.values())
    return values.pop() if len(values) == 1 else None


def _groups(dataset: Dataset, labels: Sequence[int], flags: Sequence[bool]) -> list[GroupRow]:
    buckets: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for item, label, hit in zip(dataset.items, labels, flags):
        if item.group:
            buckets[item.group].append((label, hit))
    rows = []
    for group in sorted(buckets):
        pairs = buckets[group]
        pos = [hit for label, hit in pairs if label]
        neg = [hit for label, hit in pairs if not label]
        rows.append(GroupRow(group=group, items=len(pairs), positives=len(pos), flagged=sum(h for _, h in pairs),
                             recall=sum(pos) / len(pos) if pos else None, fpr=sum(neg) / len(neg) if neg else None))
    return rows
