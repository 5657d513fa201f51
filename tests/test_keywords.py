"""The keywords detector and its normalization: span tables, evasions, offsets into the original text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.base import Detector
from detectors.keywords import KeywordList, KeywordsDetector, read_keyword_file
from detectors.normalize import INVISIBLE, normalize

DATA = Path(__file__).parent / "data" / "keywords"

LISTS = [
    KeywordList(entity_type="PROFANITY", files=(str(DATA / "profanity_en.txt"),)),
    KeywordList(entity_type="BANNED_ZH", files=(str(DATA / "banned_zh.txt"),)),
    KeywordList(terms=("Secret Project",)),
    KeywordList(entity_type="SCIFI", terms=("frak", "Ｖｏｇｏｎ")),
]
DETECTOR = KeywordsDetector(LISTS)
ENTRIES = {normalize(e).text for kl in LISTS for e in [*kl.terms, *(t for f in kl.files for t in read_keyword_file(f))]}


@pytest.mark.parametrize(("text", "folded"), [
    ("b.a.d", "bad"),
    ("B a D", "bad"),
    ("b-a-d", "bad"),
    ("b . a . d", "bad"),
    ("b\u200ba\u200cd\u200d", "bad"),
    ("\ufeffb\u2060ad", "bad"),
    ("ｂａｄ　ｗｏｒｄ", "bad word"),       # full-width letters and the ideographic space
    ("BAD\n\t word", "bad word"),
    ("Straße", "strasse"),                  # case folding, not just lower()
    ("ﬁne", "fine"),                        # NFKC compatibility ligature
    ("Cafe\u0301", "café"),                 # a combining accent composes
    ("坏_词", "坏词"),
    ("坏 · 词", "坏词"),
    ("a bad day", "a bad day"),             # separators between words stay
    ("x-ray", "x-ray"),                     # one letter before a word is not a spelled-out word
    ("坏。词", "坏。词"),                   # sentence punctuation is not a separator
    ("b    a", "b a"),                      # a gap longer than three is layout
])
def test_normalization_table(text: str, folded: str) -> None:
    assert normalize(text).text == folded


@pytest.mark.parametrize("text", ["b.a.d", "ｈｅ\u200bｃｋ", "ﬁne", "Cafe\u0301 au lait", "坏 _ 词", "BAD\n\t word"])
def test_every_folded_character_maps_to_a_span_of_the_original(text: str) -> None:
    folded = normalize(text)
    assert len(folded.starts) == len(folded.ends) == len(folded.text)
    assert all(0 <= s < e <= len(text) for s, e in zip(folded.starts, folded.ends))
    assert list(folded.starts) == sorted(folded.starts)


# (text, expected [(entity, start, end)]), offsets into the text as given.
ROWS: list[tuple[str, list[tuple[str, int, int]]]] = [
    ("what the heck", [("PROFANITY", 9, 13)]),
    ("HECK!", [("PROFANITY", 0, 4)]),
    ("h.e.c.k", [("PROFANITY", 0, 7)]),
    ("oh h e c k yes", [("PROFANITY", 3, 10)]),
    ("h-e-c-k", [("PROFANITY", 0, 7)]),
    ("h_e_c_k", [("PROFANITY", 0, 7)]),
    ("ｈｅｃｋ", [("PROFANITY", 0, 4)]),
    ("he\u200bck", [("PROFANITY", 0, 5)]),
    ("\ufeffheck", [("PROFANITY", 1, 5)]),
    ("so bad.", [("PROFANITY", 3, 6)]),
    ("a bad word here", [("PROFANITY", 2, 10)]),  # the phrase, not also the "bad" inside it
    ("BAD\n  word", [("PROFANITY", 0, 10)]),
    ("Frak!", [("PROFANITY", 0, 4), ("SCIFI", 0, 4)]),  # one entry in two lists
    ("a vogon poem", [("SCIFI", 2, 7)]),
    ("c# is fine", [("PROFANITY", 0, 2)]),
    ("I know the Secret  Project.", [("KEYWORD", 11, 26)]),
    # Latin entries match whole words only
    ("Heckler", []),
    ("check", []),
    ("badword", []),
    ("abc# x", []),
    ("bad2", []),
    ("xb.a.d", []),
    # CJK entries match as substrings, Latin ones next to CJK characters
    ("这是坏词。", [("BANNED_ZH", 2, 4)]),
    ("这是坏_词", [("BANNED_ZH", 2, 5)]),
    ("这是坏\u200b词", [("BANNED_ZH", 2, 5)]),
    ("不要赌博了", [("BANNED_ZH", 2, 4)]),
    ("赌博业", [("BANNED_ZH", 0, 2)]),
    ("我觉得heck很", [("PROFANITY", 3, 7)]),
    ("违 禁 品", [("BANNED_ZH", 0, 5)]),
    ("坏。词", []),
    ("", []),
    ("nothing to see", []),
]


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_span_table(text: str, expected: list[tuple[str, int, int]]) -> None:
    [findings] = DETECTOR.detect_batch([text])
    assert sorted((f.entity_type, f.start, f.end) for f in findings) == sorted(expected)
    assert all(f.detector == "keywords" and f.score == 1.0 for f in findings)


@pytest.mark.parametrize(("text", "expected"), [row for row in ROWS if row[1]])
def test_each_span_covers_a_list_entry_in_the_original_text(text: str, expected) -> None:
    for _, start, end in expected:
        assert normalize(text[start:end]).text in ENTRIES


def test_batch_returns_one_list_per_text_in_order() -> None:
    assert [[(f.start, f.end) for f in fs] for fs in DETECTOR.detect_batch(["heck", "", "坏词", "heck heck"])] == [
        [(0, 4)], [], [(0, 2)], [(0, 4), (5, 9)]]


def test_it_is_a_detector_whose_version_names_the_lists() -> None:
    assert isinstance(DETECTOR, Detector)
    assert DETECTOR.name == "keywords"
    assert DETECTOR.entry_count == len(ENTRIES)
    assert KeywordsDetector(LISTS).version == DETECTOR.version
    assert KeywordsDetector([*LISTS, KeywordList(terms=("another",))]).version != DETECTOR.version


def test_list_files_skip_comments_and_blank_lines_but_keep_hash_inside_an_entry() -> None:
    assert read_keyword_file(DATA / "profanity_en.txt") == ["heck", "darn", "bad", "bad word", "frak", "c#"]


@pytest.mark.parametrize("lists", [[], [KeywordList(terms=("", "  ", "\u200b"))]])
def test_lists_without_entries_are_refused(lists) -> None:
    with pytest.raises(ValueError, match="no entries"):
        KeywordsDetector(lists)


def test_an_empty_entity_type_is_refused() -> None:
    with pytest.raises(ValueError, match="entity_type"):
        KeywordsDetector([KeywordList(entity_type="", terms=("x",))])


def test_a_missing_list_file_is_an_error_at_build_time(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KeywordsDetector([KeywordList(files=(str(tmp_path / "absent.txt"),))])


def test_ten_thousand_entries_all_match() -> None:
    words = [f"term{i:05d}" for i in range(10_000)]
    detector = KeywordsDetector([KeywordList(entity_type="BIG", terms=tuple(words))])
    text = " ".join(words[::997]) + " term1 xterm00042 term00042x"
    [findings] = detector.detect_batch([text])
    assert [text[f.start:f.end] for f in findings] == words[::997]


KEYWORDS = sorted(e for e in ENTRIES if len(e) > 1)


@given(
    keyword=st.sampled_from(KEYWORDS),
    inserts=st.lists(st.tuples(st.integers(min_value=1), st.sampled_from(sorted(INVISIBLE))), max_size=6),
    prefix=st.sampled_from(["", "well ", "你好，", "x: ", "(\u200b"]),
    suffix=st.sampled_from(["", " then", "。", "!\u200b"]),
    upper=st.booleans(),
)
def test_invisible_characters_inside_an_entry_do_not_hide_it(keyword, inserts, prefix, suffix, upper) -> None:
    chars = list(keyword.upper() if upper else keyword)
    for position, invisible in inserts:
        chars.insert(1 + position % (len(chars) - 1), invisible)  # strictly inside: never before or after
    dodged = "".join(chars)
    text = prefix + dodged + suffix
    [findings] = DETECTOR.detect_batch([text])
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    assert (len(prefix), len(prefix) + len(dodged)) in {(f.start, f.end) for f in findings}


@given(st.text(max_size=200))
def test_any_text_gives_spans_inside_it(text: str) -> None:
    [findings] = DETECTOR.detect_batch([text])
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    # Contains rather than equals: one original character may fold to several ("℃" -> "°c").
    assert all(any(e in normalize(text[f.start:f.end]).text for e in ENTRIES) for f in findings)


SINGLE_WORDS = sorted(e for e in KEYWORDS if e.isalnum())


@given(
    keyword=st.sampled_from(SINGLE_WORDS),
    separators=st.lists(st.sampled_from([".", "-", "_", " ", " . ", "*", "\u3000", "·"]), min_size=1, max_size=12),
    prefix=st.sampled_from(["", "well ", "你好，", "x: "]),
    suffix=st.sampled_from(["", " then", "。", "!"]),
)
def test_an_entry_spelled_out_with_separators_still_matches(keyword, separators, prefix, suffix) -> None:
    dodged = keyword[0] + "".join(separators[i % len(separators)] + ch for i, ch in enumerate(keyword[1:]))
    text = prefix + dodged + suffix
    [findings] = DETECTOR.detect_batch([text])
    assert (len(prefix), len(prefix) + len(dodged)) in {(f.start, f.end) for f in findings}
