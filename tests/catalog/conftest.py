import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    """The API caches answers keyed on the data version; tests change data without a sync."""
    cache.clear()
    yield
    cache.clear()
