"""Rewrites a text's flagged spans according to each finding's action."""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping, Sequence

from policies.pseudonymize import Vault
from policies.schema import MaskOptions
from policies.verdict import ACTION_STRENGTH, TRANSFORMING, RuleFinding

_DEFAULT_MASK = MaskOptions()


def merge_spans(findings: Sequence[RuleFinding]) -> list[RuleFinding]:
    """Collapse overlapping transforming findings into disjoint spans; the strongest action names each span."""
    spans = sorted((f for f in findings if f.action in TRANSFORMING), key=lambda f: (f.start, -f.end))
    merged: list[RuleFinding] = []
    for f in spans:
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            # The stronger action names the span; on a tie, the higher score, then the type, so it is deterministic.
            winner = max(last, f, key=lambda x: (ACTION_STRENGTH[x.action], x.score, x.type))
            merged[-1] = RuleFinding(
                type=winner.type, start=last.start, end=max(last.end, f.end), score=max(last.score, f.score),
                detector=winner.detector, rule=winner.rule, action=winner.action,
            )
        else:
            merged.append(f)
    return merged


class Redactor:
    """Applies redact, mask and hash. `hash_key` makes hashes keyed (HMAC), so they cannot be brute-forced offline."""

    def __init__(self, hash_key: bytes | None = None) -> None:
        self._hash_key = hash_key

    def replacement(self, finding: RuleFinding, value: str, mask: MaskOptions, vault: Vault | None = None) -> str:
        if finding.action == "redact" or (finding.action == "pseudonymize" and vault is None):
            return f"<{finding.type}>"
        if finding.action == "pseudonymize":
            return vault.placeholder(finding.type, value)
        if finding.action == "hash":
            return f"<{finding.type}:{self.digest(value)}>"
        keep = min(mask.keep_last, len(value))
        return mask.char * (len(value) - keep) + value[len(value) - keep :]

    def digest(self, value: str) -> str:
        data = value.encode("utf-8")
        if self._hash_key:
            return hmac.new(self._hash_key, data, hashlib.sha256).hexdigest()[:16]
        return hashlib.sha256(data).hexdigest()[:16]

    def apply(self, text: str, findings: Sequence[RuleFinding], masks: Mapping[str, MaskOptions],
              vault: Vault | None = None) -> str:
        """`masks` maps a rule id to its mask options; `vault` issues the placeholders of `pseudonymize`."""
        out: list[str] = []
        pos = 0
        for f in merge_spans(findings):
            out.append(text[pos : f.start])
            out.append(self.replacement(f, text[f.start : f.end], masks.get(f.rule, _DEFAULT_MASK), vault))
            pos = f.end
        out.append(text[pos:])
        return "".join(out)
