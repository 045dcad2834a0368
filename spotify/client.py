"""The Web API calls the app makes, returning typed objects."""

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from spotify.accounts import AccountsClient
from spotify.conf import SpotifySettings, spotify_settings
from spotify.errors import (
    BadResponseError,
    ForbiddenEndpointError,
    RequestRejectedError,
    SpotifyAuthError,
)
from spotify.http import SpotifyHttp, process_client
from spotify.models import UserConnection
from spotify.tokens import ConnectionTokenSource, SiteTokenSource, TokenSource
from spotify.types import Album, Artist, CursorPage, FullAlbum, Page, Playlist, Track, User

logger = logging.getLogger(__name__)

NEW_RELEASES_PAGE_SIZE = 50  # Spotify's maximum
ARTISTS_BATCH_SIZE = 50
ALBUMS_BATCH_SIZE = 20
SEARCH_PAGE_SIZE = 10  # the 2026 cap
FOLLOWING_PAGE_SIZE = 50  # Spotify's maximum
# Development Mode's cap in 2026 (50 otherwise): the newest 10 of a group are what we need.
ARTIST_ALBUMS_PAGE_SIZE = 10
# Where Spotify's own links live (https://api.spotify.com/v1/...): the part of a `next` link we
# replace with SPOTIFY_API_BASE_URL.
SPOTIFY_API_PATH = "/v1"
ARTIST_ALBUMS = "GET /artists/{id}/albums"
FOLLOWED_ARTISTS = "GET /me/following"
# Items replaced or added in one call, at most (Spotify's limit).
PLAYLIST_ITEMS_PER_CALL = 100


class SpotifyClient:
    def __init__(self, *, http: SpotifyHttp, tokens: TokenSource) -> None:
        self.http = http
        self.conf = http.conf
        self.tokens = tokens

    @property
    def calls(self) -> int:
        return self.http.calls

    # --- catalog ------------------------------------------------------------------------------
    def new_releases(self) -> Iterator[Page[Album]]:
        """Every page of /browse/new-releases, following `next` until it is null."""
        first_page: dict[str, Any] = {"limit": NEW_RELEASES_PAGE_SIZE, "offset": 0}
        if self.conf.market:
            first_page["country"] = self.conf.market
        params: dict[str, Any] | None = first_page
        url: str | None = f"{self.conf.api_base_url}/browse/new-releases"
        seen: set[str] = set()
        while url is not None:
            body = self._get_json(url, endpoint="GET /browse/new-releases", params=params)
            page = _parse(Page[Album], _field(body, "albums"), "new releases page")
            yield page
            # `next` already carries limit, offset and country (params would replace its query).
            url, params = self._next_url(page.next, seen), None

    def search_new_albums(self, *, max_albums: int) -> Iterator[Page[Album]]:
        """Albums of the past two weeks, through search (left to Development Mode apps in 2026),
        following `next` up to `max_albums`."""
        first_page: dict[str, Any] = {
            "q": "tag:new",
            "type": "album",
            "limit": min(SEARCH_PAGE_SIZE, max_albums),
            "offset": 0,
        }
        if self.conf.market:
            first_page["market"] = self.conf.market
        params: dict[str, Any] | None = first_page
        url: str | None = f"{self.conf.api_base_url}/search"
        seen: set[str] = set()
        fetched = 0
        while url is not None and fetched < max_albums:
            body = self._get_json(url, endpoint="GET /search", params=params)
            page = _parse(Page[Album], _field(body, "albums"), "search page")
            yield page
            if not page.items:
                return
            fetched += len(page.items)
            url, params = self._next_url(page.next, seen), None
            left = max_albums - fetched
            if url is not None and 0 < left < SEARCH_PAGE_SIZE:
                # The last page asks only for what the cap leaves.
                url = str(httpx.URL(url).copy_set_param("limit", left))

    def several_artists(self, ids: Sequence[str]) -> list[Artist]:
        if len(ids) > ARTISTS_BATCH_SIZE:
            raise ValueError(f"at most {ARTISTS_BATCH_SIZE} artist ids per call")
        body = self._get_json(
            f"{self.conf.api_base_url}/artists",
            endpoint="GET /artists",
            params={"ids": ",".join(ids)},
        )
        return [
            _parse(Artist, item, "artist") for item in _field(body, "artists") if item is not None
        ]

    def artist(self, artist_id: str) -> Artist:
        body = self._get_json(
            f"{self.conf.api_base_url}/artists/{artist_id}", endpoint="GET /artists/{id}"
        )
        return _parse(Artist, body, "artist")

    def several_albums(self, ids: Sequence[str]) -> list[FullAlbum]:
        if len(ids) > ALBUMS_BATCH_SIZE:
            raise ValueError(f"at most {ALBUMS_BATCH_SIZE} album ids per call")
        params: dict[str, Any] = {"ids": ",".join(ids)}
        if self.conf.market:
            params["market"] = self.conf.market
        body = self._get_json(
            f"{self.conf.api_base_url}/albums", endpoint="GET /albums", params=params
        )
        return [
            _parse(FullAlbum, item, "album") for item in _field(body, "albums") if item is not None
        ]

    def album_tracks(self, album_id: str) -> list[Track]:
        tracks: list[Track] = []
        url: str | None = f"{self.conf.api_base_url}/albums/{album_id}/tracks"
        params: dict[str, Any] | None = {"limit": 50}
        seen: set[str] = set()
        while url is not None:
            body = self._get_json(url, endpoint="GET /albums/{id}/tracks", params=params)
            page = _parse(Page[Track], body, "track page")
            tracks.extend(page.items)
            url, params = self._next_url(page.next, seen), None
        return tracks

    def artist_albums(self, artist_id: str, *, group: str) -> list[Album]:
        """The newest releases of one of the artist's groups (album, single...): Spotify lists
        the groups one after another, newest first within each, so one group per call."""
        params: dict[str, Any] = {"include_groups": group, "limit": ARTIST_ALBUMS_PAGE_SIZE}
        if self.conf.market:
            params["market"] = self.conf.market
        body = self._get_json(
            f"{self.conf.api_base_url}/artists/{artist_id}/albums",
            endpoint=ARTIST_ALBUMS,
            params=params,
        )
        return _parse(Page[Album], body, "artist albums page").items

    def search_artist_new_albums(self, artist_name: str) -> list[Album]:
        """The artist's albums of the past two weeks through search, one page: the fallback when
        /artists/{id}/albums is refused."""
        quoted = artist_name.replace('"', " ")
        params: dict[str, Any] = {
            "q": f'artist:"{quoted}" tag:new',
            "type": "album",
            "limit": SEARCH_PAGE_SIZE,
        }
        if self.conf.market:
            params["market"] = self.conf.market
        body = self._get_json(
            f"{self.conf.api_base_url}/search", endpoint="GET /search", params=params
        )
        return _parse(Page[Album], _field(body, "albums"), "search page").items

    # --- user ---------------------------------------------------------------------------------
    def me(self) -> User:
        body = self._get_json(f"{self.conf.api_base_url}/me", endpoint="GET /me")
        return _parse(User, body, "user")

    def followed_artists(self) -> Iterator[CursorPage[Artist]]:
        """Every page of the user's followed artists: cursor-paged, following `cursors.after`
        (through the `next` link, rebased) until `next` is null."""
        params: dict[str, Any] | None = {"type": "artist", "limit": FOLLOWING_PAGE_SIZE}
        url: str | None = f"{self.conf.api_base_url}/me/following"
        seen: set[str] = set()
        while url is not None:
            body = self._get_json(url, endpoint=FOLLOWED_ARTISTS, params=params)
            page = _parse(CursorPage[Artist], _field(body, "artists"), "followed artists page")
            yield page
            if not page.items:
                return
            url, params = self._next_url(page.next, seen), None

    def playlist_create(self, *, name: str, description: str, public: bool = False) -> Playlist:
        """A playlist of the user's own (POST /me/playlists, the 2026 endpoint; private ones need
        playlist-modify-private)."""
        body = self._request_json(
            "POST",
            f"{self.conf.api_base_url}/me/playlists",
            endpoint="POST /me/playlists",
            payload={"name": name, "description": description, "public": public},
        )
        return _parse(Playlist, body, "playlist")

    def playlist_items_replace(self, playlist_id: str, uris: Sequence[str]) -> None:
        """Makes `uris` the playlist's items, in order: the first 100 replace what it held, the
        rest are added 100 at a time."""
        url = f"{self.conf.api_base_url}/playlists/{playlist_id}/items"
        chunks = [
            list(uris[at : at + PLAYLIST_ITEMS_PER_CALL])
            for at in range(0, len(uris), PLAYLIST_ITEMS_PER_CALL)
        ] or [[]]
        self._request_json(
            "PUT", url, endpoint="PUT /playlists/{id}/items", payload={"uris": chunks[0]}
        )
        for chunk in chunks[1:]:
            self._request_json(
                "POST", url, endpoint="POST /playlists/{id}/items", payload={"uris": chunk}
            )

    # --- plumbing -----------------------------------------------------------------------------
    def _next_url(self, link: str | None, seen: set[str]) -> str | None:
        """Spotify's `next` link, rebased on SPOTIFY_API_BASE_URL.

        Spotify writes it absolute on https://api.spotify.com/v1/ whatever host we asked, so a
        proxy or a stand-in would lose page 2 onwards to the real Spotify. Only the path under
        /v1/ and the query are kept; anything else, or a link we already followed (an endless
        loop), is a malformed answer."""
        if link is None:
            return None
        parts = urlsplit(link)
        rest = parts.path.removeprefix(SPOTIFY_API_PATH)
        decoded = unquote(rest)
        # Dot segments (or backslashes, which some servers read as slashes) could climb out.
        if (
            not parts.path.startswith(f"{SPOTIFY_API_PATH}/")
            or "\\" in decoded
            or any(segment in (".", "..") for segment in decoded.split("/"))
        ):
            raise BadResponseError(
                f"Spotify's paging links outside its API ({SPOTIFY_API_PATH}/): {link[:200]}"
            )
        url = f"{self.conf.api_base_url}{rest}" + (f"?{parts.query}" if parts.query else "")
        if url in seen:
            raise BadResponseError(f"Spotify's paging repeats itself at {link[:200]}")
        seen.add(url)
        return url

    def _get_json(self, url: str, *, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        return self._request_json("GET", url, endpoint=endpoint, params=params)

    def _request_json(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        params: dict[str, Any] | None = None,
        payload: Any = None,
    ) -> Any:
        token = self.tokens.access_token()
        renewed = False
        while True:
            response = self.http.send(
                method,
                url,
                endpoint=endpoint,
                params=params,
                json=payload,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 401 and not renewed:
                # A token we believed valid was refused (revoked, or clocks disagree): renew once.
                token = self.tokens.renew(token)
                renewed = True
                continue
            break
        if response.status_code == 401:
            raise SpotifyAuthError(
                f"Spotify refused a fresh token for {endpoint}: {_message(response.text)}"
            )
        if response.status_code in (403, 404) and _is_endpoint_level(
            endpoint, response.status_code
        ):
            raise ForbiddenEndpointError(endpoint, response.status_code, _message(response.text))
        if response.status_code >= 400:
            raise RequestRejectedError(
                response.status_code, f"{endpoint}: {_message(response.text)}"
            )
        try:
            return response.json()
        except ValueError as error:
            raise BadResponseError(
                f"Spotify answered {endpoint} with malformed JSON ({len(response.content)} bytes)"
            ) from error


# 404 on one of these means the endpoint is gone for us, not that one object is missing.
_ENDPOINT_LEVEL = {"GET /browse/new-releases", "GET /artists", "GET /albums", "GET /search"}


def _is_endpoint_level(endpoint: str, status_code: int) -> bool:
    if endpoint == ARTIST_ALBUMS:
        return status_code == 403  # a 404 there is one artist gone
    return endpoint in _ENDPOINT_LEVEL or endpoint.startswith("GET /me")


def _message(text: str) -> str:
    """Spotify's API errors are {"error": {"status", "message"}}; keep it short when they are not."""
    try:
        body = json.loads(text)
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return text[:200] or "no message"


def _field(body: Any, name: str) -> Any:
    if not isinstance(body, dict) or name not in body:
        raise BadResponseError(f"Spotify's answer has no `{name}` field")
    return body[name]


def _parse[M: BaseModel](model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadResponseError(
            f"Spotify sent a {what} of an unexpected shape: {error.errors()[0]['msg']}"
        ) from error


def site_client() -> SpotifyClient:
    """A client for one unit of work, on the connected user's token or else the app token."""
    conf = spotify_settings()
    http = SpotifyHttp(conf=conf, client=process_client(conf))
    return SpotifyClient(http=http, tokens=SiteTokenSource(AccountsClient(http)))


def user_client(connection: UserConnection) -> SpotifyClient:
    """A client on one user's own token (refreshed single-flight); raises ReconnectNeededError
    when that connection cannot be used until the user connects again."""
    conf = spotify_settings()
    http = SpotifyHttp(conf=conf, client=process_client(conf))
    return SpotifyClient(
        http=http,
        tokens=ConnectionTokenSource(AccountsClient(http), connection_pk=connection.pk),
    )


def accounts_client(conf: SpotifySettings | None = None) -> AccountsClient:
    conf = conf or spotify_settings()
    return AccountsClient(SpotifyHttp(conf=conf, client=process_client(conf)))
