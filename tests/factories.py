from datetime import date, timedelta

import factory
from django.contrib.auth.models import User
from django.utils import timezone
from factory.declarations import LazyAttribute, LazyFunction, Sequence

from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SnapshotEntry, SyncRun
from catalog.selectors import best_image


class ArtistFactory(factory.django.DjangoModelFactory[Artist]):
    class Meta:
        model = Artist

    spotify_id = Sequence(lambda n: f"artist{n:016d}")
    name = Sequence(lambda n: f"Artist {n}")
    uri = LazyAttribute(lambda a: f"spotify:artist:{a.spotify_id}")
    spotify_url = LazyAttribute(lambda a: f"https://open.spotify.com/artist/{a.spotify_id}")
    images = LazyFunction(
        lambda: [{"url": "https://i.scdn.co/image/a", "width": 320, "height": 320}]
    )
    image_url = LazyAttribute(lambda artist: best_image(artist.images) or "")
    genres = LazyFunction(lambda: ["indie"])


class ReleaseFactory(factory.django.DjangoModelFactory[Release]):
    class Meta:
        model = Release

    spotify_id = Sequence(lambda n: f"release{n:015d}")
    name = Sequence(lambda n: f"Release {n}")
    album_type = "album"
    total_tracks = 10
    release_date = "2026-11-20"
    release_date_precision = "day"
    release_date_sort = date(2026, 11, 20)
    images = LazyFunction(list)
    image_url = LazyAttribute(lambda release: best_image(release.images) or "")
    uri = LazyAttribute(lambda r: f"spotify:album:{r.spotify_id}")
    spotify_url = LazyAttribute(lambda r: f"https://open.spotify.com/album/{r.spotify_id}")


class SnapshotFactory(factory.django.DjangoModelFactory[Snapshot]):
    class Meta:
        model = Snapshot

    date = LazyFunction(timezone.localdate)
    fetched_at = LazyFunction(timezone.now)
    source = Snapshot.Source.NEW_RELEASES


class SyncRunFactory(factory.django.DjangoModelFactory[SyncRun]):
    """A scheduled sync that succeeded, finishing when it started; `status=RUNNING` leaves it
    unfinished."""

    class Meta:
        model = SyncRun

    trigger = SyncRun.Trigger.SCHEDULE
    status = SyncRun.Status.SUCCEEDED
    started_at = LazyFunction(timezone.now)
    finished_at = LazyAttribute(
        lambda run: None if run.status == SyncRun.Status.RUNNING else run.started_at
    )


def credit(release: Release, *artists: Artist) -> None:
    for position, artist in enumerate(artists):
        ReleaseArtist.objects.create(release=release, artist=artist, position=position)


def snapshot_with(releases: list[Release], **kwargs: object) -> Snapshot:
    snapshot = SnapshotFactory.create(**kwargs)
    for rank, release in enumerate(releases, start=1):
        SnapshotEntry.objects.create(snapshot=snapshot, release=release, rank=rank)
    snapshot.release_count = len(releases)
    snapshot.artist_count = Artist.objects.filter(credits__release__in=releases).distinct().count()
    snapshot.save()
    return snapshot


def artist_credited_on(count: int) -> Artist:
    """An artist credited on `count` releases, one a day back from 2026-11-30 (bulk-created, as
    "Various Artists" collects them)."""
    artist = ArtistFactory.create()
    releases = Release.objects.bulk_create(
        [
            ReleaseFactory.build(release_date_sort=date(2026, 11, 30) - timedelta(days=index))
            for index in range(count)
        ]
    )
    ReleaseArtist.objects.bulk_create(
        [ReleaseArtist(release=release, artist=artist, position=0) for release in releases]
    )
    return artist


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = Sequence(lambda n: f"user{n}")
