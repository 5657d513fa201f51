"""Folds text into the form keyword lists are matched in, keeping a map back to the original characters.

The fold undoes the cheap tricks people use to slip a word past a filter:
compatibility forms and full-width letters (NFKC), case (case folding),
invisible characters (zero-width space, joiners, word joiner, BOM, soft hyphen),
separators typed between single letters ("b.a.d", "b a d", "b-a-d", "坏_词"),
and runs of whitespace (one plain space).
Every normalized character remembers the span of original characters it came
from, so a match is reported in the text the caller owns.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from array import array
from typing import NamedTuple

# Invisible characters that only serve to split a word in two.
INVISIBLE: frozenset[str] = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")

# Typed between the letters of a spelled-out word. Sentence punctuation such as "。", "，", "!" and "?" is left out:
# it ends a clause rather than hiding a word.
SEPARATORS: frozenset[str] = frozenset(" \t\r\n.-_*·•‧∙|/\\~+,'`^")

# "b . a . d" still counts; a longer gap between two single letters is layout, not evasion.
MAX_SEPARATOR_RUN = 3

# Scripts written without spaces between words: a keyword in them matches anywhere, not as a whole word.
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),    # Hangul Jamo
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x3100, 0x312F),    # Bopomofo
    (0x3130, 0x318F),    # Hangul compatibility Jamo
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xAC00, 0xD7AF),    # Hangul syllables
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
)

_CJK = "[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]"
_WORD = rf"(?:(?!{_CJK})[^\W_])"  # a letter or digit outside CJK: \w less the underscore
_SEPARATOR = "[" + re.escape("".join(sorted(SEPARATORS))) + r"\s]"
# A separator run with a one-character unit on each side: a CJK character, or a letter/digit standing alone.
_SPELLED_OUT_GAP = re.compile(
    rf"(?:(?<={_CJK})|(?<=(?<!{_WORD}){_WORD})){_SEPARATOR}{{1,{MAX_SEPARATOR_RUN}}}"
    rf"(?!{_SEPARATOR})(?={_CJK}|{_WORD}(?!{_WORD}))"
)
# Whitespace that is not already a single plain space.
_WHITESPACE_TO_FOLD = re.compile(r"\s{2,}|[^\S ]")
_INVISIBLE_RE = re.compile("[" + "".join(sorted(INVISIBLE)) + "]")


def is_cjk(ch: str) -> bool:
    """Whether `ch` belongs to a script written without spaces between words (Chinese, Japanese, Korean)."""
    cp = ord(ch)
    return cp >= 0x1100 and any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def is_word_char(ch: str) -> bool:
    """A letter or digit of a space-separated script: what a whole-word match must not touch."""
    return ch.isalnum() and not is_cjk(ch)


class Normalized(NamedTuple):
    """The folded text, and for each of its characters the [start, end) of the original characters it came from."""

    text: str
    starts: array  # array("q"): 8 bytes per character, where a list of ints would take about 36
    ends: array

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span of normalized characters [start, end); end > start."""
        return self.starts[start], self.ends[end - 1]


def normalize(text: str) -> Normalized:
    """Fold `text` for matching; see the module docstring for what is undone."""
    folded, starts, ends = _fold(text)
    return _join_spelled_out(folded, starts, ends)


def _fold(text: str) -> tuple[str, array, array]:
    """NFKC + case folding + invisible-character removal, one base character and its combining marks at a time."""
    # Most texts are already NFKC, hold nothing invisible, and case-fold one character to one: nothing moves.
    if text.isascii():
        return text.lower(), array("q", range(len(text))), array("q", range(1, len(text) + 1))
    if not _INVISIBLE_RE.search(text) and unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text) and unicodedata.is_normalized("NFKC", folded):
            return folded, array("q", range(len(text))), array("q", range(1, len(text) + 1))
    chars: list[str] = []
    starts = array("q")
    ends = array("q")
    i, n = 0, len(text)
    while i < n:
        if text[i] in INVISIBLE:
            i += 1
            continue
        # A base character composes with the marks after it (e + U+0301 -> é), so they are folded together.
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        folded = cluster.lower() if cluster.isascii() else unicodedata.normalize(
            "NFKC", unicodedata.normalize("NFKC", cluster).casefold())
        for ch in folded:
            if ch not in INVISIBLE:
                chars.append(ch)
                starts.append(i)
                ends.append(j)
        i = j
    return "".join(chars), starts, ends


def _join_spelled_out(folded: str, starts: array, ends: array) -> Normalized:
    """Drop separator runs between two one-character units; fold other whitespace runs to one space."""
    # (start, end, replacement) over `folded`, in order and disjoint: each run is a maximal separator run.
    edits = [(m.start(), m.end(), "") for m in _SPELLED_OUT_GAP.finditer(folded)]
    drop_starts = [start for start, _, _ in edits]
    edits += [(m.start(), m.end(), " ") for m in _WHITESPACE_TO_FOLD.finditer(folded)
              if not _inside(m.start(), edits, drop_starts)]
    if not edits:
        return Normalized(folded, starts, ends)
    edits.sort()
    pieces: list[str] = []
    out_starts = array("q")
    out_ends = array("q")
    done = 0
    for start, end, replacement in edits:
        pieces.append(folded[done:start])
        out_starts.extend(starts[done:start])
        out_ends.extend(ends[done:start])
        if replacement:
            # The one space stands for the whole run, so a phrase match spans it in the original text.
            pieces.append(replacement)
            out_starts.append(starts[start])
            out_ends.append(ends[end - 1])
        done = end
    pieces.append(folded[done:])
    out_starts.extend(starts[done:])
    out_ends.extend(ends[done:])
    return Normalized("".join(pieces), out_starts, out_ends)


def _inside(position: int, drops: list[tuple[int, int, str]], drop_starts: list[int]) -> bool:
    """Whether `position` lies in one of the dropped runs (sorted, disjoint; `drop_starts` are their starts)."""
    k = bisect.bisect_right(drop_starts, position) - 1
    return k >= 0 and position < drops[k][1]
