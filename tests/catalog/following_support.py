"""Your artists end to end: users who connect their own account on the fake Spotify, over HTTP."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread
from tests.e2e.conftest import FakeServer, point_settings_at


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeServer]:
    """The fake Spotify over HTTP, whose accounts follow a few artists each. Test modules take it
    with `fake = following_support.fake`."""
    app = FakeSpotify(FakeConfig(release_count=60, followed_artist_count=6))
    with serve_in_thread(app) as root:
        point_settings_at(settings, root)
        yield FakeServer(app=app, root=root)


def signed_in(name: str) -> Client:
    """A user who is not staff, signed in."""
    user = get_user_model().objects.create_user(username=name, password="unused-password-1")
    client = Client()
    client.force_login(user)
    return client


def connect(client: Client, *, account: str, scopes: tuple[str, ...] = ()) -> Any:
    """The user connects their own Spotify account: our POST, the fake's consent page agreed as
    `account`, and the callback; returns the callback's response."""
    start = client.post("/auth/login/", {"connection": "mine", "scope": list(scopes)})
    assert start.status_code == 302, start.content[:200]
    authorize = start["Location"]
    with httpx.Client() as browser:
        fields = parse_qs(urlsplit(authorize).query, keep_blank_values=True)
        form = {name: values[0] for name, values in fields.items()}
        answer = browser.post(
            authorize.split("?")[0], data=form | {"decision": "agree", "account": account}
        )
    assert answer.status_code in (302, 303), answer.text[:200]
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def sync() -> SyncRun:
    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def followed_ids(fake: FakeServer, account: str) -> set[str]:
    dataset = fake.app.state.dataset
    count = fake.app.config.followed_artist_count
    return {artist.id for artist in dataset.followed_artists(account, count)}
