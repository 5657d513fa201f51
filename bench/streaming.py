"""Streamed latency of guardgate against the backend direct and LiteLLM's proxy, in one run.

Concurrency 1, streamed chat completions of N tokens of ordinary prose, default policy
(PII redaction on the output). Per target: time to first content byte, the gap between
content chunks, and total time, as p50/p99 and as gateway/direct ratios. Requests are
interleaved so drift hits every target alike.

    python bench/streaming.py --requests 200 --tokens 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.latency import BENCH_KEY, percentile, start_litellm  # noqa: E402
from tests.fixtures.gateway import start_gateway, stop_gateway  # noqa: E402

TEXT = ("Thanks for asking. I have sent the summary to the team; if anything is missing, write back "
        "and I will add it before the meeting on Thursday. Best regards and have a good day.")


async def one(http: httpx.AsyncClient, url: str, body: dict) -> tuple[float, list[float], float]:
    started = time.perf_counter()
    first = None
    stamps: list[float] = []
    async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                now = time.perf_counter()
                first = first or now
                stamps.append(now)
    total = time.perf_counter() - started
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return (first or started) - started, gaps, total


async def measure(targets: dict[str, str], model: str, tokens: int, requests: int, warmup: int) -> dict:
    # The demo model's own text is random bytes with few spaces, which no PII hold-back could release early;
    # structured outputs make it stream ordinary prose instead, cut at `tokens`.
    body = {"model": model, "max_tokens": tokens, "temperature": 0, "stream": True,
            "structured_outputs": {"choice": [TEXT]},
            "messages": [{"role": "user", "content": "Summarise the meeting for jane.roe@example.org."}]}
    results = {name: {"ttft": [], "gap": [], "total": [], "chunks": []} for name in targets}
    async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {BENCH_KEY}"}) as http:
        for i in range(warmup + requests):
            for name, url in targets.items():
                ttft, gaps, total = await one(http, url, body)
                if i >= warmup:
                    r = results[name]
                    r["ttft"].append(ttft * 1000)
                    r["gap"].extend(g * 1000 for g in gaps)
                    r["total"].append(total * 1000)
                    r["chunks"].append(len(gaps) + 1)
    return results


def report(results: dict, tokens: int) -> dict:
    rows = {}
    direct = results["direct"]
    for name, r in results.items():
        row = {}
        for key in ("ttft", "gap", "total"):
            p50, p99 = percentile(r[key], 0.5), percentile(r[key], 0.99)
            d50, d99 = percentile(direct[key], 0.5), percentile(direct[key], 0.99)
            row[key] = {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "added_p50_ms": round(p50 - d50, 3),
                        "added_p99_ms": round(p99 - d99, 3), "ratio_p50": round(p50 / d50, 3) if d50 else None,
                        "ratio_p99": round(p99 / d99, 3) if d99 else None}
        row["mean_gap_ms"] = round(sum(r["gap"]) / max(len(r["gap"]), 1), 3)
        row["content_chunks_per_request"] = round(sum(r["chunks"]) / len(r["chunks"]), 1)
        rows[name] = row
    print(f"\nStreamed chat, {tokens} tokens, concurrency 1, default policy\n")
    print("| target | metric | p50 ms | p99 ms | added p50 ms | added p99 ms | p50 ratio | p99 ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        for key in ("ttft", "gap", "total"):
            m = row[key]
            print(f"| {name} | {key} | {m['p50_ms']} | {m['p99_ms']} | {m['added_p50_ms']} | {m['added_p99_ms']} | "
                  f"{m['ratio_p50']} | {m['ratio_p99']} |")
    print("\n| target | content chunks per request | mean gap ms |\n|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['content_chunks_per_request']} | {row['mean_gap_ms']} |")
    return rows


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="guardgate-bench-"))
    vllm = gateway = litellm = None
    upstream = args.upstream
    try:
        if not upstream:
            from gateway.demo_model import build_demo_model
            from gateway.vllm_process import ManagedVLLM

            vllm = ManagedVLLM(str(build_demo_model(workdir / "model")), served_model_name=args.model,
                               dtype="float32", max_model_len=512)
            await vllm.start()
            upstream = vllm.base_url
        gateway = await asyncio.to_thread(start_gateway, args.policy, upstream,
                                          f"sqlite+aiosqlite:///{workdir / 'audit.db'}", workdir / "gateway.log")
        targets = {"direct": upstream, "guardgate": gateway.base_url}
        if Path(args.litellm_bin).exists():
            litellm, url = await asyncio.to_thread(start_litellm, args.litellm_bin, upstream, args.model, workdir)
            targets["litellm"] = url
        else:
            print(f"LiteLLM not found at {args.litellm_bin}: run bench/setup-litellm.sh to compare against it")
        rows = report(await measure(targets, args.model, args.tokens, args.requests, args.warmup), args.tokens)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--upstream")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--policy", type=Path, default=ROOT / "policies" / "default.yaml")
    parser.add_argument("--litellm-bin", default=str(ROOT / ".venv-litellm/bin/litellm"))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "streaming.json")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
