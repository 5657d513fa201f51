"""The bounded thread pool that keeps synchronous detector work off the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Callable, TypeVar

T = TypeVar("T")


class DetectorExecutor:
    """Runs detector calls in a fixed-size pool with a per-call deadline.

    A call past its deadline raises `TimeoutError` to the caller; the thread
    finishes in the background, since Python cannot kill it, and its result is dropped.
    """

    def __init__(self, max_workers: int = 4) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="detector")

    async def run(self, fn: Callable[[], T], timeout_s: float) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, fn), timeout=timeout_s)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
