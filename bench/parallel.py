"""What `input: {mode: parallel}` saves: the same policy with input checks before, and beside, the backend call.

Two gateways run `bench/policies/screen-input.yaml` (input rules that only block:
secrets, the injection classifier, a keyword list; PII redaction on the output), one as
written and one with `mode: parallel` added, in front of the same vLLM. Requests carry a
prompt of about 500 characters, are interleaved with the backend direct, and are timed streamed
(time to first content byte) and non-streamed (total). The saving is the sequential
gateway's p50 minus the parallel one's.

    python bench/parallel.py --requests 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH_KEY, ROOT, add_common_arguments, percentile, rotated, targets  # noqa: E402
from bench.streaming import TEXT, one  # noqa: E402

POLICY = ROOT / "bench" / "policies" / "screen-input.yaml"
PROMPT = ("Here are the notes from Tuesday's planning meeting. The team agreed to move the release to the "
          "second week of the month, to finish the migration of the billing reports first. Marketing asked "
          "for a short summary they can share with partners, without internal names. Support wants the "
          "known issues listed with their workarounds. Finance needs the revised budget lines by Friday. "
          "Please write a summary of these notes in five bullet points, plain and friendly. ")


def parallel_variant() -> Path:
    """The same policy with parallel input checks, written beside the original so its list paths still resolve."""
    text = POLICY.read_text().replace("input:\n  rules:", "input:\n  mode: parallel\n  rules:", 1)
    assert "mode: parallel" in text
    path = POLICY.with_name(f".parallel-{os.getpid()}.yaml")
    path.write_text(text)
    return path


async def total_ms(http: httpx.AsyncClient, url: str, body: dict) -> float:
    started = time.perf_counter()
    response = await http.post(f"{url}/v1/chat/completions", json=body)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def measure(targets: dict[str, str], model: str, tokens: int, requests: int, warmup: int) -> dict:
    messages = [{"role": "user", "content": PROMPT}]
    streamed = {"model": model, "max_tokens": tokens, "temperature": 0, "stream": True, "messages": messages,
                "structured_outputs": {"choice": [TEXT]}}
    whole = {"model": model, "max_tokens": tokens, "temperature": 0, "ignore_eos": True, "messages": messages}
    results = {name: {"ttft": [], "total": []} for name in targets}
    async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {BENCH_KEY}"}) as http:
        for i in range(warmup + requests):
            for name, url in rotated(targets, i):
                ttft = (await one(http, url, streamed))["ttft"]
                total = await total_ms(http, url, whole)
                if i >= warmup:
                    results[name]["ttft"].append(ttft)
                    results[name]["total"].append(total)
    return results


def report(results: dict, tokens: int) -> dict:
    rows: dict[str, dict] = {}
    for name, r in results.items():
        rows[name] = {key: {"p50_ms": round(percentile(r[key], 0.5), 3), "p99_ms": round(percentile(r[key], 0.99), 3)}
                      for key in ("ttft", "total")}
    print(f"\nPrompt of {len(PROMPT)} characters, {tokens} tokens, concurrency 1, {POLICY.name}\n")
    print("| target | streamed TTFT p50 ms | p99 ms | non-streamed total p50 ms | p99 ms |\n|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['ttft']['p50_ms']} | {row['ttft']['p99_ms']} | {row['total']['p50_ms']} | "
              f"{row['total']['p99_ms']} |")
    saved = {key: round(rows["sequential"][key]["p50_ms"] - rows["parallel"][key]["p50_ms"], 3)
             for key in ("ttft", "total")}
    print(f"\nParallel input checks save {saved['ttft']} ms of streamed TTFT and {saved['total']} ms of "
          "non-streamed total at p50.")
    return {"rows": rows, "saved_p50_ms": saved}


async def run(args: argparse.Namespace) -> None:
    variant = parallel_variant()
    try:
        async with targets(args, {"sequential": POLICY, "parallel": variant}, max_model_len=1024) as urls:
            rows = report(await measure(urls, args.model, args.tokens, args.requests, args.warmup), args.tokens)
    finally:
        variant.unlink(missing_ok=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"tokens": args.tokens, "requests": args.requests, **rows}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, requests=100, warmup=10, tokens=16,
                         requests_help="measured requests per target and mode")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "parallel.json")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
