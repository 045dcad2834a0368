"""What Spotify was asked and how it answered: kept nowhere else, so counted here (per process;
summed over processes in prometheus-client's multiprocess mode)."""

from prometheus_client import Counter

SPOTIFY_CALLS = Counter(
    "snr_spotify_calls",
    "Requests sent to Spotify, by endpoint and HTTP status (`error` when none came back).",
    ["endpoint", "status"],
)
SPOTIFY_RATE_LIMITED = Counter(
    "snr_spotify_rate_limited",
    "429 answers from Spotify, by endpoint.",
    ["endpoint"],
)
SPOTIFY_RETRY_AFTER_SECONDS = Counter(
    "snr_spotify_retry_after_wait_seconds",
    "Seconds spent waiting on Spotify's Retry-After before asking again.",
)


def spotify_call_count(*, endpoint: str, status: int | None) -> None:
    SPOTIFY_CALLS.labels(endpoint=endpoint, status=str(status) if status else "error").inc()
    if status == 429:
        SPOTIFY_RATE_LIMITED.labels(endpoint=endpoint).inc()


def spotify_retry_after_waited(*, seconds: float) -> None:
    SPOTIFY_RETRY_AFTER_SECONDS.inc(seconds)
