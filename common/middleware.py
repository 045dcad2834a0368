"""Middleware the apps use themselves (catalog.caching runs its catalog reads through it too)."""

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

from common.db import repeatable_read

# What a lost or unreachable database raises; anything else stays a 500, i.e. a bug to fix.
DATABASE_DOWN = (OperationalError, InterfaceError)

# Views (namespace:url_name) that read their whole answer in ONE SQL statement, or none. A statement
# always reads one database snapshot by itself, so these need no transaction (and its three round
# trips); liveness must answer with the database down.
ONE_STATEMENT_VIEWS = frozenset({"api:artist_list", "api:health_live"})


class ApiConsistentReadsMiddleware:
    """Every GET under /api/ reads from one database snapshot (REPEATABLE READ): the several
    queries behind one response never straddle a sync's commit, so a response never mixes two
    syncs. Writes are untouched; ONE_STATEMENT_VIEWS have that guarantee without a transaction."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            request.method not in ("GET", "HEAD")
            or not request.path.startswith("/api/")
            or _view_name(request) in ONE_STATEMENT_VIEWS
        ):
            return self.get_response(request)
        response: HttpResponseBase | None = None
        try:
            with repeatable_read():
                response = self.get_response(request)
        except DATABASE_DOWN:
            if response is not None:
                return response  # read only: a failed COMMIT changes nothing the answer said
            # No transaction to be had: the view meets the failure and answers in its own words.
            return self.get_response(request)
        return response


def _view_name(request: HttpRequest) -> str | None:
    if request.resolver_match is not None:  # resolved already (catalog.caching)
        return request.resolver_match.view_name
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None
