"""Any local Hugging Face sequence-classification checkpoint as a detector, mapped onto guardgate entity types.

Nothing is downloaded: the checkpoint directory must hold the config, weights and
tokenizer (`local_files_only=True`). A text longer than `max_length` tokens is not
truncated away — truncation would let an attacker hide content past the limit — but
scored in overlapping token windows, each reported with its character span.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Sequence

import torch

from detectors.base import Finding

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def _digest(path: Path) -> str:
    """sha256 over the config and weight files, so the audit log names the exact checkpoint."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.name == "config.json" or p.suffix in _WEIGHT_SUFFIXES):
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class HfClassifierDetector:
    """Reports, per text window, every mapped label whose probability reaches the threshold.

    Single-label checkpoints are read through a softmax, multi-label ones
    (`problem_type: multi_label_classification`) through a sigmoid per label.
    """

    name = "hf_classifier"

    def __init__(self, path: str, *, labels: dict[str, str], threshold: float, max_length: int, batch_size: int,
                 device: str | None) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{path}: not a checkpoint directory (no config.json)")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).to(self.device)
        self.model.eval()
        id2label = {int(i): str(label) for i, label in self.model.config.id2label.items()}
        unknown = sorted(set(labels) - set(id2label.values()))
        if unknown:
            raise ValueError(f"{path}: the model has no label {', '.join(unknown)}; "
                             f"its labels are {', '.join(id2label[i] for i in sorted(id2label))}")
        self._columns = [(i, labels[label]) for i, label in sorted(id2label.items()) if label in labels]
        self._multi_label = self.model.config.problem_type == "multi_label_classification"
        self.threshold = threshold
        self.batch_size = batch_size
        model_max = getattr(self.tokenizer, "model_max_length", None) or max_length
        self.max_length = min(max_length, model_max) if model_max < 10**9 else max_length
        # Fast tokenizers mutate their truncation state per call, so two threads must not share one at once.
        self._tokenizer_lock = threading.Lock()
        self.version = f"{folder.resolve().name}+{_digest(folder)[:12]}"

    def _windows(self, texts: Sequence[str]) -> tuple[dict[str, torch.Tensor], list[tuple[int, int, int]]]:
        """Token windows of every text with (text index, char start, char end) for each."""
        with self._tokenizer_lock:
            if self.tokenizer.is_fast:
                enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding=True,
                                     return_overflowing_tokens=True, stride=max(0, self.max_length // 8),
                                     return_offsets_mapping=True, return_tensors="pt")
            else:
                enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding=True,
                                     return_tensors="pt")
        if "overflow_to_sample_mapping" not in enc:
            return dict(enc), [(i, 0, len(t)) for i, t in enumerate(texts)]
        owners = enc.pop("overflow_to_sample_mapping").tolist()
        offsets = enc.pop("offset_mapping").tolist()
        spans = []
        for row, owner in enumerate(owners):
            # Special tokens and padding map to (0, 0); the window is the span of its real tokens.
            real = [(s, e) for s, e in offsets[row] if e > s]
            spans.append((owner, real[0][0], real[-1][1]) if real else (owner, 0, len(texts[owner])))
        return dict(enc), spans

    def probabilities(self, texts: Sequence[str]) -> list[tuple[int, int, int, list[float]]]:
        """(text index, char start, char end, probability per model label) for every window."""
        if not texts:
            return []
        inputs, spans = self._windows(texts)
        out: list[tuple[int, int, int, list[float]]] = []
        with torch.inference_mode():
            for start in range(0, len(spans), self.batch_size):
                batch = {k: v[start:start + self.batch_size].to(self.device) for k, v in inputs.items()}
                logits = self.model(**batch).logits.float()
                probs = torch.sigmoid(logits) if self._multi_label else torch.softmax(logits, dim=-1)
                for span, row in zip(spans[start:start + self.batch_size], probs.cpu().tolist()):
                    out.append((*span, row))
        return out

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        findings: list[list[Finding]] = [[] for _ in texts]
        for index, start, end, probs in self.probabilities(texts):
            for column, entity_type in self._columns:
                if probs[column] >= self.threshold:
                    findings[index].append(Finding(entity_type=entity_type, start=start, end=end,
                                                   score=probs[column], detector=self.name))
        return findings
