"""The few failures the rest of the app needs to tell apart, each with a message a person can act on."""

from datetime import UTC, datetime, timedelta


class SpotifyError(Exception):
    """Base class: `str(error)` is a sentence fit for a log line, the CLI or the dashboard."""


class SpotifyAuthError(SpotifyError):
    """Spotify refused our credentials or token."""


class ReconnectNeededError(SpotifyAuthError):
    """A user's own connection cannot be used until they connect again (a dead refresh token, or
    a scope they took back): nothing retries it before then."""


class InvalidClientError(SpotifyAuthError):
    def __init__(self, description: str = "Invalid client") -> None:
        super().__init__(
            f"Spotify rejected the client credentials (invalid_client: {description}): "
            "check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"
        )


class InvalidGrantError(SpotifyAuthError):
    """A code or refresh token Spotify no longer accepts (refresh tokens expire after 6 months)."""

    def __init__(self, description: str = "Invalid grant") -> None:
        self.description = description
        super().__init__(f"Spotify refused the grant (invalid_grant: {description})")


class RateLimitedError(SpotifyError):
    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        self.retry_at = datetime.now(UTC) + timedelta(seconds=retry_after_seconds)
        super().__init__(
            f"Spotify is rate limiting us for {retry_after_seconds} s: "
            f"retry after {self.retry_at:%Y-%m-%d %H:%M:%S} UTC"
        )


class ForbiddenEndpointError(SpotifyError):
    """403 (or 404 for a removed endpoint): Development Mode apps lost several endpoints in 2026."""

    def __init__(self, endpoint: str, status_code: int, message: str) -> None:
        self.endpoint = endpoint
        self.status_code = status_code
        super().__init__(
            f"Spotify refused {endpoint} ({status_code}: {message}); apps in Development Mode "
            "lost this endpoint in February 2026"
        )


class UnavailableError(SpotifyError):
    """5xx answers, time-outs or transport errors that outlasted our retries."""


class BadResponseError(SpotifyError):
    """Spotify answered with something we could not parse."""


class ForeignHostError(SpotifyError):
    """A request for a host other than the configured Spotify ones, refused before it is sent,
    so that no token or client secret goes there."""

    def __init__(self, endpoint: str, url: str) -> None:
        super().__init__(
            f"Refused to send {endpoint} to {url[:200]}: only SPOTIFY_API_BASE_URL's and "
            "SPOTIFY_ACCOUNTS_BASE_URL's hosts get our credentials"
        )


class RequestRejectedError(SpotifyError):
    """Any other 4xx: a bug on our side or a resource that does not exist."""

    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        super().__init__(f"Spotify answered {status_code}: {message}")
