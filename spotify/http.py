"""One httpx.Client per process, and the retry policy every Spotify call goes through."""

import logging
import math
import time
from dataclasses import dataclass, field
from functools import cache
from time import sleep
from typing import Any

import httpx
from django.utils.http import parse_http_date

from spotify.conf import SpotifySettings
from spotify.errors import ForeignHostError, RateLimitedError, UnavailableError
from spotify.metrics import spotify_call_count, spotify_retry_after_waited

logger = logging.getLogger(__name__)

USER_AGENT = "spotify-new-releases/0.1 (+https://github.com/)"
# Longer than any ban Spotify hands out; keeps an absurd `Retry-After` (and the retry date the
# error shows) representable. Anything this long fails fast anyway.
RETRY_AFTER_CEILING_SECONDS = 366 * 24 * 3600


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

        Only the configured Spotify hosts are ever asked: our tokens and client secret go nowhere
        else, whatever URL a caller (or a link in an answer) names.
        """
        self._check_host(url, endpoint=endpoint)
        attempts = max(1, self.conf.retry_attempts)
        failures = 0
        rate_limited = 0
        while True:
            self.calls += 1
            self.calls_by_endpoint[endpoint] = self.calls_by_endpoint.get(endpoint, 0) + 1
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                spotify_call_count(endpoint=endpoint, status=None)
                failures += 1
                reason = f"{type(error).__name__}"
                if failures >= attempts:
                    raise UnavailableError(
                        f"Spotify did not answer {endpoint} after {attempts} tries ({reason})"
                    ) from error
                self._back_off(endpoint, failures, reason)
                continue
            spotify_call_count(endpoint=endpoint, status=response.status_code)
            if response.status_code == 429:
                rate_limited += 1
                retry_after = retry_after_seconds(
                    response, fallback=self._backoff_delay(rate_limited)
                )
                if retry_after > self.conf.max_retry_after_seconds or rate_limited > attempts:
                    raise RateLimitedError(math.ceil(retry_after))
                logger.warning("Spotify rate limited %s: waiting %g s", endpoint, retry_after)
                sleep(retry_after)
                spotify_retry_after_waited(seconds=retry_after)
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

    def _check_host(self, url: str, *, endpoint: str) -> None:
        allowed = {_origin(self.conf.api_base_url), _origin(self.conf.accounts_base_url)}
        try:
            origin = _origin(url)
        except httpx.InvalidURL:
            origin = None
        if origin not in allowed:
            raise ForeignHostError(endpoint, url)

    def _backoff_delay(self, failures: int) -> float:
        return float(self.conf.backoff_seconds * 2 ** (failures - 1))

    def _back_off(self, endpoint: str, failures: int, reason: str) -> None:
        delay = self._backoff_delay(failures)
        logger.warning("Spotify %s failed (%s): retrying in %.1f s", endpoint, reason, delay)
        sleep(delay)


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port, as a browser compares origins (httpx lower-cases the first two)."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port or DEFAULT_PORTS.get(parsed.scheme)


def retry_after_seconds(response: httpx.Response, *, fallback: float) -> float:
    """Seconds to wait, from `Retry-After`: delta-seconds or an HTTP date (RFC 9110, all three
    date forms); a date in the past means 0.

    A missing or unreadable value (a negative or fractional number, a malformed date, two
    headers joined) gives no usable hint: wait `fallback`, the backoff a 5xx would get, so that
    a broken header neither crashes the sync nor hammers Spotify."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value), RETRY_AFTER_CEILING_SECONDS))
    try:
        when = parse_http_date(value)
    except ValueError:
        return fallback
    return float(min(max(0, math.ceil(when - time.time())), RETRY_AFTER_CEILING_SECONDS))
