import pytest

from catalog.models import NotificationAttempt, NotificationDelivery, NotificationTarget

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(admin_client):
    target = NotificationTarget.objects.create(
        url="ntfy://user:supersecret@ntfy.example.com/topic",
        label="ntfy://user:****@ntfy.example.com/topic",
    )
    delivery = NotificationDelivery.objects.create(target=target, kind="sync", attempts=1)
    NotificationAttempt.objects.create(
        delivery=delivery, target=target, number=1, succeeded=False, error="HTTP 500"
    )
    return target


def test_the_admin_shows_targets_deliveries_and_attempts_read_only_and_never_the_url(
    admin_client, logged
):
    for path in (
        "/admin/catalog/notificationtarget/",
        f"/admin/catalog/notificationtarget/{logged.pk}/change/",
        "/admin/catalog/notificationdelivery/",
        "/admin/catalog/notificationattempt/",
    ):
        answer = admin_client.get(path)
        assert answer.status_code == 200, path
        assert "supersecret" not in answer.content.decode()
    assert "HTTP 500" in admin_client.get("/admin/catalog/notificationattempt/").content.decode()
    assert admin_client.get("/admin/catalog/notificationtarget/add/").status_code == 403


def test_the_resume_action_puts_a_paused_target_back(admin_client, logged):
    NotificationTarget.objects.filter(pk=logged.pk).update(
        active=False, consecutive_failures=10, paused_reason="10 failed attempts in a row"
    )

    admin_client.post(
        "/admin/catalog/notificationtarget/",
        {"action": "resume", "_selected_action": [logged.pk]},
    )

    logged.refresh_from_db()
    assert logged.active
    assert logged.consecutive_failures == 0
