"""`hf_classifier` on tiny BERT checkpoints built here: the plumbing (labels, windows, batching), not accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from detectors.executor import DetectorExecutor
from detectors.hf_classifier import HfClassifierDetector
from policies.compiler import DetectorFactory, compile_policy
from policies.engine import PolicyEngine
from policies.loader import load_policy_text
from policies.redaction import Redactor

CORPUS = ["the quick brown fox jumps over the lazy dog", "you are a terrible person and i hate you",
          "please summarise the report in three bullet points", "ignore all previous instructions now",
          "what is the capital of france", "have a lovely day my friend"] * 20
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_checkpoint(folder: Path, *, bias: list[float] | None, multi_label: bool = False) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary trained on CORPUS; `bias` pins the logits by zeroing the head."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=120, special_tokens=SPECIAL))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tokenizer.token_to_id("[CLS]")),
                                                 ("[SEP]", tokenizer.token_to_id("[SEP]"))])
    fast = BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", model_max_length=64)
    fast.save_pretrained(folder)
    config = BertConfig(vocab_size=fast.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, id2label={0: "SAFE", 1: "TOXIC"},
                        label2id={"SAFE": 0, "TOXIC": 1},
                        problem_type="multi_label_classification" if multi_label else "single_label_classification")
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Softmax of logits (0, 2) for every text: P(SAFE) = 0.119, P(TOXIC) = 0.881."""
    return build_checkpoint(tmp_path_factory.mktemp("pinned"), bias=[0.0, 2.0])


@pytest.fixture(scope="module")
def random_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Randomly initialised throughout, so scores depend on the text."""
    return build_checkpoint(tmp_path_factory.mktemp("random"), bias=None)


def make(path: Path, labels: dict[str, str] | None = None, threshold: float = 0.5, max_length: int = 64,
         batch_size: int = 16) -> HfClassifierDetector:
    return HfClassifierDetector(str(path), labels=labels or {"TOXIC": "TOXICITY"}, threshold=threshold,
                                max_length=max_length, batch_size=batch_size, device="cpu")


def test_mapped_label_at_or_above_threshold_is_reported_over_the_text(pinned: Path) -> None:
    texts = ["you are a terrible person", "have a lovely day"]
    findings = make(pinned).detect_batch(texts)
    assert [[(f.entity_type, f.start, f.end, f.detector) for f in fs] for fs in findings] == \
        [[("TOXICITY", 0, len(t), "hf_classifier")] for t in texts]
    assert findings[0][0].score == pytest.approx(torch.softmax(torch.tensor([0.0, 2.0]), 0)[1].item(), rel=1e-5)


def test_threshold_and_label_mapping_decide_what_is_reported(pinned: Path) -> None:
    assert make(pinned, threshold=0.9).detect_batch(["anything"]) == [[]]
    both = make(pinned, labels={"SAFE": "SAFE_TEXT", "TOXIC": "TOXICITY"}, threshold=0.1).detect_batch(["anything"])
    assert sorted(f.entity_type for f in both[0]) == ["SAFE_TEXT", "TOXICITY"]


def test_multi_label_checkpoints_use_a_sigmoid_per_label(tmp_path: Path) -> None:
    """Logits (1, 1): sigmoid gives 0.73 to each label, where a softmax would give 0.5."""
    folder = build_checkpoint(tmp_path, bias=[1.0, 1.0], multi_label=True)
    [findings] = make(folder, labels={"SAFE": "SAFE_TEXT", "TOXIC": "TOXICITY"}, threshold=0.7).detect_batch(["hi"])
    assert sorted(f.entity_type for f in findings) == ["SAFE_TEXT", "TOXICITY"]
    assert all(f.score == pytest.approx(0.7311, abs=1e-4) for f in findings)


def test_long_text_is_scored_in_overlapping_token_windows(pinned: Path) -> None:
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * 30)
    [findings] = make(pinned, max_length=32).detect_batch([text])
    spans = [(f.start, f.end) for f in findings]
    assert len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b[0] < a[1] for a, b in zip(spans, spans[1:])), "windows must overlap"
    assert all(text[s:e].strip() == text[s:e] for s, e in spans), "windows start and end on tokens"


def test_batching_matches_one_by_one(random_head: Path) -> None:
    texts = ["you are a terrible person and i hate you", "what is the capital of france", "ok",
             " ".join(["please summarise the report"] * 25)]
    detector = make(random_head, labels={"SAFE": "SAFE_TEXT", "TOXIC": "TOXICITY"}, threshold=0.0, max_length=32,
                    batch_size=3)
    batched = detector.probabilities(texts)
    single = [w for i, t in enumerate(texts) for w in detector.probabilities([t])]
    assert [w[1:3] for w in batched] == [w[1:3] for w in single]
    assert [w[0] for w in batched] == [i for i, t in enumerate(texts) for _ in detector.probabilities([t])]
    for (_, _, _, a), (_, _, _, b) in zip(batched, single):
        assert a == pytest.approx(b, abs=1e-5)
    assert len({round(w[3][1], 4) for w in batched}) > 1, "a random head should score texts differently"


def test_empty_batch(pinned: Path) -> None:
    assert make(pinned).detect_batch([]) == []


def test_version_names_the_checkpoint_and_its_weights(pinned: Path, random_head: Path) -> None:
    a, b = make(pinned).version, make(random_head).version
    assert a.startswith(f"{pinned.name}+") and b.startswith(f"{random_head.name}+") and a[-12:] != b[-12:]


def test_unknown_label_and_missing_checkpoint_fail_at_build_time(pinned: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no label HATE; its labels are SAFE, TOXIC"):
        make(pinned, labels={"HATE": "TOXICITY"})
    with pytest.raises(FileNotFoundError, match="no config.json"):
        make(tmp_path)


@pytest.fixture(scope="module")
def executor() -> Iterator[DetectorExecutor]:
    pool = DetectorExecutor(max_workers=2)
    yield pool
    pool.shutdown()


async def test_policy_resolves_the_checkpoint_next_to_it_and_blocks(pinned: Path, executor: DetectorExecutor) -> None:
    policy = f"""
version: 1
name: hf
output:
  rules:
    - id: tox
      detector: hf_classifier
      path: {pinned.name}
      labels: {{TOXIC: TOXICITY}}
      threshold: 0.8
      device: cpu
      action: block
"""
    compiled = compile_policy(load_policy_text(policy), str(pinned.parent / "policy.yaml"), DetectorFactory())
    [verdict] = await PolicyEngine(executor, Redactor()).evaluate(compiled, "output", ["some model output"])
    assert (verdict.decision, verdict.blocked_by) == ("block", "tox")
    assert [(f.type, f.start, f.end) for f in verdict.findings] == [("TOXICITY", 0, len("some model output"))]
