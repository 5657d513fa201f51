"""Our own Presidio recognizers, one per file. The registry below is explicit: nothing is discovered."""

from __future__ import annotations

from functools import partial
from typing import Callable

from presidio_analyzer import EntityRecognizer

from detectors.recognizers.cn_bank_card_recognizer import CnBankCardRecognizer
from detectors.recognizers.cn_id_card_recognizer import CnIdCardRecognizer
from detectors.recognizers.cn_landline_recognizer import CnLandlineRecognizer
from detectors.recognizers.cn_license_plate_recognizer import CnLicensePlateRecognizer
from detectors.recognizers.cn_mobile_recognizer import CnMobileRecognizer
from detectors.recognizers.cn_passport_recognizer import CnPassportRecognizer
from detectors.recognizers.cn_uscc_recognizer import CnUsccRecognizer
from detectors.recognizers.phone_recognizer import LocalPhoneRecognizer
from detectors.recognizers.secret_recognizer import SecretRecognizer

RecognizerFactory = Callable[[], EntityRecognizer]

# Each entry builds one recognizer; `detectors.pii.PresidioPool` adds them to every analyzer it makes.
CUSTOM_RECOGNIZERS: list[RecognizerFactory] = []

# Mainland-China identifiers turn up in English text too, and secrets in any text: each is registered for both
# languages, because Presidio keeps one recognizer per language.
CUSTOM_RECOGNIZERS.extend(
    partial(recognizer, supported_language=language)
    for recognizer in (
        CnIdCardRecognizer, CnMobileRecognizer, CnBankCardRecognizer, CnUsccRecognizer,
        CnPassportRecognizer, CnLandlineRecognizer, CnLicensePlateRecognizer, SecretRecognizer, LocalPhoneRecognizer,
    )
    for language in ("en", "zh")
)
