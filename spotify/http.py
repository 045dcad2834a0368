"""One httpx.Client per process, and the retry policy every Spotify call goes through."""

import logging
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cache
from time import sleep
from typing import Any

import httpx
from django.utils import timezone

from spotify.conf import SpotifySettings
from spotify.errors import RateLimitedError, UnavailableError

logger = logging.getLogger(__name__)

USER_AGENT = "spotify-new-releases/0.1 (+https://github.com/)"


@cache
def _process_client(demo: bool, timeout_seconds: float) -> httpx.Client:
    transport: httpx.BaseTransport | None = None
    if demo:
        from spotify.demo import demo_transport

        transport = demo_transport()
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        headers={"User-Agent": USER_AGENT},
    )


def process_client(conf: SpotifySettings) -> httpx.Client:
    return _process_client(conf.demo, conf.timeout_seconds)


@dataclass
class SpotifyHttp:
    """Sends requests with the 429/5xx policy and counts the calls, for one unit of work (a sync)."""

    conf: SpotifySettings
    client: httpx.Client
    calls: int = 0
    calls_by_endpoint: dict[str, int] = field(default_factory=dict)

    def send(self, method: str, url: str, *, endpoint: str, **kwargs: Any) -> httpx.Response:
        """Returns the first answer that is neither a 429 nor a 5xx, or raises a SpotifyError.

        - 429: wait `Retry-After` when it is within the configured maximum, else fail at once.
        - 5xx, time-outs and transport errors: bounded exponential backoff.
        """
        attempts = max(1, self.conf.retry_attempts)
        failures = 0
        rate_limited = 0
        while True:
            self.calls += 1
            self.calls_by_endpoint[endpoint] = self.calls_by_endpoint.get(endpoint, 0) + 1
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                failures += 1
                reason = f"{type(error).__name__}"
                if failures >= attempts:
                    raise UnavailableError(
                        f"Spotify did not answer {endpoint} after {attempts} tries ({reason})"
                    ) from error
                self._back_off(endpoint, failures, reason)
                continue
            if response.status_code == 429:
                retry_after = retry_after_seconds(response)
                rate_limited += 1
                if retry_after > self.conf.max_retry_after_seconds or rate_limited > attempts:
                    raise RateLimitedError(retry_after)
                logger.warning("Spotify rate limited %s: waiting %s s", endpoint, retry_after)
                sleep(retry_after)
                continue
            if response.status_code >= 500:
                failures += 1
                reason = f"HTTP {response.status_code}"
                if failures >= attempts:
                    raise UnavailableError(
                        f"Spotify answered {endpoint} with {reason} {attempts} times in a row; "
                        "it is probably having an outage, the next run will try again"
                    )
                self._back_off(endpoint, failures, reason)
                continue
            return response

    def _back_off(self, endpoint: str, failures: int, reason: str) -> None:
        delay = self.conf.backoff_seconds * 2 ** (failures - 1)
        logger.warning("Spotify %s failed (%s): retrying in %.1f s", endpoint, reason, delay)
        sleep(delay)


def retry_after_seconds(response: httpx.Response) -> int:
    """`Retry-After` is seconds in practice, but HTTP also allows a date; a missing one means 1 s."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1
    return max(1, int((when - timezone.now()).total_seconds()))
