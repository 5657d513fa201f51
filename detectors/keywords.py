"""The keywords detector: word and phrase lists matched in one Aho-Corasick pass over normalized text."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Sequence

import ahocorasick
import msgspec

from detectors.base import Finding
from detectors.normalize import is_word_char, normalize

_ALGORITHM_VERSION = "1"


class KeywordList(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One list of keywords and phrases; every match of it is reported as `entity_type`."""

    entity_type: str = "KEYWORD"
    terms: tuple[str, ...] = ()
    """Entries given inline."""
    files: tuple[str, ...] = ()
    """Paths of UTF-8 files, one entry per line; blank lines and lines starting with '#' are skipped."""


def read_keyword_file(path: str | Path) -> list[str]:
    """The entries of a list file. Only whole-line comments: '#' inside an entry ("c#") is part of it."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            entries.append(entry)
    return entries


class _Entry(msgspec.Struct, frozen=True, array_like=True):
    length: int
    # Whether an edge of the entry is a Latin-script letter or digit, which must not run on into the text around it.
    whole_word_start: bool
    whole_word_end: bool
    entity_types: tuple[str, ...]


class KeywordsDetector:
    """Finds list entries as whole words in Latin-script text and as substrings in CJK text.

    Entries and texts go through the same normalization (`detectors.normalize`), so
    "B.A.D", "ｂａｄ" and "b\u200bad" all match the entry "bad"; findings carry
    offsets into the original text. The automaton is built once, in the constructor.
    """

    name = "keywords"

    def __init__(self, lists: Sequence[KeywordList]) -> None:
        entries: dict[str, set[str]] = {}
        for keyword_list in lists:
            if not keyword_list.entity_type:
                raise ValueError("a keyword list needs a non-empty entity_type")
            terms = list(keyword_list.terms)
            for path in keyword_list.files:
                terms.extend(read_keyword_file(path))
            for term in terms:
                key = normalize(term).text.strip()
                if key:
                    entries.setdefault(key, set()).add(keyword_list.entity_type)
        if not entries:
            raise ValueError("the keyword lists hold no entries")
        self._automaton = ahocorasick.Automaton()
        digest = hashlib.sha256()
        for key in sorted(entries):
            types = tuple(sorted(entries[key]))
            self._automaton.add_word(key, _Entry(len(key), is_word_char(key[0]), is_word_char(key[-1]), types))
            digest.update(f"{key}\0{','.join(types)}\n".encode())
        self._automaton.make_automaton()
        self.entry_count = len(entries)
        # The digest names the list contents, so an audit record says which lists produced a finding.
        self.version = f"{_ALGORITHM_VERSION}+{digest.hexdigest()[:12]}"
        # pyahocorasick does not promise thread safety (its issue #111); searching is quick, so serialize it.
        self._lock = threading.Lock()

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        return [self._detect(text) for text in texts]

    def _detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        folded = normalize(text)
        haystack = folded.text
        with self._lock:
            hits = list(self._automaton.iter(haystack))
        spans: set[tuple[str, int, int]] = set()
        for last, entry in hits:
            start, end = last - entry.length + 1, last + 1
            if entry.whole_word_start and start > 0 and is_word_char(haystack[start - 1]):
                continue
            if entry.whole_word_end and end < len(haystack) and is_word_char(haystack[end]):
                continue
            original_start, original_end = folded.original_span(start, end)
            for entity_type in entry.entity_types:
                spans.add((entity_type, original_start, original_end))
        return [Finding(entity_type=t, start=s, end=e, score=1.0, detector=self.name)
                for t, s, e in _outermost(spans)]


def _outermost(spans: set[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop spans inside a longer span of the same type: "bad word" wins over the "bad" it contains."""
    kept: list[tuple[str, int, int]] = []
    reach: dict[str, int] = {}
    for entity_type, start, end in sorted(spans, key=lambda s: (s[1], -s[2], s[0])):
        if end <= reach.get(entity_type, -1):
            continue
        kept.append((entity_type, start, end))
        reach[entity_type] = end
    return kept
