"""Blocking, limits and fail-closed behaviour, each under its own policy, against the real vLLM."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from audit.metrics import GatewayMetrics
from gateway.app import create_app
from gateway.settings import Settings
from tests.test_gateway_e2e import metric

pytestmark = [pytest.mark.vllm]

POLICIES = Path(__file__).parent / "policies" / "gateway"
CHAT = "/v1/chat/completions"


def chat(content: str = "hi", forced: str = "ok", **extra: object) -> dict:
    return {"model": "tiny", "messages": [{"role": "user", "content": content}], "max_tokens": 40,
            "structured_outputs": {"choice": [forced]}, **extra}


@pytest.fixture
async def gateway_for(vllm_server, tmp_path: Path):
    """Start an in-process gateway under a named test policy; yields (client, metrics)."""
    clients: list[AsyncTestClient] = []

    async def start(policy: str) -> tuple[AsyncTestClient, GatewayMetrics]:
        metrics = GatewayMetrics()
        settings = Settings(policy_path=POLICIES / f"{policy}.yaml", upstream_url=vllm_server.base_url,
                            audit_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
        client = AsyncTestClient(create_app(settings, metrics))
        await client.__aenter__()
        clients.append(client)
        return client, metrics

    yield start
    for client in clients:
        await client.__aexit__(None, None, None)


async def test_blocked_input_gets_400_policy_violation_naming_the_rule(gateway_for) -> None:
    http, metrics = await gateway_for("blocking")
    response = await http.post(CHAT, json=chat("my card is 4111 1111 1111 1111"))
    assert response.status_code == 400
    assert response.json()["error"] == {"message": "Card numbers may not be sent to the model.",
                                        "type": "policy_violation", "param": None, "code": "no-cards-in"}
    assert metrics.decisions.labels("input", "no-cards-in", "block")._value.get() == 1


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_blocked_output_is_a_content_filter_finish(gateway_for, stream: bool) -> None:
    http, _ = await gateway_for("blocking")
    response = await http.post(CHAT, json=chat(forced="Your SSN is 536-90-4399, keep it.", stream=stream))
    assert response.status_code == 200
    if stream:
        assert response.text.endswith("data: [DONE]\n\n")
        assert "536-90-4399" not in response.text
        assert '"finish_reason":"content_filter"' in response.text
        assert "The answer contained a social security number." in response.text
    else:
        choice = response.json()["choices"][0]
        assert choice["finish_reason"] == "content_filter"
        assert choice["message"]["content"] == "The answer contained a social security number."


async def test_mask_and_hash_actions(gateway_for) -> None:
    http, _ = await gateway_for("blocking")
    response = await http.post(CHAT, json=chat("mail jane.roe@example.org", forced="Reply to bob@example.com now"))
    content = response.json()["choices"][0]["message"]["content"]
    assert content.startswith("Reply to <EMAIL_ADDRESS:") and content.endswith("> now")
    assert "bob@example.com" not in content


@pytest.mark.parametrize(("extra", "param"), [
    ({"max_tokens": 65}, "max_tokens"), ({"temperature": 1.5}, "temperature"), ({"n": 3}, "n")])
async def test_limits_reject(gateway_for, extra: dict, param: str) -> None:
    http, _ = await gateway_for("blocking")
    response = await http.post(CHAT, json={**chat(), **extra})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param and response.json()["error"]["code"] == "limit_exceeded"


async def test_limits_clamp(gateway_for) -> None:
    http, metrics = await gateway_for("clamping")
    response = await http.post(CHAT, json={**chat(forced="one two three four five six seven eight nine ten"),
                                           "max_tokens": 500, "temperature": 1.9})
    assert response.status_code == 200
    assert response.json()["usage"]["completion_tokens"] <= 5
    assert metrics.decisions.labels("input", "limits.max_tokens", "clamp")._value.get() == 1
    assert metrics.decisions.labels("input", "limits.temperature", "clamp")._value.get() == 1


async def test_models_outside_the_allow_list_are_not_found(gateway_for) -> None:
    http, _ = await gateway_for("blocking")
    models = await http.get("/v1/models")
    assert [m["id"] for m in models.json()["data"]] == ["tiny"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_failing_detector_blocks_by_default(gateway_for, stream: bool) -> None:
    http, metrics = await gateway_for("fail-block")
    response = await http.post(CHAT, json=chat(forced="jane.roe@example.org", stream=stream))
    assert "jane.roe@example.org" not in response.text
    assert "The answer could not be checked." in response.text
    assert metrics.policy_errors.labels("output", "capped-pii", "block")._value.get() == 1


async def test_on_error_allow_lets_it_through_and_counts_the_bypass(gateway_for) -> None:
    http, metrics = await gateway_for("fail-allow")
    response = await http.post(CHAT, json=chat(forced="all good here"))
    assert response.json()["choices"][0]["message"]["content"] == "all good here"
    assert metrics.policy_errors.labels("output", "capped-pii", "allow")._value.get() == 1
    scraped = (await http.get("/metrics")).text
    assert metric(scraped, "guardgate_policy_errors_total", outcome="allow", rule="capped-pii") == 1
