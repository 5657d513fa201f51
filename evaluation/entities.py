"""Entity names: how a data set's labels map to the Presidio names our rules use.

presidio-research's synthetic set labels 17 types. The table below is the only
place their names meet ours; every mapping is deliberate:

* Same name in both: CREDIT_CARD, EMAIL_ADDRESS, IBAN_CODE, IP_ADDRESS,
  PHONE_NUMBER, US_SSN, US_DRIVER_LICENSE, PERSON, ORGANIZATION, DATE_TIME, NRP.
* GPE and STREET_ADDRESS -> LOCATION: Presidio reports places only as LOCATION
  (spaCy's GPE, LOC and FAC labels), and has no street-address recognizer.
* DOMAIN_NAME -> URL: Presidio's URL recognizer is what finds bare domains.
* TITLE, AGE, ZIP_CODE -> not mapped: no Presidio recognizer produces them, so
  their gold spans are left out of scoring and counted in the report's notes.

PERSON, LOCATION, ORGANIZATION, DATE_TIME and NRP come only from spaCy NER: a
rule without `nlp_model` cannot find them, and scoring is restricted to the
types the evaluated rules ask for, so they count only for rules that do.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

PRESIDIO_SYNTH_TO_PRESIDIO: Mapping[str, str | None] = MappingProxyType({
    "CREDIT_CARD": "CREDIT_CARD",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "US_SSN": "US_SSN",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
    "PERSON": "PERSON",
    "ORGANIZATION": "ORGANIZATION",
    "DATE_TIME": "DATE_TIME",
    "NRP": "NRP",
    "GPE": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "DOMAIN_NAME": "URL",
    "TITLE": None,
    "AGE": None,
    "ZIP_CODE": None,
})

NER_ONLY: frozenset[str] = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "DATE_TIME", "NRP"})


def map_type(mapping: Mapping[str, str | None], label: str) -> str | None:
    """The Presidio name for a data set's label, None when Presidio cannot produce it; unknown labels are errors."""
    if label not in mapping:
        raise KeyError(f"entity label {label!r} has no entry in the mapping table (evaluation/entities.py)")
    return mapping[label]
