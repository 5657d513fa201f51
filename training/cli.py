"""`guardgate train MODEL`: rebuilds a built-in classifier's weights, data manifest and model card."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import msgspec
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from detectors.classifier import MODELS_DIR, ClassifierDetector, NgramScorer, load_model, save_model
from training import recipes, trainer
from training.card import data_files, manifest, model_card
from training.metrics import GroupMetrics, fmt
from training.texts import SPOT_CHECKS
from training.trainer import TrainConfig

LATENCY_TEXT = ("Please summarise the attached report and list the three main risks it names. " * 13)[:1024]


def _check_data(name: str, root: Path) -> None:
    if not root.is_dir():
        raise click.ClickException(
            f"no training data at {root.resolve()}: `guardgate train` reads the shared labelled data sets "
            "(davidson-hate-offensive/, COLDataset/, jailbreakbench-artifacts/, ... with MANIFEST.md), normally "
            "../shared/data next to the repository; pass --data-dir to point at them")
    missing = [p for p in recipes.RECIPES[name].files if not any(root.glob(p)) and not (root / p).exists()]
    if missing:
        raise click.ClickException(f"the data at {root.resolve()} lacks files {name} trains on: {', '.join(missing)}")


def _limit(examples: list[recipes.Example], limit: int | None) -> list[recipes.Example]:
    """At most `limit` rows per (group, split, label), first in recipe order: a deterministic small run."""
    if not limit:
        return examples
    taken: dict[tuple[str, str, int], int] = {}
    out = []
    for e in examples:
        key = (e.group, e.split, e.label)
        if taken.get(key, 0) < limit:
            taken[key] = taken.get(key, 0) + 1
            out.append(e)
    return out


def measure_latency(scorer: NgramScorer, repeats: int = 200) -> dict[str, float]:
    """Milliseconds per 1 KB text on one CPU thread: one text per call, and 64 per call."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for label, batch in (("single", 1), ("batched ×64", 64)):
            texts = [LATENCY_TEXT] * batch
            scorer.probabilities(texts)
            started = time.perf_counter()
            for _ in range(max(1, repeats // batch)):
                scorer.probabilities(texts)
            out[label] = (time.perf_counter() - started) * 1000 / (max(1, repeats // batch) * batch)
        return out
    finally:
        torch.set_num_threads(threads)


def spot_checks(model: str, scorer: NgramScorer) -> list[tuple[str, float]]:
    """The card's hand-picked examples with their scores, and a short abusive or attacking line buried in
    1 KB of benign text at the old default window (1024), the current one (256) and 128: averaging dilutes it."""
    texts = list(SPOT_CHECKS[model])
    rows = list(zip(texts, scorer.probabilities(texts).tolist()))
    filler = "The quarterly meeting moved to Thursday afternoon in room four. " * 8
    buried = filler + texts[0] + " " + filler
    for window in (1024, 256, 128):
        detector = ClassifierDetector(scorer, threshold=0.5, window_chars=window, overlap_chars=window // 4)
        best = max(p for _, _, p in detector.scores([buried])[0])
        rows.append((f"[{texts[0]!r} inside {len(buried)} chars of meeting notes, window_chars={window}]", best))
    return rows


def _write_card(model: str, out: Path, man: dict, scorer: NgramScorer) -> None:
    metrics = msgspec.convert(man["metrics"], list[GroupMetrics])
    card = model_card(model, man, metrics, spot_checks(model, scorer))
    (out / f"{model}.md").write_text(card, encoding="utf-8")


@click.command("train")
@click.argument("model", type=click.Choice(sorted(recipes.RECIPES)))
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("../shared/data"),
              show_default=True, help="Folder holding the shared labelled data sets.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=MODELS_DIR,
              show_default="detectors/models", help="Where the weights, manifest and model card are written.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=TrainConfig().epochs, show_default=True,
              help="Epochs to run; the one that scores best on the validation split is kept.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many rows per set, split and label: a quick smoke run, not a model.")
@click.option("--card-only", is_flag=True, help="Rewrite the model card from the existing weights and manifest.")
def train(model: str, data_dir: Path, out: Path, seed: int, epochs: int, limit: int | None, card_only: bool) -> None:
    """Train the built-in MODEL classifier on the train splits and write its weights, manifest and card."""
    console = Console(stderr=True)
    weights = out / f"{model}.safetensors"
    if card_only:
        man = json.loads((out / f"{model}.manifest.json").read_text(encoding="utf-8"))
        scorer = NgramScorer(*load_model(weights), device=torch.device("cpu"))
        if scorer.version != man["version"]:
            raise click.ClickException(f"{weights} is {scorer.version}, the manifest describes {man['version']}")
        _write_card(model, out, man, scorer)
        console.print(f"rewrote {out / f'{model}.md'}")
        return
    _check_data(model, data_dir)
    examples = _limit(recipes.build(model, data_dir), limit)
    config = TrainConfig(seed=seed, epochs=epochs)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        result = trainer.train(model, examples, config, progress)
    out.mkdir(parents=True, exist_ok=True)
    save_model(result.net, result.meta, weights)
    # Evaluate what ships: the fp16 weights read back, not the float32 net still in memory.
    scorer = NgramScorer(*load_model(weights), device=torch.device("cpu"))
    metrics = trainer.evaluate(scorer, examples, config)
    training = {"config": msgspec.to_builtins(config), "seconds": round(result.seconds, 1),
                "train_windows": result.train_windows, "chosen_epoch": result.chosen_epoch,
                "val_score_by_epoch": [round(a, 5) for a in result.val_score_by_epoch], "limit": limit,
                "torch": torch.__version__, "latency_ms_per_1kb": measure_latency(scorer)}
    man = manifest(model, data_dir, examples, weights, scorer.version, training, metrics)
    (out / f"{model}.manifest.json").write_text(json.dumps(man, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_card(model, out, man, scorer)
    table = Table("split", "group", "n", "P", "R", "FPR", "AUC", title=f"{model} {scorer.version}")
    for m in metrics:
        if m.group == "ALL" or m.split == "eval":
            table.add_row(m.split, m.group, str(m.n), fmt(m.precision), fmt(m.recall), fmt(m.fpr), fmt(m.auc))
    console.print(table)
    console.print(f"wrote {weights}, {model}.manifest.json and {model}.md to {out} ({len(data_files(model, data_dir))} "
                  f"data files, {result.seconds:.0f} s training)")
