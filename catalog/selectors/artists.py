"""Reads of artists: the artist list (the API, its CSV twin and the dashboard grid) and one
artist with a page of its releases (the API and the artist page)."""

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, get_args

from django.core.paginator import Page as PaginatorPage
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Window
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.text import capfirst
from ninja import Schema

from catalog.labels import release_date_label
from catalog.models import Artist, Release, Snapshot
from catalog.schemas import ArtistListOut, ArtistOut, DashboardArtistOut, SnapshotOut
from catalog.selectors.filters import (
    ARTIST_ORDER_SQL,
    NO_ARTIST_FILTERS,
    ArtistFilterSet,
    first_seen_by_latest_sync,
    first_seen_by_latest_sync_sql,
)
from catalog.selectors.json_text import ascii_json, json_text_sql
from catalog.selectors.snapshots import Page, snapshot_choice_sql
from common.db import one_read

# How SQL writes each field of the shapes (catalog.schemas): the JSON objects below are generated
# from the schemas' fields, so a field added to a schema must be added here (or the import fails).
SNAPSHOT_FIELDS_SQL = {
    "date": "snapshot.date",
    "fetched_at": "snapshot.fetched_at",
    "source": "snapshot.source",
    "market": "nullif(snapshot.market, '')",
}
RELEASE_FIELDS_SQL = {
    "id": "release.spotify_id",
    "name": "release.name",
    "album_type": "release.album_type",
    "release_date": "release.release_date",
    "release_date_precision": "release.release_date_precision",
    "total_tracks": "release.total_tracks",
    "image": "nullif(release.image_url, '')",
    "spotify_url": "release.spotify_url",
    "label": "release.label",
    "popularity": "release.popularity",
    # Microseconds kept: a polling client passes it back as `first_seen_after`.
    "first_seen_at": """to_char(release.first_seen_at AT TIME ZONE 'UTC',
        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    # The "New" badge: first seen by the latest successful sync, read in the same statement.
    "new": first_seen_by_latest_sync_sql("release"),
}
ARTIST_FIELDS_SQL = {
    "id": "artist.spotify_id",
    "name": "artist.name",
    "spotify_url": "artist.spotify_url",
    "uri": "artist.uri",
    "image": "nullif(artist.image_url, '')",
    "genres": "artist.genres",
    "popularity": "artist.popularity",
    "followers": "artist.followers",
    # The artist list's own (ARTIST_LIST_SQL's `listed`): its passing releases.
    "latest_release_date": "listed.latest_release_date",
    "releases": """coalesce((
                SELECT '[' || string_agg({release}, ', ' ORDER BY
                    release.release_date_sort DESC NULLS LAST, release.name) || ']'
                FROM catalog_release release
                WHERE release.id = ANY(listed.release_ids)
            ), '[]')""",
}


def json_object_sql(schema: type[Schema], fields_sql: dict[str, str]) -> str:
    """`json_build_object` of the schema's fields, in the schema's order."""
    pairs = ", ".join(f"'{name}', {fields_sql[name]}" for name in schema.model_fields)
    return f"json_build_object({pairs})"


def _release_schema(artist_schema: type[Schema]) -> type[Schema]:
    (release_schema,) = get_args(artist_schema.model_fields["releases"].annotation)
    return release_schema  # type: ignore[no-any-return]


@lru_cache(maxsize=8)
def artist_json_sql(artist_schema: type[Schema]) -> str:
    release = json_text_sql(_release_schema(artist_schema), RELEASE_FIELDS_SQL)
    fields = ARTIST_FIELDS_SQL | {"releases": ARTIST_FIELDS_SQL["releases"].format(release=release)}
    return json_text_sql(artist_schema, fields)


def artist_list(
    *,
    snapshot: Snapshot,
    limit: int,
    offset: int,
    filters: ArtistFilterSet = NO_ARTIST_FILTERS,
    schema: type[Schema] = ArtistOut,
) -> Page:
    """Artists credited on the snapshot (most recent release first by default, then by name):
    `artist_list_json`'s items, as dicts of `schema`'s shape."""
    document = artist_list_json(
        snapshot_pk=snapshot.pk, limit=limit, offset=offset, filters=filters, schema=schema
    )
    if document is None:  # deleted meanwhile
        return Page(count=0, items=[])
    page = json.loads(document)
    return Page(count=page["count"], items=page["items"])


def artist_list_json(
    *,
    day: date | None = None,
    market: str | None = None,
    snapshot_pk: int | None = None,
    limit: int,
    offset: int,
    filters: ArtistFilterSet = NO_ARTIST_FILTERS,
    schema: type[Schema] = ArtistOut,
) -> bytes | None:
    """The `/api/artists/` answer as JSON text, the bytes `json.dumps` would write: the snapshot
    (`snapshot_pk`'s, else the market's (the default one when None) on that day, else its
    latest), the count, and a page of artists with their releases, each written from `schema`'s
    fields. None when there is no such snapshot.

    PostgreSQL writes the whole document in ONE statement. One statement reads one database
    snapshot, so the answer never mixes two syncs without any transaction, and no row reaches
    Python. Every join starts from the chosen snapshot's entries, so its cost does not grow with
    the history we hold."""
    if snapshot_pk is not None:
        snapshot_condition, snapshot_params = "id = %s", [snapshot_pk]
    else:
        snapshot_condition, snapshot_params = snapshot_choice_sql(day=day, market=market)
    conditions, params, having, having_params = filters.as_sql(artist="artist", release="release")
    sql = ARTIST_LIST_SQL.format(
        snapshot_condition=snapshot_condition,
        conditions=" AND ".join(conditions) or "TRUE",
        having=having,
        order=ARTIST_ORDER_SQL[filters.ordering],
        document=ARTIST_LIST_DOCUMENT_SQL,
        artist_json=artist_json_sql(schema),
    )
    row = one_read(sql, [*snapshot_params, *params, *having_params, offset, offset + limit])
    return None if row is None else ascii_json(row[0])


# `ArtistListOut`'s fields, from ARTIST_LIST_SQL's snapshot and listing.
ARTIST_LIST_DOCUMENT_SQL = json_text_sql(
    ArtistListOut,
    {
        "snapshot": json_text_sql(SnapshotOut, SNAPSHOT_FIELDS_SQL),
        "count": "listing.count",
        "items": "coalesce(listing.items, '[]')",
    },
)

# Parameters: the snapshot's, the conditions', the group condition's, then the page's bounds
# (offset, offset + limit). `listed` holds every matching artist's id, numbered in the requested
# order, with the ids of its releases that pass the filters; `listing` counts them and writes the
# page (a range of their numbers), whose artists' other columns are read for the page only.
ARTIST_LIST_SQL = """
WITH snapshot AS (
    SELECT id, date, fetched_at, source, market FROM catalog_snapshot
    WHERE {snapshot_condition}
    ORDER BY date DESC, fetched_at DESC
    LIMIT 1
), listed AS (
    SELECT
        artist.id,
        max(release.release_date_sort) AS latest_release_date,
        array_agg(release.id) AS release_ids,
        row_number() OVER (ORDER BY {order}) AS position
    FROM snapshot
    JOIN catalog_snapshotentry entry ON entry.snapshot_id = snapshot.id
    JOIN catalog_release release ON release.id = entry.release_id
    JOIN catalog_releaseartist credit ON credit.release_id = release.id
    JOIN catalog_artist artist ON artist.id = credit.artist_id
    WHERE {conditions}
    GROUP BY artist.id
    HAVING {having}
)
SELECT {document}
FROM snapshot, (
    SELECT
        count(*) AS count,
        '[' || string_agg(
            (SELECT {artist_json} FROM catalog_artist artist WHERE artist.id = listed.id),
            ', ' ORDER BY listed.position
        ) FILTER (WHERE listed.position > %s AND listed.position <= %s) || ']' AS items
    FROM listed
) listing
"""


@dataclass(frozen=True, slots=True)
class CardRelease:
    """A release as an artist card shows it, its labels written once here rather than by
    template filters on every render."""

    name: str
    album_type: str
    # "Album", "Single", …
    album_type_label: str
    release_date: str
    # At Spotify's precision: "20 Nov 2026", "Nov 2026" or "2026".
    release_date_label: str
    image: str | None
    # First seen by the latest successful sync: the "New" badge.
    new: bool


@dataclass(frozen=True, slots=True)
class ArtistCard:
    """An artist of the dashboard's grid (and the "Following" one), ready to print."""

    id: str
    name: str
    # The artist's page on this site.
    url: str
    spotify_url: str
    # The latest release's cover, else the artist's picture.
    image: str | None
    # When there is no image: the name's first letter, upper-cased.
    initial: str
    # The first three.
    genres: list[str]
    # The artist's newest release that passes the filters.
    latest: CardRelease | None
    # Releases of this artist in the snapshot (after the filters), the latest one included.
    release_count: int
    # "and 2 more new releases", or "" when the latest is the only one.
    more: str


class ArtistUrls:
    """The artist pages' URLs for a page of cards: reversed once, the id put in its place
    (Spotify's ids are base 62: a URL carries them as they are; any other id is reversed)."""

    _SPOTIFY_ID = re.compile(r"[0-9A-Za-z]+")
    _PLACEHOLDER = "0"

    def __init__(self) -> None:
        url = reverse("artist-detail", args=[self._PLACEHOLDER])
        # The placeholder is the path's last character but for the trailing slash, if any.
        cut = url.rindex(self._PLACEHOLDER)
        self._prefix, self._suffix = url[:cut], url[cut + 1 :]

    def __call__(self, spotify_id: str) -> str:
        if self._SPOTIFY_ID.fullmatch(spotify_id) is None:
            return reverse("artist-detail", args=[spotify_id])
        return f"{self._prefix}{spotify_id}{self._suffix}"


def artist_card(
    *, artist: dict[str, Any], releases: list[dict[str, Any]], urls: ArtistUrls
) -> ArtistCard:
    """The card of an artist in the API's shape (`DashboardArtistOut`'s fields as JSON gives
    them) and its passing releases (`DashboardReleaseOut`'s), newest first."""
    latest = releases[0] if releases else None
    more_count = len(releases) - 1
    return ArtistCard(
        id=artist["id"],
        name=artist["name"],
        url=urls(artist["id"]),
        spotify_url=artist["spotify_url"],
        image=(latest and latest["image"]) or artist["image"],
        initial=artist["name"][:1].upper(),
        genres=artist["genres"][:3],
        latest=None
        if latest is None
        else CardRelease(
            name=latest["name"],
            album_type=latest["album_type"],
            album_type_label=capfirst(latest["album_type"]),
            release_date=latest["release_date"],
            release_date_label=release_date_label(
                release_date=latest["release_date"],
                precision=latest["release_date_precision"],
            ),
            image=latest["image"],
            new=latest["new"],
        ),
        release_count=len(releases),
        more=(
            f"and {more_count} more new release{pluralize(more_count)}" if more_count > 0 else ""
        ),
    )


@dataclass(frozen=True)
class ArtistGrid:
    page: PaginatorPage[Any]
    cards: list[ArtistCard]


def artist_grid(
    *, snapshot: Snapshot, filters: ArtistFilterSet, page_number: int, per_page: int
) -> ArtistGrid:
    """The dashboard's page of `artist_list`: page numbers (past the last page shows the last
    page), and each artist's card (its latest release, whether the latest successful sync first
    saw it). One statement, two past the last page."""
    page = artist_list(
        snapshot=snapshot,
        limit=per_page,
        offset=(page_number - 1) * per_page,
        filters=filters,
        schema=DashboardArtistOut,
    )
    last_page = max(math.ceil(page.count / per_page), 1)
    if page_number > last_page:
        page_number = last_page
        page = artist_list(
            snapshot=snapshot,
            limit=per_page,
            offset=(page_number - 1) * per_page,
            filters=filters,
            schema=DashboardArtistOut,
        )
    # Written by our own SQL from DashboardArtistOut's fields: read as they are, not validated
    # again field by field.
    urls = ArtistUrls()
    return ArtistGrid(
        page=Paginator(range(page.count), per_page).get_page(page_number),
        cards=[
            artist_card(artist=item, releases=item["releases"] or [], urls=urls)
            for item in page.items
        ],
    )


@dataclass(frozen=True)
class ArtistDetail:
    """An artist with a page of the releases we know of: `ArtistDetailOut`'s source."""

    artist: Artist
    releases: list[Release]
    # Of every release crediting the artist, not only the page's.
    release_count: int
    latest_release_date: date | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.artist, name)


def artist_detail(*, spotify_id: str, limit: int, offset: int) -> ArtistDetail | None:
    """One artist and a page of the releases crediting it, newest first (ties by name, then id,
    so that pages never overlap), in two queries whatever the page or the history ("Various
    Artists" is credited on ever more releases)."""
    artist = Artist.objects.filter(spotify_id=spotify_id).first()
    if artist is None:
        return None
    releases = Release.objects.filter(credits__artist=artist)
    page: list[Any] = list(
        releases.annotate(
            total=Window(Count("pk")),
            latest=Window(Max("release_date_sort")),
            # The "New" badge.
            new=first_seen_by_latest_sync(),
        ).order_by(F("release_date_sort").desc(nulls_last=True), "name", "pk")[
            offset : offset + limit
        ]
    )
    if page:
        first = page[0]
        return ArtistDetail(
            artist=artist,
            releases=page,
            release_count=first.total,
            latest_release_date=first.latest,
        )
    past_the_end = releases.aggregate(total=Count("pk"), latest=Max("release_date_sort"))
    return ArtistDetail(
        artist=artist,
        releases=[],
        release_count=past_the_end["total"],
        latest_release_date=past_the_end["latest"],
    )
