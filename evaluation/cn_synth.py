"""A labelled mainland-China PII set, generated: Chinese and English texts with valid values and decoys.

Each text is a few clauses. A positive clause holds a well-formed value with a valid
check character (resident ID, bank card, credit code) or a valid shape (mobile,
landline, passport, plate), mostly in a sentence that names it; one in five values
that need no naming word (all but passports and 4/5 card numbers) stands bare. A decoy clause puts a value
with a wrong check character, an impossible prefix or a forbidden plate letter into
the same kind of sentence: it must not be flagged. Distractor clauses carry order
numbers, amounts and dates. Decoys and distractors go into texts of their own, so a
positive clause's context words never sit beside them.

A decoy that happens to be a valid value of another type (an invalid ID passing
Luhn behind a card prefix, or the credit-code check) is drawn again: its true label
would be ambiguous. The same seed always gives the same texts.

    python -m evaluation.cn_synth --count 1000 --seed 0 > cn-synth.jsonl
"""

from __future__ import annotations

import datetime
import random
import sys
from typing import Callable, Literal

import click
import msgspec

from detectors.checksums import (CN_ID_PROVINCES, USCC_ALPHABET, cn_id_check_char, cn_id_valid, luhn_check_digit,
                                 luhn_valid, uscc_check_char, uscc_valid)
from evaluation.types import Dataset, Item, Span

TYPES = ("CN_ID_CARD", "CN_BANK_CARD", "CN_USCC", "CN_MOBILE", "CN_LANDLINE", "CN_PASSPORT", "CN_LICENSE_PLATE")
Language = Literal["zh", "en"]

_PROVINCES = sorted(CN_ID_PROVINCES - {"71", "81", "82", "83"})  # mainland residents' IDs
_AREA_CODES = ("010", "020", "021", "022", "023", "024", "025", "027", "028", "029",
               "0755", "0571", "0512", "0591", "0731", "0871", "0451", "0431", "0531", "0371")
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "0123456789"

# Sentences per type and language; {v} is the value. Each names what the value is, as people write it.
TEMPLATES: dict[str, dict[Language, tuple[str, ...]]] = {
    "CN_ID_CARD": {"zh": ("我的身份证号是{v}", "身份证号码：{v}", "请核对证件号码{v}是否正确", "居民身份证 {v}"),
                   "en": ("My Chinese ID card number is {v}", "Resident ID: {v}", "identity number {v} on file")},
    "CN_BANK_CARD": {"zh": ("银行卡号{v}", "请转账到卡号 {v}", "我的储蓄卡是{v}", "工资卡：{v}"),
                     "en": ("card number {v}", "Please transfer to bank card {v}", "my debit card is {v}")},
    "CN_USCC": {"zh": ("统一社会信用代码：{v}", "公司的信用代码是{v}", "营业执照注册号 {v}"),
                "en": ("The company's unified social credit code is {v}", "USCC {v}", "business license no. {v}")},
    "CN_MOBILE": {"zh": ("手机号{v}", "有事打我电话{v}", "联系方式：{v}", "我的手机是 {v}"),
                  "en": ("Call me at {v}", "My mobile is {v}", "phone: {v}")},
    "CN_LANDLINE": {"zh": ("办公电话{v}", "座机：{v}", "联系电话 {v}"),
                    "en": ("Office phone: {v}", "Tel {v}", "call the front desk on {v}")},
    "CN_PASSPORT": {"zh": ("护照号码{v}", "我的护照号是{v}", "护照：{v}"),
                    "en": ("Passport No. {v}", "my passport number is {v}", "passport {v}")},
    "CN_LICENSE_PLATE": {"zh": ("车牌号{v}", "我的车是{v}", "号牌 {v} 的车辆"),
                         "en": ("License plate {v}", "the car with plate {v}", "vehicle {v} was parked outside")},
}
_DISTRACTORS: dict[Language, tuple[str, ...]] = {
    "zh": ("订单号{n}已发货", "金额{a}元", "会议定在{d}", "快递单号 {n}", "房间号{r}"),
    "en": ("order {n} has shipped", "the total is {a} yuan", "meeting on {d}", "tracking number {n}", "room {r}"),
}
# Sentences that do not say what the value is. Used only for values whose shape or check character suffices;
# a passport number or a 4/5 card number without a naming word is not expected to be found (README, CN PII).
_BARE: dict[Language, tuple[str, ...]] = {"zh": ("资料：{v}", "{v}", "备注 {v}"), "en": ("details: {v}", "{v}", "ref {v}")}
_NEEDS_CONTEXT = ("CN_PASSPORT",)
_FILLERS: dict[Language, tuple[str, ...]] = {
    "zh": ("谢谢", "请尽快处理", "明天下午三点见", "有问题随时联系"),
    "en": ("thanks", "please handle it soon", "see you tomorrow", "let me know if anything is unclear"),
}
_JOIN: dict[Language, str] = {"zh": "，", "en": ", "}
_END: dict[Language, str] = {"zh": "。", "en": "."}


class Value(msgspec.Struct, frozen=True):
    type: str
    value: str
    valid: bool


class Record(msgspec.Struct, frozen=True):
    """One generated text: `spans` are the values to find, `decoys` the lookalikes that must not be flagged."""

    text: str
    spans: tuple[Span, ...]
    decoys: tuple[Span, ...]
    language: Language


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_DIGITS) for _ in range(n))


def _wrong(rng: random.Random, right: str, alphabet: str) -> str:
    return rng.choice([c for c in alphabet if c != right])


def id_card(rng: random.Random, valid: bool) -> Value:
    while True:
        born = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(25_000))
        body = rng.choice(_PROVINCES) + f"{rng.randrange(1, 100):02d}{rng.randrange(1, 100):02d}" \
            + born.strftime("%Y%m%d") + _digits(rng, 3)
        check = cn_id_check_char(body)
        number = body + (check if valid else _wrong(rng, check, "0123456789X"))
        if valid or not (uscc_valid(number) or (number.startswith(("4", "5", "62")) and luhn_valid(number))):
            break
    spaced = rng.random() < 0.15
    return Value("CN_ID_CARD", f"{number[:6]} {number[6:14]} {number[14:]}" if spaced else number, valid)


def bank_card(rng: random.Random, valid: bool) -> Value:
    if rng.random() < 0.7:
        partial = "62" + rng.choice(("12", "17", "22", "28", "58", "84")) + _digits(rng, rng.choice((11, 14)))
    else:
        partial = rng.choice("45") + _digits(rng, 14)
    check = luhn_check_digit(partial)
    number = partial + (check if valid else _wrong(rng, check, _DIGITS))
    style = rng.random()
    if style < 0.3:
        number = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    elif style < 0.4:
        number = "-".join(number[i:i + 4] for i in range(0, len(number), 4))
    return Value("CN_BANK_CARD", number, valid)


def uscc(rng: random.Random, valid: bool) -> Value:
    while True:
        authority, category = rng.choice((("9", "123"), ("1", "1239"), ("5", "1239"), ("Y", "1")))
        body = authority + rng.choice(category) + rng.choice(_PROVINCES) + _digits(rng, 4) \
            + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        check = uscc_check_char(body)
        code = body + (check if valid else _wrong(rng, check, USCC_ALPHABET))
        if not (code.isdigit() and (cn_id_valid(code) or luhn_valid(code))) and len(set(body)) > 1:
            return Value("CN_USCC", code, valid)


def mobile(rng: random.Random, valid: bool) -> Value:
    number = "1" + rng.choice("3456789" if valid else "012") + _digits(rng, 9)
    style = rng.random()
    if style < 0.2:
        number = f"{number[:3]} {number[3:7]} {number[7:]}"
    elif style < 0.3:
        number = f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if valid and rng.random() < 0.2:
        number = rng.choice(("+86 ", "+86-", "+86", "0086 ")) + number
    return Value("CN_MOBILE", number, valid)


def landline(rng: random.Random, valid: bool) -> Value:
    area = rng.choice(_AREA_CODES)
    local = rng.choice("2345678") + _digits(rng, 7 if len(area) == 3 or rng.random() < 0.5 else 6)
    style = rng.random()
    if style < 0.5:
        number = f"{area}-{local}"
    elif style < 0.7:
        number = f"({area}){local}"
    elif style < 0.8:
        number = f"（{area}）{local}"
    else:
        number = f"+86 {area[1:]} {local}"
    return Value("CN_LANDLINE", number, valid)


def passport(rng: random.Random, valid: bool) -> Value:
    if rng.random() < 0.5:
        number = rng.choice("EG") + _digits(rng, 8)
    else:
        number = "E" + rng.choice(_PLATE_LETTERS.replace("I", "").replace("O", "")) + _digits(rng, 7)
    return Value("CN_PASSPORT", number, valid)


def plate(rng: random.Random, valid: bool) -> Value:
    # I and O are never issued (they read as 1 and 0): a plate with one is the decoy.
    letter = rng.choice(_PLATE_LETTERS) if valid else rng.choice("IO")
    tail_alphabet = _PLATE_LETTERS + _DIGITS
    if valid and rng.random() < 0.3:
        tail = rng.choice("DF") + rng.choice(tail_alphabet) + _digits(rng, 4)  # new-energy car
    else:
        tail = "".join(rng.choice(tail_alphabet) for _ in range(5))
    dot = "·" if rng.random() < 0.2 else ""
    return Value("CN_LICENSE_PLATE", rng.choice(_PLATE_PROVINCES) + letter + dot + tail, valid)


MAKERS: dict[str, Callable[[random.Random, bool], Value]] = {
    "CN_ID_CARD": id_card, "CN_BANK_CARD": bank_card, "CN_USCC": uscc, "CN_MOBILE": mobile,
    "CN_LANDLINE": landline, "CN_PASSPORT": passport, "CN_LICENSE_PLATE": plate,
}
# Types whose invalid form is meaningful: a wrong check character, an impossible prefix or letter.
DECOY_TYPES = ("CN_ID_CARD", "CN_BANK_CARD", "CN_USCC", "CN_MOBILE", "CN_LICENSE_PLATE")


def _distractor(rng: random.Random, language: Language) -> str:
    return rng.choice(_DISTRACTORS[language]).format(
        n=rng.choice("23456789") + _digits(rng, rng.randrange(7, 10)),
        a=f"{rng.randrange(1, 100000)}.{rng.randrange(100):02d}",
        d=f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}",
        r=str(rng.randrange(100, 3000)))


def record(rng: random.Random, positive: bool) -> Record:
    """One text: 1-3 valid values (positive), or 1-2 decoys with a distractor (negative)."""
    language: Language = rng.choice(("zh", "en"))
    clauses: list[tuple[str, Value | None]] = []
    if positive:
        for entity_type in rng.sample(TYPES, rng.randrange(1, 4)):
            value = MAKERS[entity_type](rng, True)
            bare = rng.random() < 0.2 and entity_type not in _NEEDS_CONTEXT and not value.value.startswith(("4", "5"))
            clauses.append((rng.choice((_BARE if bare else TEMPLATES[entity_type])[language]), value))
    else:
        for entity_type in rng.sample(DECOY_TYPES, rng.randrange(1, 3)):
            clauses.append((rng.choice(TEMPLATES[entity_type][language]), MAKERS[entity_type](rng, False)))
        clauses.append((_distractor(rng, language), None))
        rng.shuffle(clauses)
    if rng.random() < 0.5:
        clauses.append((rng.choice(_FILLERS[language]), None))
    text, spans, decoys = "", [], []
    for i, (template, value) in enumerate(clauses):
        if i:
            text += _JOIN[language]
        if value is None:
            text += template
            continue
        before, _, after = template.partition("{v}")
        start = len(text) + len(before)
        (spans if value.valid else decoys).append(Span(value.type, start, start + len(value.value)))
        text += before + value.value + after
    return Record(text=text + _END[language], spans=tuple(spans), decoys=tuple(decoys), language=language)


def generate(count: int, seed: int = 0, positive_share: float = 0.7) -> list[Record]:
    rng = random.Random(seed)
    return [record(rng, rng.random() < positive_share) for _ in range(count)]


def cn_synth_dataset(count: int = 1000, seed: int = 0) -> Dataset:
    records = generate(count, seed)
    items = [Item(id=str(i), text=r.text, spans=r.spans, group=r.language) for i, r in enumerate(records)]
    positives = sum(len(r.spans) for r in records)
    decoys = sum(len(r.decoys) for r in records)
    return Dataset(name="cn-synth", kind="pii", items=items, source=f"evaluation/cn_synth.py (seed {seed})",
                   label_types=frozenset(TYPES),
                   notes=[f"generated: {count} texts (zh and en), {positives} valid values, {decoys} decoys "
                          "(wrong check character, impossible mobile prefix, plate letter I/O) that must not be "
                          "flagged; template-made, so scores are optimistic"])


@click.command()
@click.option("--count", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def main(count: int, seed: int) -> None:
    """Write the generated set as JSONL (text, spans, decoys, language) to stdout."""
    encoder = msgspec.json.Encoder()
    for r in generate(count, seed):
        sys.stdout.write(encoder.encode(r).decode() + "\n")


if __name__ == "__main__":
    main()
