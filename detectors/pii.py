"""The PII detector: Presidio's analyzer over pattern recognizers, with NER when a spaCy model is named."""

from __future__ import annotations

import importlib.metadata
import logging
import re
import threading
from typing import Sequence

from detectors import anchors
from detectors.base import DetectorError, Finding
from detectors.holdback import pattern_holdback, sentence_holdback

log = logging.getLogger("guardgate.detectors.pii")

# Entities Presidio finds only through a spaCy NER model; with the blank pipeline they never fire.
NER_ENTITIES: frozenset[str] = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME", "GPE"})
INLINE_CHARS = 256


def _make_tldextract_offline() -> None:
    """Presidio's e-mail and URL validators call tldextract, which would try to download the suffix list."""
    import tldextract
    import tldextract.tldextract as impl

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    impl.TLD_EXTRACTOR = offline
    tldextract.extract = offline


class PresidioPool:
    """Builds one `AnalyzerEngine` per (language, spaCy model) and shares it between rules and reloads."""

    def __init__(self) -> None:
        self._engines: dict[tuple[str, str | None], object] = {}
        self._lock = threading.Lock()

    def analyzer(self, language: str, nlp_model: str | None):  # -> presidio_analyzer.AnalyzerEngine
        key = (language, nlp_model)
        with self._lock:
            if key not in self._engines:
                self._engines[key] = self._build(language, nlp_model)
            return self._engines[key]

    def supported_entities(self, language: str, nlp_model: str | None) -> list[str]:
        return sorted(self.analyzer(language, nlp_model).get_supported_entities(language=language))

    @staticmethod
    def _build(language: str, nlp_model: str | None):
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        from detectors.recognizers import CUSTOM_RECOGNIZERS

        _make_tldextract_offline()
        if nlp_model:
            try:
                nlp = spacy.load(nlp_model)
            except OSError as exc:
                raise DetectorError(f"spaCy model {nlp_model!r} is not installed: pip install it, "
                                    f"or remove nlp_model to use pattern recognizers only") from exc
            log.info("PII: Presidio with spaCy model %s (NER on) for language %s", nlp_model, language)
        else:
            nlp = spacy.blank(language)
            log.info("PII: Presidio with a blank spaCy pipeline (pattern recognizers only, no NER) for language %s",
                     language)
        engine = SpacyNlpEngine(models=[{"lang_code": language, "model_name": nlp_model or f"blank:{language}"}])
        engine.nlp = {language: nlp}
        registry = RecognizerRegistry(supported_languages=[language])
        presidio_log = logging.getLogger("presidio-analyzer")
        level = presidio_log.level
        presidio_log.setLevel(logging.ERROR)  # it warns once per recognizer of every other language
        try:
            registry.load_predefined_recognizers(languages=[language], nlp_engine=engine)
        finally:
            presidio_log.setLevel(level)
        registry.remove_recognizer("PhoneRecognizer")  # replaced by ours: local, and several times faster
        for factory in CUSTOM_RECOGNIZERS:
            recognizer = factory()
            if recognizer.supported_language == language:
                registry.add_recognizer(recognizer)
        return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[language])


class PiiDetector:
    """One pii rule's view of a shared analyzer: its entities, threshold, allow-list and size cap."""

    name = "pii"

    inline_chars: int

    def __init__(self, analyzer, entities: Sequence[str], threshold: float, language: str,
                 allow_list: Sequence[str] = (), max_chars: int = 100_000) -> None:
        self.version = f"presidio-{importlib.metadata.version('presidio-analyzer')}"
        self._analyzer = analyzer
        self._entities = list(entities)
        self._threshold = threshold
        self._language = language
        self._allow_list = list(allow_list)
        self._max_chars = max_chars
        self._ner = any(e in NER_ENTITIES for e in entities)
        # Pattern recognizers on a few hundred characters take about 0.1 ms, less than the hop to the pool;
        # NER takes milliseconds and always goes to the pool.
        self.inline_chars = 0 if self._ner else INLINE_CHARS
        # Per entity, so that Presidio runs only the recognizers that could match a text: a prompt with an e-mail
        # address but no digit runs one recognizer instead of ten (the benchmark prompt: 0.22 ms to 0.085 ms).
        # Their union, one regex, decides whether a text needs analysing at all.
        needs = {e: entities_need(analyzer, language, [e]) for e in self._entities}
        self._entity_anchors = [(e, _anchor(need)) for e, need in needs.items()]
        self._anchor = _anchor(anchors.union(needs.values()))

    def may_find(self, text: str) -> bool:
        """False only when no recognizer of this rule can match `text`: then analysing it is skipped."""
        return self._anchor is None or len(text) > self._max_chars or self._anchor.search(text) is not None

    def stream_holdback(self, pending: str) -> int:
        """Pattern matches are final once their token ends; NER needs the whole sentence."""
        return sentence_holdback(pending) if self._ner else pattern_holdback(pending)

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        return [self._detect(t) for t in texts]

    def _detect(self, text: str) -> list[Finding]:
        if len(text) > self._max_chars:
            raise DetectorError(f"text of {len(text)} characters exceeds this rule's max_chars ({self._max_chars})")
        if not text or not self.may_find(text):
            return []
        entities = [e for e, anchor in self._entity_anchors if anchor is None or anchor.search(text)]
        if not entities:
            return []
        results = self._analyzer.analyze(
            text=text, language=self._language, entities=entities,
            score_threshold=self._threshold, allow_list=self._allow_list or None,
        )
        return [Finding(entity_type=r.entity_type, start=r.start, end=r.end, score=float(r.score), detector=self.name)
                for r in results]


def _anchor(need: anchors.MaybeNeed) -> re.Pattern[str] | None:
    return anchors.anchor_regex(need) if need is not None else None


def entities_need(analyzer, language: str, entities: Sequence[str]) -> anchors.MaybeNeed:
    """The characters some match of these entities' recognizers must contain; None when nothing is certain.

    Pattern recognizers are anchored by their regexes; a recognizer that finds candidates
    its own way may name its candidate regex in `CANDIDATES`. spaCy's recognizer finds
    nothing when the pipeline has no components (the blank default); any other recognizer
    leaves the entities unanchored.
    """
    from presidio_analyzer import PatternRecognizer
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    blank = not analyzer.nlp_engine.nlp[language].pipe_names
    needs: list[anchors.MaybeNeed] = []
    for recognizer in analyzer.registry.get_recognizers(language=language, entities=list(entities)):
        if isinstance(recognizer, SpacyRecognizer) and blank:
            continue
        if isinstance(recognizer, PatternRecognizer) and recognizer.patterns:
            flags = int(recognizer.global_regex_flags or 0)
            needs.extend(anchors.pattern_need(p.regex, flags) for p in recognizer.patterns)
        elif isinstance(getattr(recognizer, "CANDIDATES", None), re.Pattern):
            needs.append(anchors.pattern_need(recognizer.CANDIDATES.pattern, recognizer.CANDIDATES.flags))
        else:
            return None
    return anchors.union(needs)
