from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from spotify.models import AppToken, ForbiddenEndpoint, SpotifyConnection


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Written only by the Connect flow and the sync: the admin shows, never edits."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SpotifyConnection)
class SpotifyConnectionAdmin(ReadOnlyAdmin):
    # Token values never reach a page, not even masked.
    exclude = ["access_token", "refresh_token"]
    list_display = [
        "display_name",
        "account_id",
        "expires_at",
        "needs_reconnect",
        "connected_at",
        "refreshed_at",
    ]


@admin.register(AppToken)
class AppTokenAdmin(ReadOnlyAdmin):
    exclude = ["access_token"]
    list_display = ["client_id", "expires_at", "updated_at"]


@admin.register(ForbiddenEndpoint)
class ForbiddenEndpointAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "status_code", "until", "message"]
