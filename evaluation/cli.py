"""`guardgate eval`: a policy (and baselines) on labelled data, written as JSON, Markdown and a PNG."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import click

from detectors import DetectorError
from evaluation.baselines import BASELINES, build_baseline
from evaluation.datasets import DATA_DIR_ENV, NAMES, default_data_dir, load_dataset
from evaluation.render import Report, calibrated_point, write
from evaluation.run import Progress, evaluate, predict_all
from evaluation.systems import PolicySystem, System, pii_rules
from evaluation.types import Dataset, DatasetError
from policies.compiler import DetectorFactory
from policies.loader import PolicyError, load_policy
from policies.schema import Policy, StageName

HELP = f"""Measure a policy on labelled data, beside baselines.

\b
DATASET is a name or a JSONL file of your own. Names: {", ".join(NAMES)}.
The public sets are read from --data-dir (default ${DATA_DIR_ENV}, else ../shared/data
beside the repository); cn-synth is generated (--seed; --limit sets its size, default 1000).
openai-moderation:H,HR picks moderation categories (default: any of them); hatecheck:test,
openai-moderation:test (also openai-moderation:test,H), jailbreakbench:test and
cyberseceval[-multilingual]:test keep only the built-in classifiers' held-out split.
A JSONL file has one object per line, all of one kind:
  {{"text": "...", "label": 0 or 1}}                         classification
  {{"text": "...", "spans": [{{"type", "start", "end"}}]}}     PII, end exclusive

\b
Each text runs alone through the real engine (latency is per text). The evaluated rules
(--rule, default every rule of the stage) run with their thresholds at 0 so every score is
seen; headline numbers apply each rule's own threshold, and the sweep covers 0 to 1.
PII sets are scored span by span (exact and overlap match) on the types both the set
labels and the rules look for. Classification sets score an item by its highest finding.

\b
Writes <dataset>.json, <dataset>.md and <dataset>.png under --out.

\b
Examples:
  guardgate eval --policy policies/default.yaml --dataset presidio-synth --baseline presidio
  guardgate eval --policy evaluation/policies/cn-pii.yaml --dataset cn-synth --limit 2000
  guardgate eval --policy tox.yaml --dataset hatecheck --baseline profanity-check --baseline keywords
  guardgate eval --policy inj.yaml --dataset jailbreakbench:test --calibrate-on xstest-safe --max-fpr 0.05
"""


@click.command("eval", help=HELP, context_settings={"max_content_width": 100})
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The policy file (YAML).")
@click.option("--dataset", "datasets", required=True, multiple=True, metavar="NAME_OR_FILE",
              help="A data set name or a JSONL file; repeat for several.")
@click.option("--stage", type=click.Choice(["input", "output"]), default="input", show_default=True)
@click.option("--rule", "rule_ids", multiple=True, metavar="ID", help="Evaluate only these rules; repeatable.")
@click.option("--baseline", "baselines", multiple=True, type=click.Choice(BASELINES),
              help="Run a baseline beside the policy: presidio (stock AnalyzerEngine, same NLP model and entities), "
                   "profanity-check (alt-profanity-check), keywords (a plain keyword list). Repeatable.")
@click.option("--limit", type=click.IntRange(1), help="Evaluate a seeded random sample of this many items.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --limit samples and cn-synth.")
@click.option("--calibrate-on", metavar="NAME_OR_FILE",
              help="Pick each system's threshold on this set's negatives (e.g. xstest-safe) and report there too.")
@click.option("--max-fpr", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="With --calibrate-on: the highest false-positive rate allowed on the calibration set.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=DATA_DIR_ENV,
              help="Folder holding the public data sets.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("eval-results"),
              show_default=True, help="Where the reports go.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="A progress bar on stderr.")
@click.pass_context
def eval_command(ctx: click.Context, policy_path: Path, datasets: tuple[str, ...], stage: StageName,
                 rule_ids: tuple[str, ...], baselines: tuple[str, ...], limit: int | None, seed: int,
                 calibrate_on: str | None, max_fpr: float, data_dir: Path | None, out_dir: Path,
                 progress: bool) -> None:
    data_dir = data_dir or default_data_dir()
    try:
        policy = load_policy(policy_path)
    except (PolicyError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        sets = [load_dataset(name, data_dir, stage, limit, seed) for name in datasets]
        calibration = load_dataset(calibrate_on, data_dir, stage, None, seed) if calibrate_on else None
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from exc
    if calibration is not None and (calibration.kind != "classification"
                                    or not any(not item.label for item in calibration.items)):
        raise click.ClickException(f"--calibrate-on {calibrate_on}: calibration needs a classification set "
                                   "with negative items")
    factory = DetectorFactory()
    systems: list[System] = []
    try:
        systems.append(PolicySystem(policy.name, policy, policy_path, stage, rule_ids, factory))
        systems += [build_baseline(b, policy, stage, rule_ids, factory) for b in baselines]
    except Exception as exc:  # noqa: BLE001 - a detector can fail to build in many ways; say which, not a traceback
        for system in systems:
            system.close()
        reason = str(exc) if isinstance(exc, (ValueError, DetectorError)) else f"{type(exc).__name__}: {exc}"
        raise click.ClickException(f"{policy_path}: could not build the systems to evaluate: {reason}") from exc
    command = _command(ctx)
    try:
        asyncio.run(_run(sets, systems, policy, policy_path, stage, rule_ids, command, progress, calibration,
                         max_fpr, out_dir))
    finally:
        for system in systems:
            system.close()


async def _run(sets: list[Dataset], systems: list[System], policy: Policy, policy_path: Path, stage: StageName,
               rule_ids: tuple[str, ...], command: str, progress: bool, calibration: Dataset | None,
               max_fpr: float, out_dir: Path) -> None:
    rules = pii_rules(policy, stage, rule_ids)
    entities = {e for r in rules for e in r.entities} if rules else None
    with Progress(progress) as bar:
        cal = (calibration, await predict_all(calibration, systems, bar)) if calibration is not None else None
        for dataset in sets:
            report = await evaluate(dataset, systems, policy=str(policy_path), stage=stage, command=command,
                                    rule_entities=entities, progress=bar,
                                    calibration=cal if dataset.kind == "classification" else None, max_fpr=max_fpr)
            paths = await asyncio.to_thread(write, report, out_dir, _slug(dataset.name))
            click.echo(_summary(report) + "\n  " + "\n  ".join(str(p) for p in paths))


def _command(ctx: click.Context) -> str:
    """The command line that reproduces this run, rebuilt from the parsed options (argv differs under test runners)."""
    words = ["guardgate", "eval"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value in (None, (), param.default) or not isinstance(param, click.Option):
            continue
        flag = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
        if isinstance(value, bool):
            words.append(flag if value else param.secondary_opts[0])
            continue
        for v in value if isinstance(value, tuple) else (value,):
            words += [flag, str(v)]
    return shlex.join(words)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _summary(report: Report) -> str:
    lines = [f"{report.dataset} ({report.items} items, {report.stage}):"]
    for s in report.systems:
        lat = f"p50 {s.latency.p50_ms:.2f} ms, p99 {s.latency.p99_ms:.2f} ms" if s.latency.p50_ms is not None else ""
        if report.kind == "pii":
            e, o = s.exact.overall, s.overlap.overall
            lines.append(f"  {s.system}: F1 exact {_f(e.f1)}, overlap {_f(o.f1)} (P {_f(o.precision)}, "
                         f"R {_f(o.recall)}); {lat}")
        else:
            c = s.at_policy_threshold
            line = f"  {s.system}: P {_f(c.precision)}, R {_f(c.recall)}, F1 {_f(c.f1)}, FPR {_f(c.fpr)}; {lat}"
            if s.calibrated:
                line += (f"; at {calibrated_point(s.calibrated.threshold)} (FPR {_f(s.calibrated.calibration.fpr)} on "
                         f"{s.calibrated.on}): TPR {_f(s.calibrated.metrics.recall)}")
            lines.append(line)
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
