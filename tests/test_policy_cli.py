"""The offline commands: `policy check`, `policy schema`, `policy test` and `analyze`, through click's runner."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policies.analyze import analyze
from policies.cli import policy
from policies.compiler import DetectorFactory, canonical_version
from policies.loader import load_policy
from policies.schema import json_schema

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "policies" / "default.yaml"
FIXTURES = Path(__file__).parent / "policies"

EMAILS_POLICY = """\
version: 1
name: analyze-contract
input:
  rules:
    - {id: emails, detector: pii, action: redact, entities: [EMAIL_ADDRESS]}
    - {id: cards, detector: pii, action: block, entities: [CREDIT_CARD], message: no cards}
output:
  rules:
    - {id: out.emails, detector: pii, action: hash, entities: [EMAIL_ADDRESS]}
"""


@pytest.fixture(scope="session", autouse=True)
def presidio_imported() -> None:
    """Import Presidio once up front (about ten seconds); each command then builds its analyzer in well under one."""
    DetectorFactory().presidio.analyzer("en", None)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def emails_policy(tmp_path: Path) -> Path:
    path = tmp_path / "emails.yaml"
    path.write_text(EMAILS_POLICY)
    return path


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# --- policy check ------------------------------------------------------------------------------


def test_check_prints_ok_with_the_version_and_rule_counts(runner: CliRunner) -> None:
    result = runner.invoke(policy, ["check", str(DEFAULT)])
    version = canonical_version(load_policy(DEFAULT))[:12]
    assert (result.exit_code, result.output) == (0, f"ok  {DEFAULT}  version {version}  (1 input rules, 1 output rules)\n")


def test_check_reports_every_problem_of_every_file_and_fails(runner: CliRunner) -> None:
    bad = FIXTURES / "many_mistakes.yaml"
    result = runner.invoke(policy, ["check", str(bad), str(DEFAULT)])
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert len(lines) == 7 and lines[-1].startswith(f"ok  {DEFAULT}")
    assert lines[0] == f"{bad}:4:15: max_tokens must be > 0, got 0 (at $.limits.max_tokens)"
    assert all(re.match(rf"{re.escape(str(bad))}:\d+:\d+: .+ \(at \$\S*\)$", line) for line in lines[:-1])


def test_check_compile_locates_a_spacy_model_that_is_not_installed(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ner.yaml"
    path.write_text("version: 1\nname: ner\noutput:\n  rules:\n    - id: names\n      detector: pii\n"
                    "      action: redact\n      entities: [PERSON]\n      nlp_model: xx_no_such_model\n")
    assert runner.invoke(policy, ["check", str(path)]).exit_code == 0  # without --compile nothing is built
    result = runner.invoke(policy, ["check", "--compile", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{path}:9:18: detector does not build or run: spaCy model 'xx_no_such_model' "
                                    "is not installed")
    assert result.output.rstrip().endswith("(at $.output.rules[0].nlp_model)")


def test_check_compile_runs_the_detectors_of_a_good_policy(runner: CliRunner) -> None:
    result = runner.invoke(policy, ["check", "--compile", str(DEFAULT)])
    assert result.exit_code == 0 and result.output.startswith(f"ok  {DEFAULT}  version ")


# --- policy schema -----------------------------------------------------------------------------


def test_schema_prints_the_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(policy, ["schema"])
    assert result.exit_code == 0
    printed = json.loads(result.output)
    assert printed == json_schema()
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_writes_a_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "policy.schema.json"
    result = runner.invoke(policy, ["schema", "--output", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text()) == json_schema()


# --- policy test -------------------------------------------------------------------------------


def test_the_default_policy_passes_its_own_cases(runner: CliRunner) -> None:
    result = runner.invoke(policy, ["test", str(DEFAULT), str(ROOT / "policies" / "default.cases.yaml")])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert result.output.rstrip().endswith("11 passed, 0 failed")


def test_a_failing_case_fails_the_run_and_shows_what_differs(runner: CliRunner) -> None:
    result = runner.invoke(policy, ["test", str(DEFAULT), str(FIXTURES / "cases" / "failing.cases.yaml")],
                           env={"COLUMNS": "200"})  # wide enough that no cell wraps
    assert result.exit_code == 1
    assert result.output.count("PASS") == 1 and result.output.count("FAIL") == 1
    assert "call -+1 415-555-0100 +<PHONE_NUMBER> today" in result.output  # a word diff of the text
    assert result.output.rstrip().endswith("1 passed, 1 failed")


def test_an_invalid_cases_file_reports_located_problems(runner: CliRunner) -> None:
    cases = FIXTURES / "cases" / "invalid.cases.yaml"
    result = runner.invoke(policy, ["test", str(DEFAULT), str(cases)])
    assert result.exit_code == 1
    assert f"{cases}:4:5: unknown key 'expct' (did you mean 'expect'?) (at $.cases[0].expct)" in result.output


# --- analyze: the JSONL contract ---------------------------------------------------------------


def test_analyze_writes_one_line_per_input_in_order(runner: CliRunner, emails_policy: Path) -> None:
    lines = [
        {"text": "mail jane@example.org"},
        {"text": "nothing here", "id": 7},  # other keys are ignored
        {"text": "card 4111 1111 1111 1111 from a@example.com"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = runner.invoke(analyze, ["--policy", str(emails_policy), "--batch-size", "2"], input=stdin)
    assert result.exit_code == 0, result.output
    assert jsonl(result.stdout) == [
        {"decision": "redact", "text": "mail <EMAIL_ADDRESS>", "findings": [
            {"type": "EMAIL_ADDRESS", "start": 5, "end": 21, "score": 1.0, "detector": "pii", "rule": "emails",
             "action": "redact"}]},
        {"decision": "allow", "text": "nothing here", "findings": []},
        {"decision": "block", "text": "card 4111 1111 1111 1111 from <EMAIL_ADDRESS>", "blocked_by": "cards",
         "message": "no cards", "findings": [
             {"type": "CREDIT_CARD", "start": 5, "end": 24, "score": 1.0, "detector": "pii", "rule": "cards",
              "action": "block"},
             {"type": "EMAIL_ADDRESS", "start": 30, "end": 43, "score": 1.0, "detector": "pii", "rule": "emails",
              "action": "redact"}]},
    ]


def test_analyze_offsets_are_characters_not_bytes(runner: CliRunner, emails_policy: Path) -> None:
    text = "héllo 日本 jane@example.org"
    result = runner.invoke(analyze, ["--policy", str(emails_policy)], input=json.dumps({"text": text}) + "\n")
    [finding] = jsonl(result.stdout)[0]["findings"]
    assert text[finding["start"]:finding["end"]] == "jane@example.org"


def test_analyze_runs_the_output_stage(runner: CliRunner, emails_policy: Path) -> None:
    result = runner.invoke(analyze, ["--policy", str(emails_policy), "--stage", "output"],
                           input='{"text": "a@example.com"}\n')
    digest = hashlib.sha256(b"a@example.com").hexdigest()[:16]
    assert jsonl(result.stdout)[0]["text"] == f"<EMAIL_ADDRESS:{digest}>"


def test_analyze_reports_malformed_lines_and_goes_on(runner: CliRunner, emails_policy: Path) -> None:
    stdin = '{"text": "a@example.com"}\nnot json\n\n{"text": 5}\n{"txt": "x"}\n{"text": "ok"}\n'
    result = runner.invoke(analyze, ["--policy", str(emails_policy), "--batch-size", "3"], input=stdin)
    assert result.exit_code == 1
    out = jsonl(result.stdout)
    assert [o.get("decision") or o["line"] for o in out] == ["redact", 2, 4, 5, "allow"]  # blank line 3 skipped
    assert set(out[1]) == {"error", "line"} and "malformed" in out[1]["error"]
    assert "$.text" in out[2]["error"] and "text" in out[3]["error"]


def test_one_failing_line_does_not_fail_its_batch(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text("version: 1\nname: small\ninput:\n  rules:\n"
                    "    - {id: emails, detector: pii, action: redact, entities: [EMAIL_ADDRESS], max_chars: 30}\n")
    stdin = '{"text": "a@example.com"}\n' + json.dumps({"text": "x" * 31}) + '\n{"text": "b@example.com"}\n'
    result = runner.invoke(analyze, ["--policy", str(path)], input=stdin)
    out = jsonl(result.stdout)
    assert [o["decision"] for o in out] == ["redact", "block", "redact"]
    assert out[1]["blocked_by"] == "emails" and out[1]["errors"][0]["outcome"] == "block"
    assert "max_chars (30)" in out[1]["errors"][0]["reason"]
    assert "errors" not in out[0] and "blocked_by" not in out[0]


def test_analyze_refuses_an_invalid_policy_with_exit_2(runner: CliRunner) -> None:
    bad = FIXTURES / "invalid" / "bad_action.yaml"
    result = runner.invoke(analyze, ["--policy", str(bad)], input='{"text": "x"}\n')
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{bad}:7:15: action must be one of" in result.stderr


def test_analyze_refuses_a_policy_whose_detectors_cannot_be_built(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ner.yaml"
    path.write_text("version: 1\nname: ner\ninput:\n  rules:\n    - {id: names, detector: pii, action: redact, "
                    "entities: [PERSON], nlp_model: xx_no_such_model}\n")
    result = runner.invoke(analyze, ["--policy", str(path)], input='{"text": "x"}\n')
    assert result.exit_code == 2 and result.stdout == ""
    assert "spaCy model 'xx_no_such_model' is not installed" in result.stderr


def test_analyze_progress_goes_to_stderr_only(runner: CliRunner, emails_policy: Path) -> None:
    result = runner.invoke(analyze, ["--policy", str(emails_policy), "--progress"], input='{"text": "hi"}\n')
    assert jsonl(result.stdout) == [{"decision": "allow", "text": "hi", "findings": []}]
    assert "1 lines analysed" in result.stderr


def test_analyze_help_documents_the_contract(runner: CliRunner) -> None:
    result = runner.invoke(analyze, ["--help"])
    for key in ('"decision"', '"text"', '"findings"', '"blocked_by"', '"message"', '"error"', '"line"',
                "end exclusive", "Exit status"):
        assert key in result.output
