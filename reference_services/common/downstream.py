"""Calls to another reference service over HTTP, as the caller.

httpx with the library's propagation (traceparent + baggage), so one request
is one trace across services; the caller's bearer token is forwarded, so the
other service applies the same tenant and roles.  Transport failures become
503 and unexpected answers 502, never a 500.
"""

from __future__ import annotations

from typing import Any

import httpx

from crm_observability.tracing import instrument_httpx
from reference_services.common.errors import ApiError


class Downstream:
    """One peer service (e.g. contacts-service as seen from deals-service)."""

    def __init__(self, name: str, base_url: str, *, timeout_s: float = 2.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name, self.base_url = name, base_url.rstrip("/")
        self.client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s,
                                        transport=transport)
        instrument_httpx()  # idempotent, process-wide: every httpx client propagates

    async def request(self, method: str, path: str, token: str,
                      json: dict[str, Any] | None = None) -> httpx.Response:
        """The peer's response for 2xx/4xx; ApiError 503 when unreachable, 502 on its 5xx."""
        try:
            response = await self.client.request(
                method, path, json=json, headers={"authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise ApiError(503, "dependency_unavailable",
                           f"{self.name} is unavailable ({type(exc).__name__})") from None
        if response.status_code >= 500:
            raise ApiError(502, "bad_gateway",
                           f"{self.name} answered {response.status_code}")
        return response

    async def aclose(self) -> None:
        await self.client.aclose()
