from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The API's response cache lives in process memory; one test's answers are not the next's."""
    cache.clear()
    yield
    cache.clear()
