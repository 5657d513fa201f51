"""Detectors: each finds spans in a text and says nothing about what to do with them.

Detectors know nothing of policies; `policies.compiler` builds them from rules.
"""

from detectors.base import Detector, DetectorError, Finding

__all__ = ["Detector", "DetectorError", "Finding"]
