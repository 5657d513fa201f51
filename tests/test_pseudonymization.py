"""Reversible pseudonymization: the model sees placeholders, the caller gets its values back, requests never mix."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient, TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.fixtures.scripted_upstream import Script, sse
from tests.test_streaming_guarantees import chunk, completion, read_stream, split

POLICIES = Path(__file__).parent / "policies" / "gateway"
ASK = "Mail jane.roe@example.org, or jane.roe@example.org if busy; phone +1 415-555-0100."


def app_for(policy: str, upstream: str, tmp_path: Path):
    return create_app(Settings(policy_path=POLICIES / f"{policy}.yaml", upstream_url=upstream,
                               audit_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"))


def test_the_backend_sees_only_placeholders_and_the_caller_gets_values(scripted_upstream, tmp_path: Path) -> None:
    answer = "I wrote to <EMAIL_ADDRESS_1> and will call <PHONE_NUMBER_1>. Card 4111 1111 1111 1111."
    call = {"id": "c", "type": "function",
            "function": {"name": "mail", "arguments": json.dumps({"to": "<EMAIL_ADDRESS_1>"})}}
    scripted_upstream.scripts.append(Script(body=completion([{"content": answer, "tool_calls": [call]}])))
    with TestClient(app_for("pseudonymize", scripted_upstream.base_url, tmp_path)) as http:
        reply = http.post("/v1/chat/completions", json={"model": "tiny", "messages": [
            {"role": "user", "content": ASK}, {"role": "assistant", "content": "Noted jane.roe@example.org"}]})
    forwarded = json.dumps(scripted_upstream.received[-1])
    assert "jane.roe@example.org" not in forwarded and "415-555-0100" not in forwarded
    assert scripted_upstream.received[-1]["messages"][0]["content"] == \
        "Mail <EMAIL_ADDRESS_1>, or <EMAIL_ADDRESS_1> if busy; phone <PHONE_NUMBER_1>."
    assert scripted_upstream.received[-1]["messages"][1]["content"] == "Noted <EMAIL_ADDRESS_1>"
    message = reply.json()["choices"][0]["message"]
    assert message["content"] == "I wrote to jane.roe@example.org and will call +1 415-555-0100. Card <CREDIT_CARD>."
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"to": "jane.roe@example.org"}


@pytest.mark.parametrize("step", [1, 3, 7])
def test_placeholders_split_across_chunks_are_restored(scripted_upstream, tmp_path: Path, step: int) -> None:
    answer = "Sent to <EMAIL_ADDRESS_1>; call <PHONE_NUMBER_1>."
    events = [chunk(0, role="assistant", content=""), *[chunk(0, content=p) for p in split(answer, list(
        range(0, len(answer), step)))], chunk(0, finish="stop")]
    scripted_upstream.scripts.append(Script(chunks=sse(*events, "[DONE]")))
    with TestClient(app_for("pseudonymize", scripted_upstream.base_url, tmp_path)) as http:
        body = http.post("/v1/chat/completions", json={"model": "tiny", "stream": True, "messages": [
            {"role": "user", "content": ASK}]}).text
    content, _, _ = read_stream(body)
    assert content[0] == "Sent to jane.roe@example.org; call +1 415-555-0100."


@pytest.mark.vllm
async def test_concurrent_requests_never_see_each_others_values(vllm_server, tmp_path: Path) -> None:
    async with AsyncTestClient(app_for("pseudonymize", vllm_server.base_url, tmp_path)) as http:
        async def ask(email: str, stream: bool) -> str:
            response = await http.post("/v1/chat/completions", json={
                "model": "tiny", "max_tokens": 60, "stream": stream,
                "messages": [{"role": "user", "content": f"I am {email}"}],
                "structured_outputs": {"choice": ["Hi <EMAIL_ADDRESS_1>!"]}})
            if stream:
                return read_stream(response.text)[0][0]
            return response.json()["choices"][0]["message"]["content"]

        emails = [f"user{i}@example.org" for i in range(8)]
        answers = await asyncio.gather(*(ask(e, i % 2 == 0) for i, e in enumerate(emails)))
    assert answers == [f"Hi {e}!" for e in emails]


def test_parallel_input_mode_cancels_the_backend_on_a_block(scripted_upstream, tmp_path: Path) -> None:
    scripted_upstream.scripts.append(Script(hang_s=3, body=completion([{"content": "late"}])))
    cancelled = scripted_upstream.cancelled
    with TestClient(app_for("parallel", scripted_upstream.base_url, tmp_path)) as http:
        blocked = http.post("/v1/chat/completions", json={"model": "tiny", "messages": [
            {"role": "user", "content": "card 4111 1111 1111 1111"}]})
        for _ in range(50):
            if scripted_upstream.cancelled > cancelled:
                break
            time.sleep(0.05)
        scripted_upstream.scripts.append(Script(body=completion([{"content": "fine"}])))
        allowed = http.post("/v1/chat/completions", json={"model": "tiny", "messages": [
            {"role": "user", "content": "hello"}]})
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "no-cards-in"
    assert scripted_upstream.cancelled == cancelled + 1  # the backend call had started, and was cancelled
    assert allowed.json()["choices"][0]["message"]["content"] == "fine"
