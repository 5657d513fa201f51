"""The `guardgate` command line. Subcommands load lazily, so `--help` answers at once."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import click

from gateway.settings import DEFAULT_AUDIT_URL, DEFAULT_POLICY, Settings

_SUBCOMMANDS = {
    "serve": "gateway.cli:serve",
    "analyze": "policies.analyze:analyze",
    "policy": "policies.cli:policy",
    "audit": "audit.cli:audit",
    "eval": "evaluation.cli:eval_command",
    "train": "training.cli:train",
    "demo-model": "gateway.cli:demo_model",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _SUBCOMMANDS:
            return None
        module, attr = _SUBCOMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="guardgate")
def main() -> None:
    """guardgate: a compliance guardrail gateway for LLMs.

    An OpenAI-compatible proxy: point your app's base_url at it, and every request
    and generation goes through a YAML policy (PII redaction, blocking, limits),
    with an audit trail and Prometheus metrics.

    \b
    Start it in front of a running OpenAI-compatible server:
      guardgate serve --upstream http://127.0.0.1:8000
    Or let it launch vLLM for you:
      guardgate serve --model ./models/demo
    Check a policy before rollout:
      guardgate policy check policies/default.yaml
    """


@click.command(context_settings={"max_content_width": 100})
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_POLICY, show_default=True, envvar="GUARDGATE_POLICY", show_envvar=True,
              help="Policy YAML to enforce. `kill -HUP` reloads it; a bad file is refused and the old one kept.")
@click.option("--upstream", envvar="GUARDGATE_UPSTREAM", show_envvar=True, metavar="URL",
              help="An existing OpenAI-compatible server, e.g. http://127.0.0.1:8000.")
@click.option("--model", envvar="GUARDGATE_MODEL", show_envvar=True, metavar="PATH_OR_NAME",
              help="Launch vLLM on this model as a managed child process instead of --upstream.")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="GUARDGATE_HOST", show_envvar=True)
@click.option("--port", default=8080, show_default=True, type=int, envvar="GUARDGATE_PORT", show_envvar=True)
@click.option("--audit-url", default=DEFAULT_AUDIT_URL, show_default=True,
              envvar="GUARDGATE_AUDIT_URL", show_envvar=True, metavar="SQLALCHEMY_URL",
              help="Where the audit log goes; e.g. postgresql+asyncpg://user@host/db.")
@click.option("--upstream-api-key", envvar="GUARDGATE_UPSTREAM_API_KEY", show_envvar=True,
              help="Bearer token the gateway sends to the backend (clients' keys are never forwarded).")
@click.option("--max-body-bytes", default=4 * 1024 * 1024, show_default=True, type=int,
              envvar="GUARDGATE_MAX_BODY_BYTES", help="Larger request bodies get a 413 error.")
@click.option("--served-model-name", help="With --model: the name clients use (default: vLLM's own).")
@click.option("--dtype", help="With --model: passed to vLLM (auto, float16, bfloat16, float32).")
@click.option("--quantization", help="With --model: passed to vLLM (awq, gptq, fp8, ...).")
@click.option("--max-model-len", type=int, help="With --model: passed to vLLM.")
@click.option("--gpu-memory-utilization", type=float, help="With --model: passed to vLLM (0-1).")
@click.option("--vllm-port", type=int, default=0, help="With --model: vLLM's port (default: a free one).")
@click.option("--vllm-arg", "vllm_args", multiple=True, metavar="ARG",
              help="With --model: any other vLLM argument; repeat for several, e.g. --vllm-arg=--enforce-eager.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), envvar="GUARDGATE_LOG_LEVEL")
def serve(policy_path: Path, upstream: str | None, model: str | None, host: str, port: int, audit_url: str,
          upstream_api_key: str | None, max_body_bytes: int, served_model_name: str | None, dtype: str | None,
          quantization: str | None, max_model_len: int | None, gpu_memory_utilization: float | None,
          vllm_port: int, vllm_args: tuple[str, ...], log_level: str) -> None:
    """Start the gateway (OpenAI API on /v1, plus /healthz, /readyz and /metrics).

    \b
    Examples:
      guardgate serve --upstream http://127.0.0.1:8000
      guardgate serve --model ./models/demo --served-model-name tiny --dtype float32
      GUARDGATE_AUDIT_URL=postgresql+asyncpg://postgres@127.0.0.1/test guardgate serve --upstream ...
    """
    import uvicorn

    from gateway.app import create_app

    if bool(upstream) == bool(model):
        raise click.UsageError("give exactly one backend: --upstream URL or --model PATH_OR_NAME")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))  # one line per request
    vllm_options = {k: v for k, v in dict(
        served_model_name=served_model_name, dtype=dtype, quantization=quantization, max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization).items() if v is not None}
    vllm_options.update(port=vllm_port, extra_args=tuple(vllm_args))
    hash_key = os.environ.get("GUARDGATE_HASH_KEY")
    settings = Settings(policy_path=policy_path, upstream_url=upstream, upstream_api_key=upstream_api_key,
                        audit_url=audit_url, max_body_bytes=max_body_bytes, model=model, vllm_options=vllm_options,
                        hash_key=hash_key.encode() if hash_key else None)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=False,
                timeout_graceful_shutdown=30)


@click.command("demo-model")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=Path("models/demo"))
def demo_model(path: Path) -> None:
    """Build a tiny random Llama (about 1.5 MB) that vLLM can serve, offline.

    Its text is gibberish: it is for trying the gateway and for tests, where
    `structured_outputs` makes it say exactly what a test needs.
    """
    from gateway.demo_model import build_demo_model

    logging.basicConfig(level="INFO", format="%(message)s")
    click.echo(build_demo_model(path))
