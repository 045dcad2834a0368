"""Helpers for the browser scenarios."""

from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
STAFF_USERNAME = "editor"
STAFF_PASSWORD = "a-long-browser-test-password"


def sign_in(page: Page) -> None:
    """Through the admin's login form, as staff do."""
    page.goto("/admin/login/?next=/")
    page.get_by_label("Username").fill(STAFF_USERNAME)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
