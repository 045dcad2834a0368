"""The fetch stage's Development Mode (2026) fallbacks, one function at a time (respx)."""

from datetime import timedelta

import pytest
import respx
from django.utils import timezone

from catalog.fetching import SEVERAL_ARTISTS, albums_fetch, artists_enrich
from catalog.models import Snapshot
from spotify.client import site_client
from spotify.errors import ForbiddenEndpointError
from spotify.forbidden import endpoint_forbid, endpoint_forbidden, endpoint_forbidden_until
from spotify.models import ForbiddenEndpoint
from tests.conftest import (
    API,
    SPOTIFY_LINKS,
    load_fixture,
    new_release_pages,
    release_items,
    token_route,
)
from tests.factories import ArtistFactory

pytestmark = pytest.mark.django_db

FORBIDDEN = {"error": {"status": 403, "message": "Forbidden"}}
NEW_RELEASES = "GET /browse/new-releases"


def search_route(router, items):
    """Search pages with Spotify's own links: on its host, with `query=` rather than `q=`."""

    def page(request):
        params = request.url.params
        assert "tag:new" in (params.get("q") or params["query"])
        assert params["type"] == "album"
        offset = int(params["offset"])
        limit = int(params["limit"])
        assert limit <= 10
        end = offset + limit

        def link(at):
            return f"{SPOTIFY_LINKS}/search?offset={at}&limit={limit}&query=tag%3Anew&type=album"

        return {
            "albums": {
                "href": link(offset),
                "items": items[offset:end],
                "limit": limit,
                "next": link(end) if end < len(items) else None,
                "offset": offset,
                "previous": None,
                "total": len(items),
            }
        }

    return router.get(f"{API}/search").mock(
        side_effect=lambda request: respx.MockResponse(200, json=page(request))
    )


def one_artist_route(router, *, missing=()):
    # Development Mode artist objects have neither `followers` nor `popularity`.
    template = {
        key: value
        for key, value in load_fixture("artist_post_feb2026.json").items()
        if key not in ("followers", "popularity")
    }

    def artist(request):
        artist_id = request.url.path.rsplit("/", 1)[1]
        if artist_id in missing:
            return respx.MockResponse(404, json={"error": {"status": 404, "message": "Not found"}})
        return respx.MockResponse(200, json=template | {"id": artist_id, "name": artist_id})

    return router.get(url__regex=rf"{API}/artists/\w+$").mock(side_effect=artist)


# --- new releases ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 404])
def test_a_refused_new_releases_falls_back_to_search_and_is_remembered(spotify_mock, status):
    token_route(spotify_mock)
    refused = spotify_mock.get(f"{API}/browse/new-releases").respond(
        status, json={"error": {"status": status, "message": "Forbidden"}}
    )
    search = search_route(spotify_mock, release_items(25))

    fetched = albums_fetch(client=site_client())

    assert fetched.source == Snapshot.Source.SEARCH
    assert len(fetched.albums) == 25
    assert refused.call_count == 1
    assert search.call_count == 3  # 10 + 10 + 5
    assert fetched.warnings == [
        f"new-releases is forbidden for this app (Spotify answered {status}); used search (tag:new)"
    ]
    remembered = ForbiddenEndpoint.objects.get(endpoint=NEW_RELEASES)
    assert remembered.status_code == status
    assert remembered.until > timezone.now() + timedelta(hours=23)


def test_a_remembered_refusal_goes_straight_to_search(spotify_mock):
    token_route(spotify_mock)
    refused = spotify_mock.get(f"{API}/browse/new-releases").respond(403, json=FORBIDDEN)
    search_route(spotify_mock, release_items(5))
    endpoint_forbid(
        endpoint=NEW_RELEASES, error=ForbiddenEndpointError(NEW_RELEASES, 403, "Forbidden")
    )

    fetched = albums_fetch(client=site_client())

    assert refused.call_count == 0
    assert fetched.source == Snapshot.Source.SEARCH
    assert "remembered until" in fetched.warnings[0]


def test_search_is_capped_by_the_setting(spotify_mock, settings):
    settings.SEARCH_FALLBACK_MAX_ALBUMS = 15
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/browse/new-releases").respond(403, json=FORBIDDEN)
    search = search_route(spotify_mock, release_items(40))

    fetched = albums_fetch(client=site_client())

    assert len(fetched.albums) == 15
    assert [call.request.url.params["limit"] for call in search.calls] == ["10", "5"]


def test_an_expired_refusal_tries_new_releases_again(spotify_mock):
    token_route(spotify_mock)
    allowed = new_release_pages(spotify_mock, release_items(5))
    endpoint_forbid(
        endpoint=NEW_RELEASES,
        error=ForbiddenEndpointError(NEW_RELEASES, 403, "Forbidden"),
        for_=timedelta(seconds=-1),
    )

    fetched = albums_fetch(client=site_client())

    assert allowed.call_count >= 1
    assert fetched.source == Snapshot.Source.NEW_RELEASES
    assert fetched.warnings == []


def test_forbidden_memory_is_per_endpoint_and_reports_until():
    assert not endpoint_forbidden(NEW_RELEASES)
    record = endpoint_forbid(
        endpoint=NEW_RELEASES,
        error=ForbiddenEndpointError(NEW_RELEASES, 404, "Not found"),
        for_=timedelta(hours=2),
    )

    assert endpoint_forbidden(NEW_RELEASES)
    assert not endpoint_forbidden(SEVERAL_ARTISTS)
    assert endpoint_forbidden_until(NEW_RELEASES) == record.until
    assert "404" in record.message


# --- artists -----------------------------------------------------------------------------------


def test_refused_several_artists_enriches_one_by_one_within_the_budget(spotify_mock, settings):
    settings.ARTIST_FALLBACK_CALLS_PER_RUN = 3
    token_route(spotify_mock)
    batch = spotify_mock.get(f"{API}/artists").respond(403, json=FORBIDDEN)
    one = one_artist_route(spotify_mock)
    ids = [f"artist{n:016d}" for n in range(5)]

    enriched = artists_enrich(client=site_client(), artist_ids=ids)

    assert batch.call_count == 1
    assert one.call_count == 3
    assert sorted(enriched.artists) == ids[:3]
    # Development Mode artists have no followers or popularity: unknown, not zero.
    assert all(a.followers is None and a.popularity is None for a in enriched.artists.values())
    assert enriched.warnings == [
        "artists?ids= is forbidden for this app (Spotify answered 403); enriched 3 artists "
        "one by one, 2 left for the next runs"
    ]
    assert endpoint_forbidden(SEVERAL_ARTISTS)


def test_one_by_one_enrichment_puts_never_enriched_artists_first(spotify_mock, settings):
    settings.ARTIST_FALLBACK_CALLS_PER_RUN = 2
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/artists").respond(403, json=FORBIDDEN)
    one_artist_route(spotify_mock)
    long_ago = timezone.now() - timedelta(days=30)
    stale = ArtistFactory.create(details_fetched_at=long_ago)
    fresh = ArtistFactory.create(details_fetched_at=timezone.now())
    never = ArtistFactory.create(details_fetched_at=None)

    enriched = artists_enrich(
        client=site_client(), artist_ids=[stale.spotify_id, fresh.spotify_id, never.spotify_id]
    )

    assert list(enriched.artists) == [never.spotify_id, stale.spotify_id]


def test_an_artist_spotify_no_longer_has_is_skipped_with_a_warning(spotify_mock):
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/artists").respond(403, json=FORBIDDEN)
    one_artist_route(spotify_mock, missing={"artist0000000000000001"})
    ids = [f"artist{n:016d}" for n in range(3)]

    enriched = artists_enrich(client=site_client(), artist_ids=ids)

    assert sorted(enriched.artists) == [ids[0], ids[2]]
    assert "Spotify has no artist artist0000000000000001 any more; skipped" in enriched.warnings


def test_a_remembered_artists_refusal_skips_the_batch_call(spotify_mock):
    token_route(spotify_mock)
    batch = spotify_mock.get(f"{API}/artists").respond(403, json=FORBIDDEN)
    one = one_artist_route(spotify_mock)
    endpoint_forbid(
        endpoint=SEVERAL_ARTISTS, error=ForbiddenEndpointError(SEVERAL_ARTISTS, 403, "Forbidden")
    )

    artists_enrich(client=site_client(), artist_ids=["artist0000000000000000"])

    assert batch.call_count == 0
    assert one.call_count == 1
