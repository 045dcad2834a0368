import pytest

from bench.seed import seed
from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SnapshotEntry, SyncRun, Track
from tests.factories import ArtistFactory


@pytest.mark.django_db
def test_seed_writes_the_asked_history_with_a_succeeded_run_per_day():
    counts = seed(days=2, artists=50, releases_per_day=10)

    assert (Snapshot.objects.count(), Release.objects.count(), Artist.objects.count()) == (
        2,
        20,
        50,
    )
    assert counts["tracks"] == Track.objects.count() >= 40
    assert counts["credits"] == ReleaseArtist.objects.count() >= 20
    assert SnapshotEntry.objects.count() == 20
    assert SyncRun.objects.filter(status="succeeded").count() == 2
    latest = Snapshot.objects.latest("fetched_at")
    assert (
        latest.artist_count
        == Artist.objects.filter(credits__release__entries__snapshot=latest).distinct().count()
    )


@pytest.mark.django_db
def test_seed_keeps_rows_already_there_and_ids_keep_counting_after_it():
    existing = ArtistFactory.create()
    seed(days=1, artists=5, releases_per_day=3)

    assert Artist.objects.count() == 6
    seeded = Artist.objects.exclude(pk=existing.pk)
    assert min(artist.pk for artist in seeded) > existing.pk
    assert ArtistFactory.create().pk > max(artist.pk for artist in seeded)
