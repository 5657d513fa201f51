"""Builds a policy's detectors: the explicit registry from a rule's `detector` tag to its constructor."""

from __future__ import annotations

import hashlib
from types import MappingProxyType
from typing import Callable

import msgspec

from detectors import Detector
from detectors.pii import PiiDetector, PresidioPool
from policies.compiled import CompiledPolicy, CompiledRule
from policies.schema import PiiRule, Policy, Rule


def canonical_version(policy: Policy) -> str:
    """sha256 of the canonical JSON form: key order and YAML layout do not change it."""
    canonical = msgspec.json.encode(msgspec.to_builtins(policy), order="sorted")
    return hashlib.sha256(canonical).hexdigest()


class DetectorFactory:
    """Builds detectors for rules, sharing heavy resources (Presidio engines) between rules and reloads."""

    def __init__(self) -> None:
        self.presidio = PresidioPool()
        self._builders: dict[type, Callable[[Rule], Detector]] = {PiiRule: self._pii}

    def build(self, rule: Rule) -> Detector:
        return self._builders[type(rule)](rule)

    def _pii(self, rule: Rule) -> Detector:
        assert isinstance(rule, PiiRule)
        return PiiDetector(
            analyzer=self.presidio.analyzer(rule.language, rule.nlp_model),
            entities=tuple(rule.entities), threshold=rule.threshold, language=rule.language,
            allow_list=tuple(rule.allow_list), max_chars=rule.max_chars,
        )


def compile_policy(policy: Policy, source: str, factory: DetectorFactory) -> CompiledPolicy:
    def build(rules: list[Rule]) -> tuple[CompiledRule, ...]:
        return tuple(CompiledRule(spec=r, detector=factory.build(r)) for r in rules)

    masks = {r.id: r.mask for r in [*policy.input.rules, *policy.output.rules]}
    return CompiledPolicy(
        policy=policy, version=canonical_version(policy), source=source,
        input_rules=build(policy.input.rules), output_rules=build(policy.output.rules),
        masks=MappingProxyType(masks),
    )
