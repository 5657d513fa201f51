"""Unified social credit codes of Chinese organisations (GB 32100-2015)."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.checksums import cn_id_valid, uscc_valid
from detectors.recognizers._context import WindowContextRecognizer

_CHAR = "[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]"  # the 31-character alphabet, either case: I O Z S V never occur


class CnUsccRecognizer(WindowContextRecognizer):
    """Authority + category, 6-digit region, 9-character organisation code, check character (weights 3^i mod 31)."""

    ENTITIES: ClassVar[list[str]] = ["CN_USCC"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "CN unified social credit code",
            rf"(?<![0-9A-Za-z])[1-9ANYany]{_CHAR}[0-9]{{6}}{_CHAR}{{9}}{_CHAR}(?![0-9A-Za-z])",
            0.4,
        ),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "credit code", "social credit", "uscc", "business license", "business licence", "registration",
        "company", "enterprise", "tax id", "taxpayer",
        "统一社会信用代码", "信用代码", "社会信用代码", "营业执照", "纳税人识别号", "税号", "企业", "公司", "机构代码",
    ]


    def validate_result(self, pattern_text: str) -> bool:
        return uscc_valid(pattern_text)

    def invalidate_result(self, pattern_text: str) -> bool:
        # An all-digit value that is a valid resident ID is far likelier a person's ID than an organ's code.
        if pattern_text.isdigit() and cn_id_valid(pattern_text):
            return True
        # One character repeated is filler that can still pass a 1-in-31 check.
        return len(set(pattern_text[:17].upper())) == 1
