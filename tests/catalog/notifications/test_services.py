"""End to end: syncs and digests, through the worker, to Apprise's json:// on a loopback
receiver."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.scheduler import scheduler

from catalog.models import (
    FollowedArtist,
    NotificationAttempt,
    NotificationDelivery,
    NotificationSent,
    NotificationTarget,
    Release,
    SyncRun,
)
from catalog.notifications.services import (
    notification_deliveries_enqueue,
    notification_deliveries_recover_stale,
    notification_digests_send,
    notification_site_targets_sync,
    notification_target_create,
    notification_target_resume,
    notification_test_send,
)
from catalog.notifications.tasks import notification_digests
from catalog.scheduling import notification_digests_schedule_ensure
from catalog.selectors import VARIOUS_ARTISTS_ID
from catalog.services import sync_run_execute
from spotify.models import UserConnection
from tests.catalog.notifications.support import apprise_url, messages, worker_run
from tests.catalog.webhooks.support import releases_create
from tests.conftest import artists_route, new_release_pages, release_items, token_route
from tests.factories import ArtistFactory, ReleaseFactory, UserFactory, credit

pytestmark = pytest.mark.django_db


def _spotify(spotify_mock: Any, items: list[dict[str, Any]]) -> None:
    token_route(spotify_mock)
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    spotify_mock.route(host="127.0.0.1").pass_through()


def _sync(capture: Any) -> SyncRun:
    with capture(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def _names_in(message: dict[str, str]) -> set[str]:
    return {
        name
        for name in Release.objects.values_list("name", flat=True)
        if name in message["message"]
    }


def test_each_sync_with_new_releases_sends_one_message_with_exactly_its_releases(
    settings, spotify_mock, receiver, django_capture_on_commit_callbacks
):
    settings.NOTIFY_URLS = [apprise_url(receiver)]  # site-wide: trusted, loopback allowed
    items = release_items(5)
    served = items[:3]
    _spotify(spotify_mock, served)

    first = _sync(django_capture_on_commit_callbacks)
    assert receiver.requests == []  # queued, never sent inside the sync
    worker_run()
    served.extend(items[3:])
    second = _sync(django_capture_on_commit_callbacks)
    worker_run()
    third = _sync(django_capture_on_commit_callbacks)
    worker_run()

    assert (first.new_release_count, second.new_release_count, third.new_release_count) == (3, 2, 0)
    sent = messages(receiver)
    assert [message["title"] for message in sent] == ["3 new releases", "2 new releases"]
    first_names = set(
        Release.objects.filter(spotify_id__in=[i["id"] for i in items[:3]]).values_list(
            "name", flat=True
        )
    )
    second_names = set(
        Release.objects.filter(spotify_id__in=[i["id"] for i in items[3:]]).values_list(
            "name", flat=True
        )
    )
    assert _names_in(sent[0]) == first_names
    assert _names_in(sent[1]) == second_names
    assert "open.spotify.com/album/" in sent[0]["message"]
    assert NotificationTarget.objects.get().is_site_wide


def test_a_daily_digest_goes_at_notify_digest_time_in_time_zone(
    settings, spotify_mock, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    # django-q2's own scheduler decides when the digest is due; it would close the test's
    # database connection (as a long-lived scheduler process does between rounds).
    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)
    settings.TIME_ZONE = "Europe/Paris"
    settings.NOTIFY_URLS = [apprise_url(receiver)]
    settings.NOTIFY_DIGEST = "daily"
    settings.NOTIFY_DIGEST_TIME = "09:00"
    _spotify(spotify_mock, release_items(4))
    with time_machine.travel(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), tick=False) as traveller:
        schedule, _ = notification_digests_schedule_ensure()
        assert schedule.next_run == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Paris
        _sync(django_capture_on_commit_callbacks)
        worker_run()
        assert receiver.requests == []  # a digest target gets nothing after the sync

        traveller.move_to(datetime(2026, 12, 1, 7, 59, tzinfo=UTC))
        scheduler(broker=get_broker())
        assert worker_run() == 0

        traveller.move_to(datetime(2026, 12, 1, 8, 0, 30, tzinfo=UTC))
        scheduler(broker=get_broker())
        worker_run()
        assert [m["title"] for m in messages(receiver)] == ["4 new releases"]

        traveller.move_to(datetime(2026, 12, 2, 8, 0, 30, tzinfo=UTC))
        scheduler(broker=get_broker())
        worker_run()
    # The next day nothing new came: nothing is sent, and nothing is sent twice.
    assert len(receiver.requests) == 1


def test_weekly_digests_go_on_mondays_only(settings, receiver):
    settings.NOTIFY_ALLOW_PRIVATE = True
    target = notification_target_create(
        owner=UserFactory.create(is_staff=True), url=apprise_url(receiver), digest="weekly"
    )
    releases_create(2)
    tuesday = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    assert notification_digests_send(now=tuesday + timedelta(days=1)) == []
    [delivery] = notification_digests_send(now=tuesday + timedelta(days=6))  # Monday
    worker_run()

    assert delivery.target == target
    assert delivery.kind == NotificationDelivery.Kind.WEEKLY
    assert [m["title"] for m in messages(receiver)] == ["2 new releases"]


def test_filters_pick_the_releases_each_target_receives(settings, receiver):
    settings.NOTIFY_ALLOW_PRIVATE = True
    settings.NOTIFY_DIGEST = "daily"
    owner = UserFactory.create(is_staff=True)
    singles = notification_target_create(
        owner=owner, url=apprise_url(receiver), album_types=["single"]
    )
    no_various = notification_target_create(
        owner=owner, url=apprise_url(receiver) + "?x=2", exclude_various_artists=True
    )
    [single] = releases_create(1, album_type="single")
    [album] = releases_create(1, album_type="album")
    various = ReleaseFactory.create(album_type="compilation")
    credit(various, ArtistFactory.create(spotify_id=VARIOUS_ARTISTS_ID, name="Various Artists"))

    deliveries = notification_digests_send(now=datetime.now(UTC))

    by_target = {delivery.target_id: set(delivery.release_ids) for delivery in deliveries}
    assert by_target == {
        singles.pk: {single.spotify_id},
        no_various.pk: {single.spotify_id, album.spotify_id},
    }


def test_only_followed_artists_sends_exactly_the_releases_of_artists_the_owner_follows(
    settings, receiver
):
    settings.NOTIFY_ALLOW_PRIVATE = True
    settings.NOTIFY_DIGEST = "daily"
    owner = UserFactory.create()
    connection = UserConnection.objects.create(
        user=owner, account_id="spotify-owner", scope="user-follow-read"
    )
    followed, other = ArtistFactory.create(name="Followed Band"), ArtistFactory.create()
    FollowedArtist.objects.create(connection=connection, artist=followed)
    mine = [ReleaseFactory.create(name="Mine One"), ReleaseFactory.create(name="Mine Two")]
    for release in mine:
        credit(release, followed)
    shared = ReleaseFactory.create(name="Shared Split")
    credit(shared, other, followed)
    [not_mine] = releases_create(1, artist=other)
    notification_target_create(owner=owner, url=apprise_url(receiver), only_followed_artists=True)
    # A site-wide target has no owner: the option cannot narrow it to nobody's follows.
    settings.NOTIFY_URLS = [apprise_url(receiver) + "?x=site"]
    notification_site_targets_sync()
    NotificationTarget.objects.filter(owner__isnull=True).update(only_followed_artists=True)

    notification_digests_send(now=datetime.now(UTC))
    worker_run()

    by_title = {m["title"]: _names_in(m) for m in messages(receiver)}
    assert by_title == {
        "3 new releases": {"Mine One", "Mine Two", "Shared Split"},
        "4 new releases": {"Mine One", "Mine Two", "Shared Split", not_mine.name},
    }


def test_a_release_is_never_announced_twice_to_the_same_target(settings, receiver):
    settings.NOTIFY_URLS = [apprise_url(receiver)]
    settings.NOTIFY_DIGEST = "daily"
    releases_create(2)
    now = datetime.now(UTC)

    assert len(notification_digests_send(now=now)) == 1
    releases_create(1)
    # The next day's window overlaps (late schedules are forgiven): only the new one goes.
    [second] = notification_digests_send(now=now + timedelta(hours=23))
    worker_run()

    assert second.release_count == 1
    assert NotificationSent.objects.count() == 3
    assert [m["title"] for m in messages(receiver)] == ["2 new releases", "1 new release"]


def test_a_failing_target_is_retried_by_schedule_until_it_accepts(settings, receiver):
    settings.NOTIFY_URLS = [apprise_url(receiver)]
    settings.NOTIFY_DIGEST = "daily"
    receiver.statuses = [500, 503]
    releases_create(1)

    [delivery] = notification_digests_send(now=datetime.now(UTC))
    assert worker_run() == 3

    delivery.refresh_from_db()
    assert delivery.status == NotificationDelivery.Status.SUCCEEDED
    assert delivery.attempts == 3
    log = list(NotificationAttempt.objects.order_by("number").values_list("number", "succeeded"))
    assert log == [(1, False), (2, False), (3, True)]
    assert "500" in NotificationAttempt.objects.get(number=1).error
    assert NotificationTarget.objects.get().consecutive_failures == 0


def test_ten_failures_in_a_row_pause_the_target_and_staff_are_told(settings, receiver, client):
    settings.NOTIFY_URLS = [apprise_url(receiver)]
    settings.NOTIFY_DIGEST = "daily"
    settings.NOTIFY_MAX_ATTEMPTS = 5
    receiver.statuses = [500] * 20
    now = datetime.now(UTC)
    for hours in (0, 1, 2):
        releases_create(1)
        notification_digests_send(now=now + timedelta(hours=hours))
    worker_run()

    target = NotificationTarget.objects.get()
    assert not target.active
    assert target.consecutive_failures == 10
    assert "10 failed attempts in a row" in target.paused_reason
    assert len(receiver.requests) == 10  # the third message was never tried
    statuses = list(NotificationDelivery.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["failed"] * 3
    client.force_login(UserFactory.create(is_staff=True))
    assert "Notifications paused" in client.get("/").content.decode()

    notification_target_resume(target=target)
    target.refresh_from_db()
    assert target.active
    assert target.consecutive_failures == 0


def test_users_targets_on_private_addresses_are_refused_unless_allowed(settings, receiver):
    owner = UserFactory.create(is_staff=True)
    for url in (apprise_url(receiver), "ntfy://10.1.2.3/topic", "gotify://[::1]/token1234567"):
        with pytest.raises(ValidationError, match="NOTIFY_ALLOW_PRIVATE"):
            notification_target_create(owner=owner, url=url)
    with pytest.raises(ValidationError, match="Apprise does not understand"):
        notification_target_create(owner=owner, url="nonsense://what")
    with pytest.raises(ValidationError, match="notifies this server itself"):
        notification_target_create(owner=owner, url="syslog://")

    settings.NOTIFY_ALLOW_PRIVATE = True
    target = notification_target_create(owner=owner, url=apprise_url(receiver))

    assert target.label.startswith("json://127.0.0.1")
    assert NotificationTarget.objects.get().url == apprise_url(receiver)


def test_every_connection_of_a_users_target_is_checked_when_sending(settings, receiver):
    """The URL passed when saved (say DNS changed since, or the service's own API host): the send
    resolves, checks and connects to the checked addresses only, and refuses a private one."""
    settings.NOTIFY_ALLOW_PRIVATE = True
    target = notification_target_create(owner=UserFactory.create(), url=apprise_url(receiver))
    settings.NOTIFY_ALLOW_PRIVATE = False
    settings.NOTIFY_DIGEST = "daily"
    releases_create(1)

    [delivery] = notification_digests_send(now=datetime.now(UTC))
    assert worker_run() == 1  # not retried: it cannot get better

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == NotificationDelivery.Status.FAILED
    assert "127.0.0.1" in delivery.last_error
    assert "NOTIFY_ALLOW_PRIVATE" in delivery.last_error
    assert target.deliveries.get() == delivery


def test_the_test_button_sends_at_once_and_says_how_it_went(settings, receiver):
    settings.NOTIFY_ALLOW_PRIVATE = True
    target = notification_target_create(owner=UserFactory.create(), url=apprise_url(receiver))

    delivery = notification_test_send(target=target)

    assert delivery.status == NotificationDelivery.Status.SUCCEEDED
    assert [m["title"] for m in messages(receiver)] == ["Test from Spotify New Releases"]
    receiver.statuses = [500]
    failed = notification_test_send(target=target)
    assert failed.status == NotificationDelivery.Status.FAILED
    target.refresh_from_db()
    assert target.consecutive_failures == 0  # tests never pause a target


def test_a_sync_without_targets_queues_nothing(
    settings, spotify_mock, django_capture_on_commit_callbacks
):
    _spotify(spotify_mock, release_items(2))
    run = _sync(django_capture_on_commit_callbacks)
    assert notification_deliveries_enqueue(run_pk=run.pk) == []
    assert NotificationDelivery.objects.count() == 0


def test_a_delivery_a_killed_worker_left_pending_is_picked_up_again(settings, receiver):
    settings.NOTIFY_URLS = [apprise_url(receiver)]
    settings.NOTIFY_DIGEST = "daily"
    releases_create(1)
    [delivery] = notification_digests_send(now=datetime.now(UTC))
    OrmQ.objects.all().delete()  # the queued first attempt is lost with its worker
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        attempts=1, attempt_at=datetime.now(UTC) - timedelta(minutes=21)
    )

    assert notification_deliveries_recover_stale() == 1
    worker_run()

    delivery.refresh_from_db()
    assert delivery.status == NotificationDelivery.Status.SUCCEEDED
    assert delivery.attempts == 2
    assert len(receiver.requests) == 1


def test_the_digest_task_keeps_its_schedule_on_local_time_across_daylight_saving(settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.NOTIFY_DIGEST_TIME = "09:00"
    # Saturday 28 March 2026, 09:00 in Paris (UTC+1); the clocks go forward that night.
    with time_machine.travel(datetime(2026, 3, 28, 8, 0, 5, tzinfo=UTC), tick=False):
        schedule, _ = notification_digests_schedule_ensure()
        # What django-q2 does as it runs the schedule: 24 hours later, 10:00 in summer time.
        schedule.next_run = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
        schedule.save()
        notification_digests()

    schedule.refresh_from_db()
    assert schedule.next_run == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00, UTC+2
