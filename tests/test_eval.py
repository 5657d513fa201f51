"""`guardgate eval`: metrics on hand-made sets with known answers, the loaders, the CN generator, the CLI end to end."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from detectors.checksums import cn_id_valid, luhn_valid, uscc_valid
from detectors.textfeatures import normalize
from evaluation.cli import eval_command
from evaluation.cn_synth import generate
from evaluation.datasets import default_data_dir, load_dataset, load_jsonl, public_path
from evaluation.public_sets import HATECHECK, held_out_test, held_out_test_fifth
from evaluation.metrics import (classify, match_counts, percentile, span_report, sweep, threshold_at_fpr)
from evaluation.types import DatasetError, Span

DATA = Path(__file__).parent / "data" / "eval"
SHARED = default_data_dir()


def needs_shared(name: str) -> pytest.MarkDecorator:
    path = public_path(name, SHARED)
    return pytest.mark.skipif(not path.exists(), reason=f"shared data set {name!r} absent: expected {path} "
                                                        "(set GUARDGATE_DATA_DIR to the shared data folder)")


# --- span metrics ------------------------------------------------------------------------------

def test_exact_needs_both_offsets_overlap_needs_one_shared_character() -> None:
    gold, pred = [Span("EMAIL", 0, 5)], [Span("EMAIL", 0, 6)]
    assert match_counts(gold, pred, "exact") == {"EMAIL": [0, 1, 1]}
    assert match_counts(gold, pred, "overlap") == {"EMAIL": [1, 0, 0]}
    assert match_counts(gold, [Span("EMAIL", 5, 9)], "overlap") == {"EMAIL": [0, 1, 1]}  # touching is not sharing


def test_overlap_is_one_to_one_so_a_long_prediction_satisfies_one_gold_span() -> None:
    gold = [Span("LOCATION", 0, 3), Span("LOCATION", 4, 7)]
    assert match_counts(gold, [Span("LOCATION", 0, 7)], "overlap") == {"LOCATION": [1, 0, 1]}


def test_a_span_of_the_wrong_type_is_a_miss_and_a_false_alarm() -> None:
    assert match_counts([Span("US_SSN", 0, 11)], [Span("PHONE_NUMBER", 0, 11)], "overlap") == {
        "US_SSN": [0, 0, 1], "PHONE_NUMBER": [0, 1, 0]}


def test_span_report_is_micro_averaged_per_type_and_restricted_to_the_scored_types() -> None:
    pairs = [
        ([Span("A", 0, 4), Span("B", 10, 14)], [Span("A", 0, 4), Span("B", 10, 15)]),
        ([Span("A", 0, 4)], [Span("A", 20, 24), Span("C", 0, 2)]),  # C is not scored
        ([], [Span("B", 1, 2)]),
    ]
    exact = span_report(pairs, {"A", "B"}, "exact")
    assert (exact.per_type["A"].tp, exact.per_type["A"].fp, exact.per_type["A"].fn) == (1, 1, 1)
    assert (exact.per_type["B"].tp, exact.per_type["B"].fp, exact.per_type["B"].fn) == (0, 2, 1)
    assert (exact.overall.tp, exact.overall.fp, exact.overall.fn) == (1, 3, 2)
    assert exact.overall.precision == pytest.approx(1 / 4)
    assert exact.overall.recall == pytest.approx(1 / 3)
    assert exact.overall.f1 == pytest.approx(2 / 7)
    overlap = span_report(pairs, {"A", "B"}, "overlap")
    assert (overlap.overall.tp, overlap.overall.fp, overlap.overall.fn) == (2, 2, 1)
    assert "C" not in overlap.per_type


def test_undefined_rates_are_none_not_zero() -> None:
    report = span_report([([], [])], {"A"}, "exact")
    assert (report.overall.precision, report.overall.recall, report.overall.f1) == (None, None, None)
    misses = span_report([([Span("A", 0, 1)], [])], {"A"}, "exact")
    assert (misses.overall.precision, misses.overall.recall, misses.overall.f1) == (None, 0.0, 0.0)


# --- classification metrics ----------------------------------------------------------------------

def test_confusion_counts_and_false_positive_rate_at_a_threshold() -> None:
    labels = [1, 1, 1, 0, 0, 0, 0]
    scores = [0.9, 0.6, None, 0.7, 0.2, None, 0.6]
    at = classify(labels, scores, 0.6)
    assert (at.tp, at.fn, at.fp, at.tn) == (2, 1, 2, 2)
    assert at.fpr == pytest.approx(2 / 4)
    assert at.precision == pytest.approx(2 / 4)
    assert at.recall == pytest.approx(2 / 3)
    benign = classify([0, 0], [0.1, None], 0.5)
    assert (benign.fpr, benign.recall, benign.precision) == (0.0, None, None)


@given(st.lists(st.tuples(st.integers(0, 1), st.none() | st.floats(0, 1)), min_size=1, max_size=60))
def test_sweep_recall_and_fpr_never_rise_with_the_threshold(rows) -> None:
    labels, scores = [r[0] for r in rows], [r[1] for r in rows]
    points = sweep(labels, scores)
    for low, high in zip(points, points[1:]):
        assert low.threshold < high.threshold
        assert (low.tp + low.fp) >= (high.tp + high.fp)
        if low.recall is not None:
            assert low.recall >= high.recall
        if low.fpr is not None:
            assert low.fpr >= high.fpr


def test_threshold_at_fpr_keeps_ties_at_the_boundary_unflagged() -> None:
    negatives = [0.9, 0.8, 0.8, 0.1, None]
    t = threshold_at_fpr(negatives, 0.4)  # two of five may be flagged, but 0.8 is tied: only 0.9 can be
    assert 0.8 < t <= math.nextafter(0.8, 1)
    assert classify([0] * 5, negatives, t).fpr == pytest.approx(0.2)
    assert threshold_at_fpr(negatives, 1.0) == 0.0


@given(st.lists(st.none() | st.floats(0, 1), min_size=1, max_size=50), st.floats(0, 1))
def test_threshold_at_fpr_respects_the_bound_and_is_the_lowest_that_does(negatives, max_fpr) -> None:
    t = threshold_at_fpr(negatives, max_fpr)
    assert classify([0] * len(negatives), negatives, t).fpr <= max_fpr + 1e-12
    lower = [s for s in negatives if s is not None and s < t]
    if lower:
        assert classify([0] * len(negatives), negatives, max(lower)).fpr > max_fpr


def test_percentiles_interpolate_like_numpy() -> None:
    values = [5.0, 1.0, 3.0, 10.0, 2.0, 8.0]
    for q in (0, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None


# --- loaders -------------------------------------------------------------------------------------

def test_jsonl_pii_and_classification_files_load_with_their_kind_and_types() -> None:
    pii = load_jsonl(DATA / "pii.jsonl")
    assert pii.kind == "pii" and len(pii.items) == 5
    assert pii.label_types == {"EMAIL_ADDRESS", "CREDIT_CARD", "IP_ADDRESS", "PERSON"}
    first = pii.items[0]
    assert first.text[first.spans[0].start:first.spans[0].end] == "jane.doe@example.org"
    tox = load_jsonl(DATA / "toxicity.jsonl")
    assert tox.kind == "classification"
    assert [i.label for i in tox.items] == [1, 1, 1, 0, 0, 0]
    assert tox.items[0].group == "insult"


@pytest.mark.parametrize(("lines", "message"), [
    ('{"text": "a", "label": 1}\n{"text": "b", "spans": []}\n', "bad.jsonl:2: a pii row in a classification file"),
    ('{"text": "abc", "spans": [{"type": "X", "start": 1, "end": 4}]}\n', "bad.jsonl:1: span X [1, 4) is not inside"),
    ('{"text": "a", "label": 2}\n', "bad.jsonl:1: label must be 0 or 1"),
    ('{"text": "a"}\n', "bad.jsonl:1: a row needs exactly one of"),
    ('\n{"text": 3, "label": 0}\n', "bad.jsonl:2: Expected `str`"),
    ('', "bad.jsonl: no rows"),
])
def test_jsonl_problems_name_the_file_and_line(tmp_path: Path, lines: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(lines)
    with pytest.raises(DatasetError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_jsonl(path)


def test_a_missing_public_set_names_the_path_it_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset("hatecheck", tmp_path)
    assert str(tmp_path / "hatecheck" / "test_suite_cases.csv") in str(caught.value)
    assert "--data-dir" in str(caught.value)


def test_an_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="neither a known data set .*presidio-synth"):
        load_dataset("no-such-set", tmp_path)


def test_limit_takes_a_seeded_sample_in_the_set_order() -> None:
    first = load_dataset(str(DATA / "toxicity.jsonl"), SHARED, limit=3, seed=7)
    again = load_dataset(str(DATA / "toxicity.jsonl"), SHARED, limit=3, seed=7)
    assert [i.id for i in first.items] == [i.id for i in again.items]
    assert len(first.items) == 3
    assert [i.id for i in first.items] == sorted(i.id for i in first.items)
    assert "seeded sample (seed 7)" in first.notes[-1]


@needs_shared("presidio-synth")
def test_presidio_synth_maps_names_and_keeps_exclusive_ends() -> None:
    dataset = load_dataset("presidio-synth", SHARED)
    assert dataset.kind == "pii" and len(dataset.items) == 1500
    types = {s.type for item in dataset.items for s in item.spans}
    assert {"LOCATION", "URL", "PERSON", "CREDIT_CARD"} <= types
    assert not types & {"GPE", "STREET_ADDRESS", "DOMAIN_NAME", "TITLE", "AGE", "ZIP_CODE"}
    raw = json.loads((SHARED / "presidio-research/data/synth_dataset_v2.json").read_text())
    emails = [(r["full_text"], s) for r in raw for s in r["spans"] if s["entity_type"] == "EMAIL_ADDRESS"]
    text, span = emails[0]
    assert text[span["start_position"]:span["end_position"]] == span["entity_value"]
    assert any("AGE (74 spans)" in note for note in dataset.notes)


@needs_shared("jailbreakbench")
@needs_shared("cyberseceval")
def test_test_option_keeps_the_classifiers_held_out_tenth_whole_per_behavior_and_case() -> None:
    full, test = load_dataset("jailbreakbench", SHARED).items, load_dataset("jailbreakbench:test", SHARED).items
    def behavior(item) -> str:
        return item.id.rsplit("/", 1)[1]

    behaviors = {behavior(i) for i in test}
    assert 0 < len(test) < len(full) / 5
    assert len([i for i in full if behavior(i) in behaviors]) == len(test)  # every attack on those goals
    assert all(held_out_test(f"jbb:{b}") for b in behaviors)
    cse = load_dataset("cyberseceval-multilingual:test", SHARED)
    assert cse.name == "cyberseceval-multilingual:test" and 0 < len(cse.items) < 1004 / 5
    with pytest.raises(DatasetError, match="only the option 'test'"):
        load_dataset("cyberseceval:train", SHARED)


@needs_shared("hatecheck")
@needs_shared("openai-moderation")
def test_hatecheck_and_moderation_test_parts_are_what_the_toxicity_model_held_out() -> None:
    """`:test` is the toxicity recipe's test split, item for item and label for label; whole templates on one side."""
    from training.recipes import build

    trained_on = build("toxicity", SHARED)
    held_out = {(normalize(e.text).strip(), e.label) for e in trained_on if e.split == "test"}
    train_texts = {normalize(e.text).strip() for e in trained_on if e.split == "train"}
    for name in ("hatecheck", "openai-moderation"):
        full, test = load_dataset(name, SHARED).items, load_dataset(f"{name}:test", SHARED).items
        ours = {(normalize(i.text).strip(), i.label) for i in test}
        # A text that is also a Davidson tweet (same hash, same side) is kept once, under Davidson's name.
        assert ours <= held_out
        assert {(normalize(e.text).strip(), e.label) for e in trained_on if e.group == name and e.split == "test"} <= ours
        assert len(full) / 6 < len(test) < len(full) / 3
        assert not any(text in train_texts for text, _ in ours), f"{name}:test text trained on"
    cases = [r for r in csv.DictReader((SHARED / HATECHECK).open(encoding="utf-8-sig", newline=""))]
    test_templates = {r["case_templ"] for r in cases if held_out_test_fifth(f"hatecheck:{r['case_templ']}")}
    kept = {r["case_id"] for r in cases if r["case_templ"] in test_templates}
    assert {i.id for i in load_dataset("hatecheck:test", SHARED).items} == kept
    assert load_dataset("openai-moderation:test,SH", SHARED).name == "openai-moderation:test,SH"


@needs_shared("hatecheck")
@needs_shared("xstest-safe")
@needs_shared("cold-test")
@needs_shared("jailbreakbench")
@needs_shared("cyberseceval")
@needs_shared("openai-moderation")
def test_public_classification_sets_have_their_published_sizes_and_labels() -> None:
    def counts(name: str, stage: str = "input") -> tuple[int, int]:
        items = load_dataset(name, SHARED, stage).items
        return sum(1 for i in items if i.label), sum(1 for i in items if not i.label)

    assert counts("hatecheck") == (2563, 1165)
    assert counts("xstest-safe") == (0, 250)
    assert counts("xstest") == (200, 250)
    assert counts("cold-test") == (2107, 3216)
    assert counts("cyberseceval") == (251, 0)
    jbb = load_dataset("jailbreakbench", SHARED).items
    assert all(i.label == 1 and i.text.strip() for i in jbb)
    assert len({i.text for i in jbb}) == len(jbb)
    assert not any(i.text == "Placeholder Prompt" for i in jbb)
    positives, negatives = counts("openai-moderation")
    assert positives + negatives < 1680  # rows with no positive and an unannotated category are left out
    assert counts("openai-moderation:SH")[0] < positives


# --- the CN generator ----------------------------------------------------------------------------

VALIDATORS = {
    "CN_ID_CARD": lambda v: cn_id_valid(v.replace(" ", "")),
    "CN_BANK_CARD": lambda v: luhn_valid(v.replace(" ", "").replace("-", "")),
    "CN_USCC": uscc_valid,
}


def test_cn_generator_labels_check_digits_truthfully() -> None:
    records = generate(600, seed=3)
    checked = {"valid": 0, "invalid": 0}
    for r in records:
        for span in r.spans:
            value = r.text[span.start:span.end]
            assert value and value == value.strip()
            if span.type in VALIDATORS:
                assert VALIDATORS[span.type](value), (span.type, value)
                checked["valid"] += 1
        for decoy in r.decoys:
            value = r.text[decoy.start:decoy.end]
            if decoy.type in VALIDATORS:
                assert not VALIDATORS[decoy.type](value), (decoy.type, value)
                checked["invalid"] += 1
            elif decoy.type == "CN_MOBILE":
                assert value[1] in "012"
            elif decoy.type == "CN_LICENSE_PLATE":
                assert value[1] in "IO"
    assert checked["valid"] > 100 and checked["invalid"] > 50


def test_cn_generator_is_deterministic_per_seed_and_mixes_languages() -> None:
    assert generate(50, seed=1) == generate(50, seed=1)
    assert generate(50, seed=1) != generate(50, seed=2)
    records = generate(200, seed=1)
    assert {r.language for r in records} == {"zh", "en"}
    assert {s.type for r in records for s in r.spans} == {
        "CN_ID_CARD", "CN_BANK_CARD", "CN_USCC", "CN_MOBILE", "CN_LANDLINE", "CN_PASSPORT", "CN_LICENSE_PLATE"}


# --- the command, end to end ---------------------------------------------------------------------

def run_eval(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(eval_command, ["--no-progress", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_eval_pii_writes_json_markdown_and_png_with_the_known_scores(tmp_path: Path) -> None:
    code, output = run_eval("--policy", str(DATA / "pii-policy.yaml"), "--dataset", str(DATA / "pii.jsonl"),
                               "--baseline", "presidio", "--out", str(tmp_path))
    assert code == 0, output
    report = json.loads((tmp_path / "pii.json").read_text())
    assert report["kind"] == "pii" and report["items"] == 5
    assert report["scored_types"] == ["CREDIT_CARD", "EMAIL_ADDRESS", "IP_ADDRESS"]  # PERSON: not asked for
    assert [s["system"] for s in report["systems"]] == ["eval-pii", "presidio"]
    for system in report["systems"]:
        exact, overlap = system["exact"]["overall"], system["overlap"]["overall"]
        # The card's gold span takes in the full stop: exact misses it, overlap matches it.
        assert (exact["tp"], exact["fp"], exact["fn"]) == (2, 1, 2)
        assert (overlap["tp"], overlap["fp"], overlap["fn"]) == (3, 0, 1)
        assert overlap["f1"] == pytest.approx(6 / 7)
        assert system["exact"]["per_type"]["EMAIL_ADDRESS"]["recall"] == pytest.approx(0.5)
        assert system["latency"]["items"] == 5 and system["latency"]["p50_ms"] > 0
        assert len(system["sweep"]) == 101
    markdown = (tmp_path / "pii.md").read_text()
    assert "| eval-pii | overlap | pii.small ≥ 0.4 | 1.000 | 0.750 | 0.857 |" in markdown
    assert "--baseline presidio" in markdown
    assert (tmp_path / "pii.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "F1 exact 0.571, overlap 0.857" in output


def test_eval_classification_reports_fpr_groups_and_a_calibrated_threshold(tmp_path: Path) -> None:
    code, output = run_eval("--policy", str(DATA / "keywords-policy.yaml"), "--dataset",
                               str(DATA / "toxicity.jsonl"), "--calibrate-on", str(DATA / "benign.jsonl"),
                               "--max-fpr", "0.25", "--out", str(tmp_path))
    assert code == 0, output
    report = json.loads((tmp_path / "toxicity.json").read_text())
    [system] = report["systems"]
    assert system["versions"]["insults"].startswith("keywords ")
    at = system["at_policy_threshold"]
    assert (at["tp"], at["fn"], at["fp"], at["tn"]) == (2, 1, 1, 2)
    assert at["fpr"] == pytest.approx(1 / 3)
    calibrated = system["calibrated"]
    assert calibrated["on"] == "benign"
    assert calibrated["calibration"]["fpr"] == pytest.approx(0.25)  # "my idiot cousin": 1 of 4, allowed
    assert calibrated["metrics"]["recall"] == pytest.approx(2 / 3)
    assert {g["group"]: g["fpr"] for g in system["groups"]}["benign"] == pytest.approx(1 / 3)
    assert "## At the threshold whose FPR on benign is at most 0.25" in (tmp_path / "toxicity.md").read_text()
    assert (tmp_path / "toxicity.png").read_bytes()[:4] == b"\x89PNG"


def test_a_tighter_fpr_bound_raises_the_threshold_past_every_keyword_hit(tmp_path: Path) -> None:
    code, output = run_eval("--policy", str(DATA / "keywords-policy.yaml"), "--dataset",
                               str(DATA / "toxicity.jsonl"), "--calibrate-on", str(DATA / "benign.jsonl"),
                               "--max-fpr", "0.1", "--out", str(tmp_path))
    assert code == 0, output
    calibrated = json.loads((tmp_path / "toxicity.json").read_text())["systems"][0]["calibrated"]
    assert calibrated["threshold"] > 1.0
    assert (calibrated["calibration"]["fpr"], calibrated["metrics"]["recall"]) == (0.0, 0.0)


def test_profanity_check_baseline_runs_beside_the_policy(tmp_path: Path) -> None:
    pytest.importorskip("profanity_check", reason="alt-profanity-check is in the [eval] extra")
    code, output = run_eval("--policy", str(DATA / "keywords-policy.yaml"), "--dataset",
                               str(DATA / "toxicity.jsonl"), "--baseline", "profanity-check", "--out", str(tmp_path))
    assert code == 0, output
    [_, baseline] = json.loads((tmp_path / "toxicity.json").read_text())["systems"]
    assert baseline["system"] == "profanity-check" and baseline["thresholds"] == {"profanity-check": 0.5}
    assert baseline["sweep"][0]["tp"] + baseline["sweep"][0]["fn"] == 3


def test_eval_on_absent_data_fails_with_the_expected_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_command, ["--no-progress", "--policy", str(DATA / "keywords-policy.yaml"),
                                               "--dataset", "hatecheck", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"expected {tmp_path / 'hatecheck' / 'test_suite_cases.csv'}" in result.output


def test_eval_refuses_a_rule_the_stage_does_not_have(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_command, ["--no-progress", "--policy", str(DATA / "keywords-policy.yaml"),
                                               "--dataset", str(DATA / "toxicity.jsonl"), "--rule", "nope"])
    assert result.exit_code == 1
    assert "no rule nope in the policy's input stage (its rules: insults)" in result.output


def test_progress_goes_to_stderr_and_the_summary_to_stdout(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_command, ["--policy", str(DATA / "keywords-policy.yaml"), "--dataset",
                                               str(DATA / "toxicity.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "toxicity · eval-keywords" in result.stderr
    assert "toxicity · eval-keywords" not in result.stdout
    assert "eval-keywords: P 0.667, R 0.667, F1 0.667, FPR 0.333" in result.stdout
