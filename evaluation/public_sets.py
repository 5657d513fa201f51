"""Loaders for the public sets in the shared data folder; each knows its file's format traps.

Every loader takes (data folder, stage, option) and returns a `Dataset`; `option` is the
text after a colon in the set's name: `test` (the built-in classifiers' held-out split) for
`hatecheck`, `openai-moderation`, `jailbreakbench` and the `cyberseceval` sets, and categories
for `openai-moderation` (`openai-moderation:test,H,HR`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

from detectors.textfeatures import normalize
from evaluation.entities import PRESIDIO_SYNTH_TO_PRESIDIO, map_type
from evaluation.types import Dataset, DatasetError, Item, Span
from policies.schema import StageName

PRESIDIO_SYNTH = "presidio-research/data/synth_dataset_v2.json"
HATECHECK = "hatecheck/test_suite_cases.csv"
OPENAI_MODERATION = "openai-moderation/data/samples-1680.jsonl.gz"
COLD_TEST = "COLDataset/COLDataset/test.csv"
JAILBREAKBENCH = "jailbreakbench-artifacts/attack-artifacts"
CYBERSECEVAL = "cyberseceval-prompt-injection/CybersecurityBenchmarks/datasets/prompt_injection/prompt_injection.json"
CYBERSECEVAL_ML = ("cyberseceval-prompt-injection/CybersecurityBenchmarks/datasets/prompt_injection/"
                   "prompt_injection_multilingual_machine_translated.json")
XSTEST = "xstest/xstest_prompts.csv"

MODERATION_CATEGORIES = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")


def _no_option(name: str, option: str) -> None:
    if option:
        raise DatasetError(f"{name} takes no option, got {name}:{option}")


def _bucket(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 10


def held_out_test(key: str) -> bool:
    """The test tenth of the split the built-in classifiers were trained with (see detectors/models/*.md).

    sha256 of a group key ('jbb:<behavior index>', 'cse:<prompt_id>'), first 8 bytes big-endian, mod 10:
    9 is test. Keying by behavior or prompt keeps every attack on one goal, and every translation
    of one case, on the same side of the split.
    """
    return _bucket(key) == 9


def held_out_test_fifth(key: str) -> bool:
    """The test fifth (buckets 8 and 9 of the same hash) that the toxicity model holds out of HateCheck, keyed by
    'hatecheck:<case_templ>', and of OpenAI moderation, keyed by the normalized text."""
    return _bucket(key) >= 8


def _test_only(name: str, option: str) -> bool:
    if option not in ("", "test"):
        raise DatasetError(f"{name} takes only the option 'test' (the classifiers' held-out split), got {option!r}")
    return option == "test"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    # utf-8-sig: COLDataset's files start with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def presidio_synth(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """presidio-research synth_dataset_v2: character spans with exclusive ends, names mapped per `entities`."""
    _no_option("presidio-synth", option)
    rows = json.loads((data_dir / PRESIDIO_SYNTH).read_text(encoding="utf-8"))
    items, unmapped, shifted = [], Counter(), 0
    for i, row in enumerate(rows):
        text = row["full_text"]
        spans = []
        for s in row["spans"]:
            start, end = s["start_position"], s["end_position"]
            if text[start:end] != s["entity_value"]:
                shifted += 1
            mapped = map_type(PRESIDIO_SYNTH_TO_PRESIDIO, s["entity_type"])
            if mapped is None:
                unmapped[s["entity_type"]] += 1
            else:
                spans.append(Span(mapped, start, end))
        items.append(Item(id=str(i), text=text, spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
                          group=str(row.get("template_id", ""))))
    notes = ["synthetic, template-made texts: scores are optimistic compared with real traffic",
             "labels mapped to Presidio names: GPE and STREET_ADDRESS -> LOCATION, DOMAIN_NAME -> URL "
             "(see evaluation/entities.py)",
             "not scored, no Presidio recognizer produces them: "
             + ", ".join(f"{t} ({n} spans)" for t, n in sorted(unmapped.items()))]
    if shifted:
        notes.append(f"{shifted} spans whose entity_value differs from text[start:end]; offsets used as given")
    types = frozenset(t for t in PRESIDIO_SYNTH_TO_PRESIDIO.values() if t)
    return Dataset(name="presidio-synth", kind="pii", items=items, source=PRESIDIO_SYNTH, notes=notes,
                   label_types=types)


def hatecheck(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """HateCheck's 3,728 test cases: hateful = 1, grouped by functionality; `:test`, the cases of held-out templates."""
    test_only = _test_only("hatecheck", option)
    items = [Item(id=r["case_id"], text=r["test_case"].strip(), label=int(r["label_gold"] == "hateful"),
                  group=r["functionality"]) for r in _csv_rows(data_dir / HATECHECK)
             if not test_only or held_out_test_fifth(f"hatecheck:{r['case_templ']}")]
    notes = ["HateCheck (Röttger et al., 2021), CC-BY-4.0; label_gold hateful = 1"]
    if test_only:
        notes.append(_FIFTH_NOTE.format(key="'hatecheck:<case_templ>', so every case of a template is on one side"))
    return Dataset(name="hatecheck" + (":test" if test_only else ""), kind="classification", items=items,
                   source=HATECHECK, notes=notes)


_FIFTH_NOTE = ("only the toxicity classifier's held-out test fifth (the rest trained it): sha256 of {key}, "
               "mod 10 in 8-9")


def openai_moderation(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """OpenAI's 1,680 moderation samples: positive when any chosen category is 1.

    A missing key means the category was not annotated. A row with a 1 in a chosen
    category is positive; a row with no 1 is negative only when every chosen
    category was annotated, otherwise it is left out (counted in the notes).
    `test` among the options keeps the toxicity classifier's held-out fifth only.
    """
    options = [c.strip() for c in option.split(",") if c.strip()]
    test_only = "test" in options
    chosen = tuple(c for c in options if c != "test") or MODERATION_CATEGORIES
    if unknown := set(chosen) - set(MODERATION_CATEGORIES):
        raise DatasetError(f"openai-moderation: unknown categories {sorted(unknown)}; known: {MODERATION_CATEGORIES}")
    items, unknown_rows = [], 0
    with gzip.open(data_dir / OPENAI_MODERATION, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            row = json.loads(line)
            if test_only and not held_out_test_fifth(normalize(row["prompt"]).strip()):
                continue
            if any(row.get(c) == 1 for c in chosen):
                label = 1
            elif all(c in row for c in chosen):
                label = 0
            else:
                unknown_rows += 1
                continue
            positive = "+".join(c for c in chosen if row.get(c) == 1)
            items.append(Item(id=str(i), text=row["prompt"], label=label, group=positive or "none"))
    name = "openai-moderation" + (f":{','.join(options)}" if options else "")
    notes = [f"positive = any of {','.join(chosen)} is 1; {unknown_rows} rows left out: no positive label and a "
             "chosen category not annotated"]
    if test_only:
        notes.append(_FIFTH_NOTE.format(key="the normalized text"))
    return Dataset(name=name, kind="classification", items=items, source=OPENAI_MODERATION, notes=notes)


def cold_test(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """COLDataset's test split (Chinese): offensive = 1, grouped by topic."""
    _no_option("cold-test", option)
    items = [Item(id=r["split"] + "-" + str(i), text=r["TEXT"], label=int(r["label"]), group=r["topic"])
             for i, r in enumerate(_csv_rows(data_dir / COLD_TEST))]
    return Dataset(name="cold-test", kind="classification", items=items, source=COLD_TEST,
                   notes=["COLDataset test split (Deng et al., 2022), Apache-2.0"])


def jailbreakbench(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """JailbreakBench artifacts. input: unique attack prompts (all 1); output: responses, 1 when judged jailbroken."""
    test_only = _test_only("jailbreakbench", option)
    root = data_dir / JAILBREAKBENCH
    items, seen, empty = [], set(), 0
    for path in sorted(root.glob("*/*/*.json")):
        method = path.parts[-3]
        if method == "test-artifact":  # placeholder rows ("Placeholder Prompt"), not attacks
            continue
        for row in json.loads(path.read_text(encoding="utf-8"))["jailbreaks"]:
            if test_only and not held_out_test(f"jbb:{int(row['index'])}"):
                continue
            text = row["prompt"] if stage == "input" else row["response"]
            if not text or not text.strip():  # some PAIR prompts are null or empty
                empty += 1
                continue
            if text in seen:  # JBC uses one template for every target model
                continue
            seen.add(text)
            label = 1 if stage == "input" else int(bool(row["jailbroken"]))
            items.append(Item(id=f"{method}/{path.parts[-2]}/{path.stem}/{row['index']}", text=text, label=label,
                              group=method))
    what = "attack prompts, every one a positive" if stage == "input" else "responses, jailbroken (JBB judge) = 1"
    notes = [f"{what}; duplicates removed, {empty} empty or null texts skipped, test-artifact skipped"]
    if test_only:
        notes.append(_TEST_NOTE)
    return Dataset(name="jailbreakbench" + (":test" if test_only else ""), kind="classification", items=items,
                   source=JAILBREAKBENCH, notes=notes)


_TEST_NOTE = ("only the held-out test tenth of the built-in classifiers' split (the rest trained them): "
              "sha256 of 'jbb:<behavior index>' or 'cse:<prompt_id>' mod 10 = 9")


def _cyberseceval(path: Path, name: str, option: str) -> Dataset:
    test_only = _test_only(name, option)
    rows = json.loads(path.read_text(encoding="utf-8"))
    items = [Item(id=str(i), text=r["user_input"], label=1, group=f"{r['injection_type']}/{r['speaking_language']}")
             for i, r in enumerate(rows) if not test_only or held_out_test(f"cse:{r['prompt_id']}")]
    notes = ["every case is an injection (label 1); the text is the user turn, which carries it"]
    return Dataset(name=name + (":test" if test_only else ""), kind="classification", items=items, source=str(path),
                   notes=notes + ([_TEST_NOTE] if test_only else []))


def cyberseceval(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """CyberSecEval prompt injection, English."""
    return _cyberseceval(data_dir / CYBERSECEVAL, "cyberseceval", option)


def cyberseceval_multilingual(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """CyberSecEval prompt injection, machine-translated into 17 languages."""
    return _cyberseceval(data_dir / CYBERSECEVAL_ML, "cyberseceval-multilingual", option)


def _xstest_items(data_dir: Path, safe_only: bool) -> list[Item]:
    return [Item(id=r["id"], text=r["prompt"], label=int(r["label"] == "unsafe"), group=r["type"])
            for r in _csv_rows(data_dir / XSTEST) if not safe_only or r["label"] == "safe"]


def xstest_safe(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """XSTest's 250 safe prompts that look unsafe: every one a negative, for false-positive rates."""
    _no_option("xstest-safe", option)
    return Dataset(name="xstest-safe", kind="classification", items=_xstest_items(data_dir, True), source=XSTEST,
                   notes=["XSTest (Röttger et al., 2024), CC-BY-4.0: 250 safe prompts, label 0"])


def xstest(data_dir: Path, stage: StageName, option: str) -> Dataset:
    """All 450 XSTest prompts: unsafe = 1."""
    _no_option("xstest", option)
    return Dataset(name="xstest", kind="classification", items=_xstest_items(data_dir, False), source=XSTEST,
                   notes=["XSTest (Röttger et al., 2024), CC-BY-4.0: unsafe = 1"])
