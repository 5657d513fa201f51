"""Backend faults a real engine cannot be made to produce, played by a scripted upstream behind the real client."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.fixtures.scripted_upstream import Script, ScriptedUpstream, sse
from tests.test_streaming_guarantees import contents

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}


def chunk(content: str | None = None, finish: str | None = None, role: str | None = None) -> dict:
    delta = {k: v for k, v in {"role": role, "content": content}.items() if v is not None}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "tiny",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_a_hanging_backend_gets_504(scripted_gateway: TestClient, scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.scripts.append(Script(hang_s=5, body=b"{}"))
    response = scripted_gateway.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "upstream_timeout"


def test_a_failing_backend_gets_502(scripted_gateway: TestClient, scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.scripts.append(Script(status=500, body=b"boom"))
    response = scripted_gateway.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"


def test_backend_client_errors_pass_through_unchanged(scripted_gateway: TestClient,
                                                      scripted_upstream: ScriptedUpstream) -> None:
    body = b'{"error": {"message": "max_tokens too large", "type": "BadRequestError", "code": 400}}'
    scripted_upstream.scripts.append(Script(status=400, body=body))
    response = scripted_gateway.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 400 and response.content == body


def test_a_stream_cut_midway_ends_with_an_error_event_and_done(scripted_gateway: TestClient,
                                                                scripted_upstream: ScriptedUpstream) -> None:
    chunks = sse(chunk("", role="assistant"), chunk("Mail jane.roe@"))
    scripted_upstream.scripts.append(Script(chunks=chunks, cut=True))
    response = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.status_code == 200
    assert "jane.roe@" not in response.text  # nothing unscreened escapes
    assert '"upstream_error"' in response.text
    assert response.text.endswith("data: [DONE]\n\n")


def test_sse_split_inside_events_is_reassembled(scripted_gateway: TestClient,
                                                scripted_upstream: ScriptedUpstream) -> None:
    whole = b"".join(sse(chunk("", role="assistant"), chunk("Write to jane.roe@example.org"), chunk(finish="stop"),
                         "[DONE]"))
    scripted_upstream.scripts.append(Script(chunks=[whole[i:i + 7] for i in range(0, len(whole), 7)]))
    response = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert "".join(contents(response.text)) == "Write to <EMAIL_ADDRESS>" and "jane.roe" not in response.text
