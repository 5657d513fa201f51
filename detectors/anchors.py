"""Anchors: characters that every match of a pattern must contain, so a text without any of them cannot match.

Most streamed text is prose, and the pattern recognizers of a typical policy all need a
digit, an `@` or a `:` somewhere in a match. Checking for those characters costs
microseconds, where a Presidio analysis costs about a millisecond and a thread hop. The
anchors are derived from the recognizers' own regular expressions, by walking their
parse trees, so they stay exact when a recognizer or a policy's entity list changes:
a pattern whose matches need no particular character (a deny list of words, a letter
class) has no anchor, and then its detector always runs.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parse tree's opcodes; stable since Python 3.11
import re._parser as sre_parse
from typing import Iterable, NamedTuple, Optional

_MAX_CHARS = 32
_COMMONNESS = {c: 50 for c in ".,;'\"-!?()/"} | {":": 5}  # a wider class (say, all letters) is in every text and anchors nothing


class Need(NamedTuple):
    """A match contains one of `chars`, or a Unicode decimal digit when `digit` is set."""

    chars: frozenset[str] = frozenset()
    digit: bool = False

    def __or__(self, other: Need) -> Need:  # type: ignore[override]
        return Need(self.chars | other.chars, self.digit or other.digit)

    @property
    def cost(self) -> int:
        """How often the anchor turns up in prose, roughly: a space is everywhere, an `@` almost nowhere."""
        return sum(_COMMONNESS.get(c, 1000 if c.isspace() else 1) for c in self.chars) + (10 if self.digit else 0)


MaybeNeed = Optional[Need]
_NEUTRAL = "neutral"  # zero-width items (\b, ^, look-arounds): they neither give nor spoil an anchor


def pattern_need(regex: str, flags: int = 0) -> MaybeNeed:
    """What every match of `regex` must contain, or None when nothing is certain (or it cannot be parsed)."""
    try:
        tree = sre_parse.parse(regex, flags & ~re.VERBOSE if isinstance(flags, int) else 0)
    except (re.error, TypeError, ValueError, OverflowError):
        return None  # syntax of the `regex` module that `re` lacks: no anchor, the detector always runs
    return _sequence(list(tree), bool(int(flags) & re.IGNORECASE))


def union(needs: Iterable[MaybeNeed]) -> MaybeNeed:
    """The need of "any of these patterns matches": None as soon as one of them needs nothing."""
    total = Need()
    for need in needs:
        if need is None:
            return None
        total = total | need
    return total


def anchor_regex(need: Need) -> re.Pattern[str]:
    """A regex that finds one of the need's characters (none, for an empty need: nothing can match)."""
    if not need.chars and not need.digit:
        return re.compile(r"(?!)")
    parts = "".join(re.escape(c) for c in sorted(need.chars)) + (r"\d" if need.digit else "")
    return re.compile(f"[{parts}]")


def _sequence(items: list, ignorecase: bool) -> MaybeNeed:
    best: MaybeNeed = None
    for op, av in items:
        need = _item(op, av, ignorecase)
        if need is None or need is _NEUTRAL:
            continue
        if best is None or need.cost < best.cost:
            best = need
    return best


def _item(op, av, ignorecase: bool):  # -> Need | None | _NEUTRAL
    if op is sre.LITERAL:
        return _literal(chr(av), ignorecase)
    if op is sre.IN:
        return _char_class(av, ignorecase)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, body = av
        return _sequence(list(body), ignorecase) if low >= 1 else None
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, body = av
        case = (ignorecase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        return _sequence(list(body), case)
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av), ignorecase)
    if op is sre.BRANCH:
        return union(_sequence(list(alt), ignorecase) for alt in av[1])
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _NEUTRAL
    return None  # ANY, NOT_LITERAL, back-references, conditionals: nothing certain


def _literal(ch: str, ignorecase: bool) -> MaybeNeed:
    if ignorecase and (ch.lower() != ch or ch.upper() != ch or ch.casefold() != ch):
        return None  # case folding maps letters to look-alikes (k to the Kelvin sign): not a safe anchor
    if ch.isdecimal():
        return Need(frozenset(ch))
    return None if ch.isalpha() else Need(frozenset(ch))


def _char_class(members: list, ignorecase: bool) -> MaybeNeed:
    total = Need()
    for op, av in members:
        if op is sre.LITERAL:
            need = _literal(chr(av), ignorecase)
        elif op is sre.RANGE:
            low, high = av
            if high - low >= _MAX_CHARS:
                return None
            need = union(_literal(chr(c), ignorecase) for c in range(low, high + 1))
        elif op is sre.CATEGORY and av is sre.CATEGORY_DIGIT:
            need = Need(digit=True)
        else:
            return None  # a negated class, \w, \s...: too wide to anchor
        if need is None:
            return None
        total = total | need
    return total if len(total.chars) <= _MAX_CHARS else None
