"""Mainland China mobile numbers: 1[3-9]x plus 8 digits, with an optional +86 / 0086 prefix."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from detectors.recognizers._context import WindowContextRecognizer

_NUMBER = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
# Not glued to other digits or letters; '+' before a bare number means a longer international number.
_BEFORE = r"(?<![0-9A-Za-z+])"
_AFTER = r"(?![0-9A-Za-z])"


class CnMobileRecognizer(WindowContextRecognizer):
    """11-digit mobile numbers, whole or in 3-4-4 groups split by spaces or dashes."""

    ENTITIES: ClassVar[list[str]] = ["CN_MOBILE"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("CN mobile with country code", rf"{_BEFORE}(?:\+|00)86[ -]?{_NUMBER}{_AFTER}", 0.7),
        Pattern("CN mobile", rf"{_BEFORE}{_NUMBER}{_AFTER}", 0.5),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "mobile", "phone", "cell", "cellphone", "tel", "telephone", "contact", "call", "sms", "text me",
        "wechat", "whatsapp",
        "手机", "电话", "手机号", "联系方式", "联系电话", "号码", "致电", "微信", "短信",
    ]

