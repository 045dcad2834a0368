"""Walks every URL the site serves (the admin aside: Django's own) with NUL, overlong, wrong-type
and unknown values in each query parameter it reads and in its path parameters: pages, the feed,
CSV exports and the API answer 4xx, never 5xx, to anonymous visitors and to staff alike."""

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from tests.factories import ArtistFactory, ReleaseFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db

# Sent as given (already percent-encoded): the last one is not even UTF-8.
BAD_VALUES = {
    "NUL": "a%00b",
    "only NUL": "%00",
    "overlong": "x" * 10_000,
    "wrong type": "abc",
    "negative": "-1",
    "huge number": "9" * 40,
    "impossible date": "2026-13-45T99:99:99",
    "unknown album type": "podcast",
    "invalid UTF-8": "%ff%fe",
}
# What the views without a declared query model read (the Spotify connection's views, the demo
# consent page that stands in for Spotify's, the sync card's poll).
UNDECLARED_PARAMETERS = {
    "code",
    "state",
    "error",
    "watch",
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "show_dialog",
}
UNKNOWN_PARAMETER = "no_such_parameter"
# An id that exists, so that a detail page gets as far as reading its query.
KNOWN_ID = "known0000000000000000a"


def url_routes() -> Iterator[str]:
    """Every route but the admin's, its path parameters still as `<converter:name>`."""

    def walk(resolver: URLResolver, prefix: str) -> Iterator[str]:
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not route.startswith("admin/"):
                    yield from walk(pattern, route)
            elif isinstance(pattern, URLPattern):
                yield "/" + route.lstrip("^").rstrip("$")

    yield from walk(get_resolver(), "")


def with_path_parameters(route: str, value: str) -> str:
    return re.sub(r"<[^>]+>", value, route)


def query_parameters(path: str, openapi: dict[str, object]) -> set[str]:
    """What the view reads from the query string: the API's from its OpenAPI document, a page's
    from the model it validates its query with, the others' from the list above."""
    paths: dict[str, dict[str, dict[str, list[dict[str, str]]]]] = openapi["paths"]  # type: ignore[assignment]
    for template, operations in paths.items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return {
                parameter["name"]
                for operation in operations.values()
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "query"
            }
    model = getattr(resolve(path).func, "query_model", None)
    return set(model.model_fields) if model is not None else set(UNDECLARED_PARAMETERS)


@pytest.fixture
def catalog() -> None:
    artist = ArtistFactory.create(spotify_id=KNOWN_ID)
    release = ReleaseFactory.create(spotify_id=KNOWN_ID)
    credit(release, artist)
    snapshot_with([release])


@pytest.fixture(params=["anonymous", "staff"])
def visitor(request: pytest.FixtureRequest, settings: object) -> Client:
    settings.SPOTIFY_CLIENT_ID = ""  # type: ignore[attr-defined]  # demo mode: its consent page too
    client = Client(raise_request_exception=False)
    if request.param == "staff":
        user = get_user_model().objects.create_user("walker", is_staff=True, is_superuser=True)
        client.force_login(user)
    return client


def test_no_query_parameter_of_any_url_can_cause_a_5xx(visitor: Client, catalog: None):
    openapi = visitor.get("/api/openapi.json").json()
    routes = list(url_routes())
    assert {"/", "/artists/<str:spotify_id>/", "/feeds/releases.atom", "/api/artists.csv"} <= set(
        routes
    )
    failures = []
    for route in routes:
        # A numeric parameter (a notification target's pk) gets a number, or no route matches.
        path = with_path_parameters(re.sub(r"<int:[^>]+>", "1", route), KNOWN_ID)
        for name in sorted(query_parameters(path, openapi) | {UNKNOWN_PARAMETER}):
            for label, value in BAD_VALUES.items():
                response = visitor.get(f"{path}?{name}={value}")
                if response.status_code >= 500:
                    failures.append((path, name, label, response.status_code))
    assert failures == []


def test_no_path_parameter_of_any_url_can_cause_a_5xx(visitor: Client, catalog: None):
    failures = []
    for route in url_routes():
        if "<" not in route:
            continue
        for label, value in BAD_VALUES.items():
            response = visitor.get(with_path_parameters(route, quote(value, safe="%")))
            if response.status_code >= 500:
                failures.append((route, label, response.status_code))
    assert failures == []


@pytest.mark.parametrize(
    "path",
    [
        "/?q=a%00b",
        "/?type=%00",
        "/feeds/releases.atom?genre=%00",
        "/feeds/releases.atom?album_type=%00",
        "/artists/x/?offset=%00",
        "/?a%00=1",
    ],
)
def test_a_nul_character_outside_the_api_is_a_400_saying_so(client: Client, path: str):
    response = client.get(path)

    assert response.status_code == 400
    assert "must not contain NUL characters" in response.content.decode()


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/?page=abc", "page"),
        ("/?page=0", "page"),
        ("/?type=podcast", "type"),
        ("/?new=perhaps", "new"),
        ("/?q=" + "x" * 10_000, "q"),
        ("/artists/x/?limit=abc", "limit"),
        ("/artists/x/?limit=201", "limit"),
        ("/artists/x/?offset=-1", "offset"),
    ],
)
def test_a_wrong_value_on_a_page_is_a_friendly_400_naming_it(
    client: Client, catalog: None, path: str, parameter: str
):
    response = client.get(path)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert f"{parameter}: " in html
    assert "x" * 300 not in response.context["problems"]  # the value is not echoed back
    assert 'href="/"' in html


def test_an_unknown_album_type_on_the_feed_is_a_400_in_plain_text(client: Client):
    response = client.get("/feeds/releases.atom?album_type=podcast")

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("Invalid feed parameters: ")


def test_an_unknown_album_type_is_refused_by_the_api_as_by_the_pages(client: Client):
    for path in ("/api/artists/", "/api/releases/", "/api/releases.csv", "/api/artists.csv"):
        response = client.get(f"{path}?album_type=podcast")

        assert response.status_code == 422, path
        assert response.json()["detail"].startswith("Invalid request: album_type: ")
