"""Added latency of guardgate against the backend direct and LiteLLM's proxy, in one run.

Concurrency 1, non-streamed chat completions of exactly N tokens (ignore_eos), the default
policy. Requests are interleaved (direct, guardgate, litellm, direct, ...) so drift hits all alike.
Prints a Markdown table and writes JSON; the ratios are the result, not any absolute number.

    python bench/latency.py --requests 300 --tokens 16
    python bench/latency.py --upstream http://127.0.0.1:8000 --model my-model
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "sk-guardgate-bench"  # LiteLLM's proxy refuses to start without a master key
sys.path.insert(0, str(ROOT))

from tests.fixtures.gateway import free_port, start_gateway, stop_gateway  # noqa: E402
from bench.common import add_common_arguments, start_demo_vllm  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


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


async def measure(targets: dict[str, str], model: str, tokens: int, requests: int, warmup: int) -> dict[str, list[float]]:
    body = {"model": model, "max_tokens": tokens, "ignore_eos": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Please summarise the meeting notes for jane.roe@example.org."}]}
    timings: dict[str, list[float]] = {name: [] for name in targets}
    async with httpx.AsyncClient(timeout=60) as http:
        for i in range(warmup + requests):
            for name, url in targets.items():
                started = time.perf_counter()
                response = await http.post(f"{url}/v1/chat/completions", json=body,
                                           headers={"authorization": f"Bearer {BENCH_KEY}"})
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                assert response.json()["usage"]["completion_tokens"] == tokens, response.text
                if i >= warmup:
                    timings[name].append(elapsed * 1000)
    return timings


def report(timings: dict[str, list[float]], tokens: int) -> dict:
    direct50, direct99 = percentile(timings["direct"], 0.5), percentile(timings["direct"], 0.99)
    rows = {}
    for name, values in timings.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        rows[name] = {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "added_p50_ms": round(p50 - direct50, 2),
                      "added_p99_ms": round(p99 - direct99, 2), "ratio_p50": round(p50 / direct50, 3),
                      "ratio_p99": round(p99 / direct99, 3), "n": len(values)}
    print(f"\nNon-streamed chat, {tokens} tokens, concurrency 1, default policy\n")
    print("| target | p50 ms | p99 ms | added p50 ms | added p99 ms | p50 ratio | p99 ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['p50_ms']} | {r['p99_ms']} | {r['added_p50_ms']} | {r['added_p99_ms']} | "
              f"{r['ratio_p50']} | {r['ratio_p99']} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, requests=300, warmup=20, tokens=16)
    parser.add_argument("--policy", type=Path, default=ROOT / "policies" / "default.yaml")
    parser.add_argument("--litellm-bin", default=shutil.which("litellm") or str(ROOT / ".venv-litellm/bin/litellm"),
                        help="LiteLLM proxy executable; skipped with a note when missing")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latency.json")
    asyncio.run(run(parser.parse_args()))


async def run(args: argparse.Namespace) -> None:
    """One event loop for the whole run, so the managed vLLM's log forwarder keeps draining its pipe."""
    workdir = Path(tempfile.mkdtemp(prefix="guardgate-bench-"))
    vllm = None
    upstream = args.upstream
    gateway = litellm = None
    try:
        if not upstream:
            vllm = await start_demo_vllm(workdir, args.model)
            upstream = vllm.base_url
        gateway = await asyncio.to_thread(start_gateway, args.policy, upstream,
                                          f"sqlite+aiosqlite:///{workdir / 'audit.db'}", workdir / "gateway.log")
        targets = {"direct": upstream, "guardgate": gateway.base_url}
        if Path(args.litellm_bin).exists():
            litellm, url = await asyncio.to_thread(start_litellm, args.litellm_bin, upstream, args.model, workdir)
            targets["litellm"] = url
        else:
            print(f"LiteLLM not found at {args.litellm_bin}: run bench/setup-litellm.sh to compare against it")
        timings = await measure(targets, args.model, args.tokens, args.requests, args.warmup)
        rows = report(timings, args.tokens)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"tokens": args.tokens, "requests": args.requests, "results": rows},
                                        indent=2))
    finally:
        if litellm:
            os.killpg(litellm.pid, signal.SIGTERM)
        if gateway:
            stop_gateway(gateway)
        if vllm:
            await vllm.stop()


if __name__ == "__main__":
    main()
