"""A signed-in user adds an Apprise target on the Notifications page (linked from their page) and send a test, in a real browser; the
demo's covers are pictures from our own static files."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from catalog.models import NotificationTarget, SyncRun
from tests.browser.support import screenshot
from tests.catalog.notifications.support import apprise_url, messages
from tests.catalog.webhooks.support import Receiver, receiver_serving


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.NOTIFY_ALLOW_PRIVATE = True  # the receiver is on loopback
    with receiver_serving() as state:
        yield state


def test_a_signed_in_user_adds_a_target_and_sends_a_test(
    page: Page, transactional_db: None, demo_mode: None, receiver: Receiver
):
    get_user_model().objects.create_user("listener", password="a-long-listener-password")
    page.goto("/accounts/login/?next=/me/")
    page.get_by_label("Username").fill("listener")
    page.get_by_label("Password").fill("a-long-listener-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")
    page.get_by_test_id("me-notifications").click()
    page.wait_for_url("**/notifications/")

    page.get_by_label("Apprise URL").fill("nonsense://what")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Apprise does not understand this URL")).to_be_visible()
    expect(page.get_by_test_id("notification-target")).to_have_count(0)

    page.get_by_label("Apprise URL").fill(apprise_url(receiver))
    page.get_by_label("Single").check()
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_test_id("notification-notice")).to_have_text("Target added.")
    expect(page.get_by_test_id("notification-target")).to_have_count(1)
    target = NotificationTarget.objects.get(album_types=["single"])

    page.get_by_test_id("notification-target").filter(
        has_text=f":{receiver.port}/hook"
    ).get_by_role("button", name="Send a test").click()

    expect(page.get_by_test_id("notification-notice")).to_have_text(f"Test sent to {target.label}.")
    assert [m["title"] for m in messages(receiver)] == ["Test from Spotify New Releases"]
    screenshot(page, "notifications-test-sent")


def test_demo_covers_show_without_any_network(page: Page, synced: SyncRun):
    page.context.route("https://**/*", lambda route: route.abort())  # offline: no CDN at all
    page.goto("/")

    covers = page.locator("img[src^='/static/demo/covers/']")
    expect(covers.first).to_be_visible()
    assert covers.count() > 10
    # The first row is on screen (the others load lazily): every one of its pictures is drawn.
    page.wait_for_function(
        """() => [...document.querySelectorAll("img[src^='/static/demo/covers/']")]
            .slice(0, 4).every(image => image.complete && image.naturalWidth > 0)"""
    )
    assert page.locator("img[src*='scdn.co']").count() == 0
