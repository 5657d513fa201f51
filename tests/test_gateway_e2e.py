"""An app changes only its base_url: the official `openai` client, through `guardgate serve`, to the real vLLM."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import msgspec
import pytest
from openai import AsyncOpenAI

from audit import reader

pytestmark = [pytest.mark.vllm]

EMAIL, CARD = "jane.roe@example.org", "4111 1111 1111 1111"
PII_TEXT = f"Write to {EMAIL}, card {CARD}."
REDACTED = "Write to <EMAIL_ADDRESS>, card <CREDIT_CARD>."
RAW_VALUES = (EMAIL, CARD, "4111111111111111")


def force(text: str) -> dict:
    """vLLM's structured outputs make the random model emit exactly `text`."""
    return {"structured_outputs": {"choice": [text]}}


@pytest.fixture
def client(gateway) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{gateway.base_url}/v1", api_key="sk-test-app-key", max_retries=0)


async def audit_entry(gateway, request_id: str):
    """The audit row for a request; the writer batches off the request path, so wait for it (bounded)."""
    for _ in range(100):
        found = await reader.get(gateway.audit_url, request_id)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no audit row for {request_id}")


def assert_no_raw_pii(*blobs: object) -> None:
    text = json.dumps([msgspec.to_builtins(b) for b in blobs], default=str)
    for value in RAW_VALUES:
        assert value not in text


def metric(body: str, name: str, **labels: str) -> float:
    pattern = re.compile(r"^" + re.escape(name) + r"(\{[^}]*\})? ([0-9.e+-]+)$", re.M)
    total = 0.0
    for match in pattern.finditer(body):
        label_text = match.group(1) or ""
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def scrape(gateway) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{gateway.base_url}/metrics")).text


async def test_non_streamed_chat_output_is_redacted_and_audited(gateway, client) -> None:
    before = await scrape(gateway)
    raw = await client.chat.completions.with_raw_response.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=60, extra_body=force(PII_TEXT))
    completion = raw.parse()
    request_id = raw.headers["x-guardgate-request-id"]

    assert completion.choices[0].message.content == REDACTED
    request, decisions = await audit_entry(gateway, request_id)
    assert request.decision == "redact" and request.status == 200 and request.model == "tiny"
    assert request.output_redacted == REDACTED
    assert {(d.stage, d.entity_type, d.action) for d in decisions} >= {
        ("output", "EMAIL_ADDRESS", "redact"), ("output", "CREDIT_CARD", "redact")}
    email = next(d for d in decisions if d.entity_type == "EMAIL_ADDRESS")
    assert PII_TEXT[email.start:email.end] == EMAIL
    assert len(request.policy_version) == 64
    assert_no_raw_pii(request, decisions)

    after = await scrape(gateway)
    assert metric(after, "guardgate_requests_total", route="/v1/chat/completions", status="200") > \
        metric(before, "guardgate_requests_total", route="/v1/chat/completions", status="200")
    assert metric(after, "guardgate_pii_entities_total", stage="output", entity_type="EMAIL_ADDRESS") > \
        metric(before, "guardgate_pii_entities_total", stage="output", entity_type="EMAIL_ADDRESS")
    assert metric(after, "guardgate_upstream_seconds_count") > metric(before, "guardgate_upstream_seconds_count")


async def test_streamed_chat_output_is_redacted_with_openai_chunk_shape(gateway, client) -> None:
    before = await scrape(gateway)
    raw = await client.chat.completions.with_raw_response.create(
        model="tiny", messages=[{"role": "user", "content": "hi"}], max_tokens=60, stream=True,
        stream_options={"include_usage": True}, extra_body=force(PII_TEXT))
    request_id = raw.headers["x-guardgate-request-id"]
    chunks = [chunk async for chunk in raw.parse()]

    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert content == REDACTED
    assert chunks[0].choices[0].delta.role == "assistant"
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    request, decisions = await audit_entry(gateway, request_id)
    assert request.stream and request.decision == "redact"
    assert 0 < request.latency_upstream_ms < request.latency_total_ms
    assert_no_raw_pii(request, decisions)

    # What the gateway added, per chunk sent: one `first`, then one `chunk` for each later content chunk.
    sent = sum(1 for c in chunks if c.choices and c.choices[0].delta.content)
    after = await scrape(gateway)
    added = {at: metric(after, "guardgate_stream_added_seconds_count", at=at)
             - metric(before, "guardgate_stream_added_seconds_count", at=at) for at in ("first", "chunk")}
    assert added == {"first": 1, "chunk": sent - 1}


async def test_pii_in_the_prompt_is_redacted_before_the_backend(gateway, client) -> None:
    raw = await client.chat.completions.with_raw_response.create(
        model="tiny", max_tokens=8, extra_body=force("ok"),
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": f"My e-mail is {EMAIL}, card {CARD}."}])
    request, decisions = await audit_entry(gateway, raw.headers["x-guardgate-request-id"])
    assert raw.parse().choices[0].message.content == "ok"
    assert request.input_redacted == "Be brief.\nMy e-mail is <EMAIL_ADDRESS>, card <CREDIT_CARD>."
    assert {(d.stage, d.item, d.entity_type) for d in decisions} == {
        ("input", 1, "EMAIL_ADDRESS"), ("input", 1, "CREDIT_CARD")}
    assert_no_raw_pii(request, decisions)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_legacy_completions_are_screened(gateway, client, stream: bool) -> None:
    if stream:
        text = "".join([c.choices[0].text async for c in await client.completions.create(
            model="tiny", prompt="Say:", max_tokens=60, stream=True, extra_body=force(PII_TEXT)) if c.choices])
    else:
        text = (await client.completions.create(model="tiny", prompt="Say:", max_tokens=60,
                                                extra_body=force(PII_TEXT))).choices[0].text
    assert text == REDACTED


async def test_tool_call_arguments_are_redacted_and_stay_json(gateway, client) -> None:
    call = ('<tool_call>\n{"name": "send_mail", "arguments": {"to": "' + EMAIL + '", "body": "card ' + CARD
            + '"}}\n</tool_call>')
    tools = [{"type": "function", "function": {"name": "send_mail", "parameters": {
        "type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}}}}]
    completion = await client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "mail it"}], tools=tools, max_tokens=120,
        extra_body=force(call))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    arguments = json.loads(choice.message.tool_calls[0].function.arguments)
    assert arguments == {"to": "<EMAIL_ADDRESS>", "body": "card <CREDIT_CARD>"}


async def test_models_lists_the_backend_models(gateway, client) -> None:
    models = await client.models.list()
    assert [m.id for m in models.data] == ["tiny"]


async def test_every_response_carries_a_request_id(gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.base_url) as http:
        for response in [await http.get("/healthz"), await http.get("/readyz"), await http.get("/nope"),
                         await http.post("/v1/chat/completions", content=b"{")]:
            assert response.headers["x-guardgate-request-id"].startswith("gg-")
