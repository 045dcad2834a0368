"""Reads, split by entity. Each selector makes a fixed number of queries, whatever the page size
or the history held; the filters are defined once (filters.py), the shapes once
(catalog.schemas)."""

from catalog.selectors.artists import (
    ArtistCard,
    ArtistDetail,
    ArtistGrid,
    artist_detail,
    artist_grid,
    artist_list,
    artist_list_json,
)
from catalog.selectors.filters import (
    SEARCH_DESCRIPTION,
    VARIOUS_ARTISTS_ID,
    ArtistFilterSet,
    ArtistOrdering,
    ReleaseFilters,
    SearchText,
)
from catalog.selectors.images import best_image
from catalog.selectors.releases import (
    FeedFilters,
    release_detail,
    release_list,
    releases_by_ids,
    releases_first_seen,
    releases_first_seen_after,
    releases_new_in_run,
)
from catalog.selectors.snapshots import Page, data_changed_at, snapshot_latest, snapshot_list
from catalog.selectors.sync_runs import (
    SYNC_SCHEDULE_NAME,
    SyncOverview,
    sync_overview,
    sync_runs_of_sync,
    sync_task_finished,
    sync_task_queued,
    task_queue_length,
)

__all__ = [
    "SEARCH_DESCRIPTION",
    "SYNC_SCHEDULE_NAME",
    "VARIOUS_ARTISTS_ID",
    "ArtistCard",
    "ArtistDetail",
    "ArtistFilterSet",
    "ArtistGrid",
    "ArtistOrdering",
    "FeedFilters",
    "Page",
    "ReleaseFilters",
    "SearchText",
    "SyncOverview",
    "artist_detail",
    "artist_grid",
    "artist_list",
    "artist_list_json",
    "best_image",
    "data_changed_at",
    "release_detail",
    "release_list",
    "releases_by_ids",
    "releases_first_seen",
    "releases_first_seen_after",
    "releases_new_in_run",
    "snapshot_latest",
    "snapshot_list",
    "sync_overview",
    "sync_runs_of_sync",
    "sync_task_finished",
    "sync_task_queued",
    "task_queue_length",
]
