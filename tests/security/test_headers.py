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
