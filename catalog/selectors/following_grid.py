"""The "Following" view's grid: the dashboard's cards (catalog.selectors.artists.ArtistGrid)
over the recent releases of the artists one user follows. A user's follows are a
few hundred artists at most in practice, so their releases of the window are read in one query
and grouped here; the main grid's one-statement SQL is bound to a snapshot."""

from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import F, Q, Value
from django.utils import timezone

from catalog.models import Artist, Release, ReleaseArtist
from catalog.selectors.artists import ArtistGrid, ArtistUrls, artist_card
from catalog.selectors.filters import ArtistFilterSet, SearchText, first_seen_by_latest_sync


def following_artist_grid(
    *,
    user: Any,
    days: int,
    filters: ArtistFilterSet,
    page_number: int,
    per_page: int,
    now: datetime | None = None,
) -> ArtistGrid:
    """The artists the user follows that have releases of the last `days` days passing the
    filters, latest release first (then by name), each with those releases, newest first. `q`
    matches the artist's name or one of those releases' (case and accents ignored)."""
    since = timezone.localdate(now or timezone.now()) - timedelta(days=days)
    release_ids = list(
        Release.objects.filter(
            filters.releases.as_expression(),
            release_date_sort__gte=since,
            credits__artist__follows__connection__user=user,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    credits = ReleaseArtist.objects.filter(
        release_id__in=release_ids, artist__follows__connection__user=user
    )
    if filters.genre:
        credits = credits.filter(artist__genres__contains=[filters.genre])
    if filters.q:
        wanted = SearchText(Value(filters.q))
        matching = (
            credits.alias(
                artist_text=SearchText("artist__name"), release_text=SearchText("release__name")
            )
            .filter(Q(artist_text__contains=wanted) | Q(release_text__contains=wanted))
            .values("artist_id")
        )
        credits = credits.filter(artist_id__in=matching)
    newest_first = (
        credits.select_related("artist", "release")
        # The "New" badge (select_related joins the release table under its own name).
        .annotate(release_new=first_seen_by_latest_sync())
        .order_by(
            F("release__release_date_sort").desc(nulls_last=True), "release__name", "release_id"
        )
    )
    artists: dict[int, Artist] = {}
    releases: dict[int, list[Release]] = {}
    new: set[int] = set()
    for credit in newest_first:
        artists.setdefault(credit.artist_id, credit.artist)
        releases.setdefault(credit.artist_id, []).append(credit.release)
        if credit.release_new:
            new.add(credit.release_id)
    ordered = sorted(
        artists.values(),
        key=lambda a: (-_day_number(releases[a.pk][0].release_date_sort), a.name, a.pk),
    )
    page = Paginator(ordered, per_page).get_page(page_number)
    urls = ArtistUrls()
    cards = [
        artist_card(
            artist={
                "id": artist.spotify_id,
                "name": artist.name,
                "spotify_url": artist.spotify_url,
                "image": artist.image_url or None,
                "genres": artist.genres,
            },
            releases=[
                {
                    "name": release.name,
                    "album_type": release.album_type,
                    "release_date": release.release_date,
                    "release_date_precision": release.release_date_precision,
                    "image": release.image_url or None,
                    "new": release.pk in new,
                }
                for release in releases[artist.pk]
            ],
            urls=urls,
        )
        for artist in page.object_list
    ]
    return ArtistGrid(page=page, cards=cards)


def _day_number(day: date | None) -> int:
    """Newest first, an unknown date last."""
    return day.toordinal() if day is not None else 0
