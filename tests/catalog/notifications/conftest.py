from collections.abc import Iterator
from typing import Any

import pytest

from tests.catalog.webhooks.support import Receiver, receiver_serving


@pytest.fixture(autouse=True)
def _notify_settings(settings: Any) -> None:
    settings.NOTIFY_URLS = []
    settings.NOTIFY_ALLOW_PRIVATE = False
    settings.NOTIFY_DIGEST = "sync"
    settings.NOTIFY_BACKOFF_SECONDS = 0
    settings.NOTIFY_TIMEOUT_SECONDS = 5
    settings.SITE_URL = "https://releases.example.com"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_serving() as state:
        yield state
