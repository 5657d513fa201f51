"""Span-level and classification metrics, threshold sweeps and latency percentiles: pure functions."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Literal, Sequence

import msgspec

from evaluation.types import Span

MatchMode = Literal["exact", "overlap"]

# The thresholds every sweep reports: 0.00, 0.01, ..., 1.00.
SWEEP_GRID: tuple[float, ...] = tuple(round(i / 100, 2) for i in range(101))


def _ratio(num: int, den: int) -> float | None:
    """None where the ratio is undefined, so a report says "n/a" instead of a made-up 0 or 1."""
    return num / den if den else None


class PRF(msgspec.Struct, frozen=True):
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> PRF:
        # 2tp / (2tp + fp + fn) is the harmonic mean of P and R, and stays defined (0) when one of them is not.
        return cls(tp=tp, fp=fp, fn=fn, precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn),
                   f1=_ratio(2 * tp, 2 * tp + fp + fn))


class SpanReport(msgspec.Struct, frozen=True):
    mode: MatchMode
    overall: PRF
    per_type: dict[str, PRF]


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def match_counts(gold: Sequence[Span], pred: Sequence[Span], mode: MatchMode) -> dict[str, list[int]]:
    """Per type [tp, fp, fn] for one text. Matching is one-to-one and only within a type.

    exact: same start and end. overlap: at least one shared character; pairs are taken
    greedily by overlap length, so one long prediction cannot satisfy two gold spans.
    """
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for entity_type in {s.type for s in gold} | {s.type for s in pred}:
        g = [s for s in gold if s.type == entity_type]
        p = [s for s in pred if s.type == entity_type]
        if mode == "exact":
            remaining = [(s.start, s.end) for s in p]
            tp = 0
            for s in g:
                if (s.start, s.end) in remaining:
                    remaining.remove((s.start, s.end))
                    tp += 1
        else:
            pairs = sorted(((_overlap(a, b), i, j) for i, a in enumerate(g) for j, b in enumerate(p)), reverse=True)
            used_g: set[int] = set()
            used_p: set[int] = set()
            for size, i, j in pairs:
                if size > 0 and i not in used_g and j not in used_p:
                    used_g.add(i)
                    used_p.add(j)
            tp = len(used_g)
        counts[entity_type] = [tp, len(p) - tp, len(g) - tp]
    return dict(counts)


def span_report(pairs: Iterable[tuple[Sequence[Span], Sequence[Span]]], types: Iterable[str],
                mode: MatchMode) -> SpanReport:
    """Micro-averaged precision, recall and F1 over (gold, predicted) pairs, for `types` only, and per type."""
    scored = set(types)
    totals: dict[str, list[int]] = {t: [0, 0, 0] for t in scored}
    for gold, pred in pairs:
        for entity_type, (tp, fp, fn) in match_counts(
                [s for s in gold if s.type in scored], [s for s in pred if s.type in scored], mode).items():
            row = totals[entity_type]
            row[0] += tp
            row[1] += fp
            row[2] += fn
    per_type = {t: PRF.of(*totals[t]) for t in sorted(totals)}
    overall = PRF.of(*(sum(row[k] for row in totals.values()) for k in range(3)))
    return SpanReport(mode=mode, overall=overall, per_type=per_type)


class ClassCounts(msgspec.Struct, frozen=True):
    """A confusion matrix at one operating point, with the rates a reader wants from it."""

    threshold: float | None
    """None when each rule flags at its own threshold (a policy's operating point)."""
    tp: int
    fp: int
    tn: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None


def flagged(score: float | None, threshold: float) -> bool:
    """An item is flagged when some finding scored at least `threshold`; None means no finding at all."""
    return score is not None and score >= threshold


def confusion(labels: Sequence[int], flags: Sequence[bool], threshold: float | None) -> ClassCounts:
    tp = fp = tn = fn = 0
    for label, hit in zip(labels, flags, strict=True):
        if label:
            tp, fn = tp + hit, fn + (not hit)
        else:
            fp, tn = fp + hit, tn + (not hit)
    prf = PRF.of(tp, fp, fn)
    return ClassCounts(threshold=threshold, tp=tp, fp=fp, tn=tn, fn=fn, precision=prf.precision, recall=prf.recall,
                       f1=prf.f1, fpr=_ratio(fp, fp + tn))


def classify(labels: Sequence[int], scores: Sequence[float | None], threshold: float) -> ClassCounts:
    return confusion(labels, [flagged(s, threshold) for s in scores], threshold)


def sweep(labels: Sequence[int], scores: Sequence[float | None],
          thresholds: Sequence[float] = SWEEP_GRID) -> list[ClassCounts]:
    return [classify(labels, scores, t) for t in thresholds]


def threshold_at_fpr(negative_scores: Sequence[float | None], max_fpr: float) -> float:
    """The lowest threshold that flags at most `max_fpr` of the negatives (so it gives the most recall).

    It lies just above the score of the first negative that must not be flagged, hence
    `math.nextafter`: ties at that score stay unflagged.
    """
    if not negative_scores:
        raise ValueError("calibration needs at least one negative item")
    allowed = math.floor(max_fpr * len(negative_scores) + 1e-9)
    ranked = sorted((s for s in negative_scores if s is not None), reverse=True)
    if allowed >= len(ranked):
        return 0.0
    return math.nextafter(ranked[allowed], math.inf)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks, as numpy's default does."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
