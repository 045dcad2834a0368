"""The four scenarios of the dashboard, in a real browser. Each saves a screenshot of its end
state under test-results/screenshots/."""

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from catalog.models import Artist, Release, SyncRun
from spotify.models import SpotifyConnection
from tests.browser.support import screenshot, sign_in

# Generous: the worker process has to start, then sync through a deliberately slow fake.
SYNC_TIMEOUT_MS = 90_000


def test_anonymous_visitor_sees_the_artists_and_no_action_buttons(page: Page, synced: SyncRun):
    page.goto("/")
    cards = page.get_by_test_id("artist-card")
    expect(cards).to_have_count(24)
    expect(page.get_by_test_id("connection-state")).to_contain_text("Demo data")
    expect(page.get_by_role("note")).to_contain_text("Demo mode")
    expect(page.get_by_test_id("last-sync-time")).to_have_text("just now")
    expect(page.get_by_role("button", name="Refresh now")).to_have_count(0)
    expect(page.get_by_role("button", name="Connect Spotify")).to_have_count(0)
    expect(page.get_by_role("button", name="Disconnect")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    screenshot(page, "1-anonymous-dashboard", full_page=True)

    # Phone-sized and dark: the same page, still readable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    page.goto("/")
    expect(cards.first).to_be_visible()
    screenshot(page, "1-phone-dark")
    page.emulate_media(color_scheme="light")

    # The artist page, one click away.
    first = Artist.objects.filter(credits__isnull=False).order_by("name").first()
    assert first is not None
    page.goto(f"/artists/{first.spotify_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(first.name)
    expect(page.get_by_test_id("release-card").first).to_be_visible()
    screenshot(page, "1-artist-page")


def test_search_filters_the_grid_and_updates_the_url(page: Page, synced: SyncRun):
    page.goto("/")
    artist = Artist.objects.filter(credits__isnull=False).order_by("-name").first()
    assert artist is not None
    term = artist.name[:6].strip()
    expected = (
        Artist.objects.filter(credits__release__entries__snapshot=synced.snapshot)
        .filter(name__icontains=term)
        .distinct()
        .count()
    )
    cards = page.get_by_test_id("artist-card")
    expect(cards).to_have_count(24)

    page.get_by_label("Search artists and releases").press_sequentially(term, delay=30)

    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [term])
    expect(cards.filter(has_text=artist.name).first).to_be_visible()
    # Release names match too, so at least the artist-name matches are shown, never all 24.
    assert expected <= cards.count() < 24
    screenshot(page, "2-search")

    # The URL is shareable: opened fresh, it shows the same results without JavaScript's help.
    shared = page.url
    page.goto(shared)
    expect(page.get_by_label("Search artists and releases")).to_have_value(term)
    expect(cards.filter(has_text=artist.name).first).to_be_visible()


def test_new_since_last_sync_filter_and_the_export_links(page: Page, synced: SyncRun):
    # Only this artist's releases came with the latest sync; the rest was seen the day before.
    artist = Artist.objects.filter(credits__isnull=False).order_by("name").first()
    assert artist is not None
    brought = Release.objects.filter(credits__artist=artist)
    Release.objects.exclude(pk__in=brought).update(
        first_seen_at=synced.started_at - timedelta(days=1)
    )
    expected = Artist.objects.filter(credits__release__in=brought).distinct().count()
    page.goto("/")
    cards = page.get_by_test_id("artist-card")
    expect(cards).to_have_count(24)
    expect(cards.filter(has_text=artist.name).get_by_test_id("new-badge")).to_be_visible()

    page.get_by_label("New since last sync").check()

    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("new") == ["true"])
    expect(cards).to_have_count(expected)
    expect(cards.get_by_test_id("new-badge")).to_have_count(expected)
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", re.compile(r"^/api/artists\.csv\?.*\bnew=true")
    )
    expect(page.get_by_role("link", name="Atom feed")).to_be_visible()
    screenshot(page, "2-new-since-last-sync")


def test_staff_refreshes_and_sees_progress_then_the_new_sync_time(
    page: Page, synced: SyncRun, staff_user: Any, worker: Any
):
    sign_in(page)
    last_sync = page.get_by_test_id("last-sync-time")
    before = last_sync.get_attribute("datetime")
    # Markers a full page load would lose, and that the grid's swap replaces.
    page.evaluate("window.sameDocument = true")
    page.locator("#artist-results").evaluate("grid => grid.dataset.beforeSync = 'yes'")

    page.get_by_role("button", name="Refresh now").click()

    progress = page.get_by_test_id("sync-progress")
    # Queued first (the worker may still be starting), then running, polled once a second.
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("Syncing now", timeout=SYNC_TIMEOUT_MS)
    screenshot(page, "3-refresh-in-progress")
    expect(page.get_by_test_id("sync-progress")).to_have_count(0, timeout=SYNC_TIMEOUT_MS)
    expect(last_sync).not_to_have_attribute("datetime", before or "")
    expect(last_sync).to_have_text("just now")
    expect(page.get_by_role("button", name="Refresh now")).to_be_enabled()
    # The artist list was swapped in after the run, without reloading the page.
    expect(page.locator("#artist-results[data-before-sync]")).to_have_count(0)
    expect(page.get_by_test_id("artist-card")).to_have_count(24)
    assert page.evaluate("window.sameDocument") is True
    runs = SyncRun.objects.exclude(pk=synced.pk)
    assert [(run.trigger, run.status) for run in runs] == [("manual", "succeeded")]
    screenshot(page, "3-refresh-done")


def test_staff_connects_spotify_through_the_consent_page(
    page: Page, synced: SyncRun, staff_user: Any
):
    staff_user.user_permissions.add(Permission.objects.get(codename="manage_site_connection"))
    sign_in(page)
    expect(page.get_by_test_id("connection-state")).to_contain_text("Demo data")

    # A form that posts with the CSRF token: a link from another site cannot start it.
    page.get_by_role("button", name="Connect Spotify").click()
    expect(page.get_by_role("heading", name=re.compile("Connect to Spotify"))).to_be_visible()
    page.get_by_role("button", name="Agree").click()

    page.wait_for_url(re.compile(r"/$"))
    state = page.get_by_test_id("connection-state")
    expect(state).to_contain_text("Connected as")
    connection = SpotifyConnection.objects.get()
    expect(state).to_contain_text(connection.display_name)
    expect(page.get_by_role("button", name="Disconnect")).to_be_visible()
    screenshot(page, "4-connected")
