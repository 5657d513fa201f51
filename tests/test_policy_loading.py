"""Loading policy files: every mistake is reported with file:line:column, a $.path and a reason a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.casetest import load_cases, load_cases_text
from policies.compiler import DetectorFactory, canonical_version
from policies.loader import PolicyError, load_policy, load_policy_text
from policies.validate import known_pii_entities

HERE = Path(__file__).parent / "policies"
INVALID = HERE / "invalid"
ROOT = Path(__file__).resolve().parents[1]

# One file per class of mistake: (file, line, column, $.path, a substring of the reason).
INVALID_CASES = [
    ("yaml_syntax_error.yaml", 9, 1, "$", "YAML syntax error: expected ',' or ']'"),
    ("unknown_top_level_key.yaml", 3, 1, "$.descripton", "unknown key 'descripton' (did you mean 'description'?)"),
    ("misspelt_rule_key.yaml", 9, 7, "$.input.rules[0].treshold", "unknown key 'treshold' (did you mean 'threshold'?)"),
    ("bad_action.yaml", 7, 15, "$.input.rules[0].action",
     "action must be one of allow, monitor, redact, mask, hash, block, pseudonymize, got 'delete'"),
    ("unknown_detector.yaml", 6, 17, "$.output.rules[0].detector",
     "unknown detector 'toxicity-classifier' (known: classifier, hf_classifier, keywords, llm_judge, pii)"),
    ("missing_detector.yaml", 5, 7, "$.input.rules[0].detector", "rule is missing 'detector' (known: classifier, hf_classifier, keywords, llm_judge, pii)"),
    ("missing_required_key.yaml", 5, 7, "$.input.rules[0].entities", "missing required key 'entities'"),
    ("missing_name.yaml", 1, 1, "$.name", "missing required key 'name'"),
    ("wrong_type.yaml", 8, 17, "$.input.rules[0].entities", "entities must be a list, got the string 'EMAIL_ADDRESS'"),
    ("integer_written_as_float.yaml", 9, 19, "$.input.rules[0].timeout_ms", "timeout_ms must be an integer"),
    ("threshold_out_of_range.yaml", 9, 18, "$.input.rules[0].threshold", "threshold must be <= 1.0, got 1.5"),
    ("duplicate_rule_id.yaml", 11, 11, "$.output.rules[0].id", "duplicate rule id 'pii' (already used at $.input.rules[0])"),
    ("duplicate_yaml_key.yaml", 9, 7, "$.input.rules[0].action", "duplicate key 'action' (first defined on line 7)"),
    ("bad_rule_id.yaml", 5, 11, "$.input.rules[0].id", "rule id 'Email Rule' is not valid"),
    ("temperature_min_above_max.yaml", 5, 10, "$.limits.temperature.min",
     "temperature min (1.5) is greater than max (1.0)"),
    ("ner_entity_without_nlp_model.yaml", 8, 33, "$.output.rules[0].entities[1]",
     "PERSON needs a spaCy NER model: set nlp_model: en_core_web_sm"),
    ("unsupported_version.yaml", 1, 10, "$.version", "unsupported policy version 2: this gateway reads version 1"),
    ("unknown_entity.yaml", 8, 18, "$.input.rules[0].entities[0]",
     "unknown PII entity 'EMAIL' (did you mean 'EMAIL_ADDRESS'?)"),
    ("empty_models.yaml", 4, 11, "$.limits.models", "models is empty"),
    ("mask_options_without_mask_action.yaml", 9, 13, "$.input.rules[0].mask",
     "mask options have no effect on a rule whose action is 'redact'"),
    ("empty.yaml", 1, 1, "$", "the file is empty"),
    ("not_a_mapping.yaml", 1, 1, "$", "the file must be a mapping, got a list"),
]


@pytest.mark.parametrize(("name", "line", "column", "path", "reason"), INVALID_CASES, ids=[c[0] for c in INVALID_CASES])
def test_an_invalid_policy_reports_exactly_its_mistake_where_it_is(name: str, line: int, column: int, path: str,
                                                                   reason: str) -> None:
    file = INVALID / name
    with pytest.raises(PolicyError) as caught:
        load_policy(file)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column, problem.path) == (str(file), line, column, path)
    assert reason in problem.reason
    assert str(caught.value) == f"{file}:{line}:{column}: {problem.reason} (at {path})"


def test_every_invalid_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(c[0] for c in INVALID_CASES)


def test_every_mistake_in_a_file_is_reported_in_file_order() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(HERE / "many_mistakes.yaml")
    located = [(p.line, p.column, p.path) for p in caught.value.problems]
    assert located == [
        (4, 15, "$.limits.max_tokens"),
        (9, 15, "$.input.rules[0].action"),
        (11, 7, "$.input.rules[0].treshold"),
        (13, 17, "$.input.rules[1].detector"),  # and nothing else about that rule: its detector is unknown
        (17, 11, "$.output.rules[0].id"),
        (20, 17, "$.output.rules[0].entities"),
    ]
    assert str(caught.value).count("\n") == len(located) - 1


def test_a_file_that_cannot_be_read_is_a_located_problem(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.yaml:1:1: cannot read: No such file"):
        load_policy(tmp_path / "missing.yaml")


@pytest.mark.parametrize("file", [ROOT / "policies" / "default.yaml", *sorted((HERE / "valid").glob("*.yaml"))],
                         ids=lambda p: p.name)
def test_valid_policies_load(file: Path) -> None:
    policy = load_policy(file)
    assert policy.version == 1 and policy.name


def test_every_key_is_read_into_the_typed_policy() -> None:
    policy = load_policy(HERE / "valid" / "every_key.yaml")
    rule = policy.input.rules[0]
    assert (rule.id, rule.action, rule.on_error, rule.timeout_ms, rule.mask.char, rule.mask.keep_last) == \
        ("cards.mask", "mask", "allow", 1500, "#", 4)
    assert (rule.threshold, rule.allow_list, rule.max_chars) == (0.6, ["4111111111111111"], 5000)
    assert policy.limits.temperature is not None and policy.limits.temperature.max == 1.2
    assert policy.output.rules[0].nlp_model == "en_core_web_sm"


def test_the_default_policy_redacts_common_pii_in_both_stages_without_ner() -> None:
    policy = load_policy(ROOT / "policies" / "default.yaml")
    for stage in (policy.input, policy.output):
        [rule] = stage.rules
        assert rule.action == "redact" and rule.on_error == "block" and rule.nlp_model is None
        assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN"} <= set(rule.entities)
        assert rule.threshold <= 0.4  # Presidio scores a plain phone number 0.4
    assert policy.limits.on_violation == "clamp" and policy.limits.max_tokens


BASE = """\
version: 1
name: hashing
input:
  rules:
    - id: emails
      detector: pii
      action: redact
      entities: [EMAIL_ADDRESS]
"""
REORDERED = """\
# the same policy, keys reordered, comments and flow style added
input:
  rules:
    - {entities: [EMAIL_ADDRESS], action: redact, detector: pii, id: emails}   # one rule
name: hashing
version: 1
"""
DEFAULTS_SPELT_OUT = BASE + "      on_error: block\n      threshold: 0.5\n"
CHANGED = BASE.replace("action: redact", "action: mask")


def test_the_version_hash_ignores_layout_and_changes_with_meaning() -> None:
    version = canonical_version(load_policy_text(BASE))
    assert canonical_version(load_policy_text(REORDERED)) == version
    assert canonical_version(load_policy_text(DEFAULTS_SPELT_OUT)) == version
    assert canonical_version(load_policy_text(CHANGED)) != version
    assert len(version) == 64 and int(version, 16) >= 0


def test_a_loaded_policy_is_frozen() -> None:
    policy = load_policy_text(BASE)
    with pytest.raises(AttributeError):
        policy.name = "other"  # type: ignore[misc]


def test_cases_files_are_strict_and_located() -> None:
    with pytest.raises(PolicyError) as caught:
        load_cases(HERE / "cases" / "invalid.cases.yaml")
    assert [(p.line, p.column, p.path) for p in caught.value.problems] == [
        (2, 5, "$.cases[0].expect"), (4, 5, "$.cases[0].expct"), (6, 12, "$.cases[1].stage"),
        (8, 24, "$.cases[1].expect.decision")]
    assert "unknown key 'expct' (did you mean 'expect'?)" in str(caught.value)


def test_a_blocking_rule_expectation_needs_a_block_decision() -> None:
    with pytest.raises(PolicyError, match=r"<cases>:4:37: expect.rule names the blocking rule"):
        load_cases_text("cases:\n  - name: x\n    text: hi\n    expect: {decision: allow, rule: pii}\n")


def test_default_cases_load_with_input_as_the_default_stage() -> None:
    cases = load_cases(ROOT / "policies" / "default.cases.yaml")
    assert cases[0].stage == "input" and {c.stage for c in cases} == {"input", "output"}


def test_the_static_entity_list_covers_what_presidio_serves() -> None:
    """The cheap source scan must know every entity the real analyzer supports, or valid policies would fail."""
    supported = set(DetectorFactory().presidio.supported_entities("en", None))
    # Labels that Presidio's NLP engine maps for transformer NER models, which guardgate never builds.
    nlp_engine_only = {"AGE", "ID", "EMAIL"}
    known = known_pii_entities()
    assert known is not None
    assert supported - nlp_engine_only <= known
