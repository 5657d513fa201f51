"""The non-streamed path: forward, screen the whole generation, answer."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.errors import UpstreamError
from gateway.exchange import Exchange
from gateway.pipeline import Pipeline
from gateway.channels import ArgumentsChannel
from gateway.texts import chat_output, completion_output
from policies.pseudonymize import Vault
from policies.verdict import Verdict


async def relay(pipeline: Pipeline, ex: Exchange, path: str, body: dict[str, Any], chat: bool) -> tuple[int, bytes]:
    """Returns (status, body). Backend 4xx errors pass through unchanged: they are already OpenAI-shaped."""
    reply = await pipeline.upstream.post(path, msgspec.json.encode(body))
    ex.upstream_seconds += reply.seconds
    if reply.status >= 500:
        ex.error = f"backend answered {reply.status}"
        raise UpstreamError(f"The backend failed with HTTP {reply.status}: {reply.body[:500].decode(errors='replace')}")
    if reply.status >= 400:
        ex.error = f"backend answered {reply.status}"
        return reply.status, reply.body
    try:
        payload = msgspec.json.decode(reply.body)
    except msgspec.DecodeError as exc:
        raise UpstreamError("The backend's answer was not JSON.") from exc
    _take_usage(ex, payload.get("usage"))
    slots = chat_output(payload) if chat else completion_output(payload)
    verdicts = await pipeline.screen(ex, "output", slots)
    blocked_choices = {slot.item: v for slot, v in zip(slots.slots, verdicts) if v.blocked}
    if chat:
        blocked_choices.update(await _screen_tool_calls(pipeline, ex, payload, blocked_choices))
    for choice in payload.get("choices") or []:
        verdict = blocked_choices.get(int(choice.get("index", 0)))
        if verdict:
            ex.blocked_by = ex.blocked_by or verdict.blocked_by
            filter_choice(choice, verdict.message or "", chat)
        elif ex.vault:
            _restore_placeholders(choice, ex.vault, chat)
    return 200, msgspec.json.encode(payload)


async def _screen_tool_calls(pipeline: Pipeline, ex: Exchange, payload: dict[str, Any],
                             blocked: dict[int, Verdict]) -> dict[int, Verdict]:
    """Screen each tool call's arguments as the stream path does, so both give the same JSON."""
    newly_blocked: dict[int, Verdict] = {}
    for choice in payload.get("choices") or []:
        index = int(choice.get("index", 0))
        calls = (choice.get("message") or {}).get("tool_calls") or []
        for call in calls if index not in blocked else []:
            function = call.get("function") or {}
            if not isinstance(function.get("arguments"), str):
                continue
            channel = ArgumentsChannel(pipeline.engine, ex.policy, ex.restorer())
            first = await channel.feed(function["arguments"])
            rest = first if first.blocked else await channel.finish()
            verdicts = channel.verdicts()
            ex.output_verdicts.extend(verdicts)
            ex.output_items.extend([index] * len(verdicts))
            pipeline.count("output", verdicts)
            if rest.blocked:
                newly_blocked[index] = rest.blocked
                break
            function["arguments"] = first.text + rest.text
    return newly_blocked


def _restore_placeholders(choice: dict[str, Any], vault: Vault, chat: bool) -> None:
    """Give the caller back the values the model only saw as placeholders (tool calls restore in their channel)."""
    holder, key = (choice.get("message") or {}, "content") if chat else (choice, "text")
    if isinstance(holder.get(key), str):
        holder[key] = vault.restore(holder[key])


def filter_choice(choice: dict[str, Any], message: str, chat: bool) -> None:
    """Replace a blocked choice the way OpenAI's content filter does."""
    choice["finish_reason"] = "content_filter"
    if chat:
        choice["message"] = {"role": "assistant", "content": message}
    else:
        choice["text"] = message


def _take_usage(ex: Exchange, usage: Any) -> None:
    if isinstance(usage, dict):
        ex.prompt_tokens = usage.get("prompt_tokens")
        ex.completion_tokens = usage.get("completion_tokens")
