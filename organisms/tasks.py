"""Image jobs for organism photographs (the pipeline itself is biomuseum/images/)."""

from celery import shared_task

from biomuseum.images import IMAGE_TASK_OPTIONS, run_image_job, sweep_image_jobs

from .models import OrganismImage


@shared_task(name="organisms.process_image", **IMAGE_TASK_OPTIONS)
def process_organism_image(self, image_id: int) -> str:
    return run_image_job(self, OrganismImage, image_id)


@shared_task(name="organisms.sweep_images", ignore_result=True)
def sweep_organism_images() -> int:
    return sweep_image_jobs(OrganismImage, process_organism_image)
