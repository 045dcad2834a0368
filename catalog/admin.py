from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from catalog.models import (
    Artist,
    NotificationAttempt,
    NotificationDelivery,
    NotificationTarget,
    Release,
    ReleaseArtist,
    Snapshot,
    SnapshotEntry,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from catalog.notifications.services import notification_target_resume
from catalog.webhooks.services import webhook_endpoint_enable, webhook_endpoint_secret_replace
from common.admin import ReadOnlyAdmin

# An endpoint's page shows this many recent deliveries; the full log is under Webhook deliveries.
WEBHOOK_LOG_ROWS = 50


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


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """Unlike synced data, endpoints are staff's own: they add, edit and delete them here."""

    list_display = [
        "url",
        "active",
        "album_types",
        "artist_ids",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
    ]
    list_filter = ["active"]
    search_fields = ["url"]
    # The secret is generated, stored encrypted and shown once (a message after it is made).
    fields = [
        "url",
        "album_types",
        "artist_ids",
        "active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "recent_deliveries",
    ]
    readonly_fields = [
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "recent_deliveries",
    ]
    actions = ["enable", "replace_secret"]

    @admin.action(description="Enable and reset the failure count")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_enable(endpoint=endpoint)

    @admin.action(description="Replace the signing secret (the new one is shown once)")
    def replace_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            _secret_show(request, endpoint, webhook_endpoint_secret_replace(endpoint=endpoint))

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        if obj.active and obj.disabled_at is not None:
            obj.failures_reset()
        super().save_model(request, obj, form, change)
        if not change:
            _secret_show(request, obj, obj.secret)

    @admin.display(description="Delivery log (most recent)")
    def recent_deliveries(self, obj: WebhookEndpoint) -> str:
        deliveries = obj.deliveries.order_by("-created_at", "-pk")[:WEBHOOK_LOG_ROWS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    delivery.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    delivery.status,
                    delivery.attempts,
                    delivery.response_status or "-",
                    f"{delivery.duration_ms} ms" if delivery.duration_ms is not None else "-",
                    delivery.release_count,
                    delivery.last_error or "-",
                )
                for delivery in deliveries
            ),
        )
        if not rows:
            return "No deliveries yet."
        return format_html(
            "<table><thead><tr><th>Created</th><th>Status</th><th>Attempts</th><th>HTTP</th>"
            "<th>Duration</th><th>Releases</th><th>Last error</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )


def _secret_show(request: HttpRequest, endpoint: WebhookEndpoint, secret: str) -> None:
    messages.warning(
        request,
        format_html(
            "Signing secret for {}: <code>{}</code> Copy it to the receiver now: "
            "it is stored encrypted and will not be shown again.",
            endpoint.url,
            secret,
        ),
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "duration_ms",
        "release_count",
        "last_error",
    ]
    list_filter = ["status"]
    list_select_related = ["endpoint"]
    search_fields = ["delivery_id", "endpoint__url"]


@admin.register(NotificationTarget)
class NotificationTargetAdmin(ReadOnlyAdmin):
    """Site-wide targets come from NOTIFY_URLS and users' from their page; here staff see how
    each fares and resume paused ones. The URL (it carries tokens) is never shown, only its
    masked label."""

    list_display = [
        "label",
        "owner",
        "digest",
        "active",
        "consecutive_failures",
        "paused_at",
        "paused_reason",
    ]
    list_filter = ["active"]
    exclude = ["url"]
    actions = ["resume"]

    @admin.action(description="Resume and reset the failure count")
    def resume(self, request: HttpRequest, queryset: QuerySet[NotificationTarget]) -> None:
        for target in queryset:
            notification_target_resume(target=target)
        self.message_user(request, f"{len(queryset)} target(s) resumed.", messages.SUCCESS)


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "target",
        "kind",
        "status",
        "attempts",
        "release_count",
        "last_error",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["target"]


@admin.register(NotificationAttempt)
class NotificationAttemptAdmin(ReadOnlyAdmin):
    """Each attempt: target, outcome, error (pruned with its delivery by housekeeping)."""

    list_display = [
        "created_at",
        "target",
        "delivery",
        "number",
        "succeeded",
        "duration_ms",
        "error",
    ]
    list_filter = ["succeeded"]
    list_select_related = ["target", "delivery"]
