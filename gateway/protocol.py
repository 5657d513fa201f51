"""Typed views of the OpenAI fields the gateway reads.

These views are permissive: unknown fields are ignored here and the raw body is
forwarded with them intact, so vLLM extras such as `structured_outputs` keep working.
Only the fields the policy reads are typed, so their type errors name a `$.path`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

import msgspec


class TextPart(msgspec.Struct):
    type: str
    text: str | None = None


class ToolFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCall(msgspec.Struct):
    function: ToolFunction | None = None


class ChatMessage(msgspec.Struct):
    role: str
    content: Union[str, list[TextPart], None] = None
    tool_calls: list[ToolCall] | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class _Sampling(msgspec.Struct, kw_only=True):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0)] | None = None
    n: Annotated[int, msgspec.Meta(ge=1)] | None = None


class ChatRequest(_Sampling, kw_only=True):
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None


# Text, a list of texts, or token ids; `gateway.texts.completion_input` refuses the token-id forms.
Prompt = Union[str, list[Any]]


class CompletionRequest(_Sampling, kw_only=True):
    prompt: Prompt


def decode_json_object(body: bytes) -> dict[str, Any]:
    """The raw body as a dict; raises `msgspec.DecodeError` or `TypeError` with a readable message."""
    value = msgspec.json.decode(body)
    if not isinstance(value, dict):
        raise TypeError(f"the request body must be a JSON object, not {type(value).__name__}")
    return value
