"""HTTP caching for the catalog API. Its data changes only when a sync commits, so one cheap
"data version" validates every answer: ETags and cached bytes are keyed on it, and a new sync
invalidates everything at once simply by changing it."""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from pydantic import BaseModel, ValidationError

from catalog import selectors
from catalog.api import QUERY_SCHEMAS

VERSION_KEY = "catalog:data-version"
# Only these read catalog data; other /api/ routes (health, Spotify status) are live answers.
CACHED_PREFIXES = ("/api/artists/", "/api/releases/", "/api/snapshots/")


@dataclass(frozen=True)
class DataVersion:
    tag: str
    changed_at: datetime | None


def data_version() -> DataVersion:
    """From the cache, else from the database. The cached copy lives a few seconds only: with the
    local-memory cache each process has its own, and a sync in another process cannot reach it."""
    version: DataVersion | None = cache.get(VERSION_KEY)
    if version is None:
        changed_at = selectors.data_changed_at()
        tag = f"{int(changed_at.timestamp() * 1_000_000):x}" if changed_at else "0"
        version = DataVersion(tag=tag, changed_at=changed_at)
        cache.set(VERSION_KEY, version, timeout=settings.API_DATA_VERSION_TTL_SECONDS)
    return version


def data_version_forget() -> None:
    """Called when a sync commits: the next request reads the new version from the database."""
    cache.delete(VERSION_KEY)


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
    known = _KNOWN_PARAMETERS[view]
    given = tuple(sorted((name, request.GET[name]) for name in request.GET if name in known))
    normalised = _validated(view, given)
    if normalised is None:
        return None
    return _key(path=request.path, normalised=normalised, version=version)


def _key(*, path: str, normalised: str, version: DataVersion) -> str:
    digest = hashlib.blake2b(f"{path}?{normalised}".encode(), digest_size=12).hexdigest()
    return f"{version.tag}-{digest}"


def _normalised(queries: Iterable[BaseModel]) -> str:
    return json.dumps([query.model_dump(mode="json") for query in queries], sort_keys=True)


_KNOWN_PARAMETERS = {
    view: frozenset(name for schema in schemas for name in schema.model_fields)
    for view, schemas in QUERY_SCHEMAS.items()
}
# No catalog path is longer (ids have at most 64 characters): longer paths, and longer
# queries, are not remembered.
_MEMO_MAX_LENGTH = 200


# Memoised, as the validation below: they cost more than the rest of a cached answer
# (resolve() alone ~80 µs, validating ~20 µs).
@lru_cache(maxsize=1024)
def _catalog_view_of(path_info: str) -> str | None:
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    return match.url_name if match.namespace == "api" and match.url_name in QUERY_SCHEMAS else None


def _catalog_view(path_info: str) -> str | None:
    return None if len(path_info) > _MEMO_MAX_LENGTH else _catalog_view_of(path_info)


def _validated(view: str, given: tuple[tuple[str, str], ...]) -> str | None:
    if sum(len(value) for _, value in given) > _MEMO_MAX_LENGTH:
        return _validate(view, given)  # rare and long: not worth the memory
    return _validate_memoised(view, given)


def _validate(view: str, given: tuple[tuple[str, str], ...]) -> str | None:
    values = dict(given)
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


class ApiResponseCacheMiddleware:
    """For catalog GETs: 304 on a matching If-None-Match/If-Modified-Since, else the cached bytes,
    else the view, whose 200 answers are stored. Last in MIDDLEWARE, so every answer, cached or
    not, passes the same middleware and carries the same headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method != "GET" or not request.path.startswith(CACHED_PREFIXES):
            return self.get_response(request)
        version = data_version()
        key = response_key(request, version)
        if key is None:
            return self.get_response(request)
        etag = f'"{key}"'
        last_modified = int(version.changed_at.timestamp()) if version.changed_at else None
        not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
        response = not_modified or self._response(request, key)
        if response.status_code not in (200, 304):
            return response
        response["ETag"] = etag
        if last_modified is not None:
            response["Last-Modified"] = http_date(last_modified)
        patch_cache_control(response, public=True, max_age=settings.API_CACHE_MAX_AGE)
        return response

    def _response(self, request: HttpRequest, key: str) -> HttpResponseBase:
        if not settings.API_RESPONSE_CACHE:
            return self.get_response(request)
        cached: tuple[str, bytes] | None = cache.get(f"catalog:response:{key}")
        if cached is not None:
            content_type, body = cached
            return HttpResponse(body, content_type=content_type)
        response = self.get_response(request)
        if (
            response.status_code == 200
            and isinstance(response, HttpResponse)
            and _entry_allowed(key)
        ):
            cache.set(
                f"catalog:response:{key}",
                (response["Content-Type"], response.content),
                timeout=settings.API_RESPONSE_CACHE_SECONDS,
            )
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
