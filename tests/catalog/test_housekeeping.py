"""The daily housekeeping: each pruning rule, the dry run, the command, the task and its schedule."""

import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule, Task

from catalog.caching import data_version, data_version_forget
from catalog.housekeeping import HousekeepingCounts, housekeeping_run
from catalog.models import (
    Artist,
    FollowedArtist,
    NotificationAttempt,
    NotificationDelivery,
    NotificationSent,
    NotificationTarget,
    Release,
    Snapshot,
    SyncRun,
    Track,
    WebhookDelivery,
    WebhookEndpoint,
)
from catalog.scheduling import HOUSEKEEPING_SCHEDULE_NAME, housekeeping_schedule_ensure
from catalog.tasks import housekeeping
from spotify.models import UserConnection
from tests.factories import ArtistFactory, ReleaseFactory, SyncRunFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _runs(ages_in_days: list[float], status: str = SyncRun.Status.SUCCEEDED) -> list[SyncRun]:
    return [
        SyncRunFactory.create(status=status, started_at=NOW - timedelta(days=age))
        for age in ages_in_days
    ]


def _track(release: Release) -> Track:
    return Track.objects.create(
        spotify_id=f"{release.spotify_id}-t",
        release=release,
        name="Track",
        track_number=1,
        duration_ms=1000,
    )


def _days_ago(days: int) -> object:
    return timezone.localdate(NOW) - timedelta(days=days)


# --- sync runs --------------------------------------------------------------------------------


def test_runs_older_than_90_days_go_beyond_the_last_100():
    recent = _runs([1 + day * 0.5 for day in range(120)])  # the last 100 are all recent
    old = _runs([91, 200, 400])
    counts = housekeeping_run(now=NOW)
    assert counts.sync_runs == 3
    assert set(SyncRun.objects.values_list("pk", flat=True)) == {run.pk for run in recent}
    assert not SyncRun.objects.filter(pk__in=[run.pk for run in old]).exists()


def test_the_last_100_runs_stay_whatever_their_age():
    runs = _runs([100 + day for day in range(105)])  # a site that has not synced for months
    counts = housekeeping_run(now=NOW)
    assert counts.sync_runs == 5
    kept = set(SyncRun.objects.values_list("pk", flat=True))
    assert kept == {run.pk for run in runs[:100]}  # the 100 newest


def test_skipped_runs_go_after_7_days_others_stay():
    old_skipped = _runs([8, 30], status=SyncRun.Status.SKIPPED)
    young_skipped = _runs([6], status=SyncRun.Status.SKIPPED)
    others = _runs([8, 30]) + _runs([20], status=SyncRun.Status.FAILED)
    counts = housekeeping_run(now=NOW)
    assert counts.sync_runs == len(old_skipped)
    assert set(SyncRun.objects.values_list("pk", flat=True)) == {
        run.pk for run in young_skipped + others
    }


def test_a_pruned_run_leaves_its_webhook_deliveries_unlinked():
    (old,) = _runs([95])
    _runs([1] * 100)
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/a")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, sync_run=old)
    housekeeping_run(now=NOW)
    delivery.refresh_from_db()
    assert delivery.sync_run is None


# --- webhook deliveries, task failures, sessions ----------------------------------------------


def test_webhook_deliveries_older_than_30_days_go():
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/a")
    old = WebhookDelivery.objects.create(endpoint=endpoint, created_at=NOW - timedelta(days=31))
    young = WebhookDelivery.objects.create(endpoint=endpoint, created_at=NOW - timedelta(days=29))
    assert housekeeping_run(now=NOW).webhook_deliveries == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [young.pk]
    assert not WebhookDelivery.objects.filter(pk=old.pk).exists()


def test_notification_deliveries_older_than_30_days_go_with_their_attempts_not_what_was_sent():
    target = NotificationTarget.objects.create(url="json://10.0.0.1/", label="json://10.0.0.1/")
    release = ReleaseFactory.create()
    NotificationSent.objects.create(target=target, release=release)
    old, young = (
        NotificationDelivery.objects.create(
            target=target, kind="sync", created_at=NOW - timedelta(days=days)
        )
        for days in (31, 29)
    )
    for delivery in (old, young):
        NotificationAttempt.objects.create(
            delivery=delivery, target=target, number=1, succeeded=True
        )

    assert housekeeping_run(now=NOW).notification_deliveries == 1

    assert list(NotificationDelivery.objects.values_list("pk", flat=True)) == [young.pk]
    assert list(NotificationAttempt.objects.values_list("delivery", flat=True)) == [young.pk]
    assert NotificationSent.objects.count() == 1  # still never announced twice


def _task(*, age_days: int, success: bool) -> Task:
    stopped = NOW - timedelta(days=age_days)
    return Task.objects.create(
        id=uuid.uuid4().hex,
        name=f"task {age_days} {success}",
        func="catalog.tasks.sync_new_releases",
        started=stopped,
        stopped=stopped,
        success=success,
    )


def test_task_failures_older_than_30_days_go_and_successes_are_left_to_django_q():
    old_failure = _task(age_days=31, success=False)
    young_failure = _task(age_days=29, success=False)
    old_success = _task(age_days=31, success=True)
    assert housekeeping_run(now=NOW).task_failures == 1
    assert set(Task.objects.values_list("pk", flat=True)) == {young_failure.pk, old_success.pk}
    assert not Task.objects.filter(pk=old_failure.pk).exists()


def test_expired_sessions_go():
    live = SessionStore()
    live.create()
    expired = SessionStore()
    expired.set_expiry(NOW - timedelta(seconds=1))
    expired.create()
    assert housekeeping_run(now=NOW).sessions == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


# --- snapshots and what only they referenced --------------------------------------------------


@pytest.fixture
def history(settings):
    """A snapshot of 400 days ago and one of today, sharing a release; an artist on each side."""
    settings.SNAPSHOT_RETENTION_DAYS = 365
    only_old, shared, today_only = ReleaseFactory.create_batch(3)
    # Found some other way (a followed artist, one day): in no snapshot, so not housekeeping's.
    unlisted = ReleaseFactory.create()
    gone, stays, on_unlisted = ArtistFactory.create_batch(3)
    credit(only_old, gone, stays)
    credit(shared, stays)
    credit(today_only, stays)
    credit(unlisted, on_unlisted)
    for release in (only_old, shared, unlisted):
        _track(release)
    old = snapshot_with([only_old, shared], date=_days_ago(400))
    today = snapshot_with([shared, today_only], date=_days_ago(0))
    run = SyncRunFactory.create(status=SyncRun.Status.SUCCEEDED, snapshot=old)
    return {
        "old": old,
        "today": today,
        "only_old": only_old,
        "kept_releases": {shared.pk, today_only.pk, unlisted.pk},
        "gone": gone,
        "kept_artists": {stays.pk, on_unlisted.pk},
        "run": run,
    }


def test_old_snapshots_go_with_what_no_kept_snapshot_references(history):
    counts = housekeeping_run(now=NOW)

    assert (counts.snapshots, counts.releases, counts.tracks, counts.artists) == (1, 1, 1, 1)
    assert list(Snapshot.objects.values_list("pk", flat=True)) == [history["today"].pk]
    assert set(Release.objects.values_list("pk", flat=True)) == history["kept_releases"]
    assert not Track.objects.filter(release=history["only_old"]).exists()
    assert Track.objects.count() == 2
    assert set(Artist.objects.values_list("pk", flat=True)) == history["kept_artists"]
    # What stays is whole: credits and entries of kept releases are untouched.
    assert history["today"].entries.count() == 2
    run = SyncRun.objects.get(pk=history["run"].pk)
    assert run.snapshot is None


def test_pruning_the_catalog_changes_the_data_version_so_no_cached_answer_outlives_it(
    client, history, django_capture_on_commit_callbacks
):
    stale = client.get("/api/snapshots/")
    assert len(stale.json()["items"]) == 2

    with django_capture_on_commit_callbacks(execute=True):
        housekeeping_run(now=NOW)

    fresh = client.get("/api/snapshots/", headers={"If-None-Match": stale["ETag"]})
    assert fresh.status_code == 200
    assert fresh["ETag"] != stale["ETag"]
    assert [item["date"] for item in fresh.json()["items"]] == [str(history["today"].date)]


def test_housekeeping_that_leaves_the_catalog_alone_keeps_the_data_version(
    history, settings, django_capture_on_commit_callbacks
):
    settings.SNAPSHOT_RETENTION_DAYS = 0
    before = data_version()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        counts = housekeeping_run(now=NOW)

    assert counts.snapshots == counts.releases == 0
    assert callbacks == []
    data_version_forget()  # read it from the database again
    assert data_version().tag == before.tag


def test_a_retention_of_0_keeps_every_snapshot(history, settings):
    settings.SNAPSHOT_RETENTION_DAYS = 0
    counts = housekeeping_run(now=NOW)
    assert (counts.snapshots, counts.releases, counts.tracks, counts.artists) == (0, 0, 0, 0)
    assert Snapshot.objects.count() == 2
    assert Release.objects.count() == 4


def test_snapshots_within_the_retention_stay(history, settings):
    settings.SNAPSHOT_RETENTION_DAYS = 500
    assert housekeeping_run(now=NOW).snapshots == 0
    assert Snapshot.objects.count() == 2


def test_the_newest_snapshot_stays_however_old(settings):
    settings.SNAPSHOT_RETENTION_DAYS = 30
    releases = ReleaseFactory.create_batch(2)
    snapshot_with(releases[:1], date=_days_ago(60))
    newest = snapshot_with(releases[1:], date=_days_ago(40))  # syncs have failed since
    assert housekeeping_run(now=NOW).snapshots == 1
    assert list(Snapshot.objects.values_list("pk", flat=True)) == [newest.pk]


def test_a_year_of_history_goes_in_a_fixed_number_of_statements(settings):
    settings.SNAPSHOT_RETENTION_DAYS = 10

    def statements(days: int) -> int:
        for age in range(20, 20 + days):
            releases = ReleaseFactory.create_batch(3)
            for release in releases:
                credit(release, ArtistFactory.create())
                _track(release)
            snapshot_with(releases, date=_days_ago(age))
        _runs([100 + age for age in range(days)], status=SyncRun.Status.SKIPPED)
        snapshot_with([], date=_days_ago(0))
        with CaptureQueriesContext(connection) as queries:
            counts = housekeeping_run(now=NOW)
        assert counts.releases == 3 * days
        Snapshot.objects.all().delete()
        return len(queries)

    assert statements(2) == statements(12)


# --- dry run, command, task, schedule ---------------------------------------------------------


def test_a_dry_run_counts_exactly_what_a_real_run_removes_and_removes_nothing(history):
    _runs([8], status=SyncRun.Status.SKIPPED)
    before = {model: model.objects.count() for model in (SyncRun, Snapshot, Release, Track, Artist)}

    planned = housekeeping_run(now=NOW, dry_run=True)

    assert {model: model.objects.count() for model in before} == before
    assert planned == housekeeping_run(now=NOW)
    assert planned == HousekeepingCounts(sync_runs=1, snapshots=1, releases=1, tracks=1, artists=1)


def test_the_command_prints_the_counts_and_dry_run_deletes_nothing(history, capsys):
    call_command("housekeeping", "--dry-run")
    assert capsys.readouterr().out == (
        "Would remove: sync runs 0, webhook deliveries 0, notification deliveries 0, "
        "task failures 0, sessions 0, "
        "snapshots 1, releases 1, tracks 1, artists 1\n"
    )
    assert Snapshot.objects.count() == 2
    call_command("housekeeping")
    assert capsys.readouterr().out.startswith("Removed: sync runs 0, webhook deliveries 0, ")
    assert Snapshot.objects.count() == 1


def test_the_task_logs_what_it_removed_in_one_line(history, caplog):
    with caplog.at_level(logging.INFO, logger="catalog.housekeeping"):
        result = housekeeping()
    assert result.endswith("snapshots 1, releases 1, tracks 1, artists 1")
    assert [record.getMessage() for record in caplog.records] == [f"Housekeeping removed: {result}"]


def test_the_schedule_command_ensures_a_daily_housekeeping_schedule_once(capsys):
    call_command("ensure_sync_schedule")
    call_command("ensure_sync_schedule")
    schedule = Schedule.objects.get(name=HOUSEKEEPING_SCHEDULE_NAME)
    assert schedule.func == "catalog.tasks.housekeeping"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
    # Not at once: a fresh deploy's first sync runs undisturbed.
    assert schedule.next_run > timezone.now() + timedelta(hours=23)
    output = capsys.readouterr().out
    assert "Schedule 'housekeeping' created: daily" in output
    assert "Schedule 'housekeeping' unchanged: daily" in output
    assert Schedule.objects.count() == 3  # with the sync and the notification digests


def test_edits_to_the_housekeeping_schedule_are_put_back():
    housekeeping_schedule_ensure()
    Schedule.objects.filter(name=HOUSEKEEPING_SCHEDULE_NAME).update(
        func="os.system", schedule_type=Schedule.MINUTES, minutes=1
    )
    Schedule.objects.create(name=HOUSEKEEPING_SCHEDULE_NAME, func="catalog.tasks.housekeeping")
    housekeeping_schedule_ensure()
    schedule = Schedule.objects.get(name=HOUSEKEEPING_SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "catalog.tasks.housekeeping",
        Schedule.DAILY,
        None,
    )


def test_an_artist_a_user_follows_stays_when_its_releases_go(history):
    user = get_user_model().objects.create_user(username="fan", password="unused-password-1")
    connection = UserConnection.objects.create(user=user, account_id="fan")
    FollowedArtist.objects.create(connection=connection, artist=history["gone"])

    counts = housekeeping_run(now=NOW)

    assert counts.releases == 1
    assert counts.artists == 0
    assert FollowedArtist.objects.filter(artist=history["gone"]).exists()
