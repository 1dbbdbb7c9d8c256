"""A small system under test for the Celery replay: an Orders worker whose `orders.ship_order` task records
each execution in the JSON store and, like a real pipeline, creates the order's invoice — except for the
orders listed in CRM_MOCK_TEST_SKIP_INVOICES, so an expect event can be seen missing.

Run as `celery -A crm_mock_tests.replay_system worker -Q <queue>` with CRM_MOCK_TEST_BROKER,
CRM_MOCK_TEST_RESULTS and CRM_MOCK_TEST_STORE_URL set.
"""

from __future__ import annotations

import os

import httpx
from celery import Celery

app = Celery("crm_mock_test_system", broker=os.environ.get("CRM_MOCK_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
             backend=os.environ.get("CRM_MOCK_TEST_RESULTS"))
app.conf.update(task_acks_late=False, worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True)


@app.task(name="orders.ship_order", bind=True)
def ship_order(self, order_uuid: str, shipped_at: str, **extra) -> dict:
    store = os.environ["CRM_MOCK_TEST_STORE_URL"]
    skipped = set(filter(None, os.environ.get("CRM_MOCK_TEST_SKIP_INVOICES", "").split(",")))
    key = (self.request.headers or {}).get("idempotency_key") or getattr(self.request, "idempotency_key", None)
    with httpx.Client(base_url=store, timeout=10) as client:
        client.post("/executions", json={"task_id": self.request.id, "order_uuid": order_uuid,
                                         "idempotency_key": key}).raise_for_status()
        if order_uuid not in skipped:
            client.post("/invoices", json={"order_uuid": order_uuid, "issued_at": shipped_at}).raise_for_status()
    return {"order_uuid": order_uuid}
