from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SnapshotEntry, SyncRun


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Synced data is Spotify's: the admin shows it and never edits it."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CreditInline(admin.TabularInline[ReleaseArtist, Any]):
    model = ReleaseArtist
    extra = 0
    can_delete = False
    readonly_fields = ["artist", "position"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Artist)
class ArtistAdmin(ReadOnlyAdmin):
    list_display = ["name", "spotify_id", "popularity", "followers", "details_fetched_at"]
    search_fields = ["name", "spotify_id"]


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ["name", "album_type", "release_date", "total_tracks", "spotify_id"]
    list_filter = ["album_type", "release_date_precision"]
    search_fields = ["name", "spotify_id"]
    inlines = [CreditInline]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["date", "market", "source", "release_count", "artist_count", "fetched_at"]


@admin.register(SnapshotEntry)
class SnapshotEntryAdmin(ReadOnlyAdmin):
    list_display = ["snapshot", "rank", "release"]
    list_select_related = ["snapshot", "release"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "trigger",
        "status",
        "release_count",
        "artist_count",
        "spotify_calls",
        "error",
    ]
    list_filter = ["status", "trigger"]
