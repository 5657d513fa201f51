"""`guardgate audit tail|show` against real databases, through click's CliRunner."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import audit
from audit.records import DecisionRecord
from audit.store import AuditStore
from tests.fixtures.databases import audit_record, pii_decision

WIDE = {"COLUMNS": "250"}  # wide enough that rich never folds a cell the assertions look for


async def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    # The commands call asyncio.run, which cannot nest in the test's running loop: give them a thread.
    return await asyncio.to_thread(CliRunner().invoke, audit, list(args), env={**WIDE, **(env or {})})


@pytest.fixture
async def audit_log(audit_url: str) -> str:
    """An audit database holding three requests: allowed, redacted with findings, blocked."""
    store = AuditStore(audit_url)
    await store.start()
    await store.submit(audit_record("0a1b2c3d4e5f60718293", seconds=0, model="tiny-llm"))
    await store.submit(audit_record(
        "5e6f7a8b9c0d1e2f3a4b", seconds=1, decision="redact",
        input_redacted="Write to <EMAIL_ADDRESS> about [bold red]rent[/bold red]",
        output_redacted="Done: mailed <EMAIL_ADDRESS>.",
        decisions=(pii_decision(9, 24), pii_decision(13, 28, stage="output"),
                   DecisionRecord(stage="output", rule="toxicity", detector="classifier", action="error:allow",
                                  reason="detector timed out")),
    ))
    await store.submit(audit_record("5e6f00000000000000ff", seconds=2, decision="block", blocked_by="injection",
                                    policy_version="abcdef0123456789abcdef"))
    await store.close()
    return audit_url


async def test_tail_prints_the_latest_requests_oldest_first(audit_log: str) -> None:
    result = await invoke("tail", "--audit-url", audit_log)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [next(i for i, line in enumerate(lines) if short in line)
            for short in ("0a1b2c3d4e5f", "5e6f7a8b9c0d", "5e6f00000000")]
    assert rows == sorted(rows)  # newest at the bottom, as tail(1) prints
    blocked = lines[rows[2]]
    for cell in ("2025-01-01 00:00:02", "/v1/chat/completions", "qwen2.5-0.5b-instruct", "block", "403",
                 "injection", "120.5", "20.2", "abcdef012345"):
        assert cell in blocked
    assert "abcdef0123456" not in blocked  # the policy version is cut to 12 characters
    assert "5e6f000000000" not in result.output  # ids are shortened too


async def test_a_narrow_terminal_drops_whole_columns_and_says_so(audit_log: str) -> None:
    result = await invoke("tail", "--audit-url", audit_log, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    blocked = next(line for line in result.output.splitlines() if "5e6f00000000" in line)
    for cell in ("2025-01-01 00:00:02", "block", "403", "injection"):
        assert cell in blocked
    assert "…" not in result.output  # no column is squeezed into ellipses
    assert "hidden for width: route, model" in result.output and "--json" in result.output


async def test_tail_filters_limits_and_speaks_json(audit_log: str) -> None:
    result = await invoke("tail", "--audit-url", audit_log, "--decision", "redact", "--json")
    assert result.exit_code == 0, result.output
    [only] = json.loads(result.output)
    assert (only["id"], only["decision"], only["status"]) == ("5e6f7a8b9c0d1e2f3a4b", "redact", 200)

    result = await invoke("tail", "--audit-url", audit_log, "-n", "2", "--json")
    assert [r["id"] for r in json.loads(result.output)] == ["5e6f7a8b9c0d1e2f3a4b", "5e6f00000000000000ff"]

    result = await invoke("tail", "--audit-url", audit_log, "--decision", "error")
    assert result.exit_code == 0
    assert "No audited requests with decision 'error'" in result.output


async def test_tail_reads_the_url_from_the_environment(audit_log: str) -> None:
    result = await invoke("tail", "--json", env={"GUARDGATE_AUDIT_URL": audit_log})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 3


async def test_show_prints_fields_decisions_and_redacted_text(audit_log: str) -> None:
    result = await invoke("show", "--audit-url", audit_log, "5e6f7a8b9c0d")  # the short id tail prints
    assert result.exit_code == 0, result.output
    out = result.output
    assert "request 5e6f7a8b9c0d1e2f3a4b" in out
    assert "3 decision(s)" in out
    finding = next(line for line in out.splitlines() if "9-24" in line)
    for cell in ("input #0", "pii-redact", "presidio", "redact", "EMAIL_ADDRESS", "0.85"):
        assert cell in finding
    assert "toxicity (output #0, error:allow): detector timed out" in out
    # Stored text is shown literally, never interpreted as rich markup.
    assert "Write to <EMAIL_ADDRESS> about [bold red]rent[/bold red]" in out
    assert "Done: mailed <EMAIL_ADDRESS>." in out


async def test_show_json_round_trips_the_request(audit_log: str) -> None:
    result = await invoke("show", "--audit-url", audit_log, "5e6f7a8b9c0d1e2f3a4b", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["request"]["decision"] == "redact"
    assert shown["request"]["created_at"] == "2025-01-01T00:00:01Z"
    assert [(d["stage"], d["start"], d["end"]) for d in shown["decisions"]] == [
        ("input", 9, 24), ("output", 13, 28), ("output", None, None)]


async def test_show_fails_clearly_for_a_missing_or_ambiguous_id(audit_log: str) -> None:
    result = await invoke("show", "--audit-url", audit_log, "ffff")
    assert result.exit_code == 1
    assert "no request with id or id prefix 'ffff'" in result.output
    assert "guardgate audit tail" in result.output

    result = await invoke("show", "--audit-url", audit_log, "5e6f")
    assert result.exit_code == 1
    assert "matches several requests" in result.output and "give more characters" in result.output


async def test_a_missing_database_file_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    for args in (["tail"], ["show", "abc"]):
        result = await invoke(*args, "--audit-url", f"sqlite:///{missing}")
        assert result.exit_code == 1
        assert f"no audit database at {missing}" in result.output
        assert "--audit-url" in result.output and "GUARDGATE_AUDIT_URL" in result.output
    assert not missing.exists()


async def test_help_shows_an_example() -> None:
    for command in ("tail", "show"):
        result = await invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example:" in result.output and f"guardgate audit {command}" in result.output
        assert "GUARDGATE_AUDIT_URL" in result.output
