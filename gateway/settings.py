"""Runtime settings for `guardgate serve`: built once by the CLI, frozen, passed to `create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit.store import DEFAULT_AUDIT_URL

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "policies" / "default.yaml"


@dataclass(frozen=True)
class Settings:
    policy_path: Path = DEFAULT_POLICY
    upstream_url: str | None = None
    upstream_api_key: str | None = None
    upstream_timeout_s: float = 600.0
    audit_url: str = DEFAULT_AUDIT_URL
    max_body_bytes: int = 4 * 1024 * 1024
    detector_workers: int = 4
    hash_key: bytes | None = None
    # Set by `serve --model`: the managed vLLM child's options.
    model: str | None = None
    vllm_options: dict[str, object] = field(default_factory=dict)
