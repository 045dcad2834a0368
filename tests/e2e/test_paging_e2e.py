"""A sync over several pages against the fake served over HTTP, which writes its paging links as
Spotify does (absolute, on https://api.spotify.com): every request must still go to the fake."""

from typing import Any

import httpx
import pytest

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread
from tests.e2e.conftest import point_settings_at

pytestmark = pytest.mark.django_db


def test_a_60_album_sync_follows_spotifys_next_links_to_the_fake_only(settings, monkeypatch):
    sent: list[httpx.URL] = []
    next_links: list[str | None] = []
    send = httpx.Client.send

    def recording_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        sent.append(request.url)
        response = send(self, request, **kwargs)
        if request.url.path.endswith("/browse/new-releases"):
            next_links.append(response.json()["albums"]["next"])
        return response

    monkeypatch.setattr(httpx.Client, "send", recording_send)
    app = FakeSpotify(FakeConfig(release_count=60))
    with serve_in_thread(app) as root:
        point_settings_at(settings, root)

        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.release_count == 60
    assert app.stats()["GET /v1/browse/new-releases"] == 2  # 50 + 10, page 2 by its `next` link
    assert next_links == ["https://api.spotify.com/v1/browse/new-releases?offset=50&limit=50", None]
    fake = httpx.URL(root)
    assert sent
    assert {(url.scheme, url.host, url.port) for url in sent} == {
        (fake.scheme, fake.host, fake.port)
    }
