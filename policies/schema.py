"""The policy file's typed schema, version 1.

Policy files are strict on purpose: unknown keys are refused, every key has one
spelling, and a rule's options depend on its `detector` (a tagged union), so a
typo is an error at load time rather than a rule that silently never fires.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec

Action = Literal["allow", "monitor", "redact", "mask", "hash", "block", "pseudonymize"]
OnError = Literal["block", "allow"]
StageName = Literal["input", "output"]

RuleId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", description="Unique rule id, used in audit rows, metrics and error codes.")]
Score = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base for policy structs: a misspelt key must fail loudly, never be ignored."""


class MaskOptions(_Strict):
    char: Annotated[str, msgspec.Meta(min_length=1, max_length=1)] = "*"
    keep_last: Annotated[int, msgspec.Meta(ge=0)] = 0


class _RuleBase(_Strict):
    id: RuleId
    action: Action
    message: str = "This content was blocked by the gateway's policy."
    on_error: OnError = "block"
    timeout_ms: Annotated[int, msgspec.Meta(gt=0, le=60_000)] = 2_000
    mask: MaskOptions = MaskOptions()


class PiiRule(_RuleBase, tag_field="detector", tag="pii", kw_only=True):
    """Presidio analyzer over pattern recognizers, plus NER when `nlp_model` names a spaCy model."""

    entities: Annotated[list[str], msgspec.Meta(min_length=1)]
    threshold: Score = 0.5
    language: str = "en"
    allow_list: list[str] = []
    nlp_model: str | None = None
    max_chars: Annotated[int, msgspec.Meta(gt=0)] = 100_000


class KeywordList(_Strict):
    """Terms inline and/or files of one term per line (`#` starts a comment line), paths relative to the policy."""

    entity_type: Annotated[str, msgspec.Meta(min_length=1)] = "KEYWORD"
    terms: list[str] = []
    files: list[str] = []


class KeywordsRule(_RuleBase, tag_field="detector", tag="keywords", kw_only=True):
    """Aho-Corasick matching over normalized text: NFKC, case folding, width, zero-width and separator dodges."""

    lists: Annotated[list[KeywordList], msgspec.Meta(min_length=1)]


class ClassifierRule(_RuleBase, tag_field="detector", tag="classifier", kw_only=True):
    """A built-in torch classifier shipped with guardgate (English and Chinese)."""

    model: Literal["toxicity", "injection"]
    threshold: Score = 0.5
    window_chars: Annotated[int, msgspec.Meta(gt=0)] = 256
    """Characters scored as one bag of n-grams. Small, because the score averages over its window: at 1024 a
    one-line insult or injection inside 1 KB of ordinary text scored 0.002 (see the model cards' spot checks)."""
    overlap_chars: Annotated[int, msgspec.Meta(ge=0)] = 64
    """Characters shared by neighbouring windows, so a line cut by one window's edge is whole in the next."""


class HfClassifierRule(_RuleBase, tag_field="detector", tag="hf_classifier", kw_only=True):
    """A local Hugging Face sequence-classification checkpoint directory (no hub access)."""

    path: str
    labels: Annotated[dict[str, str], msgspec.Meta(min_length=1)]  # model label -> entity type it reports
    threshold: Score = 0.5
    max_length: Annotated[int, msgspec.Meta(gt=0)] = 512
    batch_size: Annotated[int, msgspec.Meta(gt=0)] = 16
    device: str | None = None  # "cpu", "cuda", or None for CUDA when available


class LlmJudgeRule(_RuleBase, tag_field="detector", tag="llm_judge", kw_only=True):
    """A Llama Guard-style judge served by the backend; its reply is parsed strictly."""

    model: str
    categories: Annotated[dict[str, str], msgspec.Meta(min_length=1)]  # code (e.g. S1) -> description
    template: str  # with {categories} and {text}
    max_tokens: Annotated[int, msgspec.Meta(gt=0)] = 32
    request_options: dict[str, Any] = {}  # extra fields merged into the judge's request, e.g. structured_outputs


Rule = Union[PiiRule, KeywordsRule, ClassifierRule, HfClassifierRule, LlmJudgeRule]


class StreamOptions(_Strict):
    """How the output stage screens a stream (see README, "Streaming guarantees")."""

    max_holdback_chars: Annotated[int, msgspec.Meta(ge=16)] = 512


class Stage(_Strict):
    rules: list[Rule] = []
    mode: Literal["sequential", "parallel"] = "sequential"  # input only: start the backend while rules run
    stream: StreamOptions = StreamOptions()


class TemperatureRange(_Strict):
    min: Annotated[float, msgspec.Meta(ge=0.0)] = 0.0
    max: Annotated[float, msgspec.Meta(ge=0.0)] = 2.0


class Limits(_Strict):
    """Generation-parameter limits. `on_violation: clamp` rewrites the request; `reject` answers 400."""

    on_violation: Literal["clamp", "reject"] = "reject"
    max_tokens: Annotated[int, msgspec.Meta(gt=0)] | None = None
    temperature: TemperatureRange | None = None
    n: Annotated[int, msgspec.Meta(gt=0)] | None = None
    models: list[str] | None = None


class Policy(_Strict):
    version: Literal[1]
    name: Annotated[str, msgspec.Meta(min_length=1)]
    description: str = ""
    limits: Limits = Limits()
    input: Stage = Stage()
    output: Stage = Stage()

    def stage(self, name: StageName) -> Stage:
        return self.input if name == "input" else self.output


def json_schema() -> dict:
    """The JSON Schema of a policy file, for editors with a YAML language server."""
    schema = msgspec.json.schema(Policy)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "guardgate policy, version 1"
    return schema
