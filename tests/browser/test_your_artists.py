"""Your artists in a real browser, in demo mode: a user who is not staff signs in, connects
their own account through the fake's consent page, sees the Following view, and turns the
playlist on (an incremental consent). Screenshots under test-results/screenshots/."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django_q.conf import Conf
from playwright.sync_api import Page, expect

from catalog.models import Artist, PlaylistLink, SyncRun
from catalog.services import sync_run_execute
from spotify.demo import demo_app
from spotify.models import UserConnection
from tests.browser.support import screenshot

LISTENER, PASSWORD = "listener", "a-long-listener-password"


@pytest.fixture
def listener(transactional_db: None) -> Any:
    return get_user_model().objects.create_user(LISTENER, password=PASSWORD)


@pytest.fixture
def fresh_demo(demo_mode: None) -> Iterator[None]:
    """The demo's fake keeps its playlists in the process: each scenario starts without any."""
    demo_app().state.reset()
    yield
    demo_app().state.reset()


def _sign_in_and_connect(page: Page) -> None:
    page.goto("/accounts/login/?next=/me/")
    page.get_by_label("Username").fill(LISTENER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")
    page.get_by_test_id("me-connect").click()
    expect(page.get_by_role("heading", name=re.compile("Connect to Spotify"))).to_be_visible()
    page.get_by_role("button", name="Agree").click()
    page.wait_for_url("**/me/")
    expect(page.get_by_test_id("me-connection")).to_contain_text("Connected as")


def _sync() -> SyncRun:
    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def test_the_following_view_shows_the_followed_artists_releases(
    page: Page, fresh_demo: None, listener: Any
):
    _sign_in_and_connect(page)
    _sync()

    page.get_by_test_id("nav-following").click()
    page.wait_for_url("**/following/")
    cards = page.get_by_test_id("artist-card")
    expect(cards.first).to_be_visible()
    followed = set(
        Artist.objects.filter(follows__connection__user=listener).values_list("name", flat=True)
    )
    names = page.locator(".artist-card__name").all_inner_texts()
    assert names
    assert set(names) <= followed
    screenshot(page, "your-artists-following", full_page=True)

    # The grid's search, on the followed artists only.
    term = names[0][:5]
    page.get_by_label("Search artists and releases").fill(term)
    page.wait_for_url(re.compile(r"/following/\?.*q="))
    for name in page.locator(".artist-card__name").all_inner_texts():
        assert name in followed

    # The global grid marks them.
    page.goto("/")
    expect(page.get_by_test_id("follow-mark").first).to_be_visible()
    marked = page.locator("[data-artist-id]:has([data-testid=follow-mark]) .artist-card__name")
    assert set(marked.all_inner_texts()) <= followed


def test_turning_the_playlist_on_asks_spotify_then_creates_it(
    page: Page, fresh_demo: None, listener: Any, monkeypatch: pytest.MonkeyPatch
):
    # "Update now" queues a task; run it in this process, where the demo's fake keeps playlists.
    monkeypatch.setattr(Conf, "SYNC", True)
    _sign_in_and_connect(page)
    _sync()
    page.goto("/me/")

    page.get_by_test_id("playlist-on").click()
    expect(page.get_by_role("heading", name="One more permission")).to_be_visible()
    page.get_by_test_id("playlist-consent").click()
    expect(page.get_by_text("playlist-modify-private")).to_be_visible()
    page.get_by_role("button", name="Agree").click()
    page.wait_for_url("**/me/")
    assert UserConnection.objects.get().has_scope("playlist-modify-private")

    page.get_by_test_id("playlist-update").click()
    page.wait_for_url("**/me/")
    state = page.get_by_test_id("me-playlist")
    expect(state.get_by_role("link", name="open it in Spotify")).to_be_visible()
    link = PlaylistLink.objects.get()
    (playlist,) = demo_app().playlists()
    assert playlist.id == link.spotify_id
    assert playlist.items
    expect(page.get_by_test_id("playlist-state")).to_contain_text(f"{len(playlist.items)} track")
    screenshot(page, "your-artists-playlist-on", full_page=True)

    page.get_by_test_id("playlist-off").click()
    page.wait_for_url("**/me/")
    expect(page.get_by_test_id("playlist-on")).to_be_visible()
    assert not PlaylistLink.objects.exists()
