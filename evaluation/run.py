"""Runs every system over a data set's items and assembles the report."""

from __future__ import annotations

import sys
from typing import Sequence

from evaluation.render import Report, header
from evaluation.scoring import (Calibrated, ClassificationSection, PiiSection, calibrate, classification_section,
                                pii_section, scored_types)
from evaluation.systems import System
from evaluation.types import Dataset, Prediction


class Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, \
                TimeElapsedColumn, TimeRemainingColumn

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(), console=Console(file=sys.stderr))

    def __enter__(self) -> Progress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def task(self, description: str, total: int) -> object:
        return self._bar.add_task(description, total=total) if self._bar else None

    def advance(self, task: object) -> None:
        if self._bar:
            self._bar.advance(task)  # type: ignore[arg-type]


async def predict_all(dataset: Dataset, systems: Sequence[System], progress: Progress) -> dict[str, list[Prediction]]:
    """Each system over every item, one text per call as the gateway sees a request; systems run one after another
    so their latencies do not share the CPU."""
    results: dict[str, list[Prediction]] = {}
    for system in systems:
        task = progress.task(f"{dataset.name} · {system.name}", len(dataset.items))
        predictions = []
        for item in dataset.items:
            predictions.append(await system.predict(item.text))
            progress.advance(task)
        results[system.name] = predictions
    return results


async def evaluate(dataset: Dataset, systems: Sequence[System], *, policy: str, stage: str, command: str,
                   rule_entities: set[str] | None, progress: Progress,
                   calibration: tuple[Dataset, dict[str, list[Prediction]]] | None = None,
                   max_fpr: float = 0.05) -> Report:
    """The report for one data set: every system's section, calibrated when `calibration` (a set and every
    system's predictions on it, from `predict_all`) is given."""
    predictions = await predict_all(dataset, systems, progress)
    if dataset.kind == "pii":
        types = scored_types(dataset, rule_entities)
        pii: list[PiiSection] = [pii_section(s.name, dataset, predictions[s.name], s.thresholds, s.versions, types)
                                 for s in systems]
        return Report(**header(dataset), policy=policy, stage=stage, scored_types=sorted(types), command=command,
                      systems=pii)
    calibrated: dict[str, Calibrated] = {}
    if calibration is not None:
        cal_set, cal_predictions = calibration
        calibrated = {s.name: calibrate(cal_set.name, cal_set, cal_predictions[s.name], max_fpr, dataset,
                                        predictions[s.name]) for s in systems}
    sections: list[ClassificationSection] = [
        classification_section(s.name, dataset, predictions[s.name], s.thresholds, s.versions,
                               calibrated.get(s.name))
        for s in systems]
    return Report(**header(dataset), policy=policy, stage=stage, command=command, systems=sections)
