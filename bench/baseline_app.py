"""The minimal baseline `make bench` compares the app with: a separate one-file Django project
(settings below, only SecurityMiddleware and CommonMiddleware, no database) whose one view serves
bytes captured from the app. `BENCH_CAPTURE_DIR` holds, for each measured URL, `<n>.body` and
`<n>.json` (its content type and the headers it was answered with); `/<n>/` answers that body with
those headers, so both servers send responses of the same size.

Run: gunicorn bench.baseline_app:application (with the app's gunicorn settings)."""

import json
import os
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

# Set by the app and counted in its answer's length; the baseline's own middleware and server
# write them again.
SERVER_WRITTEN = {"content-length", "content-type", "date", "server", "connection"}
SECURITY_WRITTEN = {"x-content-type-options", "referrer-policy", "cross-origin-opener-policy"}


@cache
def _captured(number: int) -> tuple[bytes, str, tuple[tuple[str, str], ...]]:
    directory = Path(os.environ["BENCH_CAPTURE_DIR"])
    try:
        meta = json.loads((directory / f"{number}.json").read_text())
        body = (directory / f"{number}.body").read_bytes()
    except FileNotFoundError as missing:
        raise Http404 from missing
    headers = tuple(
        (name, value)
        for name, value in meta["headers"].items()
        if name.lower() not in SERVER_WRITTEN | SECURITY_WRITTEN
    )
    return body, meta["content_type"], headers


def captured(request: HttpRequest, number: int) -> HttpResponse:
    body, content_type, headers = _captured(number)
    response = HttpResponse(body, content_type=content_type)
    for name, value in headers:
        response[name] = value
    return response


settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-baseline-not-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
    SECURE_CONTENT_TYPE_NOSNIFF=True,
    SECURE_REFERRER_POLICY="same-origin",
)

urlpatterns = [path("<int:number>/", captured)]

application = get_wsgi_application()
