"""The built-in classifiers: a small torch net over hashed character n-grams, English and Chinese, shipped as weights.

`toxicity` flags abusive language (insults, harassment, hate); `injection` flags prompt
injection and jailbreak attempts. Both load offline from `detectors/models/<name>.safetensors`;
`training/` reproduces them (`guardgate train`), and `detectors/models/<name>.md` is each
model's card: data, metrics, limits.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Literal, Sequence

import msgspec
import numpy as np
import torch
from safetensors.torch import load, save_file
from torch import nn

from detectors.base import Finding
from detectors.textfeatures import NgramConfig, batch_ids, split_windows

MODELS_DIR = Path(__file__).parent / "models"
BuiltinModel = Literal["toxicity", "injection"]
ENTITY_TYPES: dict[str, str] = {"toxicity": "TOXICITY", "injection": "PROMPT_INJECTION"}
FORMAT_VERSION = 1
# Bounds the memory of one forward pass; a batch of long texts is scored in chunks of this many windows.
MAX_WINDOWS_PER_FORWARD = 256


class ModelMeta(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything besides the tensors that a weights file needs to be used: stored in its safetensors header."""

    name: str
    entity_type: str
    ngrams: NgramConfig
    dim: int
    hidden: int
    format_version: int = FORMAT_VERSION


class NgramNet(nn.Module):
    """Mean of the n-gram embeddings, one hidden ReLU layer, one logit."""

    def __init__(self, buckets: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(buckets, dim, mode="mean")
        self.hidden = nn.Linear(dim, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(self.embed(ids, offsets)))).squeeze(-1)


def save_model(net: NgramNet, meta: ModelMeta, path: Path) -> None:
    """fp16 tensors and the meta as JSON in the header: half the bytes, and the loss of precision is below the noise."""
    tensors = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in net.state_dict().items()}
    save_file(tensors, str(path), metadata={"guardgate": msgspec.json.encode(meta).decode()})


def load_model(path: Path) -> tuple[NgramNet, ModelMeta, str]:
    """The net (float32, eval mode, on CPU), its meta and the sha256 of the file."""
    raw = path.read_bytes()
    # The safetensors layout: an 8-byte little-endian length, then a JSON header holding our metadata.
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])
    meta = msgspec.json.decode(header["__metadata__"]["guardgate"], type=ModelMeta)
    if meta.format_version != FORMAT_VERSION:
        raise ValueError(f"{path}: weights format {meta.format_version}, this guardgate reads {FORMAT_VERSION}")
    net = NgramNet(meta.ngrams.buckets, meta.dim, meta.hidden)
    net.load_state_dict({k: v.float() for k, v in load(raw).items()})
    net.eval()
    return net, meta, hashlib.sha256(raw).hexdigest()


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class NgramScorer:
    """A loaded model on one device: window probabilities for batches of texts. Thread-safe (inference only).

    On CPU the forward pass runs in numpy: it is one table lookup and two tiny matrix
    products, and torch's intra-op threads cost more than they save here — on a busy
    2-core host they made a 16-text batch 60 times slower than one thread did.
    """

    def __init__(self, net: NgramNet, meta: ModelMeta, digest: str, device: torch.device | None = None) -> None:
        self.device = device or default_device()
        self.net = net.to(self.device)
        self.meta = meta
        self.version = f"{meta.name}+{digest[:12]}"
        self._arrays: tuple[np.ndarray, ...] | None = None
        if self.device.type == "cpu":
            self._arrays = tuple(t.detach().float().numpy() for t in (
                net.embed.weight, net.hidden.weight, net.hidden.bias, net.out.weight, net.out.bias))

    def probabilities(self, pieces: Sequence[str]) -> np.ndarray:
        """P(positive) for each piece of text, scored as one bag of n-grams each."""
        out = np.zeros(len(pieces), dtype=np.float64)
        for start in range(0, len(pieces), MAX_WINDOWS_PER_FORWARD):
            chunk = pieces[start:start + MAX_WINDOWS_PER_FORWARD]
            ids, offsets = batch_ids(chunk, self.meta.ngrams)
            out[start:start + len(chunk)] = self._numpy(ids, offsets) if self._arrays else self._torch(ids, offsets)
        return out

    def _numpy(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        embed, w1, b1, w2, b2 = self._arrays  # type: ignore[misc]
        counts = np.diff(np.append(offsets, len(ids)))
        means = np.add.reduceat(embed[ids], offsets, axis=0) / counts[:, None]
        logits = (np.maximum(means @ w1.T + b1, 0.0) @ w2.T + b2)[:, 0].astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))

    def _torch(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = self.net(torch.from_numpy(ids).to(self.device), torch.from_numpy(offsets).to(self.device))
            return torch.sigmoid(logits).double().cpu().numpy()


_scorers: dict[str, NgramScorer] = {}
_scorers_lock = threading.Lock()


def builtin_scorer(name: BuiltinModel) -> NgramScorer:
    """The shipped model, loaded once per process and shared by every rule that names it."""
    if name not in ENTITY_TYPES:
        raise ValueError(f"no built-in classifier {name!r}; choose one of {sorted(ENTITY_TYPES)}")
    with _scorers_lock:
        if name not in _scorers:
            path = MODELS_DIR / f"{name}.safetensors"
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing; `guardgate train {name}` rebuilds it")
            _scorers[name] = NgramScorer(*load_model(path))
        return _scorers[name]


class ClassifierDetector:
    """Scores each text in windows and reports every window whose probability reaches the threshold.

    A finding spans its window, so a long text that turns abusive in one paragraph
    flags that paragraph; all windows of all texts in a batch go through one forward pass.
    """

    name = "classifier"

    def __init__(self, scorer: NgramScorer, *, threshold: float, window_chars: int, overlap_chars: int) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        if not 0 <= overlap_chars < window_chars:
            raise ValueError(f"need window_chars > overlap_chars >= 0, got {window_chars} and {overlap_chars}")
        self._scorer = scorer
        self.entity_type = scorer.meta.entity_type
        self.threshold = threshold
        self.window_chars = window_chars
        self.overlap_chars = overlap_chars
        self.version = scorer.version

    @classmethod
    def builtin(cls, name: BuiltinModel, *, threshold: float, window_chars: int,
                overlap_chars: int) -> ClassifierDetector:
        return cls(builtin_scorer(name), threshold=threshold, window_chars=window_chars, overlap_chars=overlap_chars)

    def scores(self, texts: Sequence[str]) -> list[list[tuple[int, int, float]]]:
        """(start, end, probability) of every window of every text."""
        pieces, where = split_windows(texts, self.window_chars, self.overlap_chars)
        probs = self._scorer.probabilities(pieces)
        out: list[list[tuple[int, int, float]]] = [[] for _ in texts]
        for (i, start, end), p in zip(where, probs):
            out[i].append((start, end, float(p)))
        return out

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        return [[Finding(entity_type=self.entity_type, start=s, end=e, score=p, detector=self.name)
                 for s, e, p in windows if p >= self.threshold] for windows in self.scores(texts)]
