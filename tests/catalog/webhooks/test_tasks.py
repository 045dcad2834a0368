import pytest
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.tasks import async_task

from catalog.models import WebhookDelivery
from catalog.webhooks.services import ATTEMPT_TASK, webhook_deliveries_create
from tests.catalog.webhooks.support import endpoint_create, releases_create, worker_run

pytestmark = pytest.mark.django_db


def test_the_attempt_task_is_found_by_the_path_django_q_stores(receiver):
    endpoint_create(receiver)
    [delivery] = webhook_deliveries_create(run=None, releases=releases_create(1))
    async_task(ATTEMPT_TASK, delivery.pk, 1)
    assert OrmQ.objects.get().task["func"] == "catalog.webhooks.tasks.webhook_delivery_attempt"

    assert worker_run() == 1

    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    import_string(ATTEMPT_TASK)(delivery.pk, 1)  # a task re-run after success posts nothing
    assert len(receiver.requests) == 1
