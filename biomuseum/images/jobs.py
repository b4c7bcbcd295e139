"""The processing job: its states on the image's row (the row is the truth, not a result backend), the
options and outcomes of both apps' image tasks, and what a sweeper queues again."""

import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from .fields import ImageStatus, ProcessedImage
from .renditions import ImageUnprocessable, render
from .storage import StorageUnavailable, original_hash, original_source, rendition_name, write_whole

logger = logging.getLogger("biomuseum.images")


def claim(model: type[ProcessedImage], pk: int, job_id: str) -> ProcessedImage | None:
    """Take the image for this job, or None when there is nothing to do (gone, done, or another job has it)."""
    with transaction.atomic():
        image = model.objects.select_for_update().filter(pk=pk).first()
        if image is None or image.status == ImageStatus.READY:
            return None
        stale_before = timezone.now() - timedelta(seconds=settings.IMAGE_STUCK_AFTER)
        held_by_other = image.job_id and image.job_id != job_id
        if image.status == ImageStatus.PROCESSING and held_by_other and image.processing_started_at > stale_before:
            return None  # a live job has it; a redelivery of this same job (job_id equal) takes it back
        if image.attempts >= settings.IMAGE_MAX_ATTEMPTS:
            image.status, image.error = ImageStatus.FAILED, f"Gave up after {image.attempts} attempts."
            image.save(update_fields=["status", "error", "updated_at"])
            return None
        image.status, image.job_id = ImageStatus.PROCESSING, job_id
        image.processing_started_at, image.attempts = timezone.now(), image.attempts + 1
        image.save(update_fields=["status", "job_id", "processing_started_at", "attempts", "updated_at"])
        return image


def fail(model: type[ProcessedImage], pk: int, job_id: str, message: str) -> None:
    model.objects.filter(pk=pk, job_id=job_id).exclude(status=ImageStatus.READY).update(
        status=ImageStatus.FAILED, error=message[:2000], updated_at=timezone.now()
    )


def process(model: type[ProcessedImage], pk: int, job_id: str) -> str:
    """Make one image ready. Returns what happened; raises StorageUnavailable (and database errors) to retry."""
    image = claim(model, pk, job_id)
    if image is None:
        return "skipped"
    try:
        if not image.content_hash:
            image.content_hash = original_hash(image)
        rendered = render(original_source(image))
    except ImageUnprocessable as error:
        fail(model, pk, job_id, str(error))
        return "failed"
    except FileNotFoundError:
        fail(model, pk, job_id, "The original file is missing.")
        return "failed"
    storage = image.original.storage
    manifest = []
    for rendition in rendered.renditions:
        name = rendition_name(image, rendition)
        write_whole(storage, name, rendition.data)
        manifest.append(
            {
                "url": storage.url(name),
                "path": name,
                "width": rendition.width,
                "height": rendition.height,
                "format": rendition.format,
                "bytes": len(rendition.data),
            }
        )
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=pk).first()
        if current is None or current.job_id != job_id or current.original.name != image.original.name:
            return "superseded"  # deleted, replaced or reclaimed meanwhile: its files are cleanup's
        current.renditions, current.placeholder = manifest, rendered.placeholder
        current.width, current.height = rendered.width, rendered.height  # the stored pixels may lie on their side
        current.dominant_color, current.content_hash = rendered.dominant_color, image.content_hash
        current.status, current.error, current.processed_at = ImageStatus.READY, "", timezone.now()
        current.save()  # a full save: signals tell the page cache the content changed
    return "ready"


def restart(image: ProcessedImage) -> None:
    """Back to pending with its attempts forgiven (after a failure, a new original, a pipeline change)."""
    type(image).objects.filter(pk=image.pk).update(
        status=ImageStatus.PENDING, error="", attempts=0, job_id="", updated_at=timezone.now()
    )
    image.refresh_from_db()


def stuck(model: type[ProcessedImage]):
    """Images a sweeper should enqueue again: pending for a while (the broker was down?) or processing too long."""
    now = timezone.now()
    return model.objects.filter(
        Q(status=ImageStatus.PENDING, updated_at__lt=now - timedelta(seconds=settings.IMAGE_PENDING_GRACE))
        | Q(
            status=ImageStatus.PROCESSING, processing_started_at__lt=now - timedelta(seconds=settings.IMAGE_STUCK_AFTER)
        )
    ).values_list("pk", flat=True)


IMAGE_TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (StorageUnavailable, DatabaseError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": settings.IMAGE_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.IMAGE_TASK_SOFT_TIME_LIMIT + 30,
}


def run_image_job(task, model: type[ProcessedImage], image_id: int) -> str:
    """Shared by both apps' image tasks: the outcome, with time limits and retries turned into row states."""
    try:
        outcome = process(model, image_id, job_id=task.request.id or f"inline-{image_id}")
    except SoftTimeLimitExceeded:
        fail(model, image_id, task.request.id, "Processing took too long.")
        return "failed"
    except StorageUnavailable as error:
        if task.request.retries >= task.max_retries:
            fail(model, image_id, task.request.id, str(error))
            return "failed"
        raise
    logger.info("image job %s for %s %s", outcome, model._meta.label, image_id)
    return outcome


def sweep_image_jobs(model: type[ProcessedImage], task) -> int:
    """Shared by both apps' sweepers (beat, every minute): queue `task` again for what waits too long, the
    uploads made while the broker was down and the jobs whose worker died. Returns how many."""
    image_ids = list(stuck(model))
    for image_id in image_ids:
        task.apply_async((image_id,))
    return len(image_ids)
