"""Image jobs for organism photographs (the pipeline itself is biomuseum/images/), and checklist imports."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from biomuseum.images import IMAGE_TASK_OPTIONS, run_image_job, sweep_image_jobs

from .darwincore.jobs import checklist_job_failed, checklist_job_run, stuck_checklist_jobs
from .models import OrganismImage

logger = logging.getLogger("biomuseum.imports")


@shared_task(name="organisms.process_image", **IMAGE_TASK_OPTIONS)
def process_organism_image(self, image_id: int) -> str:
    return run_image_job(self, OrganismImage, image_id)


@shared_task(name="organisms.sweep_images", ignore_result=True)
def sweep_organism_images() -> int:
    return sweep_image_jobs(OrganismImage, process_organism_image)


@shared_task(
    name="organisms.import_checklist", bind=True, acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,), retry_backoff=5, retry_backoff_max=300, retry_jitter=True, max_retries=3,
    soft_time_limit=settings.DWCA_IMPORT_TIME_LIMIT, time_limit=settings.DWCA_IMPORT_TIME_LIMIT + 60,
)  # fmt: skip
def run_checklist_import(self, import_id: int, apply: bool) -> str:
    """The check (a dry run) of an uploaded checklist, or, once the curator confirmed it, the import."""
    job_id = self.request.id or f"inline-{import_id}"
    try:
        outcome = checklist_job_run(pk=import_id, apply=apply, job_id=job_id)
    except SoftTimeLimitExceeded:
        checklist_job_failed(pk=import_id, job_id=job_id, message="The import took too long: nothing was written.")
        return "failed"
    logger.info("checklist import %s (%s): %s", import_id, "import" if apply else "check", outcome)
    return outcome


@shared_task(name="organisms.sweep_imports", ignore_result=True)
def sweep_checklist_imports() -> int:
    """Queue again the checks and imports that wait too long (the broker was down) or whose worker died."""
    stuck = stuck_checklist_jobs()
    for import_id, apply in stuck:
        run_checklist_import.apply_async((import_id, apply))
    return len(stuck)
