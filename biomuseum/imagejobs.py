"""How both apps' image tasks run the pipeline (biomuseum/images.py): retries, time limits, outcomes."""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from . import images

logger = logging.getLogger("biomuseum.imagejobs")

IMAGE_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (images.StorageUnavailable, DatabaseError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": settings.IMAGE_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.IMAGE_TASK_SOFT_TIME_LIMIT + 30,
}


def run_image_job(task, model, image_id: int) -> str:
    """Shared by both apps' image tasks: the outcome, with time limits and retries turned into row states."""
    try:
        outcome = images.process(model, image_id, job_id=task.request.id or f"inline-{image_id}")
    except SoftTimeLimitExceeded:
        images.fail(model, image_id, task.request.id, "Processing took too long.")
        return "failed"
    except images.StorageUnavailable as error:
        if task.request.retries >= task.max_retries:
            images.fail(model, image_id, task.request.id, str(error))
            return "failed"
        raise
    logger.info("image job %s for %s %s", outcome, model._meta.label, image_id)
    return outcome
