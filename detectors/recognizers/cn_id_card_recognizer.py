"""Mainland China 18-character resident identity card numbers (GB 11643-1999)."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import EntityRecognizer, Pattern

from detectors.checksums import cn_id_valid
from detectors.recognizers._context import WindowContextRecognizer


class CnIdCardRecognizer(WindowContextRecognizer):
    """Region code, birth date, sequence and an ISO 7064 MOD 11-2 check character; the checksum decides."""

    ENTITIES: ClassVar[list[str]] = ["CN_ID_CARD"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "CN resident ID (18, optional 6-8-4 or 6-4-4-4 separators)",
            # Region (first digit 1-8), year 18xx-20xx, then MMDD and 3 digits + check; ASCII lookarounds
            # because \b sees no boundary between a CJK character and a digit.
            r"(?<![0-9A-Za-z])[1-8][0-9]{5}[ -]?(?:18|19|20)[0-9]{2}[ -]?[0-3][0-9]{3}[ -]?[0-9]{3}[0-9Xx]"
            r"(?![0-9A-Za-z])",
            0.5,
        ),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "id", "id card", "identity", "identification", "resident", "citizen", "national id", "shenfenzheng",
        "身份证", "身份号码", "公民身份", "证件号", "证件号码", "居民身份证", "身份信息",
    ]

    REPLACEMENT_PAIRS: ClassVar[list[tuple[str, str]]] = [(" ", ""), ("-", "")]


    def validate_result(self, pattern_text: str) -> bool:
        return cn_id_valid(EntityRecognizer.sanitize_value(pattern_text, self.REPLACEMENT_PAIRS))
