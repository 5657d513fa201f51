"""A loaded policy with its detectors built: immutable, swapped whole on reload."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from detectors import Detector
from policies.schema import MaskOptions, Policy, Rule, StageName


@dataclass(frozen=True)
class CompiledRule:
    spec: Rule
    detector: Detector


@dataclass(frozen=True)
class CompiledPolicy:
    """`version` is the sha256 of the policy's canonical JSON form, recorded with every decision."""

    policy: Policy
    version: str
    source: str
    input_rules: tuple[CompiledRule, ...]
    output_rules: tuple[CompiledRule, ...]
    masks: Mapping[str, MaskOptions] = field(default_factory=lambda: MappingProxyType({}))

    def stage_rules(self, stage: StageName) -> tuple[CompiledRule, ...]:
        return self.input_rules if stage == "input" else self.output_rules

    @property
    def short_version(self) -> str:
        return self.version[:12]
