"""A pattern recognizer that finds its context words in the raw text around a match.

Presidio's stock enhancer compares context words with spaCy lemmas of the five
tokens before a match. Our analyzers run on blank spaCy pipelines, whose lemmas
are all empty strings, and spaCy's blank Chinese pipeline splits text into single
characters, so "身份证" could never equal one token. Looking at a window of raw
characters works the same way for every language and every pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import regex

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

if TYPE_CHECKING:
    from presidio_analyzer.nlp_engine import NlpArtifacts

# Flags for our own patterns: case matters (AKIA, plate letters) unless a pattern says (?i) itself.
CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE


def _word_regex(words: Sequence[str]) -> regex.Pattern[str]:
    """One alternation: Latin words must stand alone (a plural 's' allowed), CJK words match as substrings."""
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        escaped = regex.escape(word.lower())
        if word.isascii():
            parts.append(rf"(?<![a-z0-9]){escaped}s?(?![a-z0-9])")
        else:
            parts.append(escaped)
    return regex.compile("|".join(parts), regex.IGNORECASE)


class WindowContextRecognizer(PatternRecognizer):
    """Boosts a match's score when one of `context` occurs within a few characters before or after it."""

    # Same boost as Presidio's LemmaContextAwareEnhancer, so scores mean the same thing across recognizers.
    CONTEXT_FACTOR: ClassVar[float] = 0.35
    MIN_SCORE_WITH_CONTEXT: ClassVar[float] = 0.4
    # Long enough for "my Chinese resident identity card number is "; short enough to stay in one clause.
    WINDOW_BEFORE: ClassVar[int] = 48
    WINDOW_AFTER: ClassVar[int] = 16

    ENTITIES: ClassVar[list[str]] = []  # a subclass names its one entity; the policy validator reads it
    PATTERNS: ClassVar[list[Pattern]] = []
    CONTEXT: ClassVar[list[str]] = []

    def __init__(self, patterns: list[Pattern] | None = None, context: list[str] | None = None,
                 supported_language: str = "en", supported_entity: str | None = None, name: str | None = None) -> None:
        super().__init__(supported_entity=supported_entity or self.ENTITIES[0], patterns=patterns or self.PATTERNS,
                         context=context or self.CONTEXT, supported_language=supported_language, name=name,
                         global_regex_flags=CASE_SENSITIVE)
        self._context_regex = _word_regex(self.context) if self.context else None

    def supportive_word(self, text: str, start: int, end: int, extra: Sequence[str] = ()) -> str | None:
        """The first context word found near text[start:end], or in the caller-supplied context list."""
        if self._context_regex is None:
            return None
        window = f"{text[max(0, start - self.WINDOW_BEFORE):start]}\n{text[end:end + self.WINDOW_AFTER]}"
        found = self._context_regex.search(window)
        if found is None and extra:
            found = self._context_regex.search("\n".join(extra))
        return found.group(0) if found else None

    def enhance_using_context(
        self,
        text: str,
        raw_recognizer_results: list[RecognizerResult],
        other_raw_recognizer_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts | None,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        for result in raw_recognizer_results:
            word = self.supportive_word(text, result.start, result.end, context or ())
            if word is None:
                continue
            result.score = min(1.0, max(result.score + self.CONTEXT_FACTOR, self.MIN_SCORE_WITH_CONTEXT))
            # Tells Presidio's lemma enhancer, which runs next, not to boost this result a second time.
            result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
            if result.analysis_explanation is not None:
                result.analysis_explanation.set_supportive_context_word(word)
                result.analysis_explanation.set_improved_score(result.score)
        return raw_recognizer_results
