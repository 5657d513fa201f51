"""Trains an `NgramNet` on a recipe's train split, picks the epoch on the validation split, and evaluates it.

Reproducible by construction: one seed drives the weight init and the shuffles, torch
runs single-threaded with deterministic algorithms while training, and the data order
comes from the recipe, not from the file system.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import time
from typing import Iterator, Sequence

import msgspec
import numpy as np
import torch
from rich.progress import Progress
from torch import nn

from detectors.classifier import ENTITY_TYPES, ClassifierDetector, ModelMeta, NgramNet, NgramScorer
from detectors.textfeatures import NgramConfig, ngram_ids, split_windows
from training.metrics import GroupMetrics, binary
from policies.schema import ClassifierRule
from training.recipes import Example

# A rule that names no windows or threshold gets the schema's; train and measure with the same, by construction.
_RULE_DEFAULTS = {f.name: f.default for f in msgspec.structs.fields(ClassifierRule)}


class TrainConfig(msgspec.Struct, frozen=True):
    seed: int = 0
    epochs: int = 4
    batch_size: int = 256
    lr: float = 0.01
    dim: int = 8
    hidden: int = 32
    ngrams: NgramConfig = NgramConfig(word_n=2)
    window_chars: int = _RULE_DEFAULTS["window_chars"]
    overlap_chars: int = _RULE_DEFAULTS["overlap_chars"]
    """Training windows and the windows metrics are measured with: the policy schema's defaults."""
    group_weight_power: float = 0.5
    """Each (group, label) weighs count**power in total, so big sets do not drown small ones."""
    feature_dropout: float = 0.0
    """Share of a window's n-grams dropped at random in each training step, so no single n-gram carries a text."""
    positive_weight: float = 1.0
    """Total weight of the positives relative to the negatives'; below 1 trades recall for fewer false positives."""
    threshold: float = _RULE_DEFAULTS["threshold"]
    """The schema's default threshold, at which precision, recall and FPR are reported (never tuned on test)."""


class TrainResult(msgspec.Struct):
    net: NgramNet
    meta: ModelMeta
    val_score_by_epoch: list[float]
    chosen_epoch: int
    train_windows: int
    seconds: float


@contextlib.contextmanager
def _deterministic_torch() -> Iterator[None]:
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(was_deterministic)


def _weights(groups: Sequence[str], labels: np.ndarray, power: float, positive_weight: float) -> np.ndarray:
    counts = collections.Counter(zip(groups, labels.tolist()))
    w = np.array([counts[(g, int(y))] ** (power - 1.0) for g, y in zip(groups, labels)], dtype=np.float64)
    pos, neg = labels == 1, labels == 0
    if pos.any() and neg.any():
        w[pos] *= positive_weight * w[neg].sum() / w[pos].sum()
    return (w / w.mean()).astype(np.float32)


def _drop(ids: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    if rate <= 0.0 or len(ids) < 4:
        return ids
    kept = ids[rng.random(len(ids)) >= rate]
    return kept if len(kept) else ids[:1]


def _bag(arrays: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    offsets = np.zeros(len(arrays), dtype=np.int64)
    if len(arrays) > 1:
        np.cumsum([len(a) for a in arrays[:-1]], out=offsets[1:])
    return torch.from_numpy(np.concatenate(arrays)), torch.from_numpy(offsets)


def text_probabilities(scorer: NgramScorer, texts: Sequence[str], config: TrainConfig) -> np.ndarray:
    """Per text, the highest window probability: what the detector compares with the threshold."""
    detector = ClassifierDetector(scorer, threshold=config.threshold, window_chars=config.window_chars,
                                  overlap_chars=config.overlap_chars)
    return np.array([max((p for _, _, p in w), default=0.0) for w in detector.scores(texts)])


def train(name: str, examples: Sequence[Example], config: TrainConfig, progress: Progress | None = None) -> TrainResult:
    started = time.perf_counter()
    train_rows = [e for e in examples if e.split == "train"]
    val_rows = [e for e in examples if e.split == "val"]
    if not train_rows or not any(e.label for e in train_rows) or all(e.label for e in train_rows):
        raise ValueError(f"{name}: the train split needs both positives and negatives")
    pieces, where = split_windows([e.text for e in train_rows], config.window_chars, config.overlap_chars)
    task = progress.add_task(f"{name}: featurizing", total=len(pieces)) if progress else None
    features = []
    for piece in pieces:
        features.append(ngram_ids(piece, config.ngrams))
        if progress and task is not None:
            progress.advance(task)
    labels = np.array([train_rows[i].label for i, _, _ in where], dtype=np.float32)
    weights = torch.from_numpy(_weights([train_rows[i].group for i, _, _ in where], labels.astype(np.int64),
                                        config.group_weight_power, config.positive_weight))
    targets = torch.from_numpy(labels)
    meta = ModelMeta(name=name, entity_type=ENTITY_TYPES[name], ngrams=config.ngrams, dim=config.dim,
                     hidden=config.hidden)
    history: list[float] = []
    with _deterministic_torch():
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        net = NgramNet(config.ngrams.buckets, config.dim, config.hidden)
        nn.init.normal_(net.embed.weight, std=0.1)
        optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
        best_state, best_score, best_epoch = copy.deepcopy(net.state_dict()), -1.0, 0
        steps = -(-len(features) // config.batch_size)
        for epoch in range(config.epochs):
            task = progress.add_task(f"{name}: epoch {epoch + 1}/{config.epochs}", total=steps) if progress else None
            net.train()
            order = rng.permutation(len(features))
            for start in range(0, len(order), config.batch_size):
                batch = order[start:start + config.batch_size]
                ids, offsets = _bag([_drop(features[k], config.feature_dropout, rng) for k in batch])
                index = torch.from_numpy(batch)
                loss = nn.functional.binary_cross_entropy_with_logits(net(ids, offsets), targets[index],
                                                                      weight=weights[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if progress and task is not None:
                    progress.advance(task)
            net.eval()
            score = _val_score(net, meta, val_rows, config) if val_rows else float(epoch)
            history.append(score)
            if score > best_score:
                best_state, best_score, best_epoch = copy.deepcopy(net.state_dict()), score, epoch + 1
        net.load_state_dict(best_state)
    net.eval()
    return TrainResult(net=net, meta=meta, val_score_by_epoch=history, chosen_epoch=best_epoch,
                       train_windows=len(features), seconds=time.perf_counter() - started)


def _val_score(net: NgramNet, meta: ModelMeta, rows: Sequence[Example], config: TrainConfig) -> float:
    """Mean, over every (group, class) of the val split, of the share classified right at the threshold.

    Pooled ROC AUC would be dominated by the big, easy sets; this weighs a small set of
    ordinary requests or of Chinese attacks as much as 6,000 COLD comments.
    """
    scorer = NgramScorer(net, meta, digest="training", device=torch.device("cpu"))
    flagged = text_probabilities(scorer, [e.text for e in rows], config) >= config.threshold
    cells: dict[tuple[str, int], list[bool]] = collections.defaultdict(list)
    for e, f in zip(rows, flagged):
        cells[(e.group, e.label)].append(bool(f) == bool(e.label))
    return float(np.mean([np.mean(v) for v in cells.values()]))


def evaluate(scorer: NgramScorer, examples: Sequence[Example], config: TrainConfig) -> list[GroupMetrics]:
    """Metrics per (split, group) of every held-out row, and pooled over groups as `ALL` for val and test."""
    held_out = [e for e in examples if e.split != "train"]
    probs = text_probabilities(scorer, [e.text for e in held_out], config)
    by_key: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for e, p in zip(held_out, probs):
        for key in ((e.split, e.group), (e.split, "ALL")) if e.split != "eval" else ((e.split, e.group),):
            ys, ps = by_key.setdefault(key, ([], []))
            ys.append(e.label)
            ps.append(float(p))
    order = {"val": 0, "test": 1, "eval": 2}
    keys = sorted(by_key, key=lambda k: (order[k[0]], k[1] == "ALL", k[1]))
    return [binary(split, group, *by_key[(split, group)], config.threshold) for split, group in keys]
