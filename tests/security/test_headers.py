"""Security headers on pages, API answers and errors alike."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PATHS = ["/", "/api/artists/", "/api/health/", "/admin/login/", "/api/nowhere/", "/nowhere/"]


def csp_directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_security_headers(client: Client, path: str):
    response = client.get(path)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = csp_directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_the_dashboard_has_no_inline_script_or_style_the_policy_would_block(client: Client):
    html = client.get("/").content.decode()

    inline_scripts = [
        tag for tag in re.findall(r"<script\b[^>]*>", html) if not re.search(r"\bsrc=", tag)
    ]
    assert inline_scripts == []
    assert re.findall(r"<style\b", html) == []
    assert re.findall(r"\sstyle=\"", html) == []
    assert re.findall(r"\son[a-z]+=\"", html) == []  # onclick= and friends are inline script


def _django_policy(request_factory_path: str = "/") -> str:
    """What Django's own CSP middleware writes for the current settings."""
    from django.http import HttpResponse
    from django.middleware.csp import ContentSecurityPolicyMiddleware
    from django.test import RequestFactory

    request = RequestFactory().get(request_factory_path)
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    middleware.process_request(request)
    response = middleware.process_response(request, HttpResponse())
    return str(response["Content-Security-Policy"])


def test_the_policy_written_once_is_the_one_django_writes_and_follows_the_settings(
    client: Client, settings
):
    assert client.get("/api/health/")["Content-Security-Policy"] == _django_policy()

    settings.SECURE_CSP = {**settings.SECURE_CSP, "img-src": ["'self'"]}

    assert client.get("/api/health/")["Content-Security-Policy"] == _django_policy()
    assert "img-src 'self'" in _django_policy()


def test_a_policy_with_a_nonce_is_left_to_django_which_writes_one_per_answer(settings):
    from django.utils.csp import CSP

    from project.middleware import _site_policies

    assert _site_policies() is not None
    settings.SECURE_CSP = {**settings.SECURE_CSP, "script-src": [CSP.SELF, CSP.NONCE]}

    assert _site_policies() is None
