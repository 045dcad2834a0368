import pytest
import respx

from tests.spotify.oauth_support import AccountsService, me_route


@pytest.fixture
def accounts(spotify_mock: respx.MockRouter) -> AccountsService:
    """Spotify's token endpoint, mocked; it records every grant it answers."""
    return AccountsService(spotify_mock)


@pytest.fixture
def me(spotify_mock: respx.MockRouter, accounts: AccountsService) -> respx.Route:
    return me_route(spotify_mock, accounts)
