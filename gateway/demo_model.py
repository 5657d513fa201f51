"""A tiny random Llama with a byte-level BPE tokenizer, built offline so the real vLLM engine has a model to serve.

Its text is gibberish; tests make it say exact strings through vLLM's structured outputs. Because the tokenizer is
byte-level, any text (e-mail addresses, digits, CJK, tool-call JSON) can be encoded and so forced.
"""

from __future__ import annotations

import json
import logging
import pathlib
import time

log = logging.getLogger("guardgate.demo_model")

VOCAB_SIZE = 512
SPECIAL_TOKENS: tuple[str, str, str] = ("<unk>", "<s>", "</s>")
# Bumped whenever the build below changes, so an old build on disk is rebuilt rather than reused.
BUILD_VERSION = 1
MARKER = ".guardgate-demo-model.json"

# Plain Jinja over role/content; `or ''` because assistant turns that only carry tool calls have null content.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] or '' }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)

# The merges only need to look plausible; the sentences cover the kinds of text the tests force.
_CORPUS: tuple[str, ...] = (
    "Hello, how can I help you today?",
    "Write to jane.roe@example.org, card 4111 1111 1111 1111.",
    "Call me at +1 212 555 0100 or mail john.smith@example.com.",
    "The quick brown fox jumps over the lazy dog 0123456789 times.",
    '<tool_call>\n{"name": "send_mail", "arguments": {"to": "a@b.org", "body": "hi"}}\n</tool_call>',
    "My IBAN is DE89 3704 0044 0532 0130 00 and my SSN is 078-05-1120.",
    "你好，世界。我的电子邮件是 li.wei@example.cn。",
    "The assistant answers the user politely and never leaks secrets.",
    "user: what is the weather like in Paris tomorrow? assistant: sunny",
)


def build_demo_model(path: pathlib.Path, *, seed: int = 0) -> pathlib.Path:
    """Build the model into `path` (created if needed) and return it; a complete build with the same seed is reused."""
    path = pathlib.Path(path)
    marker = path / MARKER
    expected = {"version": BUILD_VERSION, "seed": seed}
    if _read_marker(marker) == expected:
        log.info("demo model: reusing the build in %s", path)
        return path

    started = time.monotonic()
    path.mkdir(parents=True, exist_ok=True)
    _build_tokenizer(path)
    _build_weights(path, seed)
    # Written last: a build interrupted halfway has no marker and is redone next time.
    marker.write_text(json.dumps(expected))
    size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    log.info("demo model: built a random Llama (seed %d, %.0f kB) in %s in %.1f s",
             seed, size / 1024, path, time.monotonic() - started)
    return path


def _read_marker(marker: pathlib.Path) -> object:
    try:
        return json.loads(marker.read_text())
    except (OSError, ValueError):
        return None


def _build_tokenizer(path: pathlib.Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS[0]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=list(SPECIAL_TOKENS),
        # All 256 byte symbols, even those absent from the corpus, so every UTF-8 string stays encodable.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token=SPECIAL_TOKENS[0],
        bos_token=SPECIAL_TOKENS[1],
        eos_token=SPECIAL_TOKENS[2],
        model_max_length=8192,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(path))
    log.info("demo model: byte-level BPE tokenizer with %d tokens", tokenizer.get_vocab_size())


def _build_weights(path: pathlib.Path, seed: int) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        # head_dim = 128 / 2 = 64: vLLM's CPU attention refuses smaller heads.
        hidden_size=128,
        head_dim=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=None,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(str(path), safe_serialization=True)
