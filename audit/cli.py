"""`guardgate audit tail|show`: read the audit log from a terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timezone
from typing import Any, TypeVar

import click
import msgspec
from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from audit import reader
from audit.reader import AuditReadError, DecisionRow, RequestDetail, RequestSummary
from audit.store import DEFAULT_AUDIT_URL

T = TypeVar("T")

_DECISIONS = ("allow", "monitor", "redact", "block", "error")
_DECISION_STYLES = {"allow": "green", "monitor": "cyan", "redact": "yellow", "block": "bold red", "error": "red"}
_SHORT_ID = 12

audit_url_option = click.option(
    "--audit-url",
    envvar="GUARDGATE_AUDIT_URL",
    default=DEFAULT_AUDIT_URL,
    show_default=True,
    help="Audit database URL (sqlite:///path or postgresql://user@host/db). Env: GUARDGATE_AUDIT_URL.",
)


@click.group("audit")
def audit() -> None:
    """Read the audit log: what each request decided, with redacted text only."""


@audit.command("tail")
@audit_url_option
@click.option("-n", "--limit", "limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the latest requests to show.")
@click.option("--decision", type=click.Choice(_DECISIONS), default=None,
              help="Only requests with this decision.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
def tail(audit_url: str, limit: int, decision: str | None, as_json: bool) -> None:
    """Show the latest requests, oldest first so the newest is at the bottom.

    \b
    Example:
      guardgate audit tail -n 50 --decision block
      guardgate audit tail --audit-url postgresql://guardgate@db/guardgate --json
    """
    rows = _run(reader.recent(audit_url, limit, decision=decision))
    rows.reverse()
    if as_json:
        click.echo(msgspec.json.encode(rows).decode())
        return
    if not rows:
        click.echo("No audited requests" + (f" with decision {decision!r}." if decision else " yet."))
        return
    console = Console()
    console.print(_summary_table(rows, console.width))


@audit.command("show")
@audit_url_option
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Print the request and its decisions as JSON.")
def show(audit_url: str, request_id: str, as_json: bool) -> None:
    """Show one request: its fields, its decisions and its redacted input and output.

    REQUEST_ID may be the full id or any unique prefix of it, such as the short id `tail` prints.

    \b
    Example:
      guardgate audit show 3f2a9c1e7b40
    """
    found = _run(reader.get(audit_url, request_id))
    if found is None:
        raise click.ClickException(
            f"no request with id or id prefix {request_id!r} in the audit log; "
            "list recent ids with `guardgate audit tail`."
        )
    detail, decisions = found
    if as_json:
        click.echo(msgspec.json.encode({"request": detail, "decisions": decisions}).decode())
        return
    console = Console()
    console.print(_detail_table(detail))
    console.print(_decisions_table(decisions))
    reasons = _reasons(decisions)
    if reasons is not None:
        console.print(reasons)
    for title, text in (("input (redacted)", detail.input_redacted), ("output (redacted)", detail.output_redacted)):
        # Text(), not a str: stored content must never be parsed as rich markup.
        console.print(Panel(Text(text) if text is not None else Text("(none)", style="dim"), title=title,
                            title_align="left"))


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except AuditReadError as exc:
        raise click.ClickException(str(exc)) from exc


# Display order; when the terminal is too narrow for all of them, the last in _KEEP_FIRST go first.
_TAIL_COLUMNS: tuple[tuple[str, Callable[[RequestSummary], str]], ...] = (
    ("time (UTC)", lambda r: r.created_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")),
    ("id", lambda r: r.id[:_SHORT_ID]),
    ("route", lambda r: r.route),
    ("model", lambda r: r.model or "-"),
    ("decision", lambda r: r.decision),
    ("status", lambda r: str(r.status)),
    ("blocked by", lambda r: r.blocked_by or "-"),
    ("total ms", lambda r: _ms(r.latency_total_ms)),
    ("gateway ms", lambda r: _ms(r.latency_gateway_ms)),
    ("policy version", lambda r: r.policy_version[:12]),
)
_KEEP_FIRST = ("time (UTC)", "id", "decision", "status", "blocked by", "total ms", "gateway ms", "model", "route",
               "policy version")
_NUMERIC = ("status", "total ms", "gateway ms")


def _summary_table(rows: list[RequestSummary], width: int) -> Table:
    cells = {name: [cell(r) for r in rows] for name, cell in _TAIL_COLUMNS}
    # Rich squeezes every column of a too-wide table into unreadable slivers; dropping whole columns reads better.
    needed = {name: max(len(name), *(len(c) for c in column)) + 2 for name, column in cells.items()}
    shown: set[str] = set()
    for name in _KEEP_FIRST:
        if sum(needed[n] for n in shown) + needed[name] + 1 <= width or not shown:
            shown.add(name)
    hidden = [name for name, _ in _TAIL_COLUMNS if name not in shown]
    caption = f"hidden for width: {', '.join(hidden)} (widen the terminal or use --json)" if hidden else None
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, caption=caption,
                  caption_justify="left")
    names = [name for name, _ in _TAIL_COLUMNS if name in shown]
    for name in names:
        table.add_column(name, justify="right" if name in _NUMERIC else "left", no_wrap=True)
    for i, r in enumerate(rows):
        table.add_row(*(Text(cells[name][i], style=_DECISION_STYLES.get(r.decision, "") if name == "decision" else "")
                        for name in names))
    return table


def _detail_table(d: RequestDetail) -> Table:
    table = Table(title=f"request {d.id}", title_justify="left", show_header=False, box=box.SIMPLE)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name in RequestDetail.__struct_fields__:
        if name in ("input_redacted", "output_redacted"):
            continue
        value = getattr(d, name)
        if name == "decision":
            table.add_row(name, Text(value, style=_DECISION_STYLES.get(value, "")))
        elif name.endswith("_ms"):
            table.add_row(name, _ms(value))
        else:
            table.add_row(name, Text("-" if value is None else str(value)))
    return table


def _decisions_table(decisions: list[DecisionRow]) -> Table:
    table = Table(title=f"{len(decisions)} decision(s)", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for name in ("stage", "rule", "detector", "action", "entity", "span", "score"):
        table.add_column(name, justify="right" if name == "score" else "left")
    for d in decisions:
        table.add_row(
            # `item` is the message (input) or choice (output) the span lies in.
            Text(f"{d.stage} #{d.item}"), Text(d.rule), Text(d.detector), Text(d.action), Text(d.entity_type or "-"),
            "-" if d.start is None else f"{d.start}-{d.end}", "-" if d.score is None else f"{d.score:.2f}",
        )
    return table


def _reasons(decisions: list[DecisionRow]) -> Text | None:
    lines = [f"{d.rule} ({d.stage} #{d.item}, {d.action}): {d.reason}" for d in decisions if d.reason]
    return Text("detector errors:\n" + "\n".join(f"  {line}" for line in lines), style="red") if lines else None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
