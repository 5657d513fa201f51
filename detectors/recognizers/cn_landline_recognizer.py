"""Mainland China fixed-line numbers: 0 + area code + 7-8 digits, or +86 + area code without its 0."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.recognizers._context import WindowContextRecognizer

# 010, 02x, then 0 + three digits from 3xx up. No area code starts 01[1-9], which keeps mobiles (13x...) out.
_AREA = r"(?:10|2[0-9]|[3-9][0-9]{2})"
_BEFORE = r"(?<![0-9A-Za-z+])"
_AFTER = r"(?![0-9A-Za-z])"


class CnLandlineRecognizer(WindowContextRecognizer):
    """Written with a dash, space or brackets after the area code it is fairly certain; run together it needs context."""

    ENTITIES: ClassVar[list[str]] = ["CN_LANDLINE"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "CN landline with country code",
            rf"{_BEFORE}(?:\+|00)86[ -]?(?:{_AREA}|[(（]0?{_AREA}[)）])[ -]?[1-9][0-9]{{6,7}}{_AFTER}",
            0.6,
        ),
        Pattern(
            "CN landline, area code set off",
            rf"{_BEFORE}(?:0{_AREA}[ -]|[(（]0{_AREA}[)）] ?)[1-9][0-9]{{6,7}}{_AFTER}",
            0.5,
        ),
        # Local numbers never start with 0 or 1 (service numbers do), which is what separates 3- and 4-digit codes.
        Pattern("CN landline, run together", rf"{_BEFORE}0{_AREA}[2-9][0-9]{{6,7}}{_AFTER}", 0.2),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "phone", "tel", "telephone", "landline", "fax", "office", "call", "contact",
        "电话", "座机", "固话", "固定电话", "传真", "办公电话", "联系电话", "联系方式", "致电",
    ]

