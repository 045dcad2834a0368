"""HTTP caching for catalog reads: the API, the anonymous dashboard (page and HTMX partials),
the artist pages and the feed. Their data changes only when a sync commits, so one cheap "data
version" validates every answer: ETags and cached bytes are keyed on it, and a new sync
invalidates everything at once simply by changing it. Pages also show the sync card and the
Spotify connection: a "page state" read with the version keys them too."""

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from pydantic import BaseModel, ValidationError

from catalog import selectors
from catalog.api import QUERY_SCHEMAS
from common.middleware import ApiConsistentReadsMiddleware
from spotify.conf import is_demo_mode
from spotify.selectors import connection_status

VERSION_KEY = "catalog:data-version"
PAGE_STATE_KEY = "catalog:page-state"
# Only these read catalog data; other /api/ routes (health, Spotify status) are live answers.
CACHED_PREFIXES = ("/api/artists/", "/api/releases/", "/api/snapshots/")
# Pages (url names) cached for anonymous visitors: what they show depends on the data version,
# the page state and the URL only. Signed-in visitors fall through: their pages carry staff
# parts and CSRF tokens, rendered around the cached artist list (catalog.views).
CACHED_PAGES = frozenset({"dashboard", "artist-detail"})
# The feed shows no user's anything: cached for everyone.
CACHED_FEEDS = frozenset({"release-feed"})
# Request headers that choose what a page renders (an HTMX partial, or a history restore), as
# request.META names them: request.headers would build a dict of every header for these two.
PAGE_VARIANT_HEADERS = ("HTTP_HX_REQUEST", "HTTP_HX_HISTORY_RESTORE_REQUEST")
# Kept from the view's answer; the security headers are set again by the middleware around.
STORED_HEADERS = ("Content-Type", "Vary", "Content-Language")


@dataclass(frozen=True)
class DataVersion:
    tag: str
    changed_at: datetime | None

    @cached_property
    def last_modified(self) -> tuple[int, str] | None:
        """The change's time in whole seconds, and as a Last-Modified header."""
        if self.changed_at is None:
            return None
        seconds = int(self.changed_at.timestamp())
        return seconds, http_date(seconds)


def data_version() -> DataVersion:
    """From the cache (this process's copy, with a per-process cache), else from the database.
    The copy lives a few seconds only (API_DATA_VERSION_TTL_SECONDS): with the local-memory cache
    each process has its own, and a sync in another process cannot reach it."""
    if _cache_is_per_process():
        return _process_version()
    version: DataVersion | None = cache.get(VERSION_KEY)
    if version is None:
        version = _data_version_read()
        # add, not set: a sync that committed after this read has stored the newer version, and
        # this older one must not replace it (with a shared cache it would be served for the TTL).
        cache.add(VERSION_KEY, version, timeout=settings.API_DATA_VERSION_TTL_SECONDS)
    return version


def data_version_refresh() -> None:
    """Called when a sync commits: stores the new version at once, for every process sharing the
    cache, and drops the page state (the sync card) read before it."""
    global _process_copy
    version = _data_version_read()
    cache.set(VERSION_KEY, version, timeout=settings.API_DATA_VERSION_TTL_SECONDS)
    _process_copy = (time.monotonic() + settings.API_DATA_VERSION_TTL_SECONDS, version)
    cache.delete(PAGE_STATE_KEY)


def data_version_forget() -> None:
    """After the data changed without a sync (tests): the next read asks the database."""
    global _process_copy
    _process_copy = None
    cache.delete(VERSION_KEY)


# With a per-process cache (local memory) the version's entry is this process's alone: a plain
# variable holds it as well, without the cache's lock, key checks and pickling (a sixth of a
# 304's time). A shared cache (Redis) is asked every time, so a sync's commit is seen at once.
_process_copy: tuple[float, DataVersion] | None = None


def _process_version() -> DataVersion:
    global _process_copy
    copy = _process_copy
    now = time.monotonic()
    if copy is not None and now < copy[0]:
        return copy[1]
    version = _data_version_read()
    # Unless a sync committed meanwhile (data_version_refresh): its newer version stays.
    if _process_copy is copy:
        _process_copy = (now + settings.API_DATA_VERSION_TTL_SECONDS, version)
    return version


@lru_cache(maxsize=1)
def _cache_is_per_process() -> bool:
    return isinstance(caches["default"], LocMemCache)


def _data_version_read() -> DataVersion:
    changed_at = selectors.data_changed_at()
    tag = f"{int(changed_at.timestamp() * 1_000_000):x}" if changed_at else "0"
    return DataVersion(tag=tag, changed_at=changed_at)


def page_state() -> str:
    """What an anonymous page shows besides the data: the sync card (the last runs, one in
    progress, the next scheduled run) and the Spotify connection. Read as the data version is,
    at most once every few seconds."""
    state: str | None = cache.get(PAGE_STATE_KEY)
    if state is None:
        sync = selectors.sync_overview()
        parts = (
            [run.pk, run.status] if run else None
            for run in (sync.in_progress, sync.last, sync.last_success, *sync.markets)
        )
        seen = json.dumps(
            [*parts, sync.next_run_at, connection_status()],
            default=str,
            sort_keys=True,
        )
        state = hashlib.blake2b(seen.encode(), digest_size=8).hexdigest()
        cache.set(PAGE_STATE_KEY, state, timeout=settings.API_DATA_VERSION_TTL_SECONDS)
    return state


def query_key(*, path: str, query: BaseModel | Iterable[BaseModel], version: DataVersion) -> str:
    """The data version, the path and the validated query, defaults filled in: neither the order
    of the parameters, nor unknown ones, nor `?limit=50` for the default 50 make a new entry."""
    queries = [query] if isinstance(query, BaseModel) else list(query)
    return _key(path=path, normalised=_normalised(queries), version=version)


def response_key(request: HttpRequest, version: DataVersion) -> str | None:
    """`query_key` of a catalog read, its parameters validated as the view will validate them
    (values as given: an empty one is the view's business). None when they do not validate (the
    view answers 422, nothing to cache) or the path is no catalog read."""
    view = _catalog_view(request.path_info)
    if view is None:
        return None
    normalised = _validated(view, request.META.get("QUERY_STRING", ""))
    if normalised is None:
        return None
    return _key(path=request.path, normalised=normalised, version=version)


def page_key(request: HttpRequest, version: DataVersion) -> str | None:
    """The key of a page or feed that may be served from the cache: its whole URL as given (the
    pages echo it in their links), the headers that choose a partial, the page state, and the
    clock where the answer depends on it. None for anything else, and for a page asked with a
    session: signed-in pages are rendered every time."""
    name = _page_name(request.path_info)
    if name is None:
        return None
    variant = [request.META.get(header, "") for header in PAGE_VARIANT_HEADERS]
    if name in CACHED_PAGES:
        if _has_session(request):
            return None
        # "Last sync 5 minutes ago": the dashboard's relative times move with the minute.
        clock = f"{timezone.now():%Y%m%d%H%M}" if name == "dashboard" else ""
        # Demo mode is a setting: read each time, it costs nothing.
        variant += [page_state(), str(is_demo_mode()), clock]
    else:
        # The feed's window slides even when no sync runs: the hour keeps it from going stale.
        variant.append(f"{timezone.now():%Y%m%d%H}")
    return _key(path=request.get_full_path(), normalised=json.dumps(variant), version=version)


def fragment_cached(*, request: HttpRequest, name: str, render: Callable[[], str]) -> str:
    """A piece of a page that depends on the data and its URL only (the dashboard's artist
    list), cached under the data version, so that a signed-in page renders only its own parts
    (the sync card, the buttons) around it. Staff and others get separate copies: the piece
    holds no CSRF token, but its wording may differ."""
    is_staff = bool(getattr(getattr(request, "user", None), "is_staff", False))
    key = _key(
        path=request.get_full_path(),
        normalised=json.dumps([name, is_staff]),
        version=data_version(),
    )
    html: str | None = cache.get(f"catalog:fragment:{key}")
    if html is None:
        html = render()
        if settings.API_RESPONSE_CACHE and _entry_allowed(key):
            cache.set(f"catalog:fragment:{key}", html, timeout=settings.API_RESPONSE_CACHE_SECONDS)
    return html


def _has_session(request: HttpRequest) -> bool:
    return any(
        name in request.COOKIES
        for name in (settings.SESSION_COOKIE_NAME, CookieStorage.cookie_name)
    )


def _page_name(path_info: str) -> str | None:
    match = _resolved(path_info)
    if match is None or match.namespace or match.url_name not in CACHED_PAGES | CACHED_FEEDS:
        return None
    return match.url_name


def _key(*, path: str, normalised: str, version: DataVersion) -> str:
    digest = hashlib.blake2b(f"{path}?{normalised}".encode(), digest_size=12).hexdigest()
    return f"{version.tag}-{digest}"


def _normalised(queries: Iterable[BaseModel]) -> str:
    return json.dumps([query.model_dump(mode="json") for query in queries], sort_keys=True)


# No catalog path is longer (ids have at most 64 characters): longer paths, and longer
# queries, are not remembered.
_MEMO_MAX_LENGTH = 200


def _catalog_view(path_info: str) -> str | None:
    match = _resolved(path_info)
    if match is None or match.namespace != "api" or match.url_name not in QUERY_SCHEMAS:
        return None
    return match.url_name


def _resolved(path_info: str) -> ResolverMatch | None:
    return None if len(path_info) > _MEMO_MAX_LENGTH else _resolved_memoised(path_info)


# Memoised, as the validation below: they cost more than the rest of a cached answer
# (resolve() alone ~80 µs, validating ~20 µs).
@lru_cache(maxsize=1024)
def _resolved_memoised(path_info: str) -> ResolverMatch | None:
    try:
        return resolve(path_info)
    except Resolver404:
        return None


def _validated(view: str, query_string: str) -> str | None:
    # Memoised on the raw query string: a cached answer then never even parses it.
    if len(query_string) > _MEMO_MAX_LENGTH:
        return _validate(view, query_string)  # rare and long: not worth the memory
    return _validate_memoised(view, query_string)


def _validate(view: str, query_string: str) -> str | None:
    # As request.GET reads it (WSGI's latin-1 text back to the bytes sent, the last of repeated
    # values); unknown parameters are ignored.
    values = QueryDict(query_string.encode("iso-8859-1", errors="replace")).dict()
    try:
        return _normalised(
            schema.model_validate(
                {name: values[name] for name in schema.model_fields if name in values}
            )
            for schema in QUERY_SCHEMAS[view]
        )
    except ValidationError:
        return None


_validate_memoised = lru_cache(maxsize=1024)(_validate)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    """Which markets validate, and which cache holds the version, are settings (tests override
    them): what was memoised goes with them."""
    if setting == "SPOTIFY_MARKETS":
        _validate_memoised.cache_clear()
    if setting == "CACHES":
        _cache_is_per_process.cache_clear()
        data_version_forget()


class ApiResponseCacheMiddleware:
    """For catalog GETs (the API, the anonymous pages, the feed): 304 on a matching
    If-None-Match (or If-Modified-Since, where the data version dates the answer), else the
    cached bytes, else the view, whose 200 answers are stored.

    Right after the security middleware (settings.MIDDLEWARE): a cached answer or a 304 runs no
    session, auth, CSRF, messages, axes or htmx middleware, and makes no query, yet carries the
    same security headers as any answer, set on the way out by the middleware above it. An API
    read that is not cached skips them too: its view is called from here (`_api_view`), in a
    consistent read as under the full stack. Pages still go through them all (they show the
    signed-in user, CSRF tokens, messages)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.api_view_response = ApiConsistentReadsMiddleware(_api_view)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "GET":
            return self.get_response(request)
        is_api = request.path.startswith(CACHED_PREFIXES)
        page = None if is_api else _page_name(request.path_info)
        if not is_api and page is None:
            return self.get_response(request)
        version = data_version()
        key = response_key(request, version) if is_api else page_key(request, version)
        if key is None:
            return self.get_response(request)
        # The route a cached answer or a 304 is counted under (metrics); a view that runs
        # resolves it again.
        request.resolver_match = _resolved(request.path_info)
        etag = f'"{key}"'
        # A page also changes with the page state and the clock: only its ETag validates it.
        dated = is_api or page in CACHED_FEEDS
        last_modified = version.last_modified if dated else None
        not_modified = get_conditional_response(
            request, etag=etag, last_modified=last_modified[0] if last_modified else None
        )
        view_response = self.api_view_response if is_api else self.get_response
        response = not_modified or self._response(request, key, view_response)
        if (
            not not_modified
            and isinstance(response, HttpResponse)
            and "Content-Length" not in response
        ):
            # CommonMiddleware, further in, sets it on the others: no answer is sent chunked.
            response["Content-Length"] = str(len(response.content))
        if response.status_code not in (200, 304):
            return response
        response["ETag"] = etag
        if last_modified is not None:
            response["Last-Modified"] = last_modified[1]
        elif "Last-Modified" in response:
            del response["Last-Modified"]
        if dated:
            patch_cache_control(response, public=True, max_age=settings.API_CACHE_MAX_AGE)
        else:
            # Browsers ask again every time (the sync card is live), and get a 304 at no cost.
            patch_cache_control(response, no_cache=True)
        return response

    def _response(
        self,
        request: HttpRequest,
        key: str,
        view_response: Callable[[HttpRequest], HttpResponseBase],
    ) -> HttpResponseBase:
        if not settings.API_RESPONSE_CACHE:
            return view_response(request)
        cached: tuple[tuple[tuple[str, str], ...], bytes] | None = cache.get(
            f"catalog:response:{key}"
        )
        if cached is not None:
            headers, body = cached
            return HttpResponse(body, headers=dict(headers))
        response = view_response(request)
        if (
            response.status_code == 200
            and isinstance(response, HttpResponse)
            # A cookie (a CSRF token, a session) belongs to one visitor: never stored.
            and not response.cookies
            and _entry_allowed(key)
        ):
            headers = tuple((name, response[name]) for name in STORED_HEADERS if name in response)
            cache.set(
                f"catalog:response:{key}",
                (headers, response.content),
                timeout=settings.API_RESPONSE_CACHE_SECONDS,
            )
        return response


def _api_view(request: HttpRequest) -> HttpResponseBase:
    """The resolved API view, called as Django's handler calls it: django-ninja turns its errors
    into JSON answers, and what escapes it meets the exception handling above, as from any
    view."""
    match = request.resolver_match
    assert match is not None  # set by ApiResponseCacheMiddleware
    response: HttpResponseBase = match.func(request, *match.args, **match.kwargs)
    return response


def _entry_allowed(key: str) -> bool:
    """At most API_RESPONSE_CACHE_MAX_ENTRIES answers are stored per data version, whatever the
    cache backend (LocMem culls at its MAX_ENTRIES; a Redis without maxmemory would not): valid
    queries are still countless (`q`, `offset`...). Older versions' entries simply expire."""
    version_tag = key.partition("-")[0]
    counter = f"catalog:response-count:{version_tag}"
    cache.add(counter, 0, timeout=settings.API_RESPONSE_CACHE_SECONDS)
    try:
        stored: int = cache.incr(counter)
    except ValueError:  # evicted in between: count afresh
        cache.set(counter, 1, timeout=settings.API_RESPONSE_CACHE_SECONDS)
        stored = 1
    limit: int = settings.API_RESPONSE_CACHE_MAX_ENTRIES
    return stored <= limit
