"""Chinese (PRC) ordinary passport numbers: E/G + 8 digits, or the newer E + letter + 7 digits."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.recognizers._context import WindowContextRecognizer


class CnPassportRecognizer(WindowContextRecognizer):
    """A letter and eight characters could be any code, so the score stays low until a context word appears."""

    ENTITIES: ClassVar[list[str]] = ["CN_PASSPORT"]

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

