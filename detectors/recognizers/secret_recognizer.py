"""Credentials pasted into prompts or echoed by models: cloud keys, API tokens, JWTs, PEM private keys."""

from __future__ import annotations

import base64
import binascii
import json
from typing import ClassVar

import regex
from presidio_analyzer import Pattern

from detectors.recognizers._context import WindowContextRecognizer

_TOKEN_BEFORE = r"(?<![A-Za-z0-9_-])"
_TOKEN_AFTER = r"(?![A-Za-z0-9_-])"
_KEY_PREFIX = regex.compile(r"^(?:AKIA|ASIA|gh[pousr]_|github_pat_|sk-(?:(?:proj|svcacct|admin|ant)-)?)")


class SecretRecognizer(WindowContextRecognizer):
    """One entity, SECRET, for every credential shape; the prefixes are specific enough to score high alone."""

    ENTITIES: ClassVar[list[str]] = ["SECRET"]

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("AWS access key id", r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])", 0.9),
        Pattern("GitHub token", rf"{_TOKEN_BEFORE}gh[pousr]_[A-Za-z0-9]{{36,251}}{_TOKEN_AFTER}", 0.95),
        Pattern("GitHub fine-grained token", rf"{_TOKEN_BEFORE}github_pat_[A-Za-z0-9_]{{22,255}}{_TOKEN_AFTER}", 0.95),
        Pattern(
            "OpenAI / Anthropic scoped key",
            rf"{_TOKEN_BEFORE}sk-(?:proj|svcacct|admin|ant)-[A-Za-z0-9_-]{{20,}}{_TOKEN_AFTER}",
            0.9,
        ),
        Pattern(
            "sk- API key",
            rf"{_TOKEN_BEFORE}sk-(?!(?:proj|svcacct|admin|ant)-)[A-Za-z0-9_-]{{32,}}{_TOKEN_AFTER}",
            0.7,
        ),
        # The header is a base64url JSON object, so it starts "eyJ" ('{"'). Three segments (JWS; the signature
        # is empty for alg "none") or five (JWE); a sentence's full stop after the token is not a segment.
        Pattern(
            "JWT",
            rf"{_TOKEN_BEFORE}eyJ[A-Za-z0-9_-]{{2,}}\.[A-Za-z0-9_-]{{2,}}\.[A-Za-z0-9_-]*"
            rf"(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?{_TOKEN_AFTER}",
            0.5,
        ),
        Pattern(
            "PEM private key block",
            # A bounded, lazily matched body (base64 plus legacy Proc-Type/DEK-Info headers): linear per BEGIN.
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----[A-Za-z0-9+/=\s:,.()-]{1,16384}?-----END \1PRIVATE KEY-----",
            1.0,
        ),
    ]

    CONTEXT: ClassVar[list[str]] = [
        "key", "api key", "token", "secret", "password", "bearer", "authorization", "credential",
        "access key", "private key",
        "密钥", "秘钥", "令牌", "凭证", "密码", "私钥",
    ]


    def validate_result(self, pattern_text: str) -> bool | None:
        if pattern_text.startswith("eyJ"):
            return _jwt_header_has_alg(pattern_text.split(".", 1)[0])
        return None

    def invalidate_result(self, pattern_text: str) -> bool:
        # Template placeholders such as sk-xxxxxxxx... or AKIAXXXXXXXXXXXXXXXX: one character after the prefix.
        if pattern_text.startswith(("-----BEGIN", "eyJ")):
            return False
        body = _KEY_PREFIX.sub("", pattern_text, count=1)
        return len({c for c in body.lower() if c.isalnum()}) <= 1


def _jwt_header_has_alg(segment: str) -> bool:
    """Whether a base64url segment decodes to a JSON object with an "alg" member, as every JWS/JWE header has."""
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header
