"""Builds a policy's detectors: the explicit registry from a rule's `detector` tag to its constructor."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import MappingProxyType
from typing import Callable

import msgspec

from detectors import Detector
from detectors.pii import PiiDetector, PresidioPool
from policies.compiled import CompiledPolicy, CompiledRule
from policies.schema import ClassifierRule, HfClassifierRule, KeywordsRule, LlmJudgeRule, PiiRule, Policy, Rule


def canonical_version(policy: Policy) -> str:
    """sha256 of the canonical JSON form: key order and YAML layout do not change it."""
    canonical = msgspec.json.encode(msgspec.to_builtins(policy), order="sorted")
    return hashlib.sha256(canonical).hexdigest()


class DetectorFactory:
    """Builds detectors for rules, sharing heavy resources (Presidio engines, models) between rules and reloads.

    `backend_url` is where `llm_judge` rules send their prompts; `base_dir` resolves relative
    paths in rules (keyword files, checkpoints), normally the policy file's folder.
    """

    def __init__(self, backend_url: str | None = None) -> None:
        self.presidio = PresidioPool()
        self.backend_url = backend_url
        self._cache: dict[tuple, Detector] = {}
        self._builders: dict[type, Callable[[Rule, Path], Detector]] = {
            PiiRule: self._pii, KeywordsRule: self._keywords, ClassifierRule: self._classifier,
            HfClassifierRule: self._hf_classifier, LlmJudgeRule: self._llm_judge,
        }

    def build(self, rule: Rule, base_dir: Path = Path(".")) -> Detector:
        return self._builders[type(rule)](rule, base_dir)

    def _pii(self, rule: Rule, base_dir: Path) -> Detector:
        assert isinstance(rule, PiiRule)
        return PiiDetector(
            analyzer=self.presidio.analyzer(rule.language, rule.nlp_model),
            entities=tuple(rule.entities), threshold=rule.threshold, language=rule.language,
            allow_list=tuple(rule.allow_list), max_chars=rule.max_chars,
        )

    def _keywords(self, rule: Rule, base_dir: Path) -> Detector:
        from detectors.keywords import KeywordList, KeywordsDetector

        assert isinstance(rule, KeywordsRule)
        return KeywordsDetector([
            KeywordList(entity_type=spec.entity_type, terms=tuple(spec.terms),
                        files=tuple(str(_resolve(base_dir, f)) for f in spec.files))
            for spec in rule.lists])

    def _classifier(self, rule: Rule, base_dir: Path) -> Detector:
        from detectors.classifier import ClassifierDetector

        assert isinstance(rule, ClassifierRule)
        return ClassifierDetector.builtin(rule.model, threshold=rule.threshold, window_chars=rule.window_chars,
                                          overlap_chars=rule.overlap_chars)

    def _hf_classifier(self, rule: Rule, base_dir: Path) -> Detector:
        from detectors.hf_classifier import HfClassifierDetector

        assert isinstance(rule, HfClassifierRule)
        return HfClassifierDetector(str(_resolve(base_dir, rule.path)), labels=dict(rule.labels),
                                    threshold=rule.threshold, max_length=rule.max_length,
                                    batch_size=rule.batch_size, device=rule.device)

    def _llm_judge(self, rule: Rule, base_dir: Path) -> Detector:
        from detectors.llm_judge import LlmJudgeDetector

        assert isinstance(rule, LlmJudgeRule)
        if not self.backend_url:
            raise ValueError(f"rule {rule.id}: llm_judge needs a backend; pass --upstream (or serve with one)")
        return LlmJudgeDetector(self.backend_url, model=rule.model, categories=dict(rule.categories),
                                template=rule.template, max_tokens=rule.max_tokens,
                                request_options=dict(rule.request_options))


def _resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def compile_policy(policy: Policy, source: str, factory: DetectorFactory) -> CompiledPolicy:
    base_dir = Path(source).parent if source else Path(".")

    def build(rules: list[Rule]) -> tuple[CompiledRule, ...]:
        return tuple(CompiledRule(spec=r, detector=factory.build(r, base_dir)) for r in rules)

    masks = {r.id: r.mask for r in [*policy.input.rules, *policy.output.rules]}
    return CompiledPolicy(
        policy=policy, version=canonical_version(policy), source=source,
        input_rules=build(policy.input.rules), output_rules=build(policy.output.rules),
        masks=MappingProxyType(masks),
    )
