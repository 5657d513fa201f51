"""The upstream client: one pooled httpx client, raw bodies forwarded, errors mapped to gateway errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import msgspec

from gateway.errors import UpstreamError, UpstreamTimeout


class UpstreamReply(msgspec.Struct):
    status: int
    body: bytes
    seconds: float


class Upstream:
    """An OpenAI-compatible server. Created once in the lifespan; `aclose` on shutdown."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 600.0,
                 connect_timeout_s: float = 10.0, max_connections: int = 256,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self._models: tuple[float, list[str]] | None = None
        self._models_lock = asyncio.Lock()

    async def post(self, path: str, body: bytes) -> UpstreamReply:
        started = time.perf_counter()
        try:
            response = await self._client.post(path, content=body)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"The backend did not answer in time ({type(exc).__name__}).") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The backend could not be reached: {type(exc).__name__}: {exc}") from exc
        return UpstreamReply(status=response.status_code, body=response.content,
                             seconds=time.perf_counter() - started)

    async def open_stream(self, path: str, body: bytes) -> httpx.Response:
        """An open streamed response; the caller must `aclose` it, which aborts the generation upstream."""
        request = self._client.build_request("POST", path, content=body)
        try:
            return await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"The backend did not answer in time ({type(exc).__name__}).") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The backend could not be reached: {type(exc).__name__}: {exc}") from exc

    async def models(self, max_age_s: float = 30.0) -> list[str]:
        """Model ids the backend serves, cached briefly so model checks add no round trip."""
        async with self._models_lock:
            if self._models and time.monotonic() - self._models[0] < max_age_s:
                return self._models[1]
            payload = await self.get_json("/v1/models")
            ids = [m["id"] for m in payload.get("data", []) if isinstance(m, dict) and "id" in m]
            self._models = (time.monotonic(), ids)
            return ids

    async def get_json(self, path: str) -> dict[str, Any]:
        try:
            response = await self._client.get(path, timeout=10.0)
            response.raise_for_status()
            return msgspec.json.decode(response.content)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"The backend did not answer {path} in time.") from exc
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            raise UpstreamError(f"The backend's {path} failed: {type(exc).__name__}: {exc}") from exc

    async def healthy(self) -> bool:
        try:
            response = await self._client.get("/health", timeout=5.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        await self._client.aclose()
