"""Added latency of guardgate against the backend direct and LiteLLM's proxy, in one run.

Concurrency 1, non-streamed chat completions of exactly N tokens (ignore_eos), the default
policy. Requests are interleaved, each round starting at the next target, so drift hits all alike.
Prints a Markdown table and writes JSON; the ratios are the result, not any absolute number.

    python bench/latency.py --requests 300 --tokens 16
    python bench/latency.py --upstream http://127.0.0.1:8000 --model my-model
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH_KEY, ROOT, add_common_arguments, percentile, rotated, targets  # noqa: E402


async def measure(targets: dict[str, str], model: str, tokens: int, requests: int, warmup: int) -> dict[str, list[float]]:
    body = {"model": model, "max_tokens": tokens, "ignore_eos": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Please summarise the meeting notes for jane.roe@example.org."}]}
    timings: dict[str, list[float]] = {name: [] for name in targets}
    async with httpx.AsyncClient(timeout=60) as http:
        for i in range(warmup + requests):
            for name, url in rotated(targets, i):
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
    async with targets(args, {"guardgate": args.policy}, args.litellm_bin) as urls:
        timings = await measure(urls, args.model, args.tokens, args.requests, args.warmup)
    rows = report(timings, args.tokens)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"tokens": args.tokens, "requests": args.requests, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
