"""Web API handlers under `/v1`. Authentication and faults are applied by the app first."""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from spotify.fake import render
from spotify.fake.data import NEW_RELEASE_WINDOW_DAYS, Artist, Release
from spotify.fake.state import FakePlaylist, FakeState
from spotify.fake.tokens import Claims
from spotify.fake.wsgi import Request, Response, api_error, json_response

BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")
COUNTRY = re.compile(r"[A-Z]{2}")
SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")
SEARCH_TOKEN = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
# Feb 2026: search `limit` is capped at 10 (default 5) and `offset` at 1000.
SEARCH_MAX_LIMIT, SEARCH_DEFAULT_LIMIT, SEARCH_MAX_OFFSET = 10, 5, 1000
DEV_MODE_FORBIDDEN = "Forbidden"
# Development Mode (2026) caps /artists/{id}/albums at 10 a page (50 otherwise).
ARTIST_ALBUMS_MAX_LIMIT, ARTIST_ALBUMS_DEV_MODE_MAX_LIMIT = 50, 10
# Spotify lists an artist's albums a group at a time, in this order, newest first in each.
ALBUM_GROUPS = ("album", "single", "compilation", "appears_on")
FOLLOW_SCOPE = "user-follow-read"
PLAYLIST_SCOPE = "playlist-modify-private"
# Items added or replaced in one call, at most (Spotify's limit).
PLAYLIST_ITEMS_MAX = 100
ITEM_URI = re.compile(r"spotify:(track|episode):[0-9A-Za-z]{22}")
INSUFFICIENT_SCOPE = "Insufficient client scope"


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    message = f"Invalid {name}"
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(message) from None
    if value < low or (high is not None and value > high):
        raise BadRequest(message)
    return value


def _ids_param(request: Request, maximum: int) -> list[str]:
    raw = request.query.get("ids")
    if raw is None or not raw.strip():
        raise BadRequest("Missing parameter ids")
    ids = [part.strip() for part in raw.split(",")]
    if len(ids) > maximum:
        raise BadRequest("Too many ids requested")
    for item in ids:
        _check_id(item)
    return ids


def _check_id(item: str) -> None:
    if not BASE62_ID.fullmatch(item):
        raise BadRequest("Invalid base62 id")


def _country(request: Request) -> str | None:
    country = request.query.get("country") or None
    if country is not None and not COUNTRY.fullmatch(country):
        raise BadRequest("Invalid country code")
    return country


@dataclass(frozen=True, slots=True)
class SearchQuery:
    new_only: bool
    artist: str
    album: str
    text: str

    @classmethod
    def parse(cls, q: str) -> "SearchQuery":
        new_only, artist, album, words = False, "", "", []
        for match in SEARCH_TOKEN.finditer(q):
            field = (match.group(1) or match.group(3) or "").lower()
            value = match.group(2) if match.group(1) else match.group(4)
            if field == "tag":
                new_only = new_only or (value or "").lower() == "new"
            elif field == "artist":
                artist = (value or "").casefold()
            elif field == "album":
                album = (value or "").casefold()
            elif field:
                continue  # year:, genre:, upc: ... accepted, not filtered on
            else:
                words.append(match.group(5) or match.group(6) or "")
        return cls(new_only, artist, album, " ".join(words).casefold())


class WebApi:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def new_releases(self, request: Request, claims: Claims) -> Response:
        if self.state.config.dev_mode:
            return api_error(403, DEV_MODE_FORBIDDEN)
        limit = _int_param(request, "limit", 20, 1, 50)
        offset = _int_param(request, "offset", 0, 0, None)
        country = _country(request)
        dataset = self.state.dataset
        releases = dataset.releases_for(country)
        items = [render.simple_album(r, dataset) for r in releases[offset : offset + limit]]
        params = {"country": country} if country else {}
        page = render.paging(
            f"{render.SPOTIFY_API}/browse/new-releases",
            items,
            total=len(releases),
            limit=limit,
            offset=offset,
            params=params,
        )
        response = json_response(200, {"albums": page})
        if self.state.config.malformed_json:
            # A body cut off mid-stream, as a flaky proxy would deliver it.
            response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    def several_artists(self, request: Request, claims: Claims) -> Response:
        if self.state.config.dev_mode:
            return api_error(403, DEV_MODE_FORBIDDEN)
        ids = _ids_param(request, 50)
        dataset, dev_mode = self.state.dataset, self.state.config.dev_mode
        artists = [
            render.full_artist(a, dev_mode=dev_mode) if (a := dataset.artists.get(i)) else None
            for i in ids
        ]
        return json_response(200, {"artists": artists})

    def artist(self, request: Request, claims: Claims, artist_id: str) -> Response:
        _check_id(artist_id)
        artist = self.state.dataset.artists.get(artist_id)
        if artist is None:
            return api_error(404, "Resource not found")
        body = render.full_artist(artist, dev_mode=self.state.config.dev_mode)
        return json_response(200, body)

    def several_albums(self, request: Request, claims: Claims) -> Response:
        if self.state.config.dev_mode:
            return api_error(403, DEV_MODE_FORBIDDEN)
        ids = _ids_param(request, 20)
        dataset = self.state.dataset
        albums = [
            render.full_album(r, dataset, dev_mode=False) if (r := dataset.release(i)) else None
            for i in ids
        ]
        return json_response(200, {"albums": albums})

    def album(self, request: Request, claims: Claims, album_id: str) -> Response:
        release = self._release(album_id)
        dataset, dev_mode = self.state.dataset, self.state.config.dev_mode
        body = render.full_album(release, dataset, dev_mode=dev_mode)
        return json_response(200, body)

    def album_tracks(self, request: Request, claims: Claims, album_id: str) -> Response:
        release = self._release(album_id)
        limit = _int_param(request, "limit", 20, 1, 50)
        offset = _int_param(request, "offset", 0, 0, None)
        page = render.album_tracks_page(release, self.state.dataset, limit=limit, offset=offset)
        return json_response(200, page)

    def _release(self, album_id: str) -> Release:
        _check_id(album_id)
        release = self.state.dataset.release(album_id)
        if release is None:
            raise NotFound
        return release

    def search(self, request: Request, claims: Claims) -> Response:
        q = request.query.get("q") or request.query.get("query") or ""
        if not q.strip():
            raise BadRequest("No search query")
        types = [t.strip() for t in request.query.get("type", "").split(",") if t.strip()]
        if not types:
            raise BadRequest("Missing parameter type")
        if any(t not in SEARCH_TYPES for t in types):
            raise BadRequest("Bad search type field")
        limit = _int_param(request, "limit", SEARCH_DEFAULT_LIMIT, 1, SEARCH_MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, SEARCH_MAX_OFFSET)
        query = SearchQuery.parse(q)
        url = f"{render.SPOTIFY_API}/search"
        body: dict[str, object] = {}
        for kind in types:
            # Real next links carry `query=`; the fake accepts it as well as `q=`.
            params = {"query": q, "type": kind}
            items: list[render.JSON] = []
            total = 0
            if kind == "album":
                matches = self._matching_albums(query)
                total = len(matches)
                dataset = self.state.dataset
                items = [render.simple_album(r, dataset) for r in matches[offset : offset + limit]]
            elif kind == "artist":
                artists = self._matching_artists(query)
                total = len(artists)
                dev_mode = self.state.config.dev_mode
                items = [
                    render.full_artist(a, dev_mode=dev_mode)
                    for a in artists[offset : offset + limit]
                ]
            body[kind + "s"] = render.paging(
                url, items, total=total, limit=limit, offset=offset, params=params
            )
        return json_response(200, body)

    def _matching_albums(self, query: SearchQuery) -> list[Release]:
        dataset = self.state.dataset
        cutoff = dataset.anchor - timedelta(days=NEW_RELEASE_WINDOW_DAYS)
        matches = []
        for release in dataset.releases:
            if query.new_only and release.released < cutoff:
                continue
            names = " ".join(dataset.artists[a].name for a in release.artist_ids).casefold()
            title = release.name.casefold()
            if query.artist and query.artist not in names:
                continue
            if query.album and query.album not in title:
                continue
            if query.text and query.text not in title and query.text not in names:
                continue
            matches.append(release)
        return matches

    def _matching_artists(self, query: SearchQuery) -> list[Artist]:
        needle = query.artist or query.text
        artists = self.state.dataset.artists.values()
        return [a for a in artists if needle in a.name.casefold()]

    def artist_albums(self, request: Request, claims: Claims, artist_id: str) -> Response:
        _check_id(artist_id)
        dataset, dev_mode = self.state.dataset, self.state.config.dev_mode
        if artist_id not in dataset.artists:
            raise NotFound
        raw_groups = request.query.get("include_groups")
        groups = [g.strip() for g in raw_groups.split(",")] if raw_groups else list(ALBUM_GROUPS)
        if any(g not in ALBUM_GROUPS for g in groups):
            raise BadRequest("Invalid include_groups")
        high = ARTIST_ALBUMS_DEV_MODE_MAX_LIMIT if dev_mode else ARTIST_ALBUMS_MAX_LIMIT
        limit = _int_param(request, "limit", 20, 1, high)
        offset = _int_param(request, "offset", 0, 0, None)
        grouped: list[tuple[str, Release]] = []
        for group in ALBUM_GROUPS:
            if group not in groups:
                continue
            for release in dataset.artist_releases(artist_id):
                primary = release.artist_ids[0] == artist_id
                in_group = not primary if group == "appears_on" else release.album_type == group
                if in_group and (primary or group == "appears_on"):
                    grouped.append((group, release))
        items = []
        for group, release in grouped[offset : offset + limit]:
            item = render.simple_album(release, dataset)
            if not dev_mode:  # gone for Development Mode apps in 2026
                item["album_group"] = group
            items.append(item)
        params = {"include_groups": ",".join(groups)} if raw_groups else {}
        page = render.paging(
            f"{render.SPOTIFY_API}/artists/{artist_id}/albums",
            items,
            total=len(grouped),
            limit=limit,
            offset=offset,
            params=params,
        )
        return json_response(200, page)

    def followed_artists(self, request: Request, claims: Claims) -> Response:
        if claims.user is None:
            return api_error(401, "This request requires user authentication.")
        config = self.state.config
        if FOLLOW_SCOPE not in claims.scope.split() or FOLLOW_SCOPE in config.revoked_scopes:
            return api_error(403, "Insufficient client scope")
        if request.query.get("type") != "artist":
            raise BadRequest("type must be artist")
        limit = _int_param(request, "limit", 20, 1, 50)
        after = request.query.get("after")
        followed = self.state.dataset.followed_artists(claims.user, config.followed_artist_count)
        rest = [a for a in followed if after is None or a.id > after]
        page = rest[:limit]
        last = page[-1].id if page and len(rest) > limit else None
        url = f"{render.SPOTIFY_API}/me/following"
        query = {"type": "artist", "limit": str(limit)}
        body = {
            "artists": {
                "href": f"{url}?{urlencode({**query, **({'after': after} if after else {})})}",
                "items": [render.full_artist(a, dev_mode=config.dev_mode) for a in page],
                "limit": limit,
                "next": f"{url}?{urlencode({**query, 'after': last})}" if last else None,
                "cursors": {"after": last},
                "total": len(followed),
            }
        }
        return json_response(200, body)

    def me(self, request: Request, claims: Claims) -> Response:
        if claims.user is None:
            # What Spotify answers when an app (client credentials) token asks for a user.
            return api_error(401, "This request requires user authentication.")
        user = claims.user
        scopes = set(claims.scope.split())
        body: dict[str, object] = {
            "display_name": self.state.config.user_display_name,
            "external_urls": {"spotify": f"{render.OPEN_SPOTIFY}/user/{user}"},
            "followers": {"href": None, "total": 3},
            "href": f"{render.SPOTIFY_API}/users/{user}",
            "id": user,
            "images": [],
            "type": "user",
            "uri": f"spotify:user:{user}",
        }
        if "user-read-private" in scopes:
            body.update(
                country="SE",
                product="premium",
                explicit_content={"filter_enabled": False, "filter_locked": False},
            )
        if "user-read-email" in scopes:
            body["email"] = "zoe.angstrom@example.com"
        return json_response(200, dict(sorted(body.items())))

    # --- playlists (2026: POST /me/playlists and /playlists/{id}/items; Development Mode apps
    # lost POST /users/{id}/playlists and /playlists/{id}/tracks) ------------------------------

    def create_playlist(self, request: Request, claims: Claims) -> Response:
        user = self._playlist_writer(claims)
        if isinstance(user, Response):
            return user
        body = _json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("Missing required field: name")
        description = body.get("description", "")
        public = body.get("public", True)
        if not isinstance(description, str) or not isinstance(public, bool):
            raise BadRequest("Invalid request body")
        if public and "playlist-modify-public" not in claims.scope.split():
            return api_error(403, INSUFFICIENT_SCOPE)
        playlist = self.state.playlist_create(
            owner=user, name=name, description=description, public=public
        )
        return json_response(201, _playlist_json(playlist))

    def create_user_playlist(self, request: Request, claims: Claims, user_id: str) -> Response:
        if self.state.config.dev_mode:
            return api_error(403, DEV_MODE_FORBIDDEN)
        if claims.user is not None and user_id != claims.user:
            return api_error(403, "You cannot create a playlist for another user")
        return self.create_playlist(request, claims)

    def replace_playlist_items(
        self, request: Request, claims: Claims, playlist_id: str
    ) -> Response:
        return self._write_items(request, claims, playlist_id, replace=True)

    def add_playlist_items(self, request: Request, claims: Claims, playlist_id: str) -> Response:
        return self._write_items(request, claims, playlist_id, replace=False)

    def replace_playlist_tracks(
        self, request: Request, claims: Claims, playlist_id: str
    ) -> Response:
        if self.state.config.dev_mode:
            return api_error(403, DEV_MODE_FORBIDDEN)
        return self._write_items(request, claims, playlist_id, replace=True)

    def add_playlist_tracks(self, request: Request, claims: Claims, playlist_id: str) -> Response:
        if self.state.config.dev_mode:
            return api_error(403, DEV_MODE_FORBIDDEN)
        return self._write_items(request, claims, playlist_id, replace=False)

    def unfollow_playlist(self, request: Request, claims: Claims, playlist_id: str) -> Response:
        """The owner's "Delete" in Spotify's apps; here the playlist is then gone for good."""
        user = self._playlist_writer(claims)
        if isinstance(user, Response):
            return user
        playlist = self._owned_playlist(playlist_id, user)
        if isinstance(playlist, Response):
            return playlist
        self.state.playlist_delete(playlist_id)
        return Response(200)

    def _write_items(
        self, request: Request, claims: Claims, playlist_id: str, *, replace: bool
    ) -> Response:
        user = self._playlist_writer(claims)
        if isinstance(user, Response):
            return user
        playlist = self._owned_playlist(playlist_id, user)
        if isinstance(playlist, Response):
            return playlist
        uris = _json_body(request).get("uris")
        if uris is None and "uris" in request.query:
            uris = [u for u in request.query["uris"].split(",") if u]
        if not isinstance(uris, list):
            raise BadRequest("Missing required field: uris")
        if len(uris) > PLAYLIST_ITEMS_MAX:
            raise BadRequest(f"Too many items: at most {PLAYLIST_ITEMS_MAX} per request")
        if not all(isinstance(uri, str) and ITEM_URI.fullmatch(uri) for uri in uris):
            raise BadRequest("Invalid track uri")
        snapshot_id = self.state.playlist_items_write(playlist.id, uris, replace=replace)
        if snapshot_id is None:
            raise NotFound
        return json_response(200 if replace else 201, {"snapshot_id": snapshot_id})

    def _playlist_writer(self, claims: Claims) -> str | Response:
        if claims.user is None:
            return api_error(401, "This request requires user authentication.")
        revoked = self.state.config.revoked_scopes
        if PLAYLIST_SCOPE not in claims.scope.split() or PLAYLIST_SCOPE in revoked:
            return api_error(403, INSUFFICIENT_SCOPE)
        return claims.user

    def _owned_playlist(self, playlist_id: str, user: str) -> FakePlaylist | Response:
        _check_id(playlist_id)
        playlist = self.state.playlist(playlist_id)
        if playlist is None:
            raise NotFound
        if playlist.owner != user:
            return api_error(403, "You cannot change a playlist you do not own")
        return playlist


def _json_body(request: Request) -> dict[str, object]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise BadRequest("Error parsing JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("Error parsing JSON.")
    return body


def _playlist_json(playlist: FakePlaylist) -> dict[str, object]:
    return {
        "collaborative": False,
        "description": playlist.description,
        "external_urls": {"spotify": f"{render.OPEN_SPOTIFY}/playlist/{playlist.id}"},
        "href": f"{render.SPOTIFY_API}/playlists/{playlist.id}",
        "id": playlist.id,
        "images": [],
        "name": playlist.name,
        "owner": {"id": playlist.owner, "type": "user", "uri": f"spotify:user:{playlist.owner}"},
        "public": playlist.public,
        "snapshot_id": playlist.snapshot_id,
        "items": {"href": f"{render.SPOTIFY_API}/playlists/{playlist.id}/items", "total": 0},
        "type": "playlist",
        "uri": f"spotify:playlist:{playlist.id}",
    }


class NotFound(Exception):
    pass


def error_for(exc: BadRequest | NotFound) -> Response:
    if isinstance(exc, BadRequest):
        return api_error(400, exc.message)
    return api_error(404, "Resource not found")
