"""Mainland-China recognizers inside real Presidio analyzers, English and Chinese, as span tables."""

from __future__ import annotations

import pytest

from detectors.checksums import (
    cn_id_check_char,
    cn_id_valid,
    luhn_check_digit,
    luhn_valid,
    uscc_check_char,
    uscc_valid,
)
from detectors.pii import PiiDetector, PresidioPool

CN_ENTITIES = ["CN_ID_CARD", "CN_MOBILE", "CN_BANK_CARD", "CN_USCC", "CN_PASSPORT", "CN_LANDLINE", "CN_LICENSE_PLATE"]


def with_id_check(body17: str) -> str:
    return body17 + cn_id_check_char(body17)


def with_luhn(partial: str) -> str:
    return partial + luhn_check_digit(partial)


def with_uscc_check(body17: str) -> str:
    return body17 + uscc_check_char(body17)


def wrong_last(value: str, alphabet: str = "0123456789") -> str:
    """The same value with a different, hence wrong, final check character."""
    return value[:-1] + next(c for c in alphabet if c != value[-1].upper())


ID = with_id_check("11010519491231002")  # the GB 11643-1999 example person: 11010519491231002X
ID_DIGIT_CHECK = with_id_check("32010619900101123")
ID_BAD_CHECK = wrong_last(ID)
ID_FEB_30 = with_id_check("11010519490230002")  # right check character over an impossible date
ID_FUTURE = with_id_check("11010520990101002")
ID_REGION_9 = with_id_check("91010519491231002")  # first digit outside 1-8
ID_REGION_19 = with_id_check("19010519491231002")  # no province 19
UNIONPAY_19 = with_luhn("621226220000000000")
UNIONPAY_16 = with_luhn("621700123456789")
# 62 is also Gansu: an ID that happens to pass Luhn must be reported as an ID only.
GANSU_ID_PASSING_LUHN = next(v for v in (with_id_check(f"62010219900101{s:03d}") for s in range(1000))
                             if luhn_valid(v))
USCC = with_uscc_check("91440300MA5F00000")
USCC_FILLER = with_uscc_check("1" * 17)


@pytest.mark.parametrize(("value", "valid"), [
    ("11010519491231002X", True),   # GB 11643-1999's own example
    ("110101199003074610", True),
    ("11010519491231002x", True),   # lower-case x as people type it
    ("110105194912310021", False),
    ("110101199013074610", False),  # month 13
])
def test_cn_id_checksum_on_published_values(value: str, valid: bool) -> None:
    assert cn_id_valid(value) is valid


@pytest.mark.parametrize(("value", "valid"), [
    ("79927398713", True),           # the worked example of the Luhn algorithm
    ("4111111111111111", True),      # Visa's test number
    ("6212262200000000004", True),
    ("4111111111111112", False),
])
def test_luhn_on_published_values(value: str, valid: bool) -> None:
    assert luhn_valid(value) is valid


@pytest.mark.parametrize(("value", "valid"), [
    ("91350100M000100Y43", True),    # the example printed with GB 32100-2015 explanations
    ("91110108MA01YBNX62", True),
    ("52100000500000784G", True),
    ("111000000000123600", True),
    ("91110108MA01YBNX6A", False),
    ("91110108MA01YBNX6", False),
])
def test_uscc_checksum_on_published_values(value: str, valid: bool) -> None:
    assert uscc_valid(value) is valid


def test_generated_values_are_the_published_ones() -> None:
    assert ID == "11010519491231002X"
    assert UNIONPAY_19 == "6212262200000000004"
    assert with_uscc_check("91350100M000100Y4") == "91350100M000100Y43"


# (language, text, expected [(entity, start, end, score)]) at threshold 0: low scores show what needs context.
ROWS: list[tuple[str, str, list[tuple[str, int, int, float]]]] = [
    # --- resident ID: the check character decides
    ("zh", f"我的身份证号码是{ID}，请核实", [("CN_ID_CARD", 8, 26, 1.0)]),
    ("en", f"Resident ID: {ID}.", [("CN_ID_CARD", 13, 31, 1.0)]),
    ("en", f"{ID_DIGIT_CHECK}", [("CN_ID_CARD", 0, 18, 1.0)]),
    ("zh", f"{ID[:17]}x", [("CN_ID_CARD", 0, 18, 1.0)]),
    ("zh", f"身份证 {ID[:6]} {ID[6:14]} {ID[14:]}", [("CN_ID_CARD", 4, 24, 1.0)]),
    ("zh", f"身份证{ID[:6]}-{ID[6:14]}-{ID[14:]}", [("CN_ID_CARD", 3, 23, 1.0)]),
    ("zh", f"身份证号{ID_BAD_CHECK}", []),
    ("zh", f"身份证号{ID_FEB_30}", []),
    ("en", f"ID {ID_FUTURE}", []),
    ("en", f"ID {ID_REGION_9}", []),
    ("en", f"ID {ID_REGION_19}", []),
    ("zh", f"订单号7{ID}", []),            # inside a longer digit run
    ("zh", f"订单号{ID}7", []),
    ("en", f"ref A{ID}", []),
    # --- mobile numbers
    ("zh", "手机号13812345678", [("CN_MOBILE", 3, 14, 0.85)]),
    ("en", "call me on 13812345678 tonight", [("CN_MOBILE", 11, 22, 0.85)]),
    ("en", "13812345678", [("CN_MOBILE", 0, 11, 0.5)]),
    ("zh", "请联系（13912345678）", [("CN_MOBILE", 4, 15, 0.5)]),
    ("zh", "138 1234 5678", [("CN_MOBILE", 0, 13, 0.5)]),
    ("en", "+8613812345678", [("CN_MOBILE", 0, 14, 0.7)]),
    ("zh", "电话：+86 138-1234-5678。", [("CN_MOBILE", 3, 20, 1.0)]),
    ("en", "0086-138-1234-5678", [("CN_MOBILE", 0, 18, 0.7)]),
    ("en", "12012345678", []),                # second digit 2: no such network
    ("en", "1381234567", []),                 # ten digits
    ("en", "138123456789", []),               # twelve digits
    ("zh", "流水号2013812345678", []),
    ("en", "SKU A13812345678", []),
    # --- bank cards: Luhn decides, a 4/5 number needs context
    ("zh", f"卡号{UNIONPAY_19}", [("CN_BANK_CARD", 2, 21, 1.0)]),
    ("en", f"{UNIONPAY_16}", [("CN_BANK_CARD", 0, 16, 1.0)]),
    ("zh", f"银行卡 {UNIONPAY_19[:4]} {UNIONPAY_19[4:8]} {UNIONPAY_19[8:12]} {UNIONPAY_19[12:16]} {UNIONPAY_19[16:]}",
     [("CN_BANK_CARD", 4, 27, 1.0)]),
    ("zh", f"卡号{wrong_last(UNIONPAY_19)}", []),
    ("en", "card number 4111 1111 1111 1111", [("CN_BANK_CARD", 12, 31, 0.65)]),
    ("zh", "银行卡4111-1111-1111-1111", [("CN_BANK_CARD", 3, 22, 0.65)]),
    ("en", "4111111111111111", [("CN_BANK_CARD", 0, 16, 0.3)]),
    ("zh", "银行卡4111111111111112", []),
    ("zh", f"卡号{UNIONPAY_19}1", []),
    ("zh", f"身份证{GANSU_ID_PASSING_LUHN}", [("CN_ID_CARD", 3, 21, 1.0)]),
    # --- unified social credit codes
    ("zh", "统一社会信用代码91350100M000100Y43", [("CN_USCC", 8, 26, 1.0)]),
    ("en", "Company credit code: 91110108MA01YBNX62", [("CN_USCC", 21, 39, 1.0)]),
    ("zh", f"{USCC}", [("CN_USCC", 0, 18, 1.0)]),
    ("zh", "代码：91110108ma01ybnx62", [("CN_USCC", 3, 21, 1.0)]),
    ("zh", "信用代码91110108MA01YBNX6A", []),
    ("zh", "信用代码9I110108MA01YBNX62", []),  # I is not in the alphabet
    ("zh", f"信用代码{USCC_FILLER}", []),
    ("zh", f"信用代码{USCC}8", []),
    # --- passports: context makes them count
    ("zh", "护照号G12345678", [("CN_PASSPORT", 3, 12, 0.65)]),
    ("zh", "旅客徐明的护照号码E12345678已过期", [("CN_PASSPORT", 9, 18, 0.65)]),
    ("en", "Passport no. EA1234567, issued 2019", [("CN_PASSPORT", 13, 22, 0.65)]),
    ("zh", "编号G12345678的订单", [("CN_PASSPORT", 2, 11, 0.3)]),
    ("zh", "护照号G123456789", []),
    ("zh", "护照号EI1234567", []),
    ("zh", "版本V20250101已发布", []),
    # --- landlines
    ("zh", "座机010-12345678", [("CN_LANDLINE", 2, 14, 0.85)]),
    ("zh", "电话(021)87654321", [("CN_LANDLINE", 2, 15, 0.85)]),
    ("zh", "（0755）2234567", [("CN_LANDLINE", 0, 13, 0.5)]),
    ("en", "0755 22345678", [("CN_LANDLINE", 0, 13, 0.5)]),
    ("en", "Office: +86 10 65529988", [("CN_LANDLINE", 8, 23, 0.95)]),
    ("zh", "075522345678", [("CN_LANDLINE", 0, 12, 0.2)]),
    ("zh", "电话075522345678", [("CN_LANDLINE", 2, 14, 0.55)]),
    ("zh", "座机010-1234567890", []),
    ("zh", "座机8010-12345678", []),
    # --- licence plates
    ("zh", "车牌京A12345", [("CN_LICENSE_PLATE", 2, 9, 0.95)]),
    ("zh", "他的车是京A88888，停在楼下", [("CN_LICENSE_PLATE", 4, 11, 0.95)]),
    ("en", "car plate 京A12345", [("CN_LICENSE_PLATE", 10, 17, 0.95)]),
    ("zh", "粤B·D12345", [("CN_LICENSE_PLATE", 0, 9, 0.6)]),
    ("zh", "京AD12345", [("CN_LICENSE_PLATE", 0, 8, 0.6)]),
    ("zh", "沪AF01234", [("CN_LICENSE_PLATE", 0, 8, 0.6)]),
    ("zh", "川A123AB", [("CN_LICENSE_PLATE", 0, 7, 0.6)]),
    ("zh", "京A1234学", [("CN_LICENSE_PLATE", 0, 7, 0.6)]),
    ("zh", "中A12345", []),
    ("zh", "京A123", []),
    ("zh", "京A123456", []),
    ("zh", "京I12345", []),
    ("zh", "今天天气不错", []),
]


@pytest.fixture(scope="module")
def analyzers() -> dict[str, object]:
    pool = PresidioPool()
    return {"en": pool.analyzer("en", None), "zh": pool.analyzer("zh", None)}


def spans(analyzer, text: str, language: str) -> list[tuple[str, int, int, float]]:
    results = analyzer.analyze(text=text, language=language, entities=CN_ENTITIES, score_threshold=0.0)
    return sorted((r.entity_type, r.start, r.end, round(r.score, 2)) for r in results)


@pytest.mark.parametrize(("language", "text", "expected"), ROWS)
def test_span_table(analyzers, language: str, text: str, expected) -> None:
    assert spans(analyzers[language], text, language) == sorted(expected)


@pytest.mark.parametrize(("language", "text", "expected"), ROWS)
def test_the_other_language_finds_the_same(analyzers, language: str, text: str, expected) -> None:
    other = "en" if language == "zh" else "zh"
    assert spans(analyzers[other], text, other) == sorted(expected)


def test_every_recognizer_is_registered_for_both_languages(analyzers) -> None:
    for language, analyzer in analyzers.items():
        assert set(CN_ENTITIES + ["SECRET"]) <= set(analyzer.get_supported_entities(language=language))


def test_context_word_passed_by_the_caller_boosts_like_one_in_the_text(analyzers) -> None:
    results = analyzers["zh"].analyze(text="G12345678", language="zh", entities=["CN_PASSPORT"], context=["护照"])
    assert [(r.start, r.end, round(r.score, 2)) for r in results] == [(0, 9, 0.65)]


@pytest.mark.parametrize(("text", "expected"), [
    ("护照号G12345678", [("CN_PASSPORT", 3, 12)]),
    ("编号G12345678的订单", []),  # 0.3 without context: under the rule's default threshold
    (f"身份证{ID}，手机13812345678", [("CN_ID_CARD", 3, 21), ("CN_MOBILE", 24, 35)]),
])
def test_pii_detector_at_the_default_threshold(analyzers, text: str, expected) -> None:
    detector = PiiDetector(analyzers["zh"], entities=CN_ENTITIES, threshold=0.5, language="zh")
    [findings] = detector.detect_batch([text])
    assert sorted((f.entity_type, f.start, f.end) for f in findings) == expected
    assert all(f.detector == "pii" and f.score >= 0.5 for f in findings)
