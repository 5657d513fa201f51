"""Writes a trained model's data manifest (JSON) and its model card (Markdown) from what training measured."""

from __future__ import annotations

import collections
import csv
import gzip
import hashlib
import json
from pathlib import Path
from typing import Sequence

import msgspec

from training.metrics import GroupMetrics, fmt
from training.recipes import RECIPES, SPLIT_RECIPE, Example
from training.texts import LICENSES, MODEL_TEXT, group_set


def data_files(name: str, root: Path) -> list[Path]:
    """The files a recipe reads, globs expanded, in a stable order."""
    files: list[Path] = []
    for pattern in RECIPES[name].files:
        matches = sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
        files.extend(m for m in matches if m not in files)
    return files


def count_rows(path: Path) -> int | None:
    """Records in a data file: CSV rows, JSON list items (summed over a dict of lists), JSONL lines."""
    name = path.name
    if name.endswith(".csv"):
        encoding = "gb18030" if "jade-db-v3.0" in str(path) else "utf-8-sig"
        with path.open(encoding=encoding, newline="") as f:
            return sum(1 for _ in csv.DictReader(f))
    if name.endswith(".jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    if name.endswith(".jsonl"):
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("jailbreaks"), list):
            return len(data["jailbreaks"])
        if isinstance(data, dict):
            return sum(len(v) for v in data.values() if isinstance(v, list))
        return len(data) if isinstance(data, list) else None
    return None


def counts(examples: Sequence[Example]) -> dict[str, dict[str, dict[str, int]]]:
    """{group: {split: {"pos": n, "neg": n}}} of the examples actually used."""
    table: dict[str, dict[str, dict[str, int]]] = collections.defaultdict(dict)
    for (group, split, label), n in sorted(collections.Counter((e.group, e.split, e.label) for e in examples).items()):
        table[group].setdefault(split, {"pos": 0, "neg": 0})["pos" if label else "neg"] = n
    return dict(table)


def manifest(name: str, root: Path, examples: Sequence[Example], weights: Path, version: str,
             training: dict, metrics: Sequence[GroupMetrics]) -> dict:
    files = []
    for path in data_files(name, root):
        files.append({"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size,
                      "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "rows": count_rows(path)})
    return {
        "model": name, "version": version, "weights": weights.name,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), "weights_bytes": weights.stat().st_size,
        "files": files, "split_recipe": SPLIT_RECIPE, "examples": counts(examples), "training": training,
        "metrics": [msgspec.to_builtins(m) for m in metrics],
    }


def _metrics_table(rows: Sequence[GroupMetrics]) -> list[str]:
    lines = ["| split | group | n | positives | precision | recall | F1 | FPR | ROC AUC |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        group = f"**{m.group}**" if m.group == "ALL" else m.group
        lines.append(f"| {m.split} | {group} | {m.n} | {m.positives} | {fmt(m.precision)} | {fmt(m.recall)} | "
                     f"{fmt(m.f1)} | {fmt(m.fpr)} | {fmt(m.auc)} |")
    return lines


def model_card(name: str, man: dict, metrics: Sequence[GroupMetrics], spots: Sequence[tuple[str, float]]) -> str:
    text = MODEL_TEXT[name]
    t = man["training"]
    out = [f"# Model card: `{name}` (guardgate built-in classifier)", "", text["summary"], "",
           f"- entity type: `{text['entity_type']}`; version `{man['version']}`",
           f"- weights: `{man['weights']}`, {man['weights_bytes'] / 1e6:.1f} MB (fp16 safetensors), "
           f"sha256 `{man['weights_sha256'][:16]}…`",
           f"- architecture: mean of hashed character {t['config']['ngrams']['min_n']}-{t['config']['ngrams']['max_n']}"
           f"-gram and word 1-{t['config']['ngrams']['word_n']}-gram embeddings ({t['config']['ngrams']['buckets']} buckets × {t['config']['dim']}), one ReLU layer of "
           f"{t['config']['hidden']}, a logistic output; texts are NFKC-normalized and case-folded; long texts are "
           f"scored in windows ({t['config']['window_chars']} chars, {t['config']['overlap_chars']} overlap)",
           f"- training: {t['seconds']:.0f} s on CPU ({t['train_windows']} train windows, seed {t['config']['seed']}); "
           f"epoch {t['chosen_epoch']} of {t['config']['epochs']} kept by its validation score, the mean over val "
           f"groups and classes of the share classified right "
           f"({', '.join(f'{a:.4f}' for a in t['val_score_by_epoch'])} by epoch)"]
    if t.get("limit"):
        out.append(f"- **smoke run**: at most {t['limit']} rows per set and split; these numbers mean nothing")
    if t.get("latency_ms_per_1kb"):
        out.append("- CPU latency per 1 KB text, one thread, on the training machine: "
                   + ", ".join(f"{k} {v:.3f} ms" for k, v in t["latency_ms_per_1kb"].items()))
    out += ["", "## What it is for, and its limits", "", text["limits"], "",
            "## Training data", "", text["data"], "",
            f"Split recipe: {SPLIT_RECIPE}.", "",
            "| group | source set | license | train +/- | val +/- | test +/- | eval +/- |",
            "|---|---|---|---|---|---|---|"]
    for group, splits in man["examples"].items():
        source = group_set(group)
        cells = [f"{splits[s]['pos']}/{splits[s]['neg']}" if s in splits else ""
                 for s in ("train", "val", "test", "eval")]
        out.append(f"| {group} | {source} | {LICENSES.get(source, ('',))[0]} | " + " | ".join(cells) + " |")
    out += ["", "Data files, with sha256 and row counts: "
            f"[`{name}.manifest.json`]({name}.manifest.json).", "",
            "## Metrics", "",
            f"Threshold {t['config']['threshold']} (the policy default; not tuned on test). A text counts as flagged "
            "when any of its windows reaches the threshold. `val` chose the epoch; `test` was looked at once; `eval` "
            "sets were never trained on. `–` where a group has one class only.", ""]
    out += _metrics_table([m for m in metrics if m.split != "eval"]) + ["", "Evaluation-only sets:", ""]
    out += _metrics_table([m for m in metrics if m.split == "eval"]) + ["", text["eval_notes"], ""]
    out += ["## Spot checks", "", "Hand-picked examples, known failures included; not a metric.", "",
            "| text | score | flagged at 0.5 |", "|---|---:|---|"]
    out += [f"| {text.replace('|', '/')} | {score:.3f} | {'yes' if score >= 0.5 else 'no'} |" for text, score in spots]
    out += ["", "## Licenses and attribution", ""]
    for source in sorted({group_set(g) for g in man["examples"]}):
        license_, credit = LICENSES.get(source, ("see the set's LICENSE", ""))
        out.append(f"- `{source}`: {license_}. {credit}".rstrip())
    out += ["", "## Reproduce", "", "```", f"guardgate train {name} --data-dir ../shared/data --seed "
            f"{t['config']['seed']}", "```", "",
            "Training is deterministic for a given seed, data and torch version; the weights' sha256 is in the "
            "manifest.",
            ""]
    return "\n".join(out)
