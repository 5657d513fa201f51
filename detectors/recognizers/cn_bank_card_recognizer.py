"""Bank card numbers as issued in mainland China: UnionPay 62 BINs, and Visa/Mastercard-style 4/5 BINs."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import EntityRecognizer, Pattern

from detectors.checksums import cn_id_valid, luhn_valid
from detectors.recognizers._context import WindowContextRecognizer

# 16-19 digits: four groups of four, then up to three more, each group optionally after a space or dash.
_BODY = r"[0-9]{2}(?:[ -]?[0-9]{4}){3}(?:[ -]?[0-9]{1,3})?"
_BEFORE = r"(?<![0-9A-Za-z])"
_AFTER = r"(?![0-9A-Za-z])"


class CnBankCardRecognizer(WindowContextRecognizer):
    """Luhn decides; a 62 (UnionPay) number that passes is certain, a 4/5 number needs a context word."""

    ENTITIES: ClassVar[list[str]] = ["CN_BANK_CARD"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("UnionPay (62)", rf"{_BEFORE}62{_BODY}{_AFTER}", 0.5),
        # Also what Presidio's CREDIT_CARD finds in English; scored low so it counts only near "银行卡", "card"...
        Pattern("Visa/Mastercard-style (4, 5)", rf"{_BEFORE}[45][0-9]{_BODY}{_AFTER}", 0.3),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "card", "card number", "bank", "bank card", "debit", "credit", "unionpay", "account", "acct",
        "银行卡", "卡号", "银联", "储蓄卡", "信用卡", "借记卡", "账号", "账户", "帐号", "开户行", "银行",
        "工行", "建行", "农行", "中行", "招行",
    ]

    REPLACEMENT_PAIRS: ClassVar[list[tuple[str, str]]] = [(" ", ""), ("-", "")]


    def validate_result(self, pattern_text: str) -> bool | None:
        digits = EntityRecognizer.sanitize_value(pattern_text, self.REPLACEMENT_PAIRS)
        if not luhn_valid(digits):
            return False
        # True lifts a UnionPay number to certainty; None keeps the low pattern score for 4/5 numbers.
        return True if digits.startswith("62") else None

    def invalidate_result(self, pattern_text: str) -> bool:
        # 62 is also Gansu's region code: an 18-digit resident ID that happens to pass Luhn is an ID, not a card.
        digits = EntityRecognizer.sanitize_value(pattern_text, self.REPLACEMENT_PAIRS)
        return len(digits) == 18 and cn_id_valid(digits)
