"""How much of a stream's tail a detector must keep back, because later text could still change a match there."""

from __future__ import annotations

_SENTENCE_ENDS = ".!?。！？\n"
_CHAIN_ENDS = set("0123456789)")
_CHAIN_STARTS = set("0123456789(+")


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


def _is_break(ch: str) -> bool:
    """Whitespace, and CJK punctuation, which Chinese text uses where English puts spaces."""
    return ch.isspace() or (0x3000 <= ord(ch) <= 0x303F) or (0xFF00 <= ord(ch) <= 0xFF0F) or ch in "，：；"


def pattern_holdback(pending: str) -> int:
    """Characters at the end of `pending` that could still be part of a pattern match.

    That is the trailing token (e-mails, URLs, keys and IDs contain no spaces), extended
    back over single spaces between digit groups ("4111 1111 …", "+1 (415) 555 …"),
    plus one CJK character right before it (licence plates start with one, "京A12345").
    A trailing single space after a digit group is held too: the next chunk may continue it.
    """
    i = len(pending)
    if i and pending[-1] in " \t" and (i < 2 or not _is_break(pending[-2])):
        if i >= 2 and pending[-2] in _CHAIN_ENDS:
            i -= 1  # "4111 " may go on as "4111 1111"
        else:
            return 0
    start = _token_start(pending, i)
    if start == i and i == len(pending):
        return 0
    while start >= 2 and pending[start - 1] in " \t" and not _is_break(pending[start - 2]) \
            and pending[start - 2] in _CHAIN_ENDS and (start == len(pending) or pending[start] in _CHAIN_STARTS):
        start = _token_start(pending, start - 1)
    if start >= 1 and _is_cjk(pending[start - 1]):
        start -= 1
    return len(pending) - start


def _token_start(text: str, end: int) -> int:
    j = end
    while j > 0 and not _is_break(text[j - 1]) and not _is_cjk(text[j - 1]):
        j -= 1
    return j


def sentence_holdback(pending: str) -> int:
    """Characters since the last sentence end: NER reads whole sentences, so a name is final only then."""
    for i in range(len(pending) - 1, -1, -1):
        if pending[i] in _SENTENCE_ENDS and (i + 1 == len(pending) or pending[i + 1].isspace() or pending[i] in "。！？\n"):
            return len(pending) - (i + 1)
    return len(pending)
