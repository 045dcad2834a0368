"""Bad input gets a 422 naming the parameter; unknown routes and wrong methods get JSON."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/artists/?limit=-1", "limit"),
        ("/api/artists/?limit=0", "limit"),
        ("/api/artists/?limit=100000000000000000000000", "limit"),
        ("/api/artists/?limit=ten", "limit"),
        ("/api/artists/?offset=-5", "offset"),
        ("/api/artists/?offset=1e3", "offset"),
        ("/api/artists/?offset=99999999999999999999", "offset"),
        ("/api/releases/?limit=%00", "limit"),
        ("/api/snapshots/?offset=abc", "offset"),
        ("/api/artists/?ordering=loudest", "ordering"),
        ("/api/artists/?ordering=", "ordering"),
        ("/api/artists/?new=perhaps", "new"),
        ("/api/artists/?date=yesterday", "date"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_parameter(client: Client, path: str, parameter: str):
    response = client.get(path)

    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert detail.startswith("Invalid request: ")
    assert f"{parameter}: " in detail


def test_an_unknown_route_is_a_404_in_json(client: Client):
    response = client.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_wrong_method_is_a_405_in_json_saying_which_to_use(client: Client, method: str):
    response = getattr(client, method)("/api/artists/")

    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed; use GET"}
    assert response["Allow"] == "GET"


@pytest.mark.parametrize(
    "moment",
    [
        "1073-10-24T08:34:13.1%2B17:50",  # an offset PostgreSQL refuses (found by schemathesis)
        "0001-01-01T00:00:00%2B01:00",  # before year 1 once in UTC
        "9999-12-31T23:59:59-10:00",  # after year 9999 once in UTC
    ],
)
def test_a_first_seen_after_at_the_edges_of_time_is_no_500(client: Client, moment: str):
    for path in ("/api/releases/", "/api/releases.csv", "/api/artists/"):
        response = client.get(f"{path}?first_seen_after={moment}")

        assert response.status_code in (200, 422), (path, response.content[:300])


@pytest.mark.parametrize(
    "path",
    [
        "/api/artists.csv?album_type=%00",  # found by schemathesis: a 500 mid-stream
        "/api/artists/?q=a%00b",
        "/api/releases/?album_type=single&genre=%00",
    ],
)
def test_a_nul_character_in_a_parameter_is_a_422_naming_it(client: Client, path: str):
    response = client.get(path)

    assert response.status_code == 422
    name = path.split("%00")[0].rsplit("&", 1)[-1].rsplit("?", 1)[-1].split("=")[0]
    assert response.json() == {
        "detail": f"Invalid request: {name}: must not contain NUL characters"
    }


@pytest.mark.parametrize("path", ["/api/artists/a%00b/", "/api/releases/a%00b/", "/artists/a%00b/"])
def test_a_nul_character_in_the_path_is_a_404(client: Client, path: str):
    response = client.get(path)

    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.json() == {"detail": "Not Found"}
