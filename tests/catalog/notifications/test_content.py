from datetime import UTC, date, datetime

import pytest

from catalog.models import Release
from catalog.notifications.content import notification_message
from catalog.notifications.validators import notification_plugin
from tests.factories import ArtistFactory, ReleaseFactory, credit

pytestmark = pytest.mark.django_db

SITE = "https://releases.example.com"
AFTER = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _releases(count: int) -> list[Release]:
    releases = []
    for index in range(count):
        release = ReleaseFactory.create(
            name=f"Song {index}",
            album_type="single",
            release_date_sort=date(2026, 11, 28),
        )
        credit(release, ArtistFactory.create(name=f"Band {index}"))
        releases.append(release)
    return releases


def test_lines_name_artist_release_type_and_day_with_their_link():
    [release] = _releases(1)

    message = notification_message(
        releases=[release],
        plugin=notification_plugin("ntfy://ntfy.example.com/topic"),  # text only
        site_url=SITE,
        first_seen_after=AFTER,
    )

    assert message.title == "1 new release"
    assert message.body == f"Band 0 \N{EN DASH} Song 0 (single, 28 Nov) {release.spotify_url}"
    assert message.body_format == "text"


def test_markdown_for_services_that_take_it_with_names_escaped():
    [release] = _releases(1)
    release.name = "[Deluxe] *Edition*"

    message = notification_message(
        releases=[release],
        plugin=notification_plugin("discord://1234567/abcdefghijk"),
        site_url=SITE,
        first_seen_after=AFTER,
    )

    assert message.body_format == "markdown"
    assert message.body == (
        rf"- [Band 0 {chr(0x2013)} \[Deluxe\] \*Edition\*]({release.spotify_url}) (single, 28 Nov)"
    )


def test_a_long_list_is_cut_to_the_service_limit_and_links_to_the_rest():
    releases = _releases(60)
    plugin = notification_plugin("discord://1234567/abcdefghijk")  # 2,000 characters

    message = notification_message(
        releases=releases, plugin=plugin, site_url=SITE, first_seen_after=AFTER
    )

    assert message.title == "60 new releases"
    assert len(message.body) <= plugin.body_maxlen
    lines = message.body.splitlines()
    shown = len(lines) - 1
    assert 10 < shown < 60
    assert lines[-1] == (
        f"…and [{60 - shown} more]({SITE}/?first_seen_after=2026-12-01T08%3A00%3A00%2B00%3A00)"
    )
    assert all(line.startswith("- [Band ") for line in lines[:-1])


def test_a_service_without_titles_gets_the_title_in_its_budget():
    releases = _releases(80)
    plugin = notification_plugin("tgram://123456789:abcdefg_hijklmnop/12345/")  # no title

    message = notification_message(
        releases=releases, plugin=plugin, site_url=SITE, first_seen_after=AFTER
    )

    assert plugin.title_maxlen == 0
    assert len(message.title) + 2 + len(message.body) <= plugin.body_maxlen
    assert "more](" in message.body.splitlines()[-1]
