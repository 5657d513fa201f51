"""Finds a data set by name or path and loads it: the public sets in the shared data folder, or a user's JSONL.

A user's JSONL holds one object per line, all of one kind:

    {"text": "...", "label": 0 | 1}                                   classification
    {"text": "...", "spans": [{"type": "EMAIL_ADDRESS", "start": 3, "end": 20}]}   PII (end exclusive)

with an optional "id" and "group" (a breakdown key); other keys are ignored. PII span types are Presidio
entity names, compared with the evaluated rules' entities as they are.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Callable

import msgspec

from evaluation import public_sets
from evaluation.types import Dataset, DatasetError, Item, Span
from policies.schema import StageName

DATA_DIR_ENV = "GUARDGATE_DATA_DIR"

# name -> (path under the data folder that must exist, loader). Explicit: nothing is discovered.
_PUBLIC: dict[str, tuple[str, Callable[[Path, StageName, str], Dataset]]] = {
    "presidio-synth": (public_sets.PRESIDIO_SYNTH, public_sets.presidio_synth),
    "hatecheck": (public_sets.HATECHECK, public_sets.hatecheck),
    "openai-moderation": (public_sets.OPENAI_MODERATION, public_sets.openai_moderation),
    "cold-test": (public_sets.COLD_TEST, public_sets.cold_test),
    "jailbreakbench": (public_sets.JAILBREAKBENCH, public_sets.jailbreakbench),
    "cyberseceval": (public_sets.CYBERSECEVAL, public_sets.cyberseceval),
    "cyberseceval-multilingual": (public_sets.CYBERSECEVAL_ML, public_sets.cyberseceval_multilingual),
    "xstest-safe": (public_sets.XSTEST, public_sets.xstest_safe),
    "xstest": (public_sets.XSTEST, public_sets.xstest),
}
GENERATED = ("cn-synth",)
NAMES: tuple[str, ...] = (*_PUBLIC, *GENERATED)


def default_data_dir() -> Path:
    """$GUARDGATE_DATA_DIR, else ../shared/data beside the repository (where the project keeps its data)."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"


def public_path(name: str, data_dir: Path) -> Path:
    """Where a public set's main file is expected; raises DatasetError for a name that is not a public set."""
    base = name.partition(":")[0]
    if base not in _PUBLIC:
        raise DatasetError(f"{name!r} is not a public data set; known: {', '.join(_PUBLIC)}")
    return data_dir / _PUBLIC[base][0]


def load_dataset(name_or_file: str, data_dir: Path, stage: StageName = "input", limit: int | None = None,
                 seed: int = 0) -> Dataset:
    """A public set by name (`openai-moderation:H,HR` picks categories), `cn-synth`, or a JSONL path.

    `limit` keeps a seeded random sample in the set's own order, not the first rows:
    several sets are sorted by label or category, so a prefix would be lopsided.
    """
    base, _, option = name_or_file.partition(":")
    if base in _PUBLIC:
        path = public_path(base, data_dir)
        if not path.exists():
            raise DatasetError(f"data set {base!r} not found: expected {path}. Point --data-dir (or ${DATA_DIR_ENV}) "
                               f"at the folder holding the shared data sets (see ../shared/data/README.md).")
        dataset = _PUBLIC[base][1](data_dir, stage, option)
    elif base == "cn-synth":
        from evaluation.cn_synth import cn_synth_dataset

        return cn_synth_dataset(count=limit or 1000, seed=seed)
    elif Path(name_or_file).is_file():
        dataset = load_jsonl(Path(name_or_file))
    else:
        raise DatasetError(f"{name_or_file!r} is neither a known data set ({', '.join(NAMES)}) nor a file")
    return sample(dataset, limit, seed)


def sample(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    if limit is None or limit >= len(dataset.items):
        return dataset
    keep = sorted(random.Random(seed).sample(range(len(dataset.items)), limit))
    notes = [*dataset.notes, f"a seeded sample (seed {seed}) of {limit} of the {len(dataset.items)} items"]
    return msgspec.structs.replace(dataset, items=[dataset.items[i] for i in keep], notes=notes)


class _Row(msgspec.Struct):
    """Other keys are ignored, so a generator can keep its own bookkeeping (cn_synth writes "decoys") alongside."""

    text: str
    label: int | None = None
    spans: list[Span] | None = None
    id: str | None = None
    group: str = ""


def load_jsonl(path: Path) -> Dataset:
    """A user's labelled JSONL; every problem names the file and line."""
    items: list[Item] = []
    kind = None
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = msgspec.json.decode(raw, type=_Row)
        except msgspec.DecodeError as exc:
            raise DatasetError(f"{where}: {exc}") from exc
        row_kind = _row_kind(row, where)
        if kind is not None and row_kind != kind:
            raise DatasetError(f"{where}: a {row_kind} row in a {kind} file; one file holds one kind")
        kind = row_kind
        items.append(Item(id=row.id or str(number), text=row.text, label=row.label,
                          spans=tuple(sorted(row.spans or (), key=lambda s: (s.start, s.end))), group=row.group))
    if kind is None:
        raise DatasetError(f"{path}: no rows")
    types = frozenset(s.type for item in items for s in item.spans)
    return Dataset(name=path.stem, kind=kind, items=items, source=str(path), label_types=types)


def _row_kind(row: _Row, where: str) -> str:
    if (row.label is None) == (row.spans is None):
        raise DatasetError(f"{where}: a row needs exactly one of \"label\" (0 or 1) and \"spans\"")
    if row.label is not None:
        if row.label not in (0, 1):
            raise DatasetError(f"{where}: label must be 0 or 1, got {row.label}")
        return "classification"
    for span in row.spans or ():
        if not 0 <= span.start < span.end <= len(row.text):
            raise DatasetError(f"{where}: span {span.type} [{span.start}, {span.end}) is not inside the text "
                               f"({len(row.text)} characters; end is exclusive)")
    return "pii"
