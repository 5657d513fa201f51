"""Writes a report as JSON, a Markdown table and a PNG of precision and recall against threshold."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import msgspec

from evaluation.metrics import ClassCounts
from evaluation.scoring import ClassificationSection, PiiSection
from evaluation.types import Dataset

Section = PiiSection | ClassificationSection


class Report(msgspec.Struct, kw_only=True):
    dataset: str
    kind: str
    source: str
    items: int
    notes: list[str]
    policy: str
    stage: str
    scored_types: list[str] = []
    command: str
    systems: list[PiiSection] | list[ClassificationSection]


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def calibrated_point(threshold: float) -> str:
    """A calibrated threshold sits just above a negative's score: "> 0.3809" says which items it flags."""
    return "≥ 0" if threshold == 0.0 else f"> {math.nextafter(threshold, 0.0):.6g}"


def _thresholds(section: Section) -> str:
    return ", ".join(f"{rule} ≥ {value:g}" for rule, value in section.thresholds.items())


def markdown(report: Report) -> str:
    lines = [f"# {report.dataset}: {report.kind}, {report.items} items, {report.stage} stage of `{report.policy}`", "",
             f"Command: `{report.command}`", "", f"Source: `{report.source}`", ""]
    lines += [f"- {note}" for note in report.notes] + [""]
    lines += ["Systems: " + "; ".join(f"{s.system} ({', '.join(f'{k}: {v}' for k, v in s.versions.items())})"
                                      for s in report.systems) + ".", ""]
    if report.kind == "pii":
        lines += _pii_markdown(report)
    else:
        lines += _classification_markdown(report)
    return "\n".join(lines)


def _pii_markdown(report: Report) -> list[str]:
    sections: list[PiiSection] = report.systems  # type: ignore[assignment]
    lines = [f"Scored entity types: {', '.join(report.scored_types) or 'none'}.", "",
             "## At each system's operating threshold", ""]
    rows = []
    for s in sections:
        for mode in (s.exact, s.overlap):
            o = mode.overall
            rows.append([s.system, mode.mode, _thresholds(s), _f(o.precision), _f(o.recall), _f(o.f1),
                         str(o.tp), str(o.fp), str(o.fn), _ms(s.latency.p50_ms), _ms(s.latency.p99_ms), str(s.errors)])
    lines += _table(["system", "match", "threshold", "precision", "recall", "F1", "TP", "FP", "FN", "p50 ms",
                     "p99 ms", "errors"], rows)
    lines += ["## Per entity type", ""]
    rows = []
    for entity_type in report.scored_types:
        for s in sections:
            e, o = s.exact.per_type[entity_type], s.overlap.per_type[entity_type]
            rows.append([entity_type, s.system, str(e.tp + e.fn), _f(e.precision), _f(e.recall), _f(e.f1),
                         _f(o.precision), _f(o.recall), _f(o.f1)])
    lines += _table(["type", "system", "gold", "P exact", "R exact", "F1 exact", "P overlap", "R overlap",
                     "F1 overlap"], rows)
    unscored = [f"{s.system}: " + ", ".join(f"{t} {n}" for t, n in s.unscored_predictions.items())
                for s in sections if s.unscored_predictions]
    if unscored:
        lines += ["Predictions of types the set does not label (not scored): " + "; ".join(unscored) + ".", ""]
    lines += ["## Threshold sweep (overlap match)", ""]
    rows = []
    for i in range(0, 101, 10):
        row = [f"{i / 100:.1f}"]
        for s in sections:
            o = s.sweep[i].overlap
            row += [_f(o.precision), _f(o.recall), _f(o.f1)]
        rows.append(row)
    lines += _table(["threshold", *(f"{s.system} {m}" for s in sections for m in ("P", "R", "F1"))], rows)
    return lines


def _classification_markdown(report: Report) -> list[str]:
    sections: list[ClassificationSection] = report.systems  # type: ignore[assignment]
    lines = ["## At each system's operating threshold", ""]
    header = ["system", "threshold", "precision", "recall", "F1", "FPR", "TP", "FP", "TN", "FN", "p50 ms", "p99 ms",
              "errors"]

    def row(name: str, threshold: str, c: ClassCounts, s: ClassificationSection) -> list[str]:
        return [name, threshold, _f(c.precision), _f(c.recall), _f(c.f1), _f(c.fpr), str(c.tp), str(c.fp),
                str(c.tn), str(c.fn), _ms(s.latency.p50_ms), _ms(s.latency.p99_ms), str(s.errors)]

    lines += _table(header, [row(s.system, _thresholds(s), s.at_policy_threshold, s) for s in sections])
    calibrated = [s for s in sections if s.calibrated]
    if calibrated:
        c0 = calibrated[0].calibrated
        lines += [f"## At the threshold whose FPR on {c0.on} is at most {c0.max_fpr:g}", ""]
        lines += _table(["system", "threshold", f"FPR on {c0.on}", "precision", "recall (TPR)", "F1", "FPR", "TP",
                         "FP", "TN", "FN"],
                        [[s.system, calibrated_point(s.calibrated.threshold), _f(s.calibrated.calibration.fpr),
                          _f(s.calibrated.metrics.precision), _f(s.calibrated.metrics.recall),
                          _f(s.calibrated.metrics.f1), _f(s.calibrated.metrics.fpr), str(s.calibrated.metrics.tp),
                          str(s.calibrated.metrics.fp), str(s.calibrated.metrics.tn), str(s.calibrated.metrics.fn)]
                         for s in calibrated])
    lines += ["## Threshold sweep", ""]
    rows = []
    for i in range(0, 101, 10):
        r = [f"{i / 100:.1f}"]
        for s in sections:
            c = s.sweep[i]
            r += [_f(c.precision), _f(c.recall), _f(c.fpr)]
        rows.append(r)
    lines += _table(["threshold", *(f"{s.system} {m}" for s in sections for m in ("P", "R", "FPR"))], rows)
    if sections and sections[0].groups:
        point = "the calibrated threshold" if sections[0].calibrated else "each system's operating threshold"
        lines += [f"## By group, at {point}", ""]
        by_group = {g.group: [g] for g in sections[0].groups}
        for s in sections[1:]:
            for g in s.groups:
                by_group.setdefault(g.group, []).append(g)
        header = ["group", "items", "positives", *(f"{s.system} {m}" for s in sections for m in ("recall", "FPR"))]
        lines += _table(header, [[name, str(gs[0].items), str(gs[0].positives),
                                  *(v for g in gs for v in (_f(g.recall), _f(g.fpr)))]
                                 for name, gs in by_group.items()])
    return lines


def plot(report: Report, path: Path) -> None:
    """Precision and recall (or FPR, for a set with no positives) of each system against threshold."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for s in report.systems:
        xs = [p.threshold for p in s.sweep]
        if isinstance(s, PiiSection):
            curves = {"precision": [p.overlap.precision for p in s.sweep],
                      "recall": [p.overlap.recall for p in s.sweep]}
        else:
            curves = {"precision": [p.precision for p in s.sweep], "recall": [p.recall for p in s.sweep],
                      "FPR": [p.fpr for p in s.sweep]}
        for (label, ys), style in zip(curves.items(), ("-", "--", ":")):
            if any(y is not None for y in ys):
                ax.plot(xs, [float("nan") if y is None else y for y in ys], style, label=f"{s.system} {label}")
    match = " (span overlap)" if report.kind == "pii" else ""
    ax.set(xlabel="threshold", ylabel="rate", ylim=(-0.02, 1.02), xlim=(0, 1),
           title=f"{report.dataset}: precision and recall against threshold{match}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(report: Report, out_dir: Path, stem: str) -> list[Path]:
    """<stem>.json, <stem>.md and <stem>.png under out_dir; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.json", out_dir / f"{stem}.md", out_dir / f"{stem}.png"]
    paths[0].write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")
    paths[1].write_text(markdown(report) + "\n", encoding="utf-8")
    plot(report, paths[2])
    return paths


def header(dataset: Dataset) -> dict:
    return {"dataset": dataset.name, "kind": dataset.kind, "source": dataset.source, "items": len(dataset.items),
            "notes": list(dataset.notes)}
