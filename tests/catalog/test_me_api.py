"""/api/me/ and the private feed: one user's followed artists and their releases, by session or
personal token; nobody else's, ever."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from catalog.access_tokens import (
    feed_token_get_or_create,
    feed_token_rotate,
    personal_token_create,
    personal_token_revoke,
)
from catalog.models import FollowedArtist, PersonalToken
from spotify.models import UserConnection
from tests.factories import ArtistFactory, ReleaseFactory, credit

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def _user_following(name: str, *artists):
    user = get_user_model().objects.create_user(username=name, password="unused-password-1")
    connection = UserConnection.objects.create(user=user, account_id=f"spotify-{name}")
    for artist in artists:
        FollowedArtist.objects.create(connection=connection, artist=artist)
    return user


def _released(days_ago: int, *artists, **fields):
    day = timezone.localdate() - timedelta(days=days_ago)
    release = ReleaseFactory.create(release_date=day.isoformat(), release_date_sort=day, **fields)
    credit(release, *artists)
    return release


@pytest.fixture
def two_users():
    mine, theirs, shared = ArtistFactory.create(), ArtistFactory.create(), ArtistFactory.create()
    alice = _user_following("alice", mine, shared)
    bob = _user_following("bob", theirs, shared)
    releases = {
        "mine_new": _released(2, mine, album_type="single"),
        "mine_old": _released(30, mine),
        "theirs": _released(1, theirs),
        "shared": _released(5, shared),
    }
    return alice, bob, releases


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [item["id"] for item in response.json()["items"]]


def test_the_signed_in_user_reads_only_releases_of_artists_they_follow(two_users):
    alice, bob, releases = two_users

    answer = _session(alice).get("/api/me/releases/")

    assert _ids(answer) == [releases["mine_new"].spotify_id, releases["shared"].spotify_id]
    assert answer.json()["count"] == 2
    item = answer.json()["items"][0]
    assert item["artists"][0]["id"] == releases["mine_new"].artists.get().spotify_id
    assert {"first_seen_at", "label", "popularity", "album_type", "image"} <= set(item)
    assert _ids(_session(bob).get("/api/me/releases/")) == [
        releases["theirs"].spotify_id,
        releases["shared"].spotify_id,
    ]


def test_releases_are_filtered_like_the_rest_of_the_api(two_users):
    alice, _, releases = two_users
    client = _session(alice)

    assert _ids(client.get("/api/me/releases/", {"days": 60})) == [
        releases["mine_new"].spotify_id,
        releases["shared"].spotify_id,
        releases["mine_old"].spotify_id,
    ]
    assert _ids(client.get("/api/me/releases/", {"album_type": "single"})) == [
        releases["mine_new"].spotify_id
    ]
    assert _ids(client.get("/api/me/releases/", {"limit": 1, "offset": 1})) == [
        releases["shared"].spotify_id
    ]
    cursor = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert _ids(client.get("/api/me/releases/", {"first_seen_after": cursor})) == []


@pytest.mark.parametrize(
    "query",
    [{"days": 0}, {"days": 91}, {"album_type": "ep"}, {"limit": 0}, {"colour": "blue"}],
)
def test_invalid_or_unknown_parameters_are_422_json(two_users, query):
    alice, _, _ = two_users

    response = _session(alice).get("/api/me/releases/", query)

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith("Invalid request")


def test_anonymous_callers_get_401_json(two_users):
    for path in ("/api/me/releases/", "/api/me/artists/"):
        response = Client().get(path)
        assert response.status_code == 401
        assert response.json() == {"detail": "Unauthorized"}


def test_a_personal_token_reads_its_owners_releases_only(two_users):
    alice, bob, releases = two_users
    alice_token = personal_token_create(user=alice, name="script")
    bob_token = personal_token_create(user=bob)

    as_alice = Client().get("/api/me/releases/", headers={"Authorization": f"Bearer {alice_token}"})
    as_bob = Client().get("/api/me/releases/", headers={"Authorization": f"Bearer {bob_token}"})

    assert releases["theirs"].spotify_id not in _ids(as_alice)
    assert releases["mine_new"].spotify_id not in _ids(as_bob)
    stored = PersonalToken.objects.get(user=alice)
    assert alice_token not in (stored.token_hash, stored.prefix)
    assert stored.last_used_at is not None


def test_a_revoked_or_wrong_token_is_401(two_users):
    alice, _, _ = two_users
    token = personal_token_create(user=alice)
    personal_token_revoke(token_id=PersonalToken.objects.get().pk, user=alice)

    for wrong in (token, token + "x", ""):
        response = Client().get("/api/me/artists/", headers={"Authorization": f"Bearer {wrong}"})
        assert response.status_code == 401


def test_revoking_another_users_token_is_not_found_and_keeps_it(two_users):
    alice, bob, _ = two_users
    token = personal_token_create(user=bob)

    with pytest.raises(PersonalToken.DoesNotExist):
        personal_token_revoke(token_id=PersonalToken.objects.get().pk, user=alice)

    response = Client().get("/api/me/artists/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_followed_artists_have_their_last_check(two_users):
    alice, _, _ = two_users
    checked_at = timezone.now() - timedelta(hours=3)
    mine = FollowedArtist.objects.filter(connection__user=alice).earliest("pk").artist
    mine.albums_checked_at = checked_at
    mine.save()

    body = _session(alice).get("/api/me/artists/").json()

    assert body["count"] == 2
    by_id = {item["id"]: item for item in body["items"]}
    assert by_id[mine.spotify_id]["last_checked_at"] is not None
    assert sum(item["last_checked_at"] is None for item in body["items"]) == 1
    assert all(item["releases"] for item in body["items"])


def _feed_entries(response) -> list[str | None]:
    assert response.status_code == 200, response.content[:300]
    root = ElementTree.fromstring(response.content)
    return [entry.findtext(f"{ATOM}id") for entry in root.iter(f"{ATOM}entry")]


def test_the_private_feed_lists_the_users_releases_and_a_rotated_token_is_404(two_users):
    alice, _, releases = two_users
    token = feed_token_get_or_create(user=alice)

    entries = _feed_entries(Client().get(f"/feeds/me/{token}.atom"))

    assert set(entries) == {
        f"spotify:album:{releases[name].spotify_id}" for name in ("mine_new", "mine_old", "shared")
    }
    assert _feed_entries(Client().get(f"/feeds/me/{token}.atom", {"album_type": "single"})) == [
        f"spotify:album:{releases['mine_new'].spotify_id}"
    ]
    new_token = feed_token_rotate(user=alice)
    assert Client().get(f"/feeds/me/{token}.atom").status_code == 404
    assert Client().get(f"/feeds/me/{new_token}.atom").status_code == 200
    assert Client().get("/feeds/me/not-a-token.atom").status_code == 404


def test_the_feed_of_a_user_who_follows_nobody_is_empty_not_everything(two_users):
    nobody = get_user_model().objects.create_user(username="nobody", password="unused-password-1")

    token = feed_token_get_or_create(user=nobody)

    assert _feed_entries(Client().get(f"/feeds/me/{token}.atom")) == []
