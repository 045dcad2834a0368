from collections.abc import Iterator

import httpx
import pytest

from spotify.fake import FakeConfig, FakeSpotify
from tests.fake.helpers import app_token, bearer


@pytest.fixture
def fake() -> FakeSpotify:
    return FakeSpotify(FakeConfig())


@pytest.fixture
def client(fake: FakeSpotify) -> Iterator[httpx.Client]:
    transport = httpx.WSGITransport(app=fake)
    with httpx.Client(transport=transport, base_url="http://fake.test") as http:
        yield http


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    return bearer(app_token(client))
