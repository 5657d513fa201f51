"""Our own Presidio recognizers, one per file. The registry below is explicit: nothing is discovered."""

from __future__ import annotations

from typing import Callable

from presidio_analyzer import EntityRecognizer

RecognizerFactory = Callable[[], EntityRecognizer]

# Each entry builds one recognizer; `detectors.pii.PresidioPool` adds them to every analyzer it makes.
CUSTOM_RECOGNIZERS: list[RecognizerFactory] = []
