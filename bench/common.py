"""What every benchmark script shares: its command-line basics and a vLLM on the demo model."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_common_arguments(parser: argparse.ArgumentParser, requests: int, warmup: int, tokens: int,
                         requests_help: str = "measured requests per target") -> None:
    parser.add_argument("--requests", type=int, default=requests, help=requests_help)
    parser.add_argument("--warmup", type=int, default=warmup, help="unmeasured requests per target first")
    parser.add_argument("--tokens", type=int, default=tokens, help="completion tokens per request")
    parser.add_argument("--upstream", help="an already running backend; default: start vLLM on the demo model")
    parser.add_argument("--model", default="tiny", help="the model name the backend serves")


async def start_demo_vllm(workdir: Path, model: str, max_model_len: int = 512):  # -> ManagedVLLM
    """vLLM on the demo model, built in `workdir`; the caller stops it."""
    from gateway.demo_model import build_demo_model
    from gateway.vllm_process import ManagedVLLM

    vllm = ManagedVLLM(str(build_demo_model(workdir / "model")), served_model_name=model, dtype="float32",
                       max_model_len=max_model_len)
    await vllm.start()
    return vllm
