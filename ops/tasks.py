"""Periodic housekeeping, scheduled by Celery beat (CELERY_BEAT_SCHEDULE in settings)."""

import logging

from celery import shared_task

from . import cleanup, warmup
from .models import CacheWarmup, WarmupStatus

logger = logging.getLogger("ops.tasks")


@shared_task(name="ops.cleanup", soft_time_limit=600, time_limit=660, ignore_result=True)
def cleanup_task() -> dict[str, int]:
    counts = cleanup.run(cleanup.Options())
    logger.info("cleanup finished", extra={"counts": counts})
    return counts


@shared_task(name="ops.warm_cache", soft_time_limit=600, time_limit=660, ignore_result=True)
def warm_cache_task(pages: int = 3, details: int = 200) -> int:
    """The scheduled warm-up: a warm-up the cache panel asked for and no worker took (the broker was down)
    is this one; otherwise a new one is recorded."""
    if not warmup.cache_is_shared():
        logger.info("cache warm-up skipped: the cache is each web process's own memory")
        return 0
    waiting = warmup.in_progress()
    if waiting is not None and waiting.status == WarmupStatus.RUNNING:
        return 0
    job = waiting or CacheWarmup.objects.create()
    done = warmup.run(job.pk, where="worker (schedule)", pages=pages, details=details)
    return done.pages if done is not None else 0


@shared_task(name="ops.warm_cache_job", soft_time_limit=600, time_limit=660, ignore_result=True)
def warm_cache_job(warmup_id: int) -> None:
    """A warm-up asked for in the cache panel."""
    warmup.run(warmup_id, where="worker")
