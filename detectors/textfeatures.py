"""Hashed character and word n-grams, and text windows: the featurizer the built-in classifiers share with training.

Everything here is a pure function of the text and the configuration, stable across
processes and platforms (no Python `hash`, which is salted per process), so weights
trained on one machine mean the same on every other one. The hashing is vectorized
in numpy: featurizing a 1 KB text costs tens of microseconds, not a Python loop per n-gram.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Sequence

import msgspec
import numpy as np

_SPACE = re.compile(r"\s+")
# Murmur3's 64-bit finalizer constants: they spread a polynomial hash over every bit before the modulo.
_C1 = np.uint64(0xFF51AFD7ED558CCD)
_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_PRIME = np.uint64(1_000_003)
_PRIME_INV = np.uint64(pow(1_000_003, -1, 1 << 64))
_WORD_PRIME = np.uint64(0x100000001B3)


class NgramConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a model's input ids mean; stored next to its weights and checked when they load."""

    buckets: int = 1 << 18
    min_n: int = 1
    max_n: int = 4
    word_n: int = 0
    """Word n-grams up to this length (0: none) over runs of Latin and Cyrillic letters and digits.

    CJK text has no spaces to delimit words; its character n-grams cover it."""
    salt: int = 0x9E3779B9


def normalize(text: str) -> str:
    """NFKC, case folding and collapsed whitespace, padded with one space so word edges form n-grams."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return f" {_SPACE.sub(' ', folded).strip()} "


def _fmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(33))
    x = x * _C1
    x = x ^ (x >> np.uint64(33))
    x = x * _C2
    return x ^ (x >> np.uint64(33))


_tables: tuple[np.ndarray, np.ndarray] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """P**k and Q**k (mod 2**64) for k < size, grown by doubling and shared; a stale read only costs a rebuild."""
    global _tables
    powers, inverse = _tables
    if len(powers) < size:
        n = max(size, 2 * len(powers), 4096)
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.concatenate(([np.uint64(1)], np.full(n - 1, _PRIME, dtype=np.uint64))))
            inverse = np.cumprod(np.concatenate(([np.uint64(1)], np.full(n - 1, _PRIME_INV, dtype=np.uint64))))
        _tables = (powers, inverse)
    return powers, inverse


def _is_word_char(codes: np.ndarray) -> np.ndarray:
    """Digits and lower-case Latin (with accents) and Cyrillic letters: scripts where spaces delimit words."""
    return (((codes >= 0x30) & (codes <= 0x39)) | ((codes >= 0x61) & (codes <= 0x7A))
            | ((codes >= 0xC0) & (codes <= 0x24F)) | ((codes >= 0x400) & (codes <= 0x4FF)))


def _word_hashes(codes: np.ndarray, word_n: int, salt: int) -> list[np.ndarray]:
    """Polynomial hashes of word 1..word_n-grams, all words hashed at once from prefix sums.

    With Q the inverse of the odd multiplier modulo 2**64, G[i] = sum(codes[j] * Q**j, j < i)
    gives hash(codes[a:b]) = P**(b-1) * (G[b] - G[a]): one cumsum for every word of the text.
    """
    if word_n <= 0:
        return []
    inside = _is_word_char(codes)
    edges = np.diff(np.concatenate(([False], inside, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not len(starts):
        return []
    powers, inverse = _power_tables(len(codes) + 1)
    prefix = np.concatenate(([np.uint64(0)], np.cumsum(codes * inverse[:len(codes)])))
    words = powers[ends - 1] * (prefix[ends] - prefix[starts])
    parts = []
    rolling = np.zeros(len(words), dtype=np.uint64)
    for n in range(1, min(word_n, len(words)) + 1):
        rolling = rolling[: len(words) - n + 1] * _WORD_PRIME + words[n - 1:]
        parts.append(rolling ^ np.uint64((salt * (n + 16)) & 0xFFFFFFFFFFFFFFFF))
    return parts


def ngram_ids(text: str, config: NgramConfig) -> np.ndarray:
    """The bucket ids (int64) of the normalized text's character (and word) n-grams, with repeats."""
    codes = np.frombuffer(normalize(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts = []
    rolling = np.zeros(len(codes), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for n in range(1, min(config.max_n, len(codes)) + 1):
            # rolling[i] hashes codes[i:i+n]; each order extends the previous one by one character.
            rolling = rolling[: len(codes) - n + 1] * _PRIME + codes[n - 1:]
            if n >= config.min_n:
                parts.append(rolling ^ np.uint64((config.salt * n) & 0xFFFFFFFFFFFFFFFF))
        parts.extend(_word_hashes(codes, config.word_n, config.salt))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return (_fmix(np.concatenate(parts)) % np.uint64(config.buckets)).astype(np.int64)


def batch_ids(texts: Iterable[str], config: NgramConfig) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids and start offsets for `torch.nn.EmbeddingBag`, one bag per text."""
    arrays = [ngram_ids(t, config) for t in texts]
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    offsets = np.zeros(len(arrays), dtype=np.int64)
    if len(arrays) > 1:
        np.cumsum(lengths[:-1], out=offsets[1:])
    flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
    return flat, offsets


def windows(length: int, window_chars: int, overlap_chars: int) -> list[tuple[int, int]]:
    """Spans [start, end) covering `length` characters; all but a short text's single window are full width.

    Windows step by `window_chars - overlap_chars`; the last one is pulled back to end at
    the text's end, so it overlaps its neighbour by at least `overlap_chars` and never
    holds a stub of a few characters that the model would judge without context.
    """
    if window_chars <= 0 or not 0 <= overlap_chars < window_chars:
        raise ValueError(f"need window_chars > overlap_chars >= 0, got {window_chars} and {overlap_chars}")
    if length <= 0:
        return []
    if length <= window_chars:
        return [(0, length)]
    step = window_chars - overlap_chars
    count = -(-(length - window_chars) // step) + 1
    starts = [min(i * step, length - window_chars) for i in range(count)]
    return [(s, s + window_chars) for s in starts]


def split_windows(texts: Sequence[str], window_chars: int,
                  overlap_chars: int) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Every window of every text, and for each window (text index, start, end)."""
    pieces: list[str] = []
    where: list[tuple[int, int, int]] = []
    for i, text in enumerate(texts):
        for start, end in windows(len(text), window_chars, overlap_chars):
            pieces.append(text[start:end])
            where.append((i, start, end))
    return pieces, where
