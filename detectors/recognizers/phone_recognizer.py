"""PHONE_NUMBER: digit-group candidates validated by python-phonenumbers, in place of Presidio's recognizer.

Presidio's own recognizer runs phonenumbers' matcher over the whole text, which costs
most of an analysis and makes a number's fate depend on text far away from it (a card
number after it can hide it). This one looks only at the run of digit groups a number
sits in, which is what lets a stream release text early with the same result.
"""

from __future__ import annotations

import re
from typing import List, Optional

import phonenumbers
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# A run of up to eight digit groups, each optionally in brackets, joined by at most one separator.
_RUN = re.compile(r"(?<![\w+])\+?\(?\d{1,5}\)?(?:[ .\-]?\(?\d{1,5}\)?){0,7}(?!\w)")
# Dates and dotted quads are digit groups too, but never phone numbers.
# Dates (also followed by a time), dotted quads and US SSNs are digit groups too, but never phone numbers.
_NOT_PHONE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?!\d)|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}(?!\d)"
                        r"|\d{1,3}(?:\.\d{1,3}){3}(?!\d)|\d{3}-\d{2}-\d{4}$")


def _looks_like_card(candidate: str) -> bool:
    """13 to 19 digits passing Luhn: a payment card, which the card recognizer reports."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


class LocalPhoneRecognizer(LocalRecognizer):
    SCORE = 0.4
    CONTEXT = ["phone", "number", "telephone", "cell", "cellphone", "mobile", "call"]
    REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")
    CANDIDATES = _RUN  # every result is one of its matches: what `PiiDetector.may_find` anchors on

    def __init__(self, supported_language: str = "en", supported_entity: str = "PHONE_NUMBER",
                 regions: tuple[str, ...] = REGIONS) -> None:
        self.regions = regions
        super().__init__(supported_entities=[supported_entity], supported_language=supported_language,
                         context=self.CONTEXT, name="GuardgatePhoneRecognizer")

    def load(self) -> None:  # noqa: D102 - nothing to load
        pass

    def analyze(self, text: str, entities: List[str],
                nlp_artifacts: Optional[NlpArtifacts] = None) -> List[RecognizerResult]:
        """A run of digit groups is a phone number only as a whole: part of a card number or an ID is not."""
        results: list[RecognizerResult] = []
        for run in _RUN.finditer(text):
            candidate = run.group()
            if _NOT_PHONE.match(candidate) or _looks_like_card(candidate) or not self._valid(candidate):
                continue
            explanation = AnalysisExplanation(recognizer=self.name, original_score=self.SCORE,
                                              textual_explanation="digit groups valid as a phone number")
            results.append(RecognizerResult(
                self.supported_entities[0], run.start(), run.end(), self.SCORE, analysis_explanation=explanation,
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                      RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
        return results

    def _valid(self, candidate: str) -> bool:
        digits = sum(c.isdigit() for c in candidate)
        # National numbers in the supported regions have 10 or more digits; shorter runs (ZIP codes, house
        # numbers, counts) are phone numbers only when written internationally or with a trunk prefix.
        if not 8 <= digits <= 15 or (digits < 10 and not candidate.startswith(("+", "0", "(0"))):
            return False
        for region in self.regions:
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                    return True
            except phonenumbers.NumberParseException:
                continue
        return False
