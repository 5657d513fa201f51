"""What every benchmark script shares: its command-line basics, percentiles, and the targets it compares.

`targets()` starts the backend (or uses `--upstream`), guardgate in front of it and, when
installed, LiteLLM's proxy in front of the same backend, and stops them all afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "sk-guardgate-bench"  # LiteLLM's proxy refuses to start without a master key
sys.path.insert(0, str(ROOT))

from tests.fixtures.gateway import free_port, start_gateway, stop_gateway  # noqa: E402


def add_common_arguments(parser: argparse.ArgumentParser, requests: int, warmup: int, tokens: int,
                         requests_help: str = "measured requests per target") -> None:
    parser.add_argument("--requests", type=int, default=requests, help=requests_help)
    parser.add_argument("--warmup", type=int, default=warmup, help="unmeasured requests per target first")
    parser.add_argument("--tokens", type=int, default=tokens, help="completion tokens per request")
    parser.add_argument("--upstream", help="an already running backend; default: start vLLM on the demo model")
    parser.add_argument("--model", default="tiny", help="the model name the backend serves")
    parser.add_argument("--compare-rev", metavar="REV",
                        help="also run the gateway as it was at this git commit, in the same run (e.g. HEAD~3): "
                             "the backend's run-to-run drift then cannot pass for a change in the code")


def checkout(rev: str, path: Path) -> Path:
    """A detached git worktree of `rev` (it shares this checkout's .venv: only the code differs)."""
    try:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"--compare-rev {rev}: git could not check it out: {exc.stderr.strip()}") from exc
    return path


def remove_checkout(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False,
                   capture_output=True)


def rotated(targets: dict[str, str], round_: int) -> list[tuple[str, str]]:
    """The targets in the order round `round_` visits them: each round starts one further on, so whatever the
    backend does after a request (or before the first of a round) falls on every target alike."""
    order = list(targets.items())
    shift = round_ % len(order)
    return order[shift:] + order[:shift]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def start_demo_vllm(workdir: Path, model: str, max_model_len: int = 512):  # -> ManagedVLLM
    """vLLM on the demo model, built in `workdir`; the caller stops it."""
    from gateway.demo_model import build_demo_model
    from gateway.vllm_process import ManagedVLLM

    vllm = ManagedVLLM(str(build_demo_model(workdir / "model")), served_model_name=model, dtype="float32",
                       max_model_len=max_model_len)
    await vllm.start()
    return vllm


def start_litellm(binary: str, upstream: str, model: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = workdir / "litellm.yaml"
    config.write_text(f"model_list:\n  - model_name: {model}\n    litellm_params:\n"
                      f"      model: hosted_vllm/{model}\n      api_base: {upstream}/v1\n      api_key: none\n")
    log = (workdir / "litellm.log").open("wb")
    env = {**os.environ, "LITELLM_MASTER_KEY": BENCH_KEY, "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DISABLE_SCHEMA_UPDATE": "true"}
    proc = subprocess.Popen([binary, "--config", str(config), "--port", str(port), "--host", "127.0.0.1",
                             "--num_workers", "1"], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        if proc.poll() is not None:
            raise RuntimeError(f"litellm exited: {(workdir / 'litellm.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("litellm did not start in 120 s")


@asynccontextmanager
async def targets(args: argparse.Namespace, gateways: dict[str, Path], litellm_bin: str | None = None,
                  max_model_len: int = 512) -> AsyncIterator[dict[str, str]]:
    """Base URLs by name: `direct`, one guardgate per (name, policy) in `gateways`, and `litellm` when installed.

    With `--compare-rev REV`, each gateway also runs as it was at that commit, as `NAME@REV`.
    """
    workdir = Path(tempfile.mkdtemp(prefix="guardgate-bench-"))
    async with AsyncExitStack() as stack:
        sources = {name: (policy, ROOT) for name, policy in gateways.items()}
        if getattr(args, "compare_rev", None):
            earlier = checkout(args.compare_rev, workdir / "earlier")
            stack.callback(remove_checkout, earlier)
            sources.update({f"{name}@{args.compare_rev}": (earlier / policy.resolve().relative_to(ROOT), earlier)
                            for name, policy in gateways.items()})
        upstream = args.upstream
        if not upstream:
            vllm = await start_demo_vllm(workdir, args.model, max_model_len)
            stack.push_async_callback(vllm.stop)
            upstream = vllm.base_url
        urls = {"direct": upstream}
        for name, (policy, source) in sources.items():
            gateway = await asyncio.to_thread(start_gateway, policy, upstream,
                                              f"sqlite+aiosqlite:///{workdir / f'{name}.db'}", workdir / f"{name}.log",
                                              source=source)
            stack.callback(stop_gateway, gateway)
            urls[name] = gateway.base_url
        if litellm_bin and Path(litellm_bin).exists():
            litellm, urls["litellm"] = await asyncio.to_thread(start_litellm, litellm_bin, upstream, args.model,
                                                                workdir)
            stack.callback(os.killpg, litellm.pid, signal.SIGTERM)
        elif litellm_bin:
            print(f"LiteLLM not found at {litellm_bin}: run bench/setup-litellm.sh to compare against it")
        yield urls
