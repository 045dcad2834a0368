"""The catalog's filters, defined once and compiled to SQL in one place (`ReleaseFilters.as_sql`,
`ArtistFilterSet.as_sql`): the API, its CSV twins, the dashboard, the feed and the webhooks all
read through them."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from django.db.models import BooleanField, CharField, Func
from django.db.models.expressions import RawSQL

from catalog.models import SyncRun

VARIOUS_ARTISTS_ID = "0LyfQWJT6nXafLPZqxe9Of"

ArtistOrdering = Literal["name", "-latest_release_date", "-popularity", "-followers"]

# What `q` means everywhere: part of an artist's OR a release's name, case and accents ignored.
SEARCH_DESCRIPTION = (
    "Part of an artist's or a release's name; case and accents ignored "
    '("beyonce" finds "Beyoncé", "harbour" an artist with a release called "Harbour Lights").'
)


@dataclass(frozen=True)
class ReleaseFilters:
    """Which releases count; an artist is listed for the releases that pass."""

    album_type: str | None = None
    released_after: date | None = None
    released_before: date | None = None
    # First seen at or after this moment.
    first_seen_since: datetime | None = None
    # `new=true`: first seen by the latest successful sync, read in the same SQL statement.
    new_only: bool = False
    # Strictly after: a polling client's cursor.
    first_seen_after: datetime | None = None
    exclude_various_artists: bool = False
    # In a snapshot of this market (the feed; the lists read one market's snapshot instead).
    market: str | None = None

    def as_sql(self, release: str) -> tuple[list[str], list[Any]]:
        """Conditions on the release table aliased `release`, to AND, and their parameters."""
        conditions: list[str] = []
        params: list[Any] = []
        if self.album_type:
            conditions.append(f"{release}.album_type = %s")
            params.append(self.album_type)
        if self.released_after:
            conditions.append(f"{release}.release_date_sort >= %s")
            params.append(self.released_after)
        if self.released_before:
            conditions.append(f"{release}.release_date_sort <= %s")
            params.append(self.released_before)
        if self.first_seen_since:
            conditions.append(f"{release}.first_seen_at >= %s")
            params.append(self.first_seen_since)
        if self.new_only:
            conditions.append(first_seen_by_latest_sync_sql(release))
        if self.first_seen_after:
            conditions.append(f"{release}.first_seen_at > %s")
            params.append(self.first_seen_after)
        if self.exclude_various_artists:
            conditions.append(f"NOT EXISTS ({CREDITED_TO_VARIOUS_ARTISTS_SQL} = {release}.id)")
        if self.market is not None:
            conditions.append(f"EXISTS ({IN_MARKET_SNAPSHOT_SQL} = {release}.id)")
            params.append(self.market)
        return conditions, params

    def as_expression(self) -> RawSQL:
        """`as_sql` as a boolean expression for querysets over `catalog_release` itself."""
        conditions, params = self.as_sql("catalog_release")
        return RawSQL(  # noqa: S611 (conditions built above, values as parameters)
            " AND ".join(conditions) or "TRUE", params, output_field=BooleanField()
        )

    @property
    def active(self) -> bool:
        return bool(self.as_sql("release")[0])


# The latest successful sync's start (`new=true`: releases first seen since), or, before any, a
# moment no release can be first seen after. The one definition of "latest successful sync"; in
# SQL, so that a filter or a badge costs no query of its own.
LATEST_SUCCEEDED_SYNC_STARTED_SQL = f"""(SELECT started_at FROM catalog_syncrun
    WHERE status = '{SyncRun.Status.SUCCEEDED}' ORDER BY started_at DESC LIMIT 1)"""  # noqa: S608
LATEST_SUCCEEDED_SYNC_START_SQL = (
    f"coalesce({LATEST_SUCCEEDED_SYNC_STARTED_SQL}, 'infinity'::timestamptz)"
)


def first_seen_by_latest_sync_sql(release: str) -> str:
    """The release aliased `release` came with the latest successful sync: `new=true`, and the
    "New" badge wherever it is shown."""
    return f"{release}.first_seen_at >= {LATEST_SUCCEEDED_SYNC_START_SQL}"


def first_seen_by_latest_sync(release: str = "catalog_release") -> RawSQL:
    """`first_seen_by_latest_sync_sql` as a boolean annotation of querysets over releases
    (`release`: the release table's alias in the queryset's SQL)."""
    return RawSQL(first_seen_by_latest_sync_sql(release), [], output_field=BooleanField())  # noqa: S611


# Completed with "= <a release id>": that release credits Spotify's "Various Artists" (by id, or
# by name for compilations that credit a look-alike artist).
CREDITED_TO_VARIOUS_ARTISTS_SQL = f"""
    SELECT FROM catalog_releaseartist various_credit
    JOIN catalog_artist various ON various.id = various_credit.artist_id
    WHERE (various.spotify_id = '{VARIOUS_ARTISTS_ID}' OR upper(various.name) = 'VARIOUS ARTISTS')
    AND various_credit.release_id"""

# Completed with "= <a release id>", after the market as a parameter: a snapshot of that market
# lists the release.
IN_MARKET_SNAPSHOT_SQL = """
    SELECT FROM catalog_snapshotentry market_entry
    JOIN catalog_snapshot market_snapshot ON market_snapshot.id = market_entry.snapshot_id
    WHERE market_snapshot.market = %s AND market_entry.release_id"""


class SearchText(Func):
    """Lower-cased, accent-free text, as the `*_name_search_trgm` indexes store names (the SQL
    function comes from migration 0002)."""

    function = "catalog_search_text"
    output_field = CharField()


def search_contains_sql(column: str) -> str:
    """`SearchText(column)` contains `SearchText(%s)`, LIKE's wildcards taken literally: the
    form the trigram indexes on artist and release names serve. The pattern is a subquery, so
    a prepared statement's generic plan works it out once, not for every row."""
    return rf"""catalog_search_text({column}) LIKE (SELECT '%%' || replace(replace(replace(
    catalog_search_text(%s), '\', '\\'), '%%', '\%%'), '_', '\_') || '%%')"""


@dataclass(frozen=True)
class ArtistFilterSet:
    """The artist list's filters: `q`, `genre`, the release filters and the order."""

    q: str | None = None
    genre: str | None = None
    releases: ReleaseFilters = field(default_factory=ReleaseFilters)
    ordering: ArtistOrdering = "-latest_release_date"

    def as_sql(self, *, artist: str, release: str) -> tuple[list[str], list[Any], str, list[Any]]:
        """Row conditions (on the joined artist and release), their parameters, then a condition
        on the artist's group (`q`: the artist's name or any of its passing releases' names) and
        its parameters."""
        conditions, params = self.releases.as_sql(release)
        if self.genre:
            conditions.append(f"{artist}.genres @> ARRAY[%s]::varchar[]")
            params.append(self.genre)
        having, having_params = "TRUE", []
        if self.q:
            having = (
                f"({search_contains_sql(f'{artist}.name')}"
                f" OR bool_or({search_contains_sql(f'{release}.name')}))"
            )
            having_params = [self.q, self.q]
        return conditions, params, having, having_params


NO_RELEASE_FILTERS = ReleaseFilters()
NO_ARTIST_FILTERS = ArtistFilterSet()

# Ties are broken by name, then id, so that pages never overlap; nulls come last.
ARTIST_ORDER_SQL: dict[str, str] = {
    "name": "artist.name, artist.id",
    "-latest_release_date": "max(release.release_date_sort) DESC NULLS LAST, artist.name, artist.id",
    "-popularity": "artist.popularity DESC NULLS LAST, artist.name, artist.id",
    "-followers": "artist.followers DESC NULLS LAST, artist.name, artist.id",
}
