"""Binary classification metrics per (split, group), computed from per-text probabilities."""

from __future__ import annotations

import math
from typing import Sequence

import msgspec
import numpy as np


class GroupMetrics(msgspec.Struct, frozen=True):
    split: str
    group: str
    n: int
    positives: int
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    """False-positive rate: flagged negatives / negatives."""
    auc: float | None
    """ROC AUC, where the group holds both classes."""


def roc_auc(labels: np.ndarray, probs: np.ndarray) -> float | None:
    """Mann-Whitney form, ties counted half; None when a class is missing."""
    pos = int(labels.sum())
    neg = len(labels) - pos
    if not pos or not neg:
        return None
    order = np.argsort(probs, kind="mergesort")
    ranks = np.empty(len(probs), dtype=np.float64)
    sorted_probs = probs[order]
    # Average ranks over runs of equal scores so ties do not depend on input order.
    _, starts, counts = np.unique(sorted_probs, return_index=True, return_counts=True)
    avg = starts + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def binary(split: str, group: str, labels: Sequence[int], probs: Sequence[float], threshold: float) -> GroupMetrics:
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    flagged = p >= threshold
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    fn = int((~flagged & (y == 1)).sum())
    tn = int((~flagged & (y == 0)).sum())
    # Precision is meaningless for a group without positives: every flag there is a false positive, counted by FPR.
    precision = _ratio(tp, tp + fp) if tp + fn else None
    recall = _ratio(tp, tp + fn)
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall > 0 else None)
    return GroupMetrics(split=split, group=group, n=len(y), positives=int(y.sum()), precision=precision,
                        recall=recall, f1=f1, fpr=_ratio(fp, fp + tn), auc=roc_auc(y, p))


def fmt(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"
