from django.contrib import admin

from common.admin import ReadOnlyAdmin
from spotify.models import AppToken, ForbiddenEndpoint, SpotifyConnection, UserConnection


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


@admin.register(UserConnection)
class UserConnectionAdmin(ReadOnlyAdmin):
    # Token values never reach a page, not even masked.
    exclude = ["access_token", "refresh_token"]
    list_display = [
        "user",
        "display_name",
        "account_id",
        "scope",
        "needs_reconnect",
        "following_refreshed_at",
        "connected_at",
    ]


@admin.register(AppToken)
class AppTokenAdmin(ReadOnlyAdmin):
    exclude = ["access_token"]
    list_display = ["client_id", "expires_at", "updated_at"]


@admin.register(ForbiddenEndpoint)
class ForbiddenEndpointAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "status_code", "until", "message"]
