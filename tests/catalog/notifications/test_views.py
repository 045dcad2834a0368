"""The page where every signed-in user manages their own targets, and the dashboard link that
"and N more" points to."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import NotificationTarget
from tests.catalog.notifications.support import apprise_url, messages
from tests.factories import ArtistFactory, ReleaseFactory, UserFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory.create(is_staff=True)
    client.force_login(user)
    return user


def test_staff_add_a_target_and_send_a_test(settings, client, staff, receiver):
    settings.NOTIFY_ALLOW_PRIVATE = True

    added = client.post(
        "/notifications/targets/",
        {"url": apprise_url(receiver), "digest": "daily", "album_types": ["single"]},
        headers={"HX-Request": "true"},
    )
    assert added.status_code == 200
    assert "Target added." in added.content.decode()
    target = NotificationTarget.objects.get()
    assert (target.owner, target.digest, target.album_types) == (staff, "daily", ["single"])

    tested = client.post(f"/notifications/targets/{target.pk}/test/")
    assert f"Test sent to {target.label}." in tested.content.decode()
    assert [m["title"] for m in messages(receiver)] == ["Test from Spotify New Releases"]


def test_a_refused_target_is_explained_and_not_stored(client, staff):
    answer = client.post("/notifications/targets/", {"url": "json://127.0.0.1:9/"})

    assert answer.status_code == 422
    assert "NOTIFY_ALLOW_PRIVATE" in answer.content.decode()
    assert not NotificationTarget.objects.exists()


def test_targets_carry_tokens_so_the_page_shows_them_masked(settings, client, staff):
    settings.NOTIFY_ALLOW_PRIVATE = True
    client.post("/notifications/targets/", {"url": "ntfy://user:supersecret@10.0.0.5/topic"})

    page = client.get("/notifications/").content.decode()

    assert "ntfy://user:" in page
    assert "supersecret" not in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM catalog_notificationtarget")
        [(stored,)] = cursor.fetchall()
    assert "supersecret" not in stored  # encrypted at rest
    assert NotificationTarget.objects.get().url == "ntfy://user:supersecret@10.0.0.5/topic"


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/notifications/").status_code == 302
    answer = client.post("/notifications/targets/", {"url": "x"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert not NotificationTarget.objects.exists()


def test_a_signed_in_user_who_is_not_staff_adds_tests_and_removes_a_target(
    settings, client, receiver
):
    user = UserFactory.create()
    client.force_login(user)
    assert 'href="/notifications/"' in client.get("/me/").content.decode()

    refused = client.post("/notifications/targets/", {"url": apprise_url(receiver)})
    assert refused.status_code == 422
    assert "NOTIFY_ALLOW_PRIVATE" in refused.content.decode()
    assert not NotificationTarget.objects.exists()

    settings.NOTIFY_ALLOW_PRIVATE = True
    added = client.post(
        "/notifications/targets/", {"url": apprise_url(receiver), "only_followed_artists": "on"}
    )
    assert "Target added." in added.content.decode()
    target = NotificationTarget.objects.get()
    assert (target.owner, target.only_followed_artists) == (user, True)
    assert "only artists you follow" in client.get("/notifications/").content.decode()

    tested = client.post(f"/notifications/targets/{target.pk}/test/")
    assert f"Test sent to {target.label}." in tested.content.decode()
    assert [m["title"] for m in messages(receiver)] == ["Test from Spotify New Releases"]

    client.post(f"/notifications/targets/{target.pk}/remove/")
    assert not NotificationTarget.objects.exists()


def test_a_user_who_is_not_staff_never_sees_or_touches_other_targets(settings, client):
    settings.NOTIFY_URLS = ["json://10.0.0.8/site"]
    client.force_login(UserFactory.create())
    theirs = NotificationTarget.objects.create(
        owner=UserFactory.create(), url="json://10.0.0.9/", label="json://10.0.0.9/"
    )

    page = client.get("/notifications/").content.decode()
    [site] = NotificationTarget.objects.filter(owner__isnull=True)

    assert "10.0.0.9" not in page
    assert "10.0.0.8" not in page  # the site-wide targets are staff's
    for pk in (theirs.pk, site.pk):
        for action in ("test", "remove", "resume"):
            assert client.post(f"/notifications/targets/{pk}/{action}/").status_code == 404
    assert NotificationTarget.objects.count() == 2


def test_a_user_removes_only_their_own_targets(settings, client, staff):
    settings.NOTIFY_ALLOW_PRIVATE = True
    theirs = NotificationTarget.objects.create(
        owner=UserFactory.create(is_staff=True), url="json://10.0.0.9/", label="json://10.0.0.9/"
    )

    assert client.post(f"/notifications/targets/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/notifications/targets/{theirs.pk}/test/").status_code == 404
    assert NotificationTarget.objects.filter(pk=theirs.pk).exists()


def test_the_dashboard_filters_on_first_seen_after(client):
    old, new = ReleaseFactory.create(name="Old one"), ReleaseFactory.create(name="New one")
    credit(old, ArtistFactory.create(name="Old Band"))
    credit(new, ArtistFactory.create(name="New Band"))
    cut = timezone.now()
    old.first_seen_at = cut - timedelta(hours=2)
    old.save()
    new.first_seen_at = cut + timedelta(seconds=1)
    new.save()
    snapshot_with([old, new])

    page = client.get("/", {"first_seen_after": cut.astimezone(UTC).isoformat()}).content.decode()

    assert "New Band" in page
    assert "Old Band" not in page
    assert client.get("/", {"first_seen_after": "yesterday"}).status_code == 400
    naive = datetime(2000, 1, 1).isoformat()
    assert "Old Band" in client.get("/", {"first_seen_after": naive}).content.decode()
