"""Bench-only URLs (ROOT_URLCONF=bench.urls): the app's, plus a trivial view returning fixed
bytes, the baseline the API is measured against. Never part of the default URL conf."""

import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

_body: list[bytes] = []


def baseline(request: HttpRequest) -> HttpResponse:
    if not _body:
        _body.append(Path(os.environ["BENCH_BASELINE_FILE"]).read_bytes())
    return HttpResponse(_body[0], content_type="application/json; charset=utf-8")


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/baseline/", baseline),
    path("", include("project.urls")),
]
