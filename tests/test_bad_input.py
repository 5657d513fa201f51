"""Bad input gets an OpenAI-style 4xx error, is audited, and leaves the gateway healthy."""

from __future__ import annotations

import json

from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.settings import DEFAULT_POLICY, Settings

pytestmark = [pytest.mark.vllm]

MAX_BODY = 64 * 1024
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def http(vllm_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    audit = tmp_path_factory.mktemp("bad-input") / "audit.db"
    settings = Settings(policy_path=DEFAULT_POLICY, upstream_url=vllm_server.base_url,
                        audit_url=f"sqlite+aiosqlite:///{audit}", max_body_bytes=MAX_BODY)
    with TestClient(create_app(settings)) as client:
        yield client


def assert_openai_error(response, status: int, *, code: str | None = None, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


@pytest.mark.parametrize(("body", "status", "code", "param"), [
    (b"{", 400, "invalid_json", None),
    (b"", 400, "invalid_json", None),
    (b"[1, 2]", 400, "invalid_json", None),
    (b'{"model": 5, "messages": [{"role": "user", "content": "hi"}]}', 400, "invalid_value", "model"),
    (b'{"model": "tiny", "messages": []}', 400, "invalid_value", "messages"),
    (b'{"model": "tiny", "messages": [{"role": "user", "content": 7}]}', 400, "invalid_value", "messages[0].content"),
    (b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}', 400,
     "invalid_value", "max_tokens"),
    (b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', 400,
     "invalid_value", "stream"),
    (b'{"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}', 404, "model_not_found", "model"),
], ids=["truncated", "empty", "not-an-object", "model-not-string", "empty-messages", "content-not-string",
        "max-tokens-not-int", "stream-not-bool", "unknown-model"])
def test_bad_chat_requests_get_openai_errors(http: TestClient, body: bytes, status: int, code: str,
                                             param: str | None) -> None:
    response = http.post(CHAT, content=body, headers={"content-type": "application/json"})
    assert_openai_error(response, status, code=code, param=param)
    assert response.headers["x-guardgate-request-id"].startswith("gg-")


def test_token_id_prompts_are_refused_because_they_cannot_be_checked(http: TestClient) -> None:
    response = http.post("/v1/completions", json={"model": "tiny", "prompt": [1, 2, 3]})
    assert_openai_error(response, 400, code="unsupported_prompt", param="prompt")


def test_oversized_body_gets_413_and_the_gateway_stays_healthy(http: TestClient) -> None:
    big = {"model": "tiny", "messages": [{"role": "user", "content": "x" * (MAX_BODY + 1)}]}
    assert_openai_error(http.post(CHAT, json=big), 413, code="request_too_large")
    assert http.get("/healthz").json() == {"status": "ok"}
    ok = http.post(CHAT, json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4,
                               "structured_outputs": {"choice": ["fine"]}})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "fine"


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/v1/nothing", 404), ("GET", CHAT, 405)])
def test_unknown_routes_and_methods_get_openai_errors(http: TestClient, method: str, path: str, status: int) -> None:
    assert_openai_error(http.request(method, path), status)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                                  st.sampled_from(["model", "messages", "role", "content", "n", "stream"]) | st.text(
                                      max_size=8), inner, max_size=4), max_leaves=12).map(
                     lambda v: json.dumps(v).encode())))
def test_arbitrary_bodies_never_cause_a_server_error(http: TestClient, body: bytes) -> None:
    response = http.post(CHAT, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["type"]
