import base64
import secrets
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from catalog.notifications.validators import notification_url_validate
from catalog.webhooks.validators import webhook_url_validate
from spotify.crypto import EncryptedTextField
from spotify.models import UserConnection


class Artist(models.Model):
    spotify_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=500)
    uri = models.CharField(max_length=100, blank=True)
    spotify_url = models.URLField(max_length=300, blank=True)
    images = models.JSONField(default=list, blank=True)
    # `best_image(images)`, chosen when the sync writes, so that reads never pick it again.
    image_url = models.URLField(max_length=500, blank=True, default="")
    genres = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    # Null means unknown: Spotify stopped sending these to Development Mode apps in 2026.
    popularity = models.PositiveSmallIntegerField(null=True, blank=True)
    followers = models.PositiveBigIntegerField(null=True, blank=True)
    details_fetched_at = models.DateTimeField(null=True, blank=True)
    # When the sync last read this artist's albums, for the users who follow it (None: never);
    # the rotation checks the least recently checked first, once however many users follow it.
    albums_checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["genres"], name="artist_genres_gin")]

    def __str__(self) -> str:
        return self.name


class Release(models.Model):
    """An album, single or compilation."""

    class Precision(models.TextChoices):
        YEAR = "year"
        MONTH = "month"
        DAY = "day"

    spotify_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=500)
    album_type = models.CharField(max_length=32, db_index=True)
    total_tracks = models.PositiveIntegerField(null=True, blank=True)
    images = models.JSONField(default=list, blank=True)
    # `best_image(images)`, chosen when the sync writes, so that reads never pick it again.
    image_url = models.URLField(max_length=500, blank=True, default="")
    spotify_url = models.URLField(max_length=300, blank=True)
    uri = models.CharField(max_length=100, blank=True)
    release_date = models.CharField(max_length=10, blank=True)
    release_date_precision = models.CharField(
        max_length=5, choices=Precision.choices, default=Precision.DAY
    )
    # The first day of the month or year when the precision is coarser; null when unparseable.
    release_date_sort = models.DateField(null=True, blank=True, db_index=True)
    # Only /albums?ids= sends these, and Development Mode apps no longer get them.
    label = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001 (null: unknown)
    popularity = models.PositiveSmallIntegerField(null=True, blank=True)
    artists = models.ManyToManyField(Artist, through="ReleaseArtist", related_name="releases")
    # When our sync first saw it: "new" means new to us, whatever date Spotify gives it.
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set once the track list is stored; a release with it costs no more Spotify calls.
    tracks_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-release_date_sort", "name"]

    def __str__(self) -> str:
        return self.name


class ReleaseArtist(models.Model):
    """A credit, in Spotify's order."""

    release = models.ForeignKey(Release, on_delete=models.DB_CASCADE, related_name="credits")
    artist = models.ForeignKey(Artist, on_delete=models.DB_CASCADE, related_name="credits")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["release", "position"]
        constraints = [
            models.UniqueConstraint(fields=["release", "artist"], name="unique_release_artist"),
            models.UniqueConstraint(fields=["release", "position"], name="unique_credit_position"),
        ]

    def __str__(self) -> str:
        return f"{self.release_id} #{self.position}: {self.artist_id}"


class Track(models.Model):
    spotify_id = models.CharField(max_length=64, unique=True)
    release = models.ForeignKey(Release, on_delete=models.DB_CASCADE, related_name="tracks")
    name = models.CharField(max_length=500)
    track_number = models.PositiveIntegerField()
    disc_number = models.PositiveIntegerField(default=1)
    duration_ms = models.PositiveIntegerField()
    explicit = models.BooleanField(default=False)
    # [{"id", "name"}] in credit order: tracks are read with their release, never joined on.
    artists = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["release", "disc_number", "track_number"]
        indexes = [models.Index(fields=["release", "disc_number", "track_number"])]

    def __str__(self) -> str:
        return self.name


class Snapshot(models.Model):
    """Today's new releases, one per day and market. A later sync that day replaces its entries."""

    class Source(models.TextChoices):
        NEW_RELEASES = "new-releases"
        SEARCH = "search"
        DEMO = "demo"

    date = models.DateField()
    market = models.CharField(max_length=2, blank=True, default="")
    fetched_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices)
    release_count = models.PositiveIntegerField(default=0)
    artist_count = models.PositiveIntegerField(default=0)
    releases = models.ManyToManyField(Release, through="SnapshotEntry", related_name="snapshots")

    class Meta:
        ordering = ["-date"]
        get_latest_by = "date"
        constraints = [
            models.UniqueConstraint(fields=["date", "market"], name="unique_snapshot_day_market")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.market or 'global'} ({self.source})"


class CatalogChange(models.Model):
    """When the catalog last changed other than by a sync: housekeeping pruning old snapshots
    with their releases and artists. The data version that validates every cached answer
    (catalog.caching) is the latest of this, the newest snapshot's fetch and the last successful
    sync's end. At most one row."""

    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"changed at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class SnapshotEntry(models.Model):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.DB_CASCADE, related_name="entries")
    release = models.ForeignKey(Release, on_delete=models.DB_CASCADE, related_name="entries")
    rank = models.PositiveIntegerField()

    class Meta:
        ordering = ["snapshot", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "release"], name="unique_snapshot_release"),
            models.UniqueConstraint(fields=["snapshot", "rank"], name="unique_snapshot_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id} #{self.rank}"


class SyncRun(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Refresh now"
        CLI = "cli", "Command line"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    # The market this run read (empty: Spotify's global list, or a skipped sync). The markets of
    # one sync are one run each, sharing `started_at`. A database default too: rows written
    # without Django (bench/seed.py's COPY) name no market.
    market = models.CharField(max_length=2, blank=True, default="", db_default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    release_count = models.PositiveIntegerField(default=0)
    artist_count = models.PositiveIntegerField(default=0)
    new_release_count = models.PositiveIntegerField(default=0)
    updated_release_count = models.PositiveIntegerField(default=0)
    new_artist_count = models.PositiveIntegerField(default=0)
    updated_artist_count = models.PositiveIntegerField(default=0)
    spotify_calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.trigger}, {self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def webhook_secret_default() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes (the HMAC key)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """A receiver registered by staff: one signed POST after each sync that finds new releases."""

    class AlbumType(models.TextChoices):
        ALBUM = "album"
        SINGLE = "single"
        COMPILATION = "compilation"

    url = models.URLField(max_length=500, validators=[webhook_url_validate])
    # Encrypted at rest like the Spotify tokens; the admin shows it once, when it is generated.
    secret = EncryptedTextField(
        default=webhook_secret_default,
        editable=False,
        help_text="Signs each delivery (Standard Webhooks, header webhook-signature).",
    )
    album_types = ArrayField(
        models.CharField(max_length=32, choices=AlbumType.choices),
        default=list,
        blank=True,
        help_text="Comma-separated; empty sends every type.",
    )
    artist_ids = ArrayField(
        models.CharField(max_length=64),
        default=list,
        blank=True,
        help_text="Comma-separated Spotify artist ids; empty sends every artist.",
    )
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def matches(self, *, album_type: str, artist_ids: Iterable[str]) -> bool:
        if self.album_types and album_type not in self.album_types:
            return False
        return not self.artist_ids or not set(self.artist_ids).isdisjoint(artist_ids)

    def failures_reset(self) -> None:
        """Back on after staff re-enable it: the count of failures in a row starts again."""
        self.active = True
        self.consecutive_failures = 0
        self.disabled_at = None
        self.disabled_reason = ""


class WebhookDelivery(models.Model):
    """One POST to one endpoint, however many attempts it took."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sync_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # While pending: when the running attempt started or the next one is due. Long past, the
    # worker died mid-attempt and webhook_deliveries_recover_stale picks the delivery up again.
    attempt_at = models.DateTimeField(default=timezone.now)
    # Spotify ids of the releases in the body, in body order.
    release_ids = models.JSONField(default=list, blank=True)
    release_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_recent"),
            models.Index(
                fields=["attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_attempt_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} ({self.status})"


class FollowedArtist(models.Model):
    """An artist a connected user follows on Spotify, as the last read of their list found it."""

    connection = models.ForeignKey(
        UserConnection, on_delete=models.DB_CASCADE, related_name="follows"
    )
    artist = models.ForeignKey(Artist, on_delete=models.DB_CASCADE, related_name="follows")
    # When our sync first found the follow.
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["connection", "artist"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "artist"], name="unique_follow")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} follows {self.artist_id}"


class PersonalToken(models.Model):
    """A user's key to their own API answers (`Authorization: Bearer ...`): only its SHA-256 is
    kept, so the token is shown once, when it is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, so that the user can tell their tokens apart.
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.name or 'unnamed'})"


class FeedToken(models.Model):
    """The secret in a user's private feed URL: one per user, replaced to revoke the old URL.
    Looked up by its SHA-256; kept encrypted too, because the user's page shows the URL again."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_token"
    )
    token = EncryptedTextField(editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Feed token of user {self.user_id}"


class PlaylistLink(models.Model):
    """A user's "New from artists I follow" playlist on Spotify, kept by the sync. The row is the
    switch: it exists while the playlist is on, and goes with the connection (disconnecting)."""

    connection = models.OneToOneField(
        UserConnection, on_delete=models.DB_CASCADE, related_name="playlist_link"
    )
    # Empty until the playlist is created (the next sync, or "Update now").
    spotify_id = models.CharField(max_length=64, blank=True)
    spotify_url = models.URLField(max_length=300, blank=True)
    # The releases of this many past days fill the playlist.
    days = models.PositiveSmallIntegerField(default=14)
    # SHA-256 of the track URIs last written: the playlist is only rewritten when it changes.
    content_hash = models.CharField(max_length=64, blank=True)
    track_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(null=True, blank=True)
    # When the sync last recreated it after the user had deleted it on Spotify.
    recreated_at = models.DateTimeField(null=True, blank=True)
    # False once updating stopped (deleted on Spotify again after a recreation).
    active = models.BooleanField(default=True)
    # What the user should know (recreated, stopped, reconnect needed); shown on their page.
    notice = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return (
            f"Playlist {self.spotify_id or '(not created yet)'} of connection {self.connection_id}"
        )


class NotificationTarget(models.Model):
    """An Apprise URL that gets a message when releases are new: site-wide (no owner, one per URL
    in NOTIFY_URLS, trusted) or a user's own (validated, public addresses only)."""

    class Digest(models.TextChoices):
        SYNC = "sync", "After each sync"
        DAILY = "daily", "Daily digest"
        WEEKLY = "weekly", "Weekly digest (Mondays)"

    # Null for the site-wide targets of NOTIFY_URLS; every signed-in user may add their own.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_targets",
    )
    # Apprise URLs carry tokens: encrypted at rest like the Spotify tokens.
    url = EncryptedTextField(validators=[notification_url_validate])
    # A site-wide target's row is found again by this keyed hash of its URL (the URL itself is
    # encrypted with a random IV, so it cannot be looked up).
    url_digest = models.CharField(max_length=64, blank=True, editable=False)
    # The URL with its secrets masked (Apprise's privacy form): what pages and logs show.
    label = models.CharField(max_length=300, blank=True, editable=False)
    # Empty: NOTIFY_DIGEST.
    digest = models.CharField(max_length=8, choices=Digest.choices, blank=True)
    album_types = ArrayField(
        models.CharField(max_length=32, choices=WebhookEndpoint.AlbumType.choices),
        default=list,
        blank=True,
        help_text="Empty sends every type.",
    )
    exclude_various_artists = models.BooleanField(default=False)
    # Only releases crediting an artist the owner follows on Spotify (no owner: ignored).
    only_followed_artists = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["url_digest"],
                condition=models.Q(owner__isnull=True),
                name="unique_site_notification_target",
            )
        ]

    def __str__(self) -> str:
        return self.label or f"Notification target {self.pk}"

    @property
    def is_site_wide(self) -> bool:
        return self.owner_id is None

    def matches(self, *, album_type: str, various_artists: bool) -> bool:
        if self.album_types and album_type not in self.album_types:
            return False
        return not (self.exclude_various_artists and various_artists)


class NotificationDelivery(models.Model):
    """One message to one target (a sync's news, a digest or a test), however many attempts."""

    class Kind(models.TextChoices):
        SYNC = "sync"
        DAILY = "daily"
        WEEKLY = "weekly"
        TEST = "test"

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    target = models.ForeignKey(
        NotificationTarget, on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    sync_run = models.ForeignKey(
        SyncRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification_deliveries",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # While pending: when the running attempt started or the next one is due.
    attempt_at = models.DateTimeField(default=timezone.now)
    # Spotify ids of the releases in the message, in message order.
    release_ids = models.JSONField(default=list, blank=True)
    release_count = models.PositiveIntegerField(default=0)
    # The "and N more" link lists releases first seen after this.
    first_seen_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "notification deliveries"
        indexes = [models.Index(fields=["created_at"], name="notification_delivery_created")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.target_id} ({self.status})"


class NotificationAttempt(models.Model):
    """One try at sending one delivery: the log the admin shows."""

    delivery = models.ForeignKey(
        NotificationDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    target = models.ForeignKey(
        NotificationTarget, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    succeeded = models.BooleanField()
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery_id}"


class NotificationSent(models.Model):
    """A release announced (or being announced) to a target: never a second time."""

    target = models.ForeignKey(NotificationTarget, on_delete=models.CASCADE, related_name="sent")
    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="notifications_sent"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target", "release"], name="unique_notification_target_release"
            )
        ]

    def __str__(self) -> str:
        return f"{self.release_id} to {self.target_id}"
