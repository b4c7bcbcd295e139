"""Periodic housekeeping, scheduled by Celery beat (CELERY_BEAT_SCHEDULE in settings)."""

import logging

from celery import shared_task
from django.conf import settings

from . import cleanup
from .warmup import Warmer

logger = logging.getLogger("ops.tasks")


@shared_task(name="ops.cleanup", soft_time_limit=600, time_limit=660, ignore_result=True)
def cleanup_task() -> dict[str, int]:
    counts = cleanup.run(cleanup.Options())
    logger.info("cleanup finished", extra={"counts": counts})
    return counts


@shared_task(name="ops.warm_cache", soft_time_limit=600, time_limit=660, ignore_result=True)
def warm_cache_task(pages: int = 3, details: int = 200) -> int:
    report = Warmer(settings.PUBLIC_BASE_URL).run(pages=pages, details=details)
    logger.info("cache warmed", extra={"pages": report.pages, "seconds": round(report.seconds, 1)})
    return report.pages
