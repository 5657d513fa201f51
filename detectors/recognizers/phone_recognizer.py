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
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# A run of up to eight digit groups, each optionally in brackets, joined by at most one separator.
_RUN = re.compile(r"(?<![\w+])\+?\(?\d{1,5}\)?(?:[ .\-]?\(?\d{1,5}\)?){0,7}(?!\w)")
# Dates and dotted quads are digit groups too, but never phone numbers.
_NOT_PHONE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3}")


class LocalPhoneRecognizer(LocalRecognizer):
    SCORE = 0.4
    CONTEXT = ["phone", "number", "telephone", "cell", "cellphone", "mobile", "call"]
    REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")

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
            if _NOT_PHONE.fullmatch(candidate) or not self._valid(candidate):
                continue
            results.append(RecognizerResult(
                self.supported_entities[0], run.start(), run.end(), self.SCORE,
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                      RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
        return results

    def _valid(self, candidate: str) -> bool:
        digits = sum(c.isdigit() for c in candidate)
        if not 8 <= digits <= 15:
            return False
        for region in self.regions:
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                    return True
            except phonenumbers.NumberParseException:
                continue
        return False
