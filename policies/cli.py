"""`guardgate policy ...`: check, print the schema of, and test policy files, all offline."""

from __future__ import annotations

import asyncio
import difflib
import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from detectors import DetectorError
from policies.casetest import CaseResult, OfflineRunner, hash_key_from_env, load_cases, run_cases
from policies.compiler import DetectorFactory, canonical_version
from policies.loader import Locations, PolicyError, Problem, load_policy, load_policy_located, read_text
from policies.schema import Policy, json_schema


@click.group("policy")
def policy() -> None:
    """Check, describe and test policy files without starting the gateway."""


@policy.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--compile", "compile_", is_flag=True,
              help="Also build each rule's detector and run it once on a short text: catches a spaCy model "
                   "that is not installed, or entities no recognizer serves in the rule's language. Slower "
                   "(Presidio takes seconds to import).")
def check(files: tuple[str, ...], compile_: bool) -> None:
    """Validate policy FILES and report every problem with file:line:column.

    \b
    For a valid file prints
      ok  FILE  version <first 12 hex digits of its sha256>  (N input rules, M output rules)
    The version is what the audit log records; comments and key order do not change it.
    Exits 1 if any file has a problem.

    \b
    Examples:
      guardgate policy check policies/default.yaml
      guardgate policy check --compile staging.yaml production.yaml
    """
    factory = DetectorFactory() if compile_ else None
    failed = False
    for file in files:
        try:
            loaded, locations = load_policy_located(read_text(file), file)
            problems = _compile_problems(loaded, locations, factory) if factory else []
        except PolicyError as exc:
            problems = exc.problems
        if problems:
            failed = True
            for problem in problems:
                click.echo(str(problem))
            continue
        click.echo(f"ok  {file}  version {canonical_version(loaded)[:12]}  "
                   f"({len(loaded.input.rules)} input rules, {len(loaded.output.rules)} output rules)")
    if failed:
        raise click.exceptions.Exit(1)


def _compile_problems(loaded: Policy, locations: Locations, factory: DetectorFactory) -> list[Problem]:
    problems = []
    for stage in ("input", "output"):
        for i, rule in enumerate(loaded.stage(stage).rules):
            path = (stage, "rules", i)
            try:
                factory.build(rule, Path(locations.filename).parent).detect_batch(["guardgate compile probe: jane@example.org"])
            except Exception as exc:  # noqa: BLE001 - any failure to build or run is the author's to fix
                where = (*path, "nlp_model") if getattr(rule, "nlp_model", None) else path
                problems.append(locations.problem(where, f"detector does not build or run: {exc}"))
    return problems


@policy.command("schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the schema to this file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the policy file's JSON Schema (draft 2020-12).

    \b
    Point your editor's YAML language server at it for completion and inline errors,
    e.g. with a first line in the policy file:
      # yaml-language-server: $schema=./policy.schema.json

    \b
    Examples:
      guardgate policy schema
      guardgate policy schema --output policy.schema.json
    """
    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@policy.command("test")
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.argument("cases_file", type=click.Path(dir_okay=False))
def test(policy_file: str, cases_file: str) -> None:
    """Run the example texts of CASES_FILE through POLICY_FILE with the real detectors.

    \b
    CASES_FILE is YAML:
      cases:
        - name: e-mail is redacted
          stage: input                 # or output; default input
          text: "write to jane@example.org"
          expect:
            decision: redact           # allow, monitor, redact or block
            text: "write to <EMAIL_ADDRESS>"   # optional
            rule: pii.input            # optional, with decision: block only

    \b
    Prints a table of every case and exits 1 if any case fails. Hash actions are
    keyed with $GUARDGATE_HASH_KEY when it is set, as in the gateway.

    \b
    Example:
      guardgate policy test policies/default.yaml policies/default.cases.yaml
    """
    try:
        loaded = load_policy(policy_file)
        cases = load_cases(cases_file)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        raise click.exceptions.Exit(1) from None
    try:
        runner = OfflineRunner(loaded, source=policy_file, hash_key=hash_key_from_env())
    except DetectorError as exc:
        click.echo(f"{policy_file}: a detector could not be built: {exc}")
        raise click.exceptions.Exit(1) from None
    with runner:
        results = asyncio.run(run_cases(runner, cases))
    console = Console(highlight=False)
    console.print(_table(results))
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise click.exceptions.Exit(1)


def _table(results: list[CaseResult]) -> Table:
    table = Table(show_lines=True)
    for column in ("", "case", "stage", "expected", "got", "text diff"):
        table.add_column(column, overflow="fold")
    for r in results:
        expect = r.case.expect
        expected = expect.decision + (f" by {expect.rule}" if expect.rule else "")
        got = r.verdict.decision + (f" by {r.verdict.blocked_by}" if r.verdict.blocked_by else "")
        got += "".join(f"\n{escape(e.rule)}: {escape(e.reason)}" for e in r.verdict.errors)
        diff = _diff(expect.text, r.got_text) if expect.text is not None and expect.text != r.got_text else ""
        mark = "[green]PASS[/]" if r.passed else "[red]FAIL[/]"
        table.add_row(mark, escape(r.case.name), r.case.stage, escape(expected), got, diff)
    return table


def _diff(expected: str, got: str) -> str:
    """A word-level diff in rich markup: removed words red and struck, added words green."""
    old, new = expected.split(" "), got.split(" ")
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            parts.append(escape(" ".join(old[i1:i2])))
        if tag in ("delete", "replace"):
            parts.append(f"[red strike]-{escape(' '.join(old[i1:i2]))}[/]")
        if tag in ("insert", "replace"):
            parts.append(f"[green]+{escape(' '.join(new[j1:j2]))}[/]")
    return " ".join(parts)
