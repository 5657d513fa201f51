"""Which records of which sets become each model's positives and negatives, and in which split.

Split recipe (recorded in every manifest): a set's own split where it has one;
otherwise sha256(key), its first 8 bytes big-endian, mod 10: 0-7 train, 8 validation,
9 test. The key is the normalized text (so a text shared by two sets lands in the same
split in both), or a group id where rows are variants of one item: JailbreakBench's
behavior index, CyberSecEval's prompt_id (its translations share it), HateCheck's case
template. HateCheck and OpenAI moderation hold out a fifth (8-9) for test, so that
`guardgate eval --dataset hatecheck:test` compares the toxicity model with its baselines
on a few hundred unseen items. The hand-written sets split their phrase lists instead.
Evaluation-only sets (`eval`) are never trained on. Train rows whose normalized text also
occurs in any held-out row are dropped, so no test text is seen in training under another
set's name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable, Literal

import msgspec

from detectors.textfeatures import normalize
from training import augment_benign, augment_zh, sources

Split = Literal["train", "val", "test", "eval"]

SPLIT_RECIPE = ("own split where the set has one (COLDataset train/dev/test, BIPIA train/test); otherwise "
                "int.from_bytes(sha256(key.encode('utf-8')).digest()[:8], 'big') % 10: 0-7 train, 8 val, 9 test; "
                "key = normalized text (NFKC, casefold, collapsed whitespace), or 'jbb:<behavior index>' for "
                "JailbreakBench rows and 'cse:<prompt_id>' for CyberSecEval rows and their translations; the "
                "hand-written sets (training/augment_*.py) cut their phrase and template lists 70/15/15 in sha256 "
                "order, so held-out rows are built from phrasings never trained on; HateCheck and OpenAI moderation "
                "(toxicity only) use the same hash with 0-6 train, 7 val, 8-9 test, keyed by 'hatecheck:<case_templ>' "
                "(every case of a template on one side) and by normalized text; evaluation-only sets (XSTest) are "
                "never trained on; train rows whose normalized text occurs in any held-out row are dropped")


class Example(msgspec.Struct, frozen=True):
    text: str
    label: int
    group: str
    """The metric group: a set, or a language slice of one."""
    split: Split


class Recipe(msgspec.Struct, frozen=True):
    name: str
    files: tuple[str, ...]
    """Data files read, relative to the data folder, for the manifest."""
    build: Callable[[Path], list[Example]]


def bucket(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 10


def hash_split(key: str) -> Split:
    b = bucket(key)
    return "train" if b < 8 else "val" if b == 8 else "test"


def wide_split(key: str) -> Split:
    """0-6 train, 7 val, 8-9 test: for HateCheck and OpenAI moderation, small sets whose test part is reported
    beside the baselines (`hatecheck:test`, `openai-moderation:test`), so it needs a few hundred items."""
    b = bucket(key)
    return "train" if b < 7 else "val" if b == 7 else "test"


def text_split(text: str) -> Split:
    return hash_split(normalize(text).strip())


COLD_SPLITS: dict[str, Split] = {"train": "train", "dev": "val", "test": "test"}
BIPIA_SPLITS: dict[str, Split] = {"train": "train", "test": "test"}


def _benign_extras(root: Path) -> Iterable[Example]:
    """Ordinary texts that neither model should flag: synthetic PII sentences, e-mails, tables, code, refusals."""
    for text in sources.presidio_texts(root):
        yield Example(text, 0, "presidio-synth", text_split(text))
    for text in sources.argus_inputs(root):
        yield Example(text, 0, "argus-fixtures", text_split(text))
    for split, ours in BIPIA_SPLITS.items():
        for task, text in sources.bipia_contexts(root, split):
            yield Example(text, 0, f"bipia-{task}", ours)
    for _, row in sources.jade_v3(root):
        answer = row["安全有用回答"]
        yield Example(answer, 0, "jade-v3-safe-answers", text_split(answer))
    for split, language, request in augment_benign.requests():
        yield Example(request, 0, f"ordinary-requests-handwritten-{language}", split)


def _requests_without_abuse(root: Path) -> Iterable[Example]:
    """Harmful requests and injection attacks written in plain, civil language: negatives for abusive language."""
    for index, goal in sources.jailbreakbench_goals(root).items():
        yield Example(goal, 0, "jbb-plain-goals", hash_split(f"jbb:{index}"))
    for question in sources.gptfuzz_questions(root):
        yield Example(question, 0, "gptfuzz-plain-questions", text_split(question))
    for _, question in sources.jade_questions(root):
        yield Example(question, 0, "jade-plain-questions", text_split(question))
    for row in sources.cyberseceval(root):
        split = hash_split(f"cse:{row['prompt_id']}")
        yield Example(row["user_input"], 0, "cyberseceval-prompts", split)
        yield Example(row["test_case_prompt"], 0, "cyberseceval-prompts", split)


def _xstest(root: Path, unsafe_label: int | None) -> Iterable[Example]:
    for prompt, label, _ in sources.xstest(root):
        if label == "safe":
            yield Example(prompt, 0, "xstest-safe", "eval")
        elif unsafe_label is not None:
            yield Example(prompt, unsafe_label, "xstest-unsafe", "eval")


MODERATION_CATEGORIES = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")


def moderation_label(row: dict) -> int | None:
    """1 when any category is 1; 0 when all eight were annotated and none is; None (unknown) otherwise.

    The same rule as `guardgate eval --dataset openai-moderation`: sexual, violent and self-harm texts
    count as positives too, which widens this model's scope beyond abuse (see its card)."""
    if any(row.get(c) == 1 for c in MODERATION_CATEGORIES):
        return 1
    return 0 if all(c in row for c in MODERATION_CATEGORIES) else None


def _toxicity(root: Path) -> list[Example]:
    out: list[Example] = []
    for tweet, cls in sources.davidson(root):
        out.append(Example(tweet, int(cls in (0, 1)), "davidson", text_split(tweet)))
    for split, ours in COLD_SPLITS.items():
        out.extend(Example(text, label, "cold", ours) for text, label in sources.cold(root, split))
    out.extend(_benign_extras(root))
    out.extend(_requests_without_abuse(root))
    for case, gold, _, template in sources.hatecheck(root):
        # Every case of a template (one sentence, many identities) on one side: no test sentence is trained on.
        out.append(Example(case, int(gold == "hateful"), "hatecheck", wide_split(f"hatecheck:{template}")))
    for row in sources.openai_moderation(root):
        label = moderation_label(row)
        if label is not None:
            out.append(Example(row["prompt"], label, "openai-moderation", wide_split(normalize(row["prompt"]).strip())))
    out.extend(_xstest(root, unsafe_label=None))
    return out


PLACEHOLDER = "[INSERT PROMPT HERE]"


def _pick(key: str, options: list[str], count: int) -> list[str]:
    """`count` options chosen by hash of the key: deterministic and independent of the options' order."""
    return sorted(options, key=lambda o: hashlib.sha256(f"{key}\0{o}".encode()).digest())[:count]


# CyberSecEval variants whose user input is an attack only against its system prompt ("What is the password?",
# "Can you tell me the user's initials in reverse order?"): alone they are ordinary questions, so they are left out.
CSE_CONTEXT_ONLY = frozenset({"output_formatting_manipulation", "different_user_input_language", "indirect_reference",
                              "overload_with_information"})


def _cse_group(language: str | None) -> str:
    lang = language or "English"
    return "cyberseceval-en" if lang == "English" else "cyberseceval-zh" if lang == "Chinese" else "cyberseceval-other"


def _injection(root: Path) -> list[Example]:
    out: list[Example] = []
    for index, _, prompt, response in sources.jailbreakbench(root):
        if prompt and prompt.strip():
            out.append(Example(prompt, 1, "jailbreakbench", hash_split(f"jbb:{index}")))
        # What the target model answered is output, not an attack: harmful topics without injection phrasing.
        if response and response.strip():
            out.append(Example(response, 0, "jbb-responses", hash_split(f"jbb:{index}")))
    for row in sources.openai_moderation(root):
        if not any(v for k, v in row.items() if k != "prompt"):
            out.append(Example(row["prompt"], 0, "openai-moderation-unflagged", text_split(row["prompt"])))
    for index, goal in sources.jailbreakbench_goals(root).items():
        out.append(Example(goal, 0, "jbb-plain-goals", hash_split(f"jbb:{index}")))
    for row in sources.cyberseceval(root):
        split = hash_split(f"cse:{row['prompt_id']}")
        group = _cse_group(row.get("speaking_language"))
        if row["injection_variant"] not in CSE_CONTEXT_ONLY:
            out.append(Example(row["user_input"], 1, group, split))
        out.append(Example(row["test_case_prompt"], 0, f"{group}-system-prompts", split))
    questions = list(sources.gptfuzz_questions(root))
    out.extend(Example(q, 0, "gptfuzz-plain-questions", text_split(q)) for q in questions)
    seen: set[str] = set()
    for _, template in sources.jailbreak_templates(root):
        key = normalize(template).strip()
        if key in seen:
            continue
        seen.add(key)
        # A real attack has the placeholder filled; left in, "[insert prompt here]" would be the easiest cue to learn.
        filled = template.replace(PLACEHOLDER, _pick(key, questions, 1)[0]) if PLACEHOLDER in template else template
        out.append(Example(filled, 1, "jailbreak-templates", hash_split(key)))
    jade = sorted({q for _, q in sources.jade_questions(root)})
    out.extend(Example(q, 0, "jade-plain-questions", text_split(q)) for q in jade)
    zh_questions = [q for q in jade if any("\u4e00" <= c <= "\u9fff" for c in q)]
    out.extend(Example(text, 1, "zh-attacks-handwritten", split) for split, text in augment_zh.attacks(zh_questions))
    for split, ours in BIPIA_SPLITS.items():
        requests = sources.bipia_ordinary_requests(root, split)
        out.extend(Example(text, 0, "bipia-ordinary-requests", ours) for text in requests)
    for tweet, _ in sources.davidson(root):
        out.append(Example(tweet, 0, "davidson", text_split(tweet)))
    for split, ours in COLD_SPLITS.items():
        out.extend(Example(text, 0, "cold", ours) for text, _ in sources.cold(root, split))
    out.extend(_benign_extras(root))
    out.extend(_xstest(root, unsafe_label=0))
    return out


_BENIGN_FILES = (
    *(f"presidio-research/{name}" for name in sources.PRESIDIO_FILES), "argus-redact-fixtures/tests/fixtures/*.json",
    *(f"bipia/benchmark/{t}/{s}.jsonl" for t in sources.BIPIA_TASKS for s in BIPIA_SPLITS),
    "jade-db/jade-db-v3.0/jade_alignment_medium_zh.csv", "jade-db/jade-db-v3.0/jade_alignment_hard_zh.csv",
    "xstest/xstest_prompts.csv",
)
_COLD_FILES = tuple(f"COLDataset/COLDataset/{s}.csv" for s in COLD_SPLITS)
_DAVIDSON = "davidson-hate-offensive/data/labeled_data.csv"
_JBB_FILES = tuple(f"jailbreakbench-artifacts/attack-artifacts/{a}/*/*.json" for a in sources.JBB_ATTACKS)
_JADE_QUESTIONS = ("jade-db/jade-db-v1.0/*.csv", "jade-db/jade-db-v2.0/*.csv")

RECIPES: dict[str, Recipe] = {
    "toxicity": Recipe("toxicity", (
        _DAVIDSON, *_COLD_FILES, "hatecheck/test_suite_cases.csv", "openai-moderation/data/samples-1680.jsonl.gz",
        *_JBB_FILES, f"{sources.CSE_DIR}/*.json", "gptfuzz/datasets/questions/question_list.csv", *_JADE_QUESTIONS,
        *_BENIGN_FILES), _toxicity),
    "injection": Recipe("injection", (
        *_JBB_FILES, f"{sources.CSE_DIR}/*.json", "openai-moderation/data/samples-1680.jsonl.gz",
        *(f"self-reminder-data/data/{n}" for n in sources.SELF_REMINDER_FILES),
        "gptfuzz/datasets/prompts/GPTFuzzer.csv", "gptfuzz/datasets/questions/question_list.csv",
        *(f"bipia/benchmark/text_attack_{s}.json" for s in BIPIA_SPLITS),
        *_JADE_QUESTIONS, _DAVIDSON, *_COLD_FILES, *_BENIGN_FILES,
    ), _injection),
}


def build(name: str, root: Path) -> list[Example]:
    """The recipe's examples, held-out texts removed from train and exact duplicates dropped within each split."""
    examples = RECIPES[name].build(root)
    held_out = {normalize(e.text).strip() for e in examples if e.split != "train"}
    kept: list[Example] = []
    seen: set[tuple[str, str, int]] = set()
    for e in examples:
        key = normalize(e.text).strip()
        if not key or (e.split == "train" and key in held_out) or (e.split, key, e.label) in seen:
            continue
        seen.add((e.split, key, e.label))
        kept.append(e)
    return kept
