"""Where the policy-relevant texts sit inside OpenAI bodies, and how to write redacted text back.

A `TextSlot` points at one string inside a decoded JSON body. Tool-call arguments
are JSON inside a string, so each of their string leaves is its own slot and the
arguments are re-encoded after redaction: they stay valid JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from gateway.errors import InvalidRequest


@dataclass
class TextSlot:
    text: str
    write: Callable[[str], None]
    item: int = 0  # the message (input) or choice (output) index the text belongs to


def _key_slot(container: dict[str, Any] | list[Any], key: Any, item: int) -> TextSlot:
    def write(value: str) -> None:
        container[key] = value

    return TextSlot(text=container[key], write=write, item=item)


@dataclass
class _ArgumentsDoc:
    """A tool call's parsed arguments; written back as JSON once all its leaves are set."""

    owner: dict[str, Any]
    root: dict[str, Any]  # {"v": parsed arguments}, so a bare-string root can be replaced too

    def flush(self) -> None:
        self.owner["arguments"] = json.dumps(self.root["v"], ensure_ascii=False)


def _argument_slots(function: dict[str, Any], item: int, docs: list[_ArgumentsDoc]) -> list[TextSlot]:
    raw = function.get("arguments")
    if not isinstance(raw, str) or not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [_key_slot(function, "arguments", item)]  # not JSON: check it as plain text
    doc = _ArgumentsDoc(owner=function, root={"v": value})
    docs.append(doc)
    leaves: list[TextSlot] = []
    stack: list[tuple[Any, Any]] = [(doc.root, "v")]
    while stack:
        container, key = stack.pop()
        node = container[key]
        if isinstance(node, str):
            leaves.append(_key_slot(container, key, item))
        elif isinstance(node, dict):
            stack.extend((node, k) for k in node)
        elif isinstance(node, list):
            stack.extend((node, i) for i in range(len(node)))
    return leaves


class SlotSet:
    """Slots of one body, plus the tool-call documents to re-encode after writing."""

    def __init__(self) -> None:
        self.slots: list[TextSlot] = []
        self._docs: list[_ArgumentsDoc] = []

    def add_message(self, message: dict[str, Any], item: int, tool_calls: bool = True) -> None:
        content = message.get("content")
        if isinstance(content, str):
            self.slots.append(_key_slot(message, "content", item))
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    self.slots.append(_key_slot(part, "text", item))
        for call in (message.get("tool_calls") or []) if tool_calls else []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                self.slots.extend(_argument_slots(call["function"], item, self._docs))

    def add_text(self, holder: dict[str, Any] | list[Any], key: Any, item: int) -> None:
        self.slots.append(_key_slot(holder, key, item))

    def write_back(self, texts: list[str]) -> None:
        changed = False
        for slot, text in zip(self.slots, texts, strict=True):
            if text != slot.text:
                slot.write(text)
                changed = True
        if changed:
            for doc in self._docs:
                doc.flush()


def chat_input(body: dict[str, Any]) -> SlotSet:
    slots = SlotSet()
    for i, message in enumerate(body["messages"]):
        slots.add_message(message, i)
    return slots


def completion_input(body: dict[str, Any]) -> SlotSet:
    slots = SlotSet()
    prompt = body["prompt"]
    if isinstance(prompt, str):
        slots.add_text(body, "prompt", 0)
    elif all(isinstance(p, str) for p in prompt):
        for i in range(len(prompt)):
            slots.add_text(prompt, i, i)
    else:
        # Token ids cannot be read by the input policy, so they cannot pass it: fail closed.
        raise InvalidRequest("Prompts given as token ids cannot be checked by the gateway's policy; send text.",
                             param="prompt", code="unsupported_prompt")
    return slots


def chat_output(body: dict[str, Any]) -> SlotSet:
    """Choices' contents; tool-call arguments are screened by `gateway.channels`, keeping their JSON layout."""
    slots = SlotSet()
    for choice in body.get("choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
            slots.add_message(choice["message"], int(choice.get("index", 0)), tool_calls=False)
    return slots


def completion_output(body: dict[str, Any]) -> SlotSet:
    slots = SlotSet()
    for choice in body.get("choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("text"), str):
            slots.add_text(choice, "text", int(choice.get("index", 0)))
    return slots
