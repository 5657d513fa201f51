"""The managed vLLM child: the real CPU engine serves the demo model, says exactly what a test forces, and stops cleanly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI

from gateway.vllm_process import ManagedVLLM, VLLMStartError, has_cuda_gpu, live_group_members
from tests.fixtures.vllm import ENGINE_ARGS, require_vllm

pytestmark = [pytest.mark.vllm]

TEXT = "Write to jane.roe@example.org, card 4111 1111 1111 1111."
MAIL_ARGS = {"to": "jane.roe@example.org", "body": "card 4111 1111 1111 1111"}
TOOL_CALL = f"<tool_call>\n{json.dumps({'name': 'send_mail', 'arguments': MAIL_ARGS})}\n</tool_call>"
SEND_MAIL = {"type": "function", "function": {
    "name": "send_mail", "description": "Send an e-mail.",
    "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
                   "required": ["to", "body"]}}}
HI = [{"role": "user", "content": "hi"}]


def force(text: str) -> dict:
    return {"structured_outputs": {"choice": [text]}}


@pytest.fixture
def client(vllm_server) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{vllm_server.base_url}/v1", api_key="unused", max_retries=0)


async def test_models_lists_the_served_name(client: AsyncOpenAI) -> None:
    models = await client.models.list()
    assert [m.id for m in models.data] == ["tiny"]


async def test_structured_outputs_force_exact_text(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="tiny", messages=HI, max_tokens=80, extra_body=force(TEXT))
    assert reply.choices[0].message.content == TEXT
    assert reply.choices[0].finish_reason == "stop"


async def test_streamed_deltas_join_to_the_forced_text(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(model="tiny", messages=HI, max_tokens=80, stream=True,
                                                  extra_body=force(TEXT))
    deltas, finish_reasons = [], []
    async for chunk in stream:
        for choice in chunk.choices:
            deltas.append(choice.delta.content or "")
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
    assert "".join(deltas) == TEXT
    assert len([d for d in deltas if d]) > 1, "the text should arrive in several deltas"
    assert finish_reasons == ["stop"]


async def test_forced_hermes_output_becomes_a_tool_call(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="tiny", messages=HI, max_tokens=120, tools=[SEND_MAIL],
                                                 extra_body=force(TOOL_CALL))
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.function.name == "send_mail"
    assert json.loads(call.function.arguments) == MAIL_ARGS


async def test_metrics_expose_the_engine_gauges(vllm_server) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        body = (await http.get(vllm_server.metrics_url)).text
    for name in ("vllm:num_requests_running", "vllm:generation_tokens_total", "vllm:kv_cache_usage_perc"):
        assert name in body


def test_the_cpu_engine_pins_no_thread_to_a_core(vllm_server) -> None:
    """A pinned vLLM CPU worker starved any gateway thread that shared its core for seconds (see environment())."""
    if has_cuda_gpu():
        pytest.skip("the engine runs on a GPU here; CPU thread binding does not apply")
    cores = os.sched_getaffinity(0)
    pinned = {}
    for pid in live_group_members(vllm_server.pid):
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                allowed = os.sched_getaffinity(int(task.name))
            except OSError:
                continue  # the thread ended while we looked
            if allowed != cores:
                pinned[f"{pid}/{task.name}"] = sorted(allowed)
    assert not pinned, f"engine threads pinned to a subset of {sorted(cores)}: {pinned}"


async def test_missing_model_path_is_refused_before_spawning(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    vllm = ManagedVLLM(str(missing))
    with pytest.raises(VLLMStartError, match="does not exist") as caught:
        await vllm.start()
    assert str(missing) in str(caught.value)
    assert vllm.pid is None


async def test_child_that_exits_early_is_reported_with_its_log(demo_model_dir: Path) -> None:
    require_vllm()
    vllm = ManagedVLLM(str(demo_model_dir), extra_args=["--no-such-vllm-flag"])
    with pytest.raises(VLLMStartError) as caught:
        await vllm.start()
    message = str(caught.value)
    assert f"exited with code {vllm.returncode}" in message and vllm.returncode != 0
    assert "--no-such-vllm-flag" in message.split("Last", 1)[1], "the log tail should show vLLM's own complaint"
    assert "What to do" in message


async def test_stop_leaves_no_process_behind(demo_model_dir: Path) -> None:
    require_vllm()
    kwargs = {**ENGINE_ARGS, "served_model_name": "tiny-2", "extra_args": ()}
    async with ManagedVLLM(str(demo_model_dir), **kwargs) as vllm:  # type: ignore[arg-type]
        pid = vllm.pid
        assert pid is not None
        async with httpx.AsyncClient(trust_env=False) as http:
            assert (await http.get(f"{vllm.base_url}/health")).status_code == 200
        # The server plus at least its engine core: stop() must take care of the children too.
        assert len(live_group_members(pid)) >= 2
    assert vllm.returncode is not None
    assert live_group_members(pid) == []
    await vllm.stop()  # a second stop is a no-op
    assert vllm.returncode is not None
