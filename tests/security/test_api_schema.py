"""Schemathesis against the API's OpenAPI document: generated requests, valid and invalid, never get
a 5xx, and every answer matches the schema the API publishes."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection

from project.api import api
from project.wsgi import application
from tests.factories import ArtistFactory, ReleaseFactory, credit, snapshot_with

OPENAPI_PATH = "/api/openapi.json"

# Built from the same object that serves /api/openapi.json (checked below), so that collecting the
# tests needs no database. (schemathesis' lazy `from_fixture` does not work with pytest 9 yet.)
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = application
schema.location = OPENAPI_PATH


@pytest.fixture(autouse=True)
def _catalog(db: None) -> Iterator[None]:
    releases = ReleaseFactory.create_batch(3)
    for release in releases:
        credit(release, ArtistFactory.create(), ArtistFactory.create())
    snapshot_with(releases)
    # Schemathesis calls the WSGI app directly: as Django's test client does, keep the request
    # signals from closing the test's connection (and its transaction) after each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_tested_is_the_one_served(client: Client):
    assert client.get(OPENAPI_PATH).json() == json.loads(json.dumps(api.get_openapi_schema()))


@schema.parametrize()
@settings(
    max_examples=30,
    database=None,
    derandomize=True,  # the same examples on every run: CI is reproducible
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_honours_its_schema_whatever_it_is_sent(case: schemathesis.Case[Any]) -> None:
    # Not required, and not met: pydantic's lax parsing accepts a few values the schema's format
    # forbids (`released_before=0` is 1970-01-01), which is harmless for a read-only API.
    case.call_and_validate(excluded_checks=[negative_data_rejection])
