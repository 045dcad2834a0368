"""With the database down: 503 JSON under /api/, a friendly self-contained page elsewhere."""

from collections.abc import Iterator

import pytest
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from catalog.models import SyncRun
from project.urls import urlpatterns as site_urlpatterns

pytestmark = pytest.mark.django_db


def page_reading_the_database(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{SyncRun.objects.count()} syncs")


urlpatterns = [path("db-page/", page_reading_the_database), *site_urlpatterns]


@pytest.fixture
def client() -> Client:
    """As in production: an error becomes the error page, not an exception in the test."""
    return Client(raise_request_exception=False)


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every query fails as it does when PostgreSQL is stopped or unreachable."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

    connection.ensure_connection()  # the test's own transaction is already open
    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)
    yield
    monkeypatch.undo()


@pytest.mark.parametrize(
    "path", ["/api/artists/", "/api/releases/", "/api/snapshots/", "/api/artists/x/"]
)
def test_the_api_answers_503_json(client: Client, database_down: None, path: str):
    response = client.get(path)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "The database is unavailable; try again in a moment"}
    assert response["Retry-After"] == "30"


def test_health_answers_503_json(client: Client, database_down: None):
    response = client.get("/api/health/")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


@pytest.mark.urls("tests.security.test_database_down")
def test_a_page_answers_a_friendly_503_page(client: Client, database_down: None):
    response = client.get("/db-page/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "We'll be right back" in html
    assert "Nothing is lost" in html
    assert "<script" not in html
    assert "<link" not in html  # self-contained: no static file to fetch


def test_the_dashboard_answers_a_friendly_503_page(client: Client, database_down: None):
    response = client.get("/")

    assert response.status_code == 503
    assert "We'll be right back" in response.content.decode()
