import base64
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.models import WebhookDelivery, WebhookEndpoint

BEFORE = [("catalog", "0006_database_level_deletes")]
AFTER = [("catalog", "0007_webhooks_standard_signing")]


@pytest.mark.django_db(transaction=True)
def test_existing_plaintext_secrets_are_encrypted_as_the_same_key_in_standard_form():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO catalog_webhookendpoint (url, secret, album_types, artist_ids, "
                "active, consecutive_failures, disabled_reason, created_at) "
                "VALUES ('http://127.0.0.1/hook', 'old-plain-secret', '{}', '{}', true, 0, '', "
                "now()) RETURNING id"
            )
            [(endpoint_pk,)] = cursor.fetchall()
            cursor.execute(
                "INSERT INTO catalog_webhookdelivery (endpoint_id, delivery_id, status, attempts, "
                "last_error, release_ids, release_count, created_at) VALUES "
                "(%s, gen_random_uuid(), 'pending', 0, '', '[]', 0, %s)",
                [endpoint_pk, datetime(2026, 1, 1, tzinfo=UTC)],
            )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )

    endpoint = WebhookEndpoint.objects.get(pk=endpoint_pk)
    # The HMAC key is unchanged: a receiver keeps its key and adopts the new headers.
    assert endpoint.secret == "whsec_" + base64.b64encode(b"old-plain-secret").decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM catalog_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert "old-plain-secret" not in stored
    assert endpoint.secret not in stored
    # The old code's queued task names a function that is gone: the delivery is stale at once.
    assert WebhookDelivery.objects.get().attempt_at == datetime(2026, 1, 1, tzinfo=UTC)
