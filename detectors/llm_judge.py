"""The llm_judge detector: a Llama Guard-style judge model on the backend, with its reply parsed strictly."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Sequence

import httpx

from detectors.base import DetectorError, Finding

_ALGORITHM_VERSION = "1"
_PLACEHOLDER = re.compile(r"\{(categories|text)\}")
_MAX_REPLY_IN_ERROR = 80


class LlmJudgeDetector:
    """Asks a chat model whether each text is safe; `unsafe` yields one whole-text finding per category code.

    The reply must be exactly `safe`, or `unsafe` followed by a line of known codes (`S1,S3`). Anything
    else is a `DetectorError`, so a judge that rambles or is swapped for another model fails visibly
    (the rule's `on_error` decides) instead of being read as "safe". There is no `stream_holdback`:
    the judge needs the whole text, so streams are held up to the policy's `max_holdback_chars`.
    """

    name = "llm_judge"

    def __init__(self, backend_url: str, *, model: str, categories: dict[str, str], template: str,
                 max_tokens: int, request_options: dict[str, Any] | None = None, timeout_s: float = 30.0) -> None:
        if "{text}" not in template:
            raise ValueError("llm_judge template must contain {text}")
        if not categories:
            raise ValueError("llm_judge needs at least one category")
        self._model = model
        self._categories = dict(categories)
        self._template = template
        self._max_tokens = max_tokens
        self._options = dict(request_options or {})
        self._category_lines = "\n".join(f"{code}: {desc}" for code, desc in self._categories.items())
        # The backend's base URL is stored without /v1 elsewhere in guardgate; accept both spellings.
        base = backend_url.rstrip("/").removesuffix("/v1")
        # One client for the detector's life: httpx.Client is thread-safe and pools connections.
        self._client = httpx.Client(base_url=base, timeout=timeout_s, trust_env=False)
        digest = hashlib.sha256(repr((model, sorted(self._categories.items()), template)).encode()).hexdigest()[:12]
        self.version = f"{_ALGORITHM_VERSION}+{model}+{digest}"

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]:
        return [self._judge(t) for t in texts]

    def close(self) -> None:
        self._client.close()

    def prompt(self, text: str) -> str:
        """The template with {categories} and {text} filled in one pass, so neither can inject the other."""
        values = {"categories": self._category_lines, "text": text}
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self._template)

    def _judge(self, text: str) -> list[Finding]:
        if not text.strip():
            return []  # nothing to judge; a request would only cost a round trip
        body = {"temperature": 0, "max_tokens": self._max_tokens, **self._options,
                "model": self._model, "messages": [{"role": "user", "content": self.prompt(text)}]}
        try:
            response = self._client.post("/v1/chat/completions", json=body)
            response.raise_for_status()
            reply = response.json()["choices"][0]["message"]["content"]
        except httpx.HTTPStatusError as exc:
            raise DetectorError(f"judge backend answered HTTP {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise DetectorError(f"judge backend unreachable: {type(exc).__name__}: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise DetectorError("judge backend reply is not an OpenAI chat completion") from exc
        return [Finding(entity_type=code, start=0, end=len(text), score=1.0, detector=self.name)
                for code in self.parse(reply)]

    def parse(self, reply: object) -> list[str]:
        """The category codes of a reply: [] for `safe`; raises `DetectorError` for anything unparseable."""
        if not isinstance(reply, str):
            raise DetectorError("judge reply has no text content")
        lines = [line.strip() for line in reply.splitlines() if line.strip()]
        if lines == ["safe"]:
            return []
        if len(lines) == 2 and lines[0] == "unsafe":
            codes = [c.strip() for c in lines[1].split(",")]
            unknown = [c for c in codes if c not in self._categories]
            if not unknown:
                return list(dict.fromkeys(codes))
            raise DetectorError(f"judge reply names unknown categories {unknown!r}; "
                                f"known: {sorted(self._categories)}")
        shown = reply if len(reply) <= _MAX_REPLY_IN_ERROR else reply[:_MAX_REPLY_IN_ERROR] + "..."
        raise DetectorError(f"judge reply is not 'safe' or 'unsafe' plus a line of category codes: {shown!r}")
