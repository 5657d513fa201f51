"""`guardgate analyze`: runs one policy stage over JSONL texts offline, with the same engine as the gateway."""

from __future__ import annotations

import asyncio
import sys
from typing import IO, Iterator

import click
import msgspec

from detectors import DetectorError
from policies.casetest import OfflineRunner, hash_key_from_env
from policies.loader import PolicyError, load_policy
from policies.schema import StageName
from policies.verdict import Decision, RuleError, RuleFinding

HELP = """Run a policy stage over JSON Lines texts and print what it decides.

\b
Reads one JSON object per line from stdin, each with a "text" string (other
keys are ignored, blank lines skipped), and writes exactly one JSON line per
non-blank input line to stdout, in input order:

\b
  {"decision": "allow" | "monitor" | "redact" | "block",
   "text": "...",            the text the gateway would forward; for a block,
                             what it would have forwarded had nothing blocked
   "findings": [{"type": "EMAIL_ADDRESS", "start": 11, "end": 27,
                 "score": 1.0, "detector": "pii", "rule": "pii.input",
                 "action": "redact"}, ...],   in text order
   "blocked_by": "rule-id",  only when decision is "block"
   "message": "...",         only when decision is "block"
   "errors": [{"rule", "detector", "outcome", "reason"}]
                             only when a detector failed (on_error decided)}

\b
start and end are character offsets into the input text, end exclusive.
A line that is not valid input gives {"error": "...", "line": N} (N counts
from 1) and processing goes on.

\b
Exit status: 0 if every line was analysed, 1 if any line was malformed,
2 if the policy file is invalid or its detectors cannot be built (the
problems are printed to stderr).
Hash actions are keyed with $GUARDGATE_HASH_KEY when it is set, as in
the gateway, so digests match the gateway's.

\b
Examples:
  echo '{"text": "mail me at jane@example.org"}' | guardgate analyze --policy policies/default.yaml
  guardgate analyze --policy my.yaml --stage output --progress < generations.jsonl > verdicts.jsonl
"""


class _Input(msgspec.Struct):
    """An input line; unknown keys are allowed so existing JSONL exports can be piped in as they are."""

    text: str


class _Output(msgspec.Struct, omit_defaults=True):
    decision: Decision
    text: str
    findings: tuple[RuleFinding, ...]
    blocked_by: str | None = None
    message: str | None = None
    errors: tuple[RuleError, ...] = ()


class _LineError(msgspec.Struct):
    error: str
    line: int


@click.command("analyze", help=HELP)
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False),
              help="The policy file (YAML).")
@click.option("--stage", type=click.Choice(["input", "output"]), default="input", show_default=True,
              help="Which of the policy's stages to run.")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=32, show_default=True,
              help="Texts evaluated together in one engine call.")
@click.option("--progress", is_flag=True, help="Show a progress counter on stderr.")
@click.pass_context
def analyze(ctx: click.Context, policy_path: str, stage: StageName, batch_size: int, progress: bool) -> None:
    try:
        policy = load_policy(policy_path)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        ctx.exit(2)
    try:
        runner = OfflineRunner(policy, source=policy_path, hash_key=hash_key_from_env())
    except DetectorError as exc:
        click.echo(f"{policy_path}: a detector could not be built: {exc}", err=True)
        ctx.exit(2)
    with runner:
        malformed = asyncio.run(_analyze(runner, stage, sys.stdin, sys.stdout, batch_size, progress))
    if malformed:
        ctx.exit(1)


async def _analyze(runner: OfflineRunner, stage: StageName, stdin: IO[str], stdout: IO[str], batch_size: int,
                   progress: bool) -> int:
    """Writes one line per input line; returns how many input lines were malformed."""
    malformed = 0
    lines = _numbered_lines(stdin)
    with _Progress(progress) as bar:
        while batch := await asyncio.to_thread(_take, lines, batch_size):
            parsed: list[tuple[int, _Input | str]] = [(n, _parse(raw)) for n, raw in batch]
            texts = [p.text for _, p in parsed if isinstance(p, _Input)]
            verdicts = iter(await runner.evaluate(stage, texts) if texts else [])
            out = []
            for number, item in parsed:
                if isinstance(item, str):
                    malformed += 1
                    out.append(msgspec.json.encode(_LineError(error=item, line=number)))
                else:
                    v = next(verdicts)
                    out.append(msgspec.json.encode(_Output(
                        decision=v.decision, text=runner.forwarded_text(v), findings=_in_text_order(v.findings),
                        blocked_by=v.blocked_by, message=v.message, errors=v.errors)))
            # Writes stay on the loop thread: this loop serves only this command, nothing else waits on it.
            stdout.write("".join(line.decode() + "\n" for line in out))
            stdout.flush()
            bar.advance(len(batch))
    return malformed


def _in_text_order(findings: tuple[RuleFinding, ...]) -> tuple[RuleFinding, ...]:
    """The engine lists findings rule by rule; readers of the output expect them in text order."""
    return tuple(sorted(findings, key=lambda f: (f.start, f.end)))


def _numbered_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(stream, start=1):
        if raw.strip():
            yield number, raw


def _take(lines: Iterator[tuple[int, str]], n: int) -> list[tuple[int, str]]:
    batch = []
    for item in lines:
        batch.append(item)
        if len(batch) == n:
            break
    return batch


def _parse(raw: str) -> _Input | str:
    """The input, or why the line is not valid input."""
    try:
        return msgspec.json.decode(raw, type=_Input)
    except msgspec.DecodeError as exc:
        return str(exc)


class _Progress:
    """A rich counter on stderr when asked for, and nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.completed} lines analysed"),
                                      TimeElapsedColumn(), console=Console(file=sys.stderr), transient=False)
            self._task = self._progress.add_task("analyse", total=None)

    def __enter__(self) -> _Progress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()

    def advance(self, n: int) -> None:
        if self._progress:
            self._progress.advance(self._task, n)
