"""Mainland China vehicle plates: province character, issuing-authority letter, then 5 (or 6, new-energy) characters."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.recognizers._context import WindowContextRecognizer

_PROVINCE = "[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
_LETTER = "[A-HJ-NP-Z]"  # I and O are never used: they read as 1 and 0
_ALNUM = "[A-HJ-NP-Z0-9]"
_DOT = "[·•・.]?"  # the middle dot printed on plates, often typed


class CnLicensePlateRecognizer(WindowContextRecognizer):
    """The province character makes the shape specific enough to count without context."""

    ENTITIES: ClassVar[list[str]] = ["CN_LICENSE_PLATE"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "CN new-energy plate",
            # Small cars: D/F then a letter or digit and 4 digits; large vehicles: 5 digits then D/F.
            rf"{_PROVINCE}{_LETTER}{_DOT}(?:[DF]{_ALNUM}[0-9]{{4}}|[0-9]{{5}}[DF])(?![0-9A-Za-z])",
            0.6,
        ),
        Pattern("CN plate", rf"{_PROVINCE}{_LETTER}{_DOT}{_ALNUM}{{5}}(?![0-9A-Za-z])", 0.6),
        Pattern("CN trailer/coach/police plate", rf"{_PROVINCE}{_LETTER}{_DOT}{_ALNUM}{{4}}[挂学警]", 0.6),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "plate", "license plate", "licence plate", "number plate", "vehicle", "car",
        "车牌", "车牌号", "牌照", "号牌", "车辆", "汽车", "开车", "的车", "停车",
    ]

