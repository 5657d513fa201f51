"""Chinese (PRC) ordinary passport numbers: E/G + 8 digits, or the newer E + letter + 7 digits."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.recognizers._context import CASE_SENSITIVE, WindowContextRecognizer


class CnPassportRecognizer(WindowContextRecognizer):
    """A letter and eight characters could be any code, so the score stays low until a context word appears."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "CN passport",
            r"(?<![0-9A-Za-z])(?:[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7})(?![0-9A-Za-z])",
            0.3,
        ),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "passport", "passport no", "passport number", "travel document",
        "护照", "护照号", "护照号码", "旅行证件", "签证",
    ]

    def __init__(
        self,
        patterns: list[Pattern] | None = None,
        context: list[str] | None = None,
        supported_language: str = "en",
        supported_entity: str = "CN_PASSPORT",
        name: str | None = None,
    ) -> None:
        super().__init__(
            supported_entity=supported_entity,
            patterns=patterns or self.PATTERNS,
            context=context or self.CONTEXT,
            supported_language=supported_language,
            name=name,
            global_regex_flags=CASE_SENSITIVE,
        )
