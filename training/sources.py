"""Readers for the shared data sets: each yields raw records exactly as the files hold them, and nothing more.

Which record becomes a positive or a negative of which model is decided in
`training.recipes`; these functions only know file layouts and their traps
(JADE v3 is GB18030, JailbreakBench has null prompts, moderation keys can be missing).
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
from pathlib import Path
from typing import Iterator

csv.field_size_limit(1 << 24)

JBB_ATTACKS = ("DSN", "GCG", "JBC", "PAIR", "prompt_with_random_search")


def _csv(path: Path, encoding: str = "utf-8-sig") -> Iterator[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as f:
        yield from csv.DictReader(f)


def davidson(root: Path) -> Iterator[tuple[str, int]]:
    """(tweet, class): 0 hate speech, 1 offensive language, 2 neither."""
    for row in _csv(root / "davidson-hate-offensive/data/labeled_data.csv"):
        yield row["tweet"], int(row["class"])


def cold(root: Path, split: str) -> Iterator[tuple[str, int]]:
    """(text, label) from COLDataset's own `train` / `dev` / `test` file; 1 is offensive."""
    for row in _csv(root / f"COLDataset/COLDataset/{split}.csv"):
        yield row["TEXT"], int(row["label"])


def hatecheck(root: Path) -> Iterator[tuple[str, str, str, str]]:
    """(test case, gold label hateful / non-hateful, functionality, case template)."""
    for row in _csv(root / "hatecheck/test_suite_cases.csv"):
        yield row["test_case"], row["label_gold"], row["functionality"], row["case_templ"]


def openai_moderation(root: Path) -> Iterator[dict]:
    """Rows with `prompt` and the category keys present for that row (a missing key is unknown)."""
    with gzip.open(root / "openai-moderation/data/samples-1680.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def xstest(root: Path) -> Iterator[tuple[str, str, str]]:
    """(prompt, label safe / unsafe, type)."""
    for row in _csv(root / "xstest/xstest_prompts.csv"):
        yield row["prompt"], row["label"], row["type"]


def jailbreakbench(root: Path) -> Iterator[tuple[int, str, str | None, str | None]]:
    """(behavior index, attack name, attack prompt, target model's response); either text may be null or blank."""
    base = root / "jailbreakbench-artifacts/attack-artifacts"
    for attack in JBB_ATTACKS:
        for path in sorted((base / attack).glob("*/*.json")):
            for row in json.loads(path.read_text(encoding="utf-8"))["jailbreaks"]:
                yield int(row["index"]), attack, row.get("prompt"), row.get("response")


def jailbreakbench_goals(root: Path) -> dict[int, str]:
    """The 100 behaviors' plain goals, by behavior index."""
    goals: dict[int, str] = {}
    for path in sorted((root / "jailbreakbench-artifacts/attack-artifacts/JBC").glob("*/*.json")):
        for row in json.loads(path.read_text(encoding="utf-8"))["jailbreaks"]:
            goals[int(row["index"])] = row["goal"]
    return goals


CSE_DIR = "cyberseceval-prompt-injection/CybersecurityBenchmarks/datasets/prompt_injection"


def cyberseceval(root: Path) -> Iterator[dict]:
    """English, then machine-translated rows: prompt_id, test_case_prompt (the system prompt), user_input (attack)."""
    for name in ("prompt_injection.json", "prompt_injection_multilingual_machine_translated.json"):
        yield from json.loads((root / CSE_DIR / name).read_text(encoding="utf-8"))


SELF_REMINDER_FILES = ("jailbreak_prompts.csv", "jailbreak_prompts_train.csv", "jailbreak_prompts_itw.csv")


def jailbreak_templates(root: Path) -> Iterator[tuple[str, str]]:
    """(file, template) from Self-Reminder's three template files and GPTFuzzer's seed templates; they overlap."""
    for name in SELF_REMINDER_FILES:
        for row in _csv(root / "self-reminder-data/data" / name):
            yield f"self-reminder-data/data/{name}", row["prompt"]
    for row in _csv(root / "gptfuzz/datasets/prompts/GPTFuzzer.csv"):
        yield "gptfuzz/datasets/prompts/GPTFuzzer.csv", row["text"]


def gptfuzz_questions(root: Path) -> Iterator[str]:
    """GPTFuzz's 100 plain harmful questions."""
    for row in _csv(root / "gptfuzz/datasets/questions/question_list.csv"):
        yield row["text"]


def jade_questions(root: Path) -> Iterator[tuple[str, str]]:
    """(file, question) from JADE v1/v2 (UTF-8) and v3 (GB18030); harmful questions, plain, mostly Chinese."""
    for name in ("jade-db-v1.0/jade_benchmark_zh.csv", "jade-db-v1.0/jade_benchmark_en.csv",
                 "jade-db-v2.0/jade_benchmark_easy_zh.csv", "jade-db-v2.0/jade_benchmark_medium_zh.csv"):
        for row in _csv(root / "jade-db" / name):
            yield name, row["问题"]
    for name, row in jade_v3(root):
        yield name, row["问题"]


def jade_v3(root: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(file, row) from JADE v3: 问题 question, 违规回答 unsafe answer, 安全有用回答 safe refusal."""
    for name in ("jade-db-v3.0/jade_alignment_medium_zh.csv", "jade-db-v3.0/jade_alignment_hard_zh.csv"):
        for row in _csv(root / "jade-db" / name, encoding="gb18030"):
            yield name, row


BIPIA_TASKS = ("email", "table", "code")


def bipia_contexts(root: Path, split: str) -> Iterator[tuple[str, str]]:
    """(task, text) for BIPIA's benign external contents and user questions, from its own train / test files."""
    for task in BIPIA_TASKS:
        with (root / f"bipia/benchmark/{task}/{split}.jsonl").open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                context = row["context"]
                if task == "code":
                    # The code task stores lists of lines (or their Python repr); the text is what a user would paste.
                    context = "\n".join(_literal_lines(row["context"]) + _literal_lines(row["error"])
                                        + _literal_lines(row["code"]))
                yield task, context
                if row.get("question"):
                    yield task, row["question"]


# BIPIA's "task-irrelevant" attack categories are ordinary requests; the others tamper with the answer.
BIPIA_ORDINARY = {
    "train": ("Information Retrieval", "Content Creation", "Learning and Tutoring", "Language Translation",
              "Programming Help"),
    "test": ("Task Automation", "Business Intelligence", "Conversational Agent", "Research Assistance",
             "Sentiment Analysis"),
}


def bipia_ordinary_requests(root: Path, split: str) -> Iterator[str]:
    """Requests of BIPIA's task-irrelevant categories ("What is the capital of Brazil?"), from its train/test file."""
    data = json.loads((root / f"bipia/benchmark/text_attack_{split}.json").read_text(encoding="utf-8"))
    for category in BIPIA_ORDINARY[split]:
        yield from data[category]


def _literal_lines(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(x) for x in value]
    if not isinstance(value, str):
        return [] if value is None else [str(value)]
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return [value]
    return [str(x) for x in parsed] if isinstance(parsed, list) else [str(parsed)]


PRESIDIO_FILES = ("data/synth_dataset_v2.json", "tests/data/generated_large.json", "tests/data/generated_small.json")


def presidio_texts(root: Path) -> Iterator[str]:
    """Synthetic template sentences (addresses, small talk, requests, news-like lines) from presidio-research."""
    for name in PRESIDIO_FILES:
        for row in json.loads((root / "presidio-research" / name).read_text(encoding="utf-8")):
            yield row["full_text"]


def argus_inputs(root: Path) -> Iterator[str]:
    """Inputs of argus-redact's PII fixtures: short English, Chinese and mixed texts carrying personal data."""
    for path in sorted((root / "argus-redact-fixtures/tests/fixtures").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, list):
            for row in data:
                if isinstance(row, dict) and isinstance(row.get("input"), str):
                    yield row["input"]
