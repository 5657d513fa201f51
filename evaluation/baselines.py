"""Baselines run beside a policy on the same items: stock Presidio, alt-profanity-check, and a keyword list."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from pathlib import Path
from typing import Callable, Sequence

from evaluation.systems import PolicySystem, System, pii_rules
from evaluation.types import Prediction, ScoredSpan
from policies.compiler import DetectorFactory
from policies.loader import load_policy
from policies.schema import Policy, StageName

BASELINES = ("presidio", "profanity-check", "keywords")
KEYWORDS_POLICY = Path(__file__).parent / "policies" / "keywords-toxicity.yaml"


class _ThreadedSystem:
    """A synchronous predictor run off the event loop; latency is timed inside the worker thread."""

    def __init__(self, name: str, threshold: float, version: str, fn: Callable[[str], list[ScoredSpan]]) -> None:
        self.name = name
        self.thresholds = {name: threshold}
        self.versions = {name: version}
        self._fn = fn

    async def predict(self, text: str) -> Prediction:
        def timed() -> Prediction:
            started = time.perf_counter()
            spans = self._fn(text)
            return Prediction(spans=tuple(spans), latency_s=time.perf_counter() - started)

        return await asyncio.to_thread(timed)

    def close(self) -> None:
        pass


def stock_presidio(language: str, nlp_model: str | None):  # -> presidio_analyzer.AnalyzerEngine
    """Presidio's own AnalyzerEngine and predefined recognizers, with the NLP pipeline our PII rules get.

    Built like `detectors.pii.PresidioPool` minus our custom recognizers, so the only
    difference measured is the recognizers, not the tokenizer or NER model.
    """
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    from detectors.pii import _make_tldextract_offline

    _make_tldextract_offline()  # no network here, as in the gateway
    engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": nlp_model or f"blank:{language}"}])
    engine.nlp = {language: spacy.load(nlp_model) if nlp_model else spacy.blank(language)}
    registry = RecognizerRegistry(supported_languages=[language])
    presidio_log = logging.getLogger("presidio-analyzer")
    level = presidio_log.level
    presidio_log.setLevel(logging.ERROR)  # one warning per recognizer of every other language
    try:
        registry.load_predefined_recognizers(languages=[language], nlp_engine=engine)
    finally:
        presidio_log.setLevel(level)
    _keep_stock(registry, language)
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[language])


def _keep_stock(registry, language: str) -> None:
    """Swaps back any predefined recognizer that resolved to one of ours.

    Presidio finds a predefined recognizer's class by name among every loaded subclass
    of EntityRecognizer, in set order; a class of ours with the same name (our
    PhoneRecognizer) can win that lookup, and the baseline would no longer be stock.
    """
    import presidio_analyzer.predefined_recognizers as stock

    for i, recognizer in enumerate(registry.recognizers):
        if not type(recognizer).__module__.startswith("presidio_analyzer"):
            registry.recognizers[i] = getattr(stock, type(recognizer).__name__)(supported_language=language)


def presidio_baseline(policy: Policy, stage: StageName, rule_ids: Sequence[str]) -> System:
    """Stock Presidio on the evaluated pii rules' entities, language, NLP model and (lowest) threshold."""
    rules = pii_rules(policy, stage, rule_ids)
    if not rules:
        raise ValueError(f"the presidio baseline needs a pii rule among the evaluated rules of the {stage} stage")
    if len({(r.language, r.nlp_model) for r in rules}) > 1:
        raise ValueError("the presidio baseline needs the evaluated pii rules to share one language and nlp_model; "
                         "pick rules with --rule")
    language, nlp_model = rules[0].language, rules[0].nlp_model
    entities = sorted({e for r in rules for e in r.entities})
    analyzer = stock_presidio(language, nlp_model)

    def analyze(text: str) -> list[ScoredSpan]:
        results = analyzer.analyze(text=text, language=language, entities=entities, score_threshold=0.0)
        return [ScoredSpan(r.entity_type, r.start, r.end, float(r.score), "presidio") for r in results]

    version = f"presidio-analyzer {importlib.metadata.version('presidio-analyzer')}, {nlp_model or 'blank'} pipeline"
    return _ThreadedSystem("presidio", min(r.threshold for r in rules), version, analyze)


def profanity_check_baseline() -> System:
    """alt-profanity-check's linear SVM; its probability is the item's score, 0.5 its own cut-off."""
    try:
        from profanity_check import predict_prob
    except ImportError as exc:
        raise ValueError("the profanity-check baseline needs alt-profanity-check: pip install 'guardgate[eval]'") \
            from exc

    def score(text: str) -> list[ScoredSpan]:
        return [ScoredSpan("PROFANITY", 0, len(text), float(predict_prob([text])[0]), "profanity-check")]

    version = f"alt-profanity-check {importlib.metadata.version('alt-profanity-check')}"
    return _ThreadedSystem("profanity-check", 0.5, version, score)


def keywords_baseline(stage: StageName, factory: DetectorFactory) -> System:
    """A plain keyword list (evaluation/policies/keywords-toxicity.yaml) through the engine: any match flags."""
    return PolicySystem("keywords", load_policy(KEYWORDS_POLICY), KEYWORDS_POLICY, stage, factory=factory)


def build_baseline(name: str, policy: Policy, stage: StageName, rule_ids: Sequence[str],
                   factory: DetectorFactory) -> System:
    if name == "presidio":
        return presidio_baseline(policy, stage, rule_ids)
    if name == "profanity-check":
        return profanity_check_baseline()
    if name == "keywords":
        return keywords_baseline(stage, factory)
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
