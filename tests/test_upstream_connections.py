"""The gateway keeps its backend connections: an answer read to its end leaves its connection for the next request.

A new connection per streamed request cost a TCP handshake and the backend's accept before every
first token. The scripted upstream records each request's client address, one per connection.
"""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.fixtures.scripted_upstream import Script, ScriptedUpstream, sse
from tests.test_streaming_guarantees import contents
from tests.test_upstream_faults import CHAT, chunk


def streamed_answer(text: str) -> Script:
    return Script(chunks=sse(chunk("", role="assistant"), chunk(text), chunk(finish="stop"), "[DONE]"))


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "non-streamed"])
def test_consecutive_requests_share_one_backend_connection(scripted_gateway: TestClient,
                                                           scripted_upstream: ScriptedUpstream,
                                                           stream: bool) -> None:
    for text in ("First answer.", "Second answer.", "Third answer."):
        script = streamed_answer(text) if stream else Script(body=_completion(text))
        scripted_upstream.scripts.append(script)
        response = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": stream})
        assert response.status_code == 200
        got = "".join(contents(response.text)) if stream else response.json()["choices"][0]["message"]["content"]
        assert got == text
    assert len(set(scripted_upstream.peers[-3:])) == 1


def test_a_stream_cut_by_the_backend_does_not_poison_the_next_request(scripted_gateway: TestClient,
                                                                      scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.scripts.append(Script(chunks=sse(chunk("", role="assistant"), chunk("Half an")), cut=True))
    scripted_upstream.scripts.append(streamed_answer("A whole answer."))
    assert '"upstream_error"' in scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True}).text
    response = scripted_gateway.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert "".join(contents(response.text)) == "A whole answer."
    assert scripted_upstream.peers[-1] != scripted_upstream.peers[-2]  # the broken connection was dropped


def _completion(text: str) -> bytes:
    return (b'{"id": "c1", "object": "chat.completion", "created": 1, "model": "tiny", "choices": [{"index": 0, '
            b'"message": {"role": "assistant", "content": "' + text.encode() + b'"}, "finish_reason": "stop"}]}')
