"""Walks every URL the site serves (the admin aside: Django's own) and checks that each view that
accepts POST is POST-only, needs the CSRF token and is for staff only."""

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Spotify's consent page posts back to this one in demo mode, as Spotify's own page does on its
# site: it carries no state of ours and answers 404 outside demo mode (tested in tests/spotify).
CSRF_EXEMPT = {"demo/spotify/authorize"}
# django-ninja's own pages answer any method with the same read-only document.
READ_ONLY_ANY_METHOD = {"/api/", "/api/docs", "/api/openapi.json"}
# A GET shows the page with the form that POSTs; only the POST changes anything.
GET_SHOWS_THE_FORM = {"/auth/login/", "/accounts/login/"}
# Signing in and out is for every user (there is no sign-up: staff create the accounts).
FOR_EVERY_USER = {"/accounts/login/", "/accounts/logout/"}
# A signed-in user's own things (Your artists): any user, each acting on their own data only
# (tests/catalog/test_me_views.py); an anonymous POST is sent to sign in and changes nothing.
SIGNED_IN_USERS_OWN = {
    "/me/follows/refresh/",
    "/me/tokens/",
    "/me/tokens/revoke/",
    "/me/feed/",
    "/me/feed/revoke/",
    "/me/playlist/on/",
    "/me/playlist/update/",
    "/me/playlist/off/",
    "/notifications/targets/",
    "/notifications/targets/1/test/",
    "/notifications/targets/1/remove/",
    "/notifications/targets/1/resume/",
}


def site_paths() -> Iterator[str]:
    def walk(resolver: URLResolver, prefix: str) -> Iterator[str]:
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not route.startswith("admin/"):
                    yield from walk(pattern, route)
            elif isinstance(pattern, URLPattern):
                # A numeric parameter gets a number, or no route would match.
                route = re.sub(r"<int:[^>]+>", "1", route)
                yield "/" + re.sub(r"<[^>]+>", "x", route).lstrip("^").rstrip("$")

    yield from walk(get_resolver(), "")


def staff_client(*, staff: bool = True, csrf: bool = True) -> Client:
    user = get_user_model().objects.create_user(
        username=f"user-{_get_new_csrf_string()[:8]}", is_staff=staff
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    if csrf:
        token = _get_new_csrf_string()
        client.cookies["csrftoken"] = token
        client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


def post_views() -> list[str]:
    """Paths whose view accepts POST: anything but 405 to a staff POST with a valid token."""
    client = staff_client()
    return [
        path
        for path in site_paths()
        if path not in READ_ONLY_ANY_METHOD and client.post(path).status_code != 405
    ]


def test_the_walk_finds_the_known_views():
    paths = set(site_paths())

    assert {"/sync/refresh/", "/auth/logout/", "/api/artists/", *READ_ONLY_ANY_METHOD} <= paths


def test_the_read_only_api_pages_change_nothing_whatever_the_method():
    client = staff_client()
    for path in READ_ONLY_ANY_METHOD:
        assert client.post(path).content == client.get(path).content, path


def test_every_view_that_accepts_post_needs_the_csrf_token():
    for path in post_views():
        if path.strip("/") in CSRF_EXEMPT:
            continue
        assert staff_client(csrf=False).post(path).status_code == 403, path


def test_every_view_that_accepts_post_refuses_get():
    client = staff_client()
    for path in post_views():
        if path.strip("/") in CSRF_EXEMPT or path in GET_SHOWS_THE_FORM:
            continue
        assert client.get(path).status_code == 405, path


def test_a_get_of_a_form_page_changes_nothing():
    user = get_user_model().objects.create_superuser(username="root", password=None)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for path in GET_SHOWS_THE_FORM:
        before = dict(client.session.items())
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'method="post"' in response.content.decode(), path
        assert dict(client.session.items()) == before, path


def test_every_view_that_accepts_post_is_for_staff_only():
    for path in post_views():
        if path.strip("/") in CSRF_EXEMPT or path in FOR_EVERY_USER | SIGNED_IN_USERS_OWN:
            continue
        anonymous = Client(enforce_csrf_checks=True)
        token = _get_new_csrf_string()
        anonymous.cookies["csrftoken"] = token
        response = anonymous.post(path, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 403, path
        assert staff_client(staff=False).post(path).status_code == 403, path


def test_the_post_views_found_are_the_expected_ones():
    # A new POST view shows up here first: check it is protected, then add it.
    assert set(post_views()) == {
        "/sync/refresh/",
        "/auth/login/",
        "/auth/logout/",
        "/demo/spotify/authorize",
        "/accounts/login/",
        "/accounts/logout/",
        *SIGNED_IN_USERS_OWN,
    }


def test_a_signed_in_users_own_views_send_anonymous_posts_to_sign_in():
    for path in SIGNED_IN_USERS_OWN:
        anonymous = Client(enforce_csrf_checks=True)
        token = _get_new_csrf_string()
        anonymous.cookies["csrftoken"] = token
        response = anonymous.post(path, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/"), path
