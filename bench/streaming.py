"""Streamed latency of guardgate against the backend direct and LiteLLM's proxy, in one run.

Concurrency 1, streamed chat completions of N tokens of ordinary prose, default policy
(PII redaction on the output). Requests are interleaved so drift hits every target alike.
Per target, as p50/p99 and as gateway/direct ratios:

- `ttft`: time to the first content byte;
- `first_word`: time until the first word has arrived whole (up to the first space). A
  stream screened for PII cannot release a word before it ends, because the next
  characters could still make it part of an e-mail address; for the direct stream this
  is the floor that hold-back sets, so gateway `ttft` minus direct `first_word` is the
  time the gateway adds beyond what the text forces;
- `word_gap`: the time between the arrivals of consecutive word ends. The demo model's
  tokens are about one character each, so the gateway sends one chunk per word where the
  backend sends one per character, and per-chunk gaps (`chunk_gap`, also shown) compare
  different things;
- `total`: time to the end of the stream.

The backend's own timings vary a lot on a small CPU machine (vLLM's time to first token
ranges over several hundred milliseconds), which swamps a few milliseconds in ratios of
separate requests. So the gateway's own histogram `guardgate_stream_added_seconds` is
also read before and after the run: per chunk sent, the time from the arrival of the
backend chunk that made it releasable to sending it (for the first chunk, plus the time
from request arrival to the backend call), as p50/p99 estimated from its buckets.

    python bench/streaming.py --requests 200 --tokens 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH_KEY, ROOT, add_common_arguments, percentile, rotated, targets  # noqa: E402

TEXTS = {
    # Ordinary prose: nothing the default policy's recognizers could match, the common case.
    "prose": ("Thanks for asking. I have sent the summary to the team; if anything is missing, write back "
              "and I will add it before the meeting on Thursday. Best regards and have a good day."),
    # Digits and an e-mail address in every sentence: every release is analysed, and two values are redacted.
    "numbers": ("Order 4821 ships on 12 May from dock 7. Write to jane.roe@example.org or call +1 415-555-0100 "
                "about order 4821, and keep receipt 93-2210 until 30 June. Room 14 at 10:30 is booked."),
}
TEXT = TEXTS["prose"]


async def one(http: httpx.AsyncClient, url: str, body: dict) -> dict[str, list[float] | float]:
    started = time.perf_counter()
    arrivals: list[tuple[float, str]] = []
    async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or []
            content = (choices[0].get("delta") or {}).get("content") if choices else None
            if content:
                arrivals.append(((time.perf_counter() - started) * 1000, content))
    total = (time.perf_counter() - started) * 1000
    stamps = [t for t, _ in arrivals]
    ends = word_ends(arrivals)
    return {"ttft": stamps[0] if stamps else total, "first_word": ends[0] if ends else total, "total": total,
            "chunk_gap": [b - a for a, b in zip(stamps, stamps[1:])],
            "word_gap": [b - a for a, b in zip(ends, ends[1:])], "chunks": len(stamps)}


def word_ends(arrivals: list[tuple[float, str]]) -> list[float]:
    """When each word of the streamed text had arrived whole: the arrival of each space that ends one."""
    ends, previous = [], ""
    for stamp, text in arrivals:
        for ch in text:
            if ch.isspace() and previous and not previous.isspace():
                ends.append(stamp)
            previous = ch
    return ends


METRICS = ("ttft", "first_word", "word_gap", "chunk_gap", "total")


Buckets = list[tuple[float, float]]  # cumulative (upper bound in seconds, count), as Prometheus exposes them


def added_histogram(metrics: str) -> dict[str, Buckets]:
    """Cumulative (upper bound, count) buckets of guardgate_stream_added_seconds, per `at` label."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    pattern = re.compile(r'^guardgate_stream_added_seconds_bucket\{([^}]*)\} ([0-9.e+-]+)$', re.M)
    for match in pattern.finditer(metrics):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        buckets.setdefault(labels["at"], []).append((float(labels["le"]), float(match.group(2))))
    return {at: sorted(b) for at, b in buckets.items()}


def observed_between(before: Buckets, after: Buckets) -> Buckets:
    """The cumulative buckets of the observations made between two scrapes."""
    old = dict(before)
    return [(le, n - old.get(le, 0.0)) for le, n in after]


def bucket_counts(counts: Buckets) -> dict[str, float]:
    """Observations per bucket, keyed by "lower-upper ms": where a p99 really lies."""
    spans, lower, below = {}, 0.0, 0.0
    for le, cumulative in counts:
        if cumulative > below:
            spans[f"{lower * 1000:g}-{le * 1000:g}"] = cumulative - below
        lower, below = le, cumulative
    return spans


def bucket_quantile(counts: Buckets, q: float) -> float | None:
    """Prometheus' histogram_quantile over cumulative buckets, in milliseconds."""
    total = counts[-1][1] if counts else 0
    if not total:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for le, cumulative in counts:
        if cumulative >= rank:
            if le == float("inf"):
                return lower * 1000
            return (lower + (le - lower) * (rank - below) / max(cumulative - below, 1e-9)) * 1000
        lower, below = le, cumulative
    return None
    rank, lower, below = q * total, 0.0, 0.0
    for le, cumulative in counts:
        if cumulative >= rank:
            if le == float("inf"):
                return lower * 1000
            return (lower + (le - lower) * (rank - below) / max(cumulative - below, 1e-9)) * 1000
        lower, below = le, cumulative
    return None


async def measure(targets: dict[str, str], model: str, tokens: int, requests: int, warmup: int,
                  text: str = TEXT) -> dict:
    # The demo model's own text is random bytes with few spaces, which no PII hold-back could release early;
    # structured outputs make it stream ordinary prose instead, cut at `tokens`.
    body = {"model": model, "max_tokens": tokens, "temperature": 0, "stream": True,
            "structured_outputs": {"choice": [text]},
            "messages": [{"role": "user", "content": "Summarise the meeting for jane.roe@example.org."}]}
    results = {name: {**{m: [] for m in METRICS}, "chunks": []} for name in targets}
    async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {BENCH_KEY}"}) as http:
        gateways = [name for name in targets if name.startswith("guardgate")]
        for i in range(warmup + requests):
            if i == warmup:
                before = {g: added_histogram((await http.get(f"{targets[g]}/metrics")).text) for g in gateways}
            for name, url in rotated(targets, i):
                sample = await one(http, url, body)
                if i >= warmup:
                    for key, value in sample.items():
                        results[name][key].extend(value) if isinstance(value, list) else results[name][key].append(value)
        after = {g: added_histogram((await http.get(f"{targets[g]}/metrics")).text) for g in gateways}
    for g in gateways:
        observed = {at: observed_between(before[g].get(at, []), buckets) for at, buckets in after[g].items()}
        results[g]["added_by_gateway"] = {
            at: {"p50_ms": bucket_quantile(counts, 0.5), "p99_ms": bucket_quantile(counts, 0.99),
                 "count": counts[-1][1], "buckets": bucket_counts(counts)} for at, counts in observed.items()}
    return results


def paired_beyond_holdback(results: dict, name: str) -> dict[str, float]:
    """Per round, this target's first byte minus the direct first word of the same round, as p50/p99.

    Rounds send to every target back to back, in an order that rotates, so drift cancels within a
    pair; the backend's own per-request jitter does not, which is why a few hundred rounds are
    needed for a stable p50.
    """
    pairs = [t - d for t, d in zip(results[name]["ttft"], results["direct"]["first_word"])]
    return {"p50": round(percentile(pairs, 0.5), 3), "p99": round(percentile(pairs, 0.99), 3)}


def report(results: dict, tokens: int, text_name: str = "prose", policy: str = "default") -> dict:
    rows = {}
    direct = results["direct"]
    for name, r in results.items():
        row = {}
        for key in METRICS:
            p50, p99 = percentile(r[key], 0.5), percentile(r[key], 0.99)
            d50, d99 = percentile(direct[key], 0.5), percentile(direct[key], 0.99)
            row[key] = {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "mean_ms": round(mean(r[key]), 3),
                        "added_p50_ms": round(p50 - d50, 3), "added_p99_ms": round(p99 - d99, 3),
                        "ratio_p50": round(p50 / d50, 3) if d50 else None,
                        "ratio_p99": round(p99 / d99, 3) if d99 else None,
                        "ratio_mean": round(mean(r[key]) / mean(direct[key]), 3) if mean(direct[key]) else None}
        # Beyond the hold-back: the gateway's first byte against the moment the backend had sent the first word.
        row["ttft_beyond_holdback_ms"] = {q: round(percentile(r["ttft"], v) - percentile(direct["first_word"], v), 3)
                                          for q, v in (("p50", 0.5), ("p99", 0.99))}
        row["ttft_beyond_holdback_paired_ms"] = paired_beyond_holdback(results, name)
        row["content_chunks_per_request"] = round(mean(r["chunks"]), 1)
        if "added_by_gateway" in r:
            row["added_by_gateway"] = r["added_by_gateway"]
        rows[name] = row
    print(f"\nStreamed chat, {tokens} tokens of {text_name}, concurrency 1, policy {policy}\n")
    print("| target | metric | p50 ms | p99 ms | mean ms | added p50 ms | added p99 ms | p50 ratio | p99 ratio | "
          "mean ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        for key in METRICS:
            m = row[key]
            print(f"| {name} | {key} | {m['p50_ms']} | {m['p99_ms']} | {m['mean_ms']} | {m['added_p50_ms']} | "
                  f"{m['added_p99_ms']} | {m['ratio_p50']} | {m['ratio_p99']} | {m['ratio_mean']} |")
    print("\n| target | content chunks per request | TTFT beyond the direct first word, p50 / p99 ms | "
          "the same, paired per round, p50 / p99 ms |\n|---|---|---|---|")
    for name, row in rows.items():
        extra, paired = row["ttft_beyond_holdback_ms"], row["ttft_beyond_holdback_paired_ms"]
        print(f"| {name} | {row['content_chunks_per_request']} | {extra['p50']} / {extra['p99']} | "
              f"{paired['p50']} / {paired['p99']} |")
    print("\nAdded by the gateway beyond the hold-back (its guardgate_stream_added_seconds histogram):\n")
    print("| target | chunk | observations | p50 ms | p99 ms | over 10 ms, by bucket |\n|---|---|---|---|---|---|")
    for name, row in rows.items():
        for at in ("first", "chunk") if "added_by_gateway" in row else ():
            m = row["added_by_gateway"].get(at, {})
            p50, p99 = m.get("p50_ms"), m.get("p99_ms")
            slow = ", ".join(f"{n:.0f} in {span}" for span, n in m.get("buckets", {}).items()
                             if float(span.split("-")[0]) >= 10)
            print(f"| {name} | {at} | {m.get('count', 0):.0f} | {p50 if p50 is None else round(p50, 3)} | "
                  f"{p99 if p99 is None else round(p99, 3)} | {slow or 'none'} |")
    return rows


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


async def run(args: argparse.Namespace) -> None:
    async with targets(args, {"guardgate": args.policy}, args.litellm_bin) as urls:
        results = await measure(urls, args.model, args.tokens, args.requests, args.warmup, TEXTS[args.text])
    rows = report(results, args.tokens, args.text, args.policy.stem)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"tokens": args.tokens, "requests": args.requests, "text": args.text,
                                     "results": rows}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser, requests=200, warmup=10, tokens=64)
    parser.add_argument("--text", choices=sorted(TEXTS), default="prose",
                        help="what the model is made to stream: prose (no PII anchors) or numbers (digits, an "
                             "e-mail address and a phone number in every sentence)")
    parser.add_argument("--policy", type=Path, default=ROOT / "policies" / "default.yaml")
    parser.add_argument("--litellm-bin", default=str(ROOT / ".venv-litellm/bin/litellm"))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "streaming.json")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
