from collections.abc import Iterator
from typing import Any

import pytest

from tests.catalog.webhooks.support import Receiver, receiver_serving


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_BACKOFF_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_serving() as state:
        yield state
