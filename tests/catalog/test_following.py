"""The followed-artist sync against the fake Spotify over HTTP: each user's own follows, releases
stored once, the rotation within its budget, and a scope the user took back."""

from datetime import timedelta
from math import ceil

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from catalog.following import following_refresh_request, following_sync
from catalog.following_selectors import following_rotation_progress
from catalog.models import Artist, FollowedArtist, Release, SnapshotEntry
from catalog.scheduling import FOLLOWING_TASK
from catalog.tasks import TASK_ALLOWLIST
from catalog.tasks import following_refresh as following_refresh_task
from spotify.client import site_client
from spotify.models import ForbiddenEndpoint, UserConnection
from tests.catalog import following_support
from tests.catalog.following_support import connect, followed_ids, signed_in, sync
from tests.e2e.conftest import FakeServer

pytestmark = pytest.mark.django_db(transaction=True)

fake = following_support.fake


def _release_ids(client) -> set[str]:
    response = client.get("/api/me/releases/", {"days": 90, "limit": 200})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["count"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def _releases_of(fake: FakeServer, artist_ids: set[str]) -> set[str]:
    dataset = fake.app.state.dataset
    return {
        release.id
        for release in dataset.releases
        if set(release.artist_ids) & artist_ids
        and release.precision == "day"  # a coarser date may sort before the window
    }


def test_two_users_with_different_follows_see_only_their_own_releases(fake: FakeServer):
    alice, bob = signed_in("alice"), signed_in("bob")
    connect(alice, account="fakeuser2")
    connect(bob, account="fakeuser3")
    alice_follows, bob_follows = followed_ids(fake, "fakeuser2"), followed_ids(fake, "fakeuser3")
    assert alice_follows != bob_follows

    sync()

    alice_sees, bob_sees = _release_ids(alice), _release_ids(bob)
    assert alice_sees
    assert bob_sees
    assert alice_sees >= _releases_of(fake, alice_follows)
    assert bob_sees >= _releases_of(fake, bob_follows)
    # Nothing of the other's: every release listed credits one of the user's own artists.
    assert alice_sees - _releases_of(fake, alice_follows) <= _coarse(fake, alice_follows)
    assert not (alice_sees - bob_sees) & _releases_of(fake, bob_follows - alice_follows)
    assert not (bob_sees - alice_sees) & _releases_of(fake, alice_follows - bob_follows)
    assert (
        set(
            Artist.objects.filter(follows__connection__user__username="alice").values_list(
                "spotify_id", flat=True
            )
        )
        == alice_follows
    )


def _coarse(fake: FakeServer, artist_ids: set[str]) -> set[str]:
    dataset = fake.app.state.dataset
    return {r.id for r in dataset.releases if set(r.artist_ids) & artist_ids}


def test_a_release_found_in_the_editorial_list_and_through_a_follow_is_stored_once(
    fake: FakeServer, settings
):
    # Development Mode: the editorial list comes from search, capped, so that some followed
    # releases are found only through their artists.
    fake.configure(dev_mode=True, followed_artist_count=20)
    settings.SEARCH_FALLBACK_MAX_ALBUMS = 30
    user = signed_in("carol")
    connect(user, account="fakeuser2")

    run = sync()

    stored = list(Release.objects.values_list("spotify_id", flat=True))
    assert len(stored) == len(set(stored))
    editorial = set(
        SnapshotEntry.objects.filter(snapshot=run.snapshot).values_list(
            "release__spotify_id", flat=True
        )
    )
    followed = _release_ids(user)
    assert followed & editorial, "some followed releases are in the editorial list too"
    assert followed - editorial, "and some are found only through the followed artists"
    # The snapshot stays what Spotify listed.
    assert run.snapshot is not None
    assert run.snapshot.release_count == len(editorial) == 30
    # Enriched with their track lists like the others.
    assert not Release.objects.filter(
        spotify_id__in=followed, tracks_fetched_at__isnull=True
    ).exists()
    # No album_group in Development Mode, and never more than 10 a page: nothing refused.
    assert fake.calls("GET /v1/artists/{id}/albums") > 0


def test_the_rotation_covers_every_artist_over_successive_runs_within_the_budget(
    fake: FakeServer, settings
):
    fake.configure(followed_artist_count=9)
    settings.ARTIST_ALBUMS_CALLS_PER_RUN = 8
    user = signed_in("dan")
    connect(user, account="fakeuser4")
    sync()  # the catalog stores the editorial list and its track lists; the rotation starts
    connection = UserConnection.objects.get()
    total = FollowedArtist.objects.filter(connection=connection).count()
    assert total == 9

    checked_per_run = []
    for _ in range(6):
        before = fake.app.stats()
        result = following_sync(client=site_client())
        after = fake.app.stats()
        spent = sum(after.values()) - sum(before.values())
        assert result.calls == spent - _token_calls(before, after)
        assert result.calls <= settings.ARTIST_ALBUMS_CALLS_PER_RUN
        checked_per_run.append(result.artists_checked)
        if (
            Artist.objects.filter(follows__isnull=False, albums_checked_at__isnull=True).count()
            == 0
        ):
            break

    assert all(0 < checked < total for checked in checked_per_run[:-1])
    assert not Artist.objects.filter(follows__isnull=False, albums_checked_at__isnull=True).exists()
    progress = following_rotation_progress(user=connection.user)
    assert (progress.checked_recently, progress.total) == (total, total)
    # Checked within FOLLOWED_ARTIST_CHECK_HOURS: the next run checks none again.
    assert following_sync(client=site_client()).artists_checked == 0
    later = timezone.now() + timedelta(hours=settings.FOLLOWED_ARTIST_CHECK_HOURS + 1)
    assert following_sync(client=site_client(), now=later).artists_checked > 0


def _token_calls(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(after[key] - before.get(key, 0) for key in after if key.startswith("POST "))


def test_a_sync_costs_the_following_pages_plus_the_budget_plus_the_catalog(
    fake: FakeServer, settings, monkeypatch
):
    # Pages of 10: the list takes several, followed by their (absolute) `next` links.
    monkeypatch.setattr("spotify.client.FOLLOWING_PAGE_SIZE", 10)
    fake.configure(followed_artist_count=45)
    settings.ARTIST_ALBUMS_CALLS_PER_RUN = 30
    user = signed_in("erin")
    connect(user, account="fakeuser5")
    before = fake.app.stats()

    sync()

    stats = fake.app.stats()
    spent = {key: stats[key] - before.get(key, 0) for key in stats}
    follows = FollowedArtist.objects.count()
    releases = 60
    catalog = (
        ceil(releases / 50)
        + ceil(Artist.objects.filter(details_fetched_at__isnull=False).count() / 50)
        + ceil(releases / 20)
    )
    following_pages = spent.get("GET /v1/me/following", 0)
    assert follows == 45
    assert following_pages == ceil(follows / 10) == 5
    web_api = sum(count for key, count in spent.items() if key.startswith("GET /v1/"))
    assert web_api <= following_pages + settings.ARTIST_ALBUMS_CALLS_PER_RUN + catalog
    # The budget, not the follows, bounded the artists' albums: the rest waits.
    assert spent["GET /v1/artists/{id}/albums"] <= settings.ARTIST_ALBUMS_CALLS_PER_RUN
    assert Artist.objects.filter(follows__isnull=False, albums_checked_at__isnull=True).exists()


def test_a_user_following_5000_artists_gets_a_bounded_sync(fake: FakeServer, settings):
    settings.ARTIST_ALBUMS_CALLS_PER_RUN = 300
    user = signed_in("fay")
    connect(user, account="fakeuser2")
    connection = UserConnection.objects.get()
    # 5,000 follows the fake does not know (each answers 404): what matters is the count.
    artists = Artist.objects.bulk_create(
        Artist(spotify_id=f"{index:022d}", name=f"Artist {index}") for index in range(5000)
    )
    FollowedArtist.objects.bulk_create(
        FollowedArtist(connection=connection, artist=artist) for artist in artists
    )
    UserConnection.objects.filter(pk=connection.pk).update(following_refreshed_at=timezone.now())

    result = following_sync(client=site_client())

    assert result.calls <= 300
    assert 150 <= result.artists_checked < 300
    progress = following_rotation_progress(user=connection.user)
    assert (progress.checked_recently, progress.total) == (result.artists_checked, 5000)
    waiting = f"{5000 - result.artists_checked} followed artists wait"
    assert any(waiting in warning for warning in result.warnings)


def test_a_scope_taken_back_asks_the_user_to_reconnect_and_is_not_retried(fake: FakeServer):
    user = signed_in("gus")
    connect(user, account="fakeuser3")
    fake.configure(revoked_scopes=["user-follow-read"])

    first = sync()
    second = sync()

    connection = UserConnection.objects.get()
    assert connection.needs_reconnect
    assert "reconnect" in connection.reconnect_reason.lower()
    assert connection.access_token == ""  # nothing left that could be retried
    assert fake.calls("GET /v1/me/following") == 1  # the second sync did not ask again
    assert any("reconnect" in warning for warning in first.warnings)
    assert not any("reconnect" in warning for warning in second.warnings)
    assert not FollowedArtist.objects.exists()


def test_disconnecting_deletes_the_tokens_and_follows(fake: FakeServer):
    user = signed_in("hal")
    connect(user, account="fakeuser2")
    sync()
    assert FollowedArtist.objects.exists()

    response = user.post("/auth/logout/", {"connection": "mine"})

    assert response.status_code == 302
    assert not UserConnection.objects.exists()
    assert not FollowedArtist.objects.exists()
    assert Release.objects.exists()  # the catalog keeps the releases themselves


def test_a_refresh_asked_from_the_users_page_is_queued_and_reads_the_list_again(
    fake: FakeServer,
):
    user = signed_in("ria")
    connect(user, account="fakeuser2")
    sync()
    connection = UserConnection.objects.get()
    FollowedArtist.objects.filter(connection=connection).delete()

    assert following_refresh_request(user=connection.user)

    (queued,) = OrmQ.objects.all()
    assert queued.func() == FOLLOWING_TASK
    assert FOLLOWING_TASK in TASK_ALLOWLIST
    assert UserConnection.objects.get().following_refresh_requested
    summary = following_refresh_task(*queued.task["args"])
    assert summary.startswith("1 list(s) read")
    assert FollowedArtist.objects.filter(connection=connection).count() == 6
    assert not UserConnection.objects.get().following_refresh_requested


def test_a_403_on_artist_albums_is_remembered_and_search_checks_the_artists(fake: FakeServer):
    user = signed_in("sam")
    connect(user, account="fakeuser2")
    sync()
    Artist.objects.update(albums_checked_at=None)
    Release.objects.filter(artists__follows__isnull=False).delete()
    fake.configure(persistent_error_status=403, fault_paths=["/v1/artists/"])
    before = fake.calls("GET /v1/artists/{id}/albums")

    first = following_sync(client=site_client())
    albums_calls = fake.calls("GET /v1/artists/{id}/albums") - before
    second = following_sync(client=site_client(), now=timezone.now() + timedelta(days=2))

    assert ForbiddenEndpoint.objects.filter(endpoint="GET /artists/{id}/albums").exists()
    assert albums_calls == 1  # paid once, then remembered
    assert fake.calls("GET /v1/artists/{id}/albums") - before == albums_calls
    assert first.artists_checked == 5  # the one refused waits for the next run
    assert second.artists_checked == 6
    assert first.releases_found > 0
    assert any("through search" in warning for warning in first.warnings)
    assert _release_ids(user)


def test_a_long_retry_after_leaves_the_rest_of_the_rotation_for_later(fake: FakeServer, settings):
    user = signed_in("tia")
    connect(user, account="fakeuser2")
    sync()
    Artist.objects.update(albums_checked_at=None)
    settings.SPOTIFY_MAX_RETRY_AFTER_SECONDS = 5
    fake.configure(rate_limit_requests=1, retry_after_seconds=3600, fault_paths=["/v1/artists/"])

    result = following_sync(client=site_client())

    assert result.artists_checked == 0
    assert any("rate limiting" in warning for warning in result.warnings)
    assert not Artist.objects.filter(albums_checked_at__isnull=False).exists()
    assert following_sync(client=site_client()).artists_checked == 6
