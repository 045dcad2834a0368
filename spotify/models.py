from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from spotify.crypto import EncryptedTextField

# Client libraries (tekore, spotipy) refresh when less than a minute is left; so do we, never earlier.
TOKEN_EXPIRY_MARGIN = timedelta(seconds=60)


class AppToken(models.Model):
    """The Client Credentials token, one row per client id; its row lock serialises renewals."""

    client_id = models.CharField(max_length=128, unique=True)
    access_token = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"App token for {self.client_id}"

    def is_usable(self, *, now: datetime | None = None) -> bool:
        return _usable(self.access_token, self.expires_at, now)


class TokenConnection(models.Model):
    """A Spotify account's consent: its tokens (encrypted at rest) and whether it must be redone."""

    account_id = models.CharField(max_length=128)
    display_name = models.CharField(max_length=300, blank=True)
    # The scopes Spotify granted, space-separated, as its token endpoint last reported them.
    scope = models.CharField(max_length=500, blank=True)
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set when Spotify answers invalid_grant (refresh tokens die 6 months after consent), or
    # refuses a scope the user took back: nothing retries until the user connects again.
    needs_reconnect = models.BooleanField(default=False)
    reconnect_reason = models.CharField(max_length=300, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"Spotify account {self.display_name or self.account_id}"

    def is_usable(self, *, now: datetime | None = None) -> bool:
        return _usable(self.access_token, self.expires_at, now)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope.split()


class SpotifyConnection(TokenConnection):
    """The Spotify account a staff user connected for the site's sync: the site has at most one."""

    SLOT = "site"

    slot = models.CharField(max_length=16, unique=True, default=SLOT, editable=False)

    class Meta:
        permissions = [
            (
                "manage_site_connection",
                "Can connect or disconnect the site's Spotify account",
            )
        ]


class UserConnection(TokenConnection):
    """A signed-in user's own Spotify account, for the artists they follow. Deleting it
    (disconnecting) deletes what hangs on it: the follows and the playlist link."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="spotify_connection"
    )
    # When the followed-artist list was last read from Spotify (None: never).
    following_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Asked from the user's page: the next sync reads the list whatever its age.
    following_refresh_requested = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Spotify account {self.display_name or self.account_id} of user {self.user_id}"


def _usable(token: str, expires_at: datetime | None, now: datetime | None) -> bool:
    if not token or expires_at is None:
        return False
    return expires_at - (now or timezone.now()) > TOKEN_EXPIRY_MARGIN


class ForbiddenEndpoint(models.Model):
    """An endpoint Spotify refused us (Development Mode, 2026), remembered so that every run does
    not pay the 403 again; it is tried again once `until` has passed."""

    endpoint = models.CharField(max_length=100, unique=True)
    status_code = models.PositiveSmallIntegerField()
    message = models.CharField(max_length=500, blank=True)
    until = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.endpoint} forbidden until {self.until:%Y-%m-%d %H:%M}"


class DemoGrowth(models.Model):
    """Demo mode only, one row: how far the demo's catalogue has grown. Each listing of new
    releases (each sync) after the first adds 1 to 5 releases, deterministic from the date and
    the day's run, so that the demo has something new to show, notify and feed."""

    listings = models.PositiveIntegerField(default=0)
    day = models.DateField(null=True, blank=True)
    runs_today = models.PositiveIntegerField(default=0)
    extra_releases = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Demo: {self.extra_releases} releases added over {self.listings} listings"
