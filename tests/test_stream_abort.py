"""A block mid-stream, or a client that leaves, stops the real engine's generation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from audit import reader
from gateway.app import create_app
from gateway.settings import Settings
from tests.test_gateway_e2e import metric

pytestmark = [pytest.mark.vllm]

POLICIES = Path(__file__).parent / "policies" / "gateway"
# Long enough in time (about 16 s unaborted) that the engine cannot finish before the gateway aborts it. On this
# two-core VM a runnable test thread sometimes waited over a second for a CPU while vLLM generated, and with 480
# tokens the whole answer was done before the gateway could act on the first SSN.
LONG = {"max_tokens": 8000, "ignore_eos": True}


async def engine_metrics(vllm_server) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(vllm_server.metrics_url)).text


async def wait_until_idle(vllm_server) -> str:
    """vLLM's own gauge, polled (bounded) until no request runs."""
    for _ in range(100):
        body = await engine_metrics(vllm_server)
        if metric(body, "vllm:num_requests_running") == 0:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError("vLLM still runs a request")


async def test_a_block_mid_stream_ends_the_choice_and_stops_the_generation(vllm_server, tmp_path: Path) -> None:
    audit_url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    settings = Settings(policy_path=POLICIES / "ssn-block.yaml", upstream_url=vllm_server.base_url,
                        audit_url=audit_url)
    before = await wait_until_idle(vllm_server)
    async with AsyncTestClient(create_app(settings)) as http:
        response = await http.post("/v1/chat/completions", json={
            "model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True, **LONG,
            "structured_outputs": {"regex": r"All good so far\. Your SSN is 536-90-4399( and more)+"}})
        request_id = response.headers["x-guardgate-request-id"]
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
    content = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert response.text.endswith("data: [DONE]\n\n")
    assert "536-90-4399" not in response.text
    assert content.startswith("All good so far.")
    assert content.endswith("The answer contained a social security number.")
    assert [e["choices"][0]["finish_reason"] for e in events if e["choices"] and e["choices"][0]["finish_reason"]] \
        == ["content_filter"]
    after = await wait_until_idle(vllm_server)
    generated = metric(after, "vllm:generation_tokens_total") - metric(before, "vllm:generation_tokens_total")
    assert generated < LONG["max_tokens"]  # the request was aborted before its max_tokens
    for _ in range(50):
        found = await reader.get(audit_url, request_id)
        if found:
            break
        await asyncio.sleep(0.1)
    request, decisions = found
    assert request.decision == "block" and request.blocked_by == "no-ssn-out"
    assert 0 < request.streamed_chars <= len("All good so far. Your SSN is ")
    assert any(d.entity_type == "US_SSN" and d.action == "block" for d in decisions)


async def test_a_client_that_leaves_mid_stream_frees_the_backend(gateway, vllm_server) -> None:
    """Four long choices keep the engine busy well past the first chunk; leaving must stop all of them."""
    before = await wait_until_idle(vllm_server)
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=60) as http:
        async with http.stream("POST", "/v1/chat/completions", json={
                "model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True, "n": 4,
                **LONG}) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    break  # the first chunk: the engine has only just started
    after = await wait_until_idle(vllm_server)
    generated = metric(after, "vllm:generation_tokens_total") - metric(before, "vllm:generation_tokens_total")
    assert 0 < generated < 4 * LONG["max_tokens"]
