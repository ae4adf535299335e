"""A client of the NPPES NPI Registry API v2.1 (httpx): lookup by NPI, cached, rate limited,
retried, with the API's quirks read by models/nppes.py (errors come as HTTP 200 bodies).

The base URL is configuration (ENROLL_NPPES_BASE_URL); tests point it at a local stand-in. A
registry that stays down raises NppesUnavailable, which the checks turn into a visible "NPPES
not reachable" finding: the engine goes on without it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from models.nppes import NppesAnswerError, NppesRecord, parse_answer

__all__ = ["NppesAnswerError", "NppesClient", "NppesUnavailable"]

DEFAULT_BASE_URL = "https://npiregistry.cms.hhs.gov/api/"


class NppesUnavailable(Exception):
    """NPPES did not answer usefully after the retries; the message says how (no values)."""


class NppesClient:
    """Lookups by NPI. One instance per process: its cache and its rate limit are shared."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        requests_per_second: float = 5.0,
        cache_seconds: float = 24 * 3600,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url
        self.interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self.cache_seconds = cache_seconds
        self.attempts = max(1, attempts)
        self.backoff = backoff_seconds
        self.timeout = timeout_seconds
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self._cache: dict[str, tuple[float, NppesRecord | None]] = {}
        self._gate = asyncio.Lock()
        self._next_slot = 0.0
        self.requests = 0  # sent to NPPES (the cache answers the others)

    async def _wait_for_slot(self) -> None:
        """At most `requests_per_second` requests leave this process (CMS asks callers to be
        gentle; bursts get throttled)."""
        async with self._gate:
            now = self.clock()
            if now < self._next_slot:
                await self.sleep(self._next_slot - now)
                now = self._next_slot
            self._next_slot = now + self.interval

    async def lookup(self, npi: str) -> NppesRecord | None:
        """NPPES's record of `npi`, None when it has none. Raises NppesAnswerError when NPPES
        refuses the query, NppesUnavailable when it cannot be reached."""
        cached = self._cache.get(npi)
        if cached is not None and self.clock() - cached[0] < self.cache_seconds:
            return cached[1]
        record = await self._fetch(npi)
        self._cache[npi] = (self.clock(), record)
        return record

    async def _fetch(self, npi: str) -> NppesRecord | None:
        params = {"version": "2.1", "number": npi}
        why = "no attempt"
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as http:
            for attempt in range(self.attempts):
                if attempt:
                    await self.sleep(self.backoff * 2 ** (attempt - 1))
                await self._wait_for_slot()
                self.requests += 1
                try:
                    response = await http.get(self.base_url, params=params)
                except httpx.TransportError as exc:
                    why = f"{type(exc).__name__} reaching NPPES"
                    continue
                if response.status_code == 429 or response.status_code >= 500:
                    why = f"NPPES answered HTTP {response.status_code}"
                    continue
                if response.status_code != 200:
                    raise NppesUnavailable(f"NPPES answered HTTP {response.status_code}")
                try:
                    body = response.json()
                except ValueError:
                    why = "NPPES answered something that is not JSON"
                    continue
                try:
                    return parse_answer(body)
                except NppesAnswerError:
                    raise
                except ValueError as exc:
                    why = str(exc)
                    continue
        raise NppesUnavailable(f"{why} ({self.attempts} attempts)")
