"""Check-digit arithmetic shared by recognizers and their tests: pure functions, no regexes."""

from __future__ import annotations

import datetime

# GB 11643-1999: weight of position i (1-based from the left) is 2^(18-i) mod 11.
_CN_ID_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
_CN_ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# Province-level prefixes of the GB/T 2260 region code, plus 83 (Taiwan residents' residence permits).
CN_ID_PROVINCES: frozenset[str] = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)

# GB 32100-2015: the 31 characters of the code, without I, O, Z, S, V.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES: dict[str, int] = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass Luhn."""
    total = 0
    # Once the check digit is appended, the rightmost digit of `partial` is the first one doubled.
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """Whether an all-digit string passes the Luhn (mod 10) check."""
    return len(number) >= 2 and number.isdigit() and number.isascii() and luhn_check_digit(number[:-1]) == number[-1]


def cn_id_check_char(first17: str) -> str:
    """GB 11643-1999 ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for 17 digits."""
    if len(first17) != 17 or not (first17.isdigit() and first17.isascii()):
        raise ValueError("a resident ID body is 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _CN_ID_WEIGHTS))
    return _CN_ID_CHECK_CHARS[total % 11]


def cn_id_birth_date(number: str) -> datetime.date | None:
    """The birth date in positions 7-14 of an 18-character ID, or None when it is not a real calendar date."""
    try:
        return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def cn_id_valid(number: str, today: datetime.date | None = None) -> bool:
    """An 18-character resident ID: known province, real birth date not in the future, correct check character."""
    if len(number) != 18 or not (number[:17].isdigit() and number[:17].isascii()):
        return False
    if number[:2] not in CN_ID_PROVINCES:
        return False
    born = cn_id_birth_date(number)
    if born is None or born.year < 1900 or born > (today or datetime.date.today()):
        return False
    return cn_id_check_char(number[:17]) == number[17].upper()


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters of a unified social credit code."""
    try:
        total = sum(_USCC_VALUES[c] * w for c, w in zip(first17.upper(), _USCC_WEIGHTS, strict=True))
    except (KeyError, ValueError) as exc:
        raise ValueError("a credit code body is 17 characters of the GB 32100 alphabet") from exc
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    """Whether an 18-character code has the GB 32100-2015 check character it should."""
    if len(code) != 18:
        return False
    try:
        return uscc_check_char(code[:17]) == code[17].upper()
    except ValueError:
        return False
