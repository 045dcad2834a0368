"""The notifications page, linked from the user's page: every signed-in user adds, tests and
removes their own Apprise targets; staff also see (test, resume) the site-wide ones."""

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from catalog.models import NotificationDelivery, NotificationTarget, WebhookEndpoint
from catalog.notifications.selectors import notification_targets_visible
from catalog.notifications.services import (
    notification_site_targets_sync,
    notification_target_create,
    notification_target_digest,
    notification_target_resume,
    notification_test_send,
)

TEMPLATE = "catalog/notifications.html"


class TargetForm(forms.Form):
    url = forms.CharField(
        label="Apprise URL",
        max_length=2000,
        help_text="For example ntfy://ntfy.sh/my-topic or discord://webhook_id/webhook_token.",
    )
    digest = forms.ChoiceField(
        label="When",
        choices=[("", "Site default (NOTIFY_DIGEST)"), *NotificationTarget.Digest.choices],
        required=False,
    )
    album_types = forms.MultipleChoiceField(
        label="Release types (none ticked: all)",
        choices=WebhookEndpoint.AlbumType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    exclude_various_artists = forms.BooleanField(
        label='Leave out "Various Artists" compilations', required=False
    )
    only_followed_artists = forms.BooleanField(
        label="Only artists I follow on Spotify (connect Spotify on your page)", required=False
    )


def _page(
    request: HttpRequest, *, form: TargetForm | None = None, notice: str = "", status: int = 200
) -> HttpResponse:
    targets = list(notification_targets_visible(user=request.user).order_by("-created_at"))
    context: dict[str, Any] = {
        "form": form or TargetForm(),
        "targets": [(target, notification_target_digest(target)) for target in targets],
        "notice": notice,
    }
    htmx = getattr(request, "htmx", False)
    template = f"{TEMPLATE}#targets" if htmx else TEMPLATE
    return render(request, template, context, status=status)


@require_GET
@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    notification_site_targets_sync()
    return _page(request)


@require_POST
@login_required
def notification_target_add(request: HttpRequest) -> HttpResponse:
    form = TargetForm(request.POST)
    if form.is_valid():
        try:
            notification_target_create(
                owner=request.user,  # type: ignore[arg-type]
                url=form.cleaned_data["url"],
                digest=form.cleaned_data["digest"],
                album_types=form.cleaned_data["album_types"],
                exclude_various_artists=form.cleaned_data["exclude_various_artists"],
                only_followed_artists=form.cleaned_data["only_followed_artists"],
            )
        except ValidationError as invalid:
            for message in invalid.messages:
                form.add_error("url", message)
        else:
            return _page(request, notice="Target added.")
    # htmx swaps only 2xx answers in: the form with its errors comes back as one.
    return _page(request, form=form, status=200 if getattr(request, "htmx", False) else 422)


def _target(request: HttpRequest, pk: int) -> NotificationTarget:
    """The user's own target, or for staff a site-wide one (which they may test and resume)."""
    return get_object_or_404(notification_targets_visible(user=request.user), pk=pk)


@require_POST
@login_required
def notification_target_test(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    delivery = notification_test_send(target=target)
    if delivery.status == NotificationDelivery.Status.SUCCEEDED:
        return _page(request, notice=f"Test sent to {target}.")
    return _page(request, notice=f"The test to {target} failed: {delivery.last_error}")


@require_POST
@login_required
def notification_target_remove(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(NotificationTarget, pk=pk, owner_id=request.user.pk)
    target.delete()
    return _page(request, notice="Target removed.")


@require_POST
@login_required
def notification_target_resume_view(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    notification_target_resume(target=target)
    return _page(request, notice=f"{target} resumed.")
