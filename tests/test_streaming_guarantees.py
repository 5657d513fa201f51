"""Streamed output equals non-streamed output, however the backend splits it, and never leaks.

The backend here is scripted, because only a script can choose exact chunk boundaries:
inside entities, inside multi-byte characters, one character per chunk, all in one chunk.
"""

from __future__ import annotations

import json
from itertools import zip_longest

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litestar.testing import TestClient

from gateway import streaming
from tests.fixtures.scripted_upstream import Script, ScriptedUpstream, sse
from tests.test_incremental_screen import PII, pieces

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": False}
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def completion(choices: list[dict]) -> bytes:
    return json.dumps({"id": "c1", "object": "chat.completion", "created": 1, "model": "tiny", "choices": [
        {"index": i, "message": {"role": "assistant", **m}, "finish_reason": "stop"} for i, m in enumerate(choices)],
        "usage": {"prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10}}).encode()


def chunk(index: int, **delta: object) -> dict:
    finish = delta.pop("finish", None)
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def split(text: str, cuts: list[int]) -> list[str]:
    points = [0, *sorted(set(c for c in cuts if 0 < c < len(text))), len(text)]
    return [text[a:b] for a, b in zip(points, points[1:])]


def rechunk(raw: bytes, cuts: list[int]) -> list[bytes]:
    """Split the SSE bytes anywhere, including inside a multi-byte character or a `data:` line."""
    points = [0, *sorted(set(c for c in cuts if 0 < c < len(raw))), len(raw)]
    return [raw[a:b] for a, b in zip(points, points[1:])]


def read_stream(body: str) -> tuple[dict[int, str], dict[int, dict[int, str]], dict[int, list[str]]]:
    """Joined content, joined tool-call arguments and the finish reasons, per choice."""
    assert body.endswith("data: [DONE]\n\n")
    content: dict[int, str] = {}
    arguments: dict[int, dict[int, str]] = {}
    finishes: dict[int, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("data: {"):
            continue
        for choice in json.loads(line[6:]).get("choices", []):
            i, delta = choice["index"], choice["delta"]
            content[i] = content.get(i, "") + (delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                calls = arguments.setdefault(i, {})
                calls[call["index"]] = calls.get(call["index"], "") + call["function"].get("arguments", "")
            if choice["finish_reason"]:
                finishes.setdefault(i, []).append(choice["finish_reason"])
    return content, arguments, finishes


def both_ways(scripted_gateway: TestClient, upstream: ScriptedUpstream, messages: list[dict], stream_events: list,
              byte_cuts: list[int]) -> tuple[dict, str]:
    upstream.scripts.append(Script(body=completion(messages)))
    whole = scripted_gateway.post("/v1/chat/completions", json=CHAT).json()
    raw = b"".join(sse(*stream_events, "[DONE]"))
    upstream.scripts.append(Script(chunks=rechunk(raw, byte_cuts)))
    streamed = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert streamed.status_code == 200
    return whole, streamed.text


@SLOW
@given(text=pieces, data=st.data())
def test_streamed_content_equals_the_non_streamed_redaction(scripted_gateway, scripted_upstream, text: str,
                                                             data) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    byte_cuts = data.draw(st.lists(st.integers(0, 4 * len(text) + 400), max_size=20))
    events = [chunk(0, role="assistant", content=""), *[chunk(0, content=p) for p in split(text, cuts)],
              chunk(0, finish="stop")]
    whole, body = both_ways(scripted_gateway, scripted_upstream, [{"content": text}], events, byte_cuts)
    content, _, finishes = read_stream(body)
    assert content[0] == whole["choices"][0]["message"]["content"]
    assert finishes == {0: ["stop"]}
    for value in PII:
        assert value not in body


@SLOW
@given(data=st.data())
def test_tool_call_arguments_stream_redacted_and_valid_json(scripted_gateway, scripted_upstream, data) -> None:
    to = data.draw(st.sampled_from(PII))
    arguments = json.dumps({"to": to, "body": f"card 4111 1111 1111 1111, é {to}", "n": 4111111111111111,
                            "tags": ["x", to]}, ensure_ascii=data.draw(st.booleans()))
    cuts = data.draw(st.lists(st.integers(0, len(arguments)), max_size=30))
    call = {"id": "call_1", "type": "function", "function": {"name": "send_mail", "arguments": arguments}}
    events = [chunk(0, role="assistant", content=""),
              chunk(0, tool_calls=[{"index": 0, "id": "call_1", "type": "function",
                                    "function": {"name": "send_mail", "arguments": ""}}]),
              *[chunk(0, tool_calls=[{"index": 0, "function": {"arguments": p}}]) for p in split(arguments, cuts)],
              chunk(0, finish="tool_calls")]
    whole, body = both_ways(scripted_gateway, scripted_upstream, [{"content": None, "tool_calls": [call]}], events, [])
    _, streamed_args, finishes = read_stream(body)
    whole_args = whole["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert streamed_args[0][0] == whole_args
    parsed = json.loads(whole_args)
    assert parsed["n"] == "<CREDIT_CARD>" and "<CREDIT_CARD>" in parsed["body"]
    assert to not in body and to not in whole_args
    assert finishes == {0: ["tool_calls"]}


def test_every_choice_is_screened_on_its_own(scripted_gateway, scripted_upstream) -> None:
    texts = ["Mail jane.roe@example.org now.", "Call +1 415-555-0100 later."]
    events = [chunk(0, role="assistant", content=""), chunk(1, role="assistant", content="")]
    for a, b in zip_longest(split(texts[0], list(range(0, 40, 3))), split(texts[1], list(range(0, 40, 4)))):
        events += [chunk(0, content=a or ""), chunk(1, content=b or "")]
    events += [chunk(0, finish="stop"), chunk(1, finish="length")]
    whole, body = both_ways(scripted_gateway, scripted_upstream, [{"content": t} for t in texts], events, [])
    content, _, finishes = read_stream(body)
    assert content == {0: "Mail <EMAIL_ADDRESS> now.", 1: "Call <PHONE_NUMBER> later."}
    assert [c["message"]["content"] for c in whole["choices"]] == [content[0], content[1]]
    assert finishes == {0: ["stop"], 1: ["length"]}


def test_usage_chunk_comes_last_before_done(scripted_gateway, scripted_upstream) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    events = [chunk(0, role="assistant", content=""), chunk(0, content="hello"), chunk(0, finish="stop"),
              {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny", "choices": [],
               "usage": usage}]
    scripted_upstream.scripts.append(Script(chunks=sse(*events, "[DONE]")))
    body = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True,
                                                    "stream_options": {"include_usage": True}}).text
    data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]
    assert data[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert data[-1]["usage"] == usage and data[-1]["choices"] == []


WORDS = ["Hello ", "there, ", "my ", "friend."]


def contents(body: str) -> list[str]:
    return [delta["content"] for line in body.splitlines() if line.startswith("data: {")
            for choice in json.loads(line[6:])["choices"]
            if (delta := choice["delta"]).get("content")]


@pytest.mark.parametrize(("budget_s", "expected"), [
    (3600.0, WORDS),  # screening keeps up: the backend's chunks go out as they came
    (0.0, ["".join(WORDS)]),  # screening is behind: the backlog goes out in one step
])
def test_chunks_that_arrive_together_keep_their_boundaries_while_screening_keeps_up(
        scripted_gateway, scripted_upstream, monkeypatch, budget_s: float, expected: list[str]) -> None:
    monkeypatch.setattr(streaming, "COALESCE_AFTER_S", budget_s)
    events = [chunk(0, role="assistant", content=""), *(chunk(0, content=w) for w in WORDS), chunk(0, finish="stop")]
    scripted_upstream.scripts.append(Script(chunks=[b"".join(sse(*events, "[DONE]"))]))  # one write: one backlog
    body = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True}).text
    assert contents(body) == expected
