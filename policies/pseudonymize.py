"""Reversible pseudonymization: PII becomes `<TYPE_N>` for the model and is restored in what it answers.

A `Vault` lives for one request and is never logged or persisted: its repr shows counts
only, and it refuses to be pickled. Each request builds its own, so two requests can never
see each other's values. Numbering follows first appearance across the request's texts; a
client that resends its history therefore gets the same placeholders on every turn.

Restoring is exact and conservative: only placeholders this vault issued are replaced;
anything else shaped like `<...>` passes through untouched.
"""

from __future__ import annotations

import re
from typing import NoReturn, Sequence

from policies.verdict import RuleFinding

_LABEL_JUNK = re.compile(r"[^A-Z0-9]+")
# Placeholders hold no angle brackets inside, so occurrences never overlap and one pass finds them all.
_BRACKETED = re.compile(r"<[^<>]{1,200}>")
_NUMBERED = re.compile(r"<[A-Z0-9_]+_[0-9]+>")


def _label(entity_type: str) -> str:
    """Entity types are free text in policies (keyword lists); placeholders need a plain `A-Z0-9_` label."""
    return _LABEL_JUNK.sub("_", entity_type.upper())[:64].strip("_") or "ENTITY"


class Vault:
    """One request's placeholder ↔ value table."""

    __slots__ = ("_by_key", "_values", "_counts", "_reserved", "_prefixes")

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._reserved: set[str] = set()
        self._prefixes: set[str] = set()  # proper prefixes of issued placeholders, for stream hold-back

    def placeholder(self, entity_type: str, value: str) -> str:
        """The placeholder for this value: the same (type, value) always gets the same one."""
        label = _label(entity_type)
        key = (label, value)
        found = self._by_key.get(key)
        if found is not None:
            return found
        n = self._counts.get(label, 0)
        while True:
            n += 1
            candidate = f"<{label}_{n}>"
            if candidate not in self._reserved:
                break
        self._counts[label] = n
        self._by_key[key] = candidate
        self._values[candidate] = value
        self._prefixes.update(candidate[:i] for i in range(1, len(candidate)))
        return candidate

    def reserve(self, text: str) -> None:
        """Placeholder-shaped strings already in a text are never issued, so the model cannot confuse them with ours.

        `pseudonymize` reserves within its own text; a caller that wants the guarantee
        across all of a request's texts reserves each of them before pseudonymizing any.
        """
        self._reserved.update(m.group(0) for m in _NUMBERED.finditer(text) if m.group(0) not in self._values)

    def restore(self, text: str) -> str:
        """Every placeholder this vault issued, replaced by its value; values come back raw (the caller escapes)."""
        if not self._values:
            return text
        return _BRACKETED.sub(lambda m: self._values.get(m.group(0), m.group(0)), text)

    def could_start_placeholder(self, tail: str) -> bool:
        """Whether `tail` is a proper prefix of a placeholder this vault issued."""
        return tail in self._prefixes

    def __len__(self) -> int:
        return len(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __repr__(self) -> str:
        counts = ", ".join(f"{label}={n}" for label, n in sorted(self._counts.items()))
        return f"<Vault: {len(self._values)} placeholders{' (' + counts + ')' if counts else ''}>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Vault holds raw PII for one request and is never pickled or persisted")


def pseudonymize(text: str, findings: Sequence[RuleFinding], vault: Vault) -> str:
    """Replace the spans of `pseudonymize` findings with the vault's placeholders; other actions are ignored."""
    vault.reserve(text)
    out: list[str] = []
    pos = 0
    for f in _merge(findings):
        out.append(text[pos : f.start])
        out.append(vault.placeholder(f.type, text[f.start : f.end]))
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def _merge(findings: Sequence[RuleFinding]) -> list[RuleFinding]:
    """Overlapping spans become one; the higher score, then the type, names it, so the result is deterministic."""
    spans = sorted((f for f in findings if f.action == "pseudonymize" and f.end > f.start),
                   key=lambda f: (f.start, -f.end))
    merged: list[RuleFinding] = []
    for f in spans:
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            winner = max(last, f, key=lambda x: (x.score, x.type))
            merged[-1] = RuleFinding(
                type=winner.type, start=last.start, end=max(last.end, f.end), score=max(last.score, f.score),
                detector=winner.detector, rule=winner.rule, action="pseudonymize",
            )
        else:
            merged.append(f)
    return merged


class PlaceholderRestorer:
    """Restores placeholders in one streamed text channel (a choice's content, or one tool-call argument string).

    For any split of a text into chunks, the concatenation of what `feed` and `finish`
    return equals `vault.restore(text)`. Only a tail that is a proper prefix of a
    placeholder the vault issued is held back, so the hold never exceeds the longest
    placeholder. The vault must be complete before the stream starts.
    """

    __slots__ = ("_vault", "_pending")

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._pending = ""

    @property
    def pending(self) -> str:
        """The held-back tail, still in placeholder form."""
        return self._pending

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        # A placeholder has one `<`, at its start: only a tail from the last `<` can still grow into one.
        start = text.rfind("<")
        if start >= 0 and self._vault.could_start_placeholder(text[start:]):
            self._pending = text[start:]
            text = text[:start]
        else:
            self._pending = ""
        return self._vault.restore(text)

    def finish(self) -> str:
        """The text is complete: release what was held, as it is."""
        rest, self._pending = self._pending, ""
        return rest
