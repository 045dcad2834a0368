import pytest

from catalog.models import WebhookEndpoint
from tests.catalog.webhooks.support import deliver, releases_create

pytestmark = pytest.mark.django_db


def test_the_admin_form_refuses_a_private_url(settings, admin_client):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(
        "/admin/catalog/webhookendpoint/add/",
        {"url": "http://10.0.0.5/hook", "album_types": "", "artist_ids": ""},
    )
    assert response.status_code == 200
    assert "webhooks only go to public hosts" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_staff_add_an_endpoint_see_its_secret_once_and_its_log(admin_client, receiver):
    response = admin_client.post(
        "/admin/catalog/webhookendpoint/add/",
        {"url": receiver.url, "album_types": "album,single", "artist_ids": "", "active": "on"},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.album_types == ["album", "single"]
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()  # shown once, right after creation
    change_page = admin_client.get(f"/admin/catalog/webhookendpoint/{endpoint.pk}/change/")
    list_page = admin_client.get("/admin/catalog/webhookendpoint/")
    assert endpoint.secret not in change_page.content.decode()
    assert endpoint.secret not in list_page.content.decode()

    receiver.secrets.append(endpoint.secret)
    receiver.statuses = [500]
    deliver(releases_create(1))
    body = admin_client.get(f"/admin/catalog/webhookendpoint/{endpoint.pk}/change/")
    text = body.content.decode()
    assert "Delivery log" in text
    assert "succeeded" in text
    assert all(received.signature_valid for received in receiver.requests)


def test_a_secret_posted_in_the_form_is_ignored(admin_client, receiver):
    admin_client.post(
        "/admin/catalog/webhookendpoint/add/",
        {"url": receiver.url, "secret": "chosen-by-staff", "album_types": "", "artist_ids": ""},
    )
    assert WebhookEndpoint.objects.get().secret.startswith("whsec_")


def test_replacing_the_secret_shows_the_new_one_once(admin_client, receiver):
    endpoint = WebhookEndpoint.objects.create(url=receiver.url)
    old = endpoint.secret

    response = admin_client.post(
        "/admin/catalog/webhookendpoint/",
        {"action": "replace_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in response.content.decode()
    assert (
        endpoint.secret not in admin_client.get("/admin/catalog/webhookendpoint/").content.decode()
    )


def test_re_enabling_in_the_admin_resets_the_failures(admin_client, receiver):
    endpoint = WebhookEndpoint.objects.create(
        url=receiver.url, active=False, consecutive_failures=10
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at="2026-11-01T00:00:00Z", disabled_reason="10 failed deliveries in a row"
    )
    admin_client.post(
        "/admin/catalog/webhookendpoint/",
        {"action": "enable", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert endpoint.active
    assert endpoint.consecutive_failures == 0
    assert endpoint.disabled_at is None
