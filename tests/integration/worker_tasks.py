"""Tasks that only the integration tests' workers load (`celery worker --include tests.integration.worker_tasks`)."""

import time

import redis
from celery import shared_task
from django.conf import settings


@shared_task(name="tests.integration.record_slowly", ignore_result=True)
def record_slowly(key: str, seconds: float) -> None:
    """Notes its start and its end in the broker's Redis, `seconds` apart: a job long enough to interrupt."""
    store = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    store.rpush(f"{key}:started", time.time())
    time.sleep(seconds)
    store.rpush(f"{key}:finished", time.time())
