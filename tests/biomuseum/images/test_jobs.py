"""The processing job (biomuseum/images/jobs.py): its states, retries, takeovers, and the sweeper."""

from pathlib import Path

import pytest
from django.utils import timezone

from biomuseum import images
from biomuseum.images import ImageStatus
from organisms.models import OrganismImage
from tests import imagefiles
from tests.imagefiles import stored_image

pytestmark = pytest.mark.django_db


def test_process_makes_the_image_ready_and_is_idempotent(settings):
    image = stored_image(imagefiles.jpeg(700, 350))
    assert images.process(OrganismImage, image.pk, job_id="job-1") == "ready"
    image.refresh_from_db()
    assert image.status == ImageStatus.READY and image.attempts == 1 and image.processed_at
    first_manifest = image.renditions
    paths = sorted(Path(settings.MEDIA_ROOT, "renditions").rglob("*"))
    assert images.process(OrganismImage, image.pk, job_id="job-2") == "skipped"
    OrganismImage.objects.filter(pk=image.pk).update(status=ImageStatus.PENDING)
    assert images.process(OrganismImage, image.pk, job_id="job-3") == "ready"
    image.refresh_from_db()
    assert image.renditions == first_manifest
    assert sorted(Path(settings.MEDIA_ROOT, "renditions").rglob("*")) == paths  # same files, none added
    assert {r["width"] for r in first_manifest} == {320, 640}
    assert all(Path(settings.MEDIA_ROOT, r["path"]).stat().st_size == r["bytes"] for r in first_manifest)


def test_process_records_the_upright_size_of_a_rotated_photograph():
    image = stored_image(imagefiles.jpeg(900, 400, exif=imagefiles.exif_with_gps_and_rotation()))
    assert (image.width, image.height) == (900, 400)  # the stored pixels, on their side
    assert images.process(OrganismImage, image.pk, job_id="job-1") == "ready"
    image.refresh_from_db()
    assert (image.width, image.height) == (400, 900)  # what the renditions show, and what the API reports


def test_process_leaves_a_job_held_by_another_live_job_alone():
    image = stored_image(imagefiles.jpeg())
    assert images.claim(OrganismImage, image.pk, "job-a") is not None
    assert images.process(OrganismImage, image.pk, job_id="job-b") == "skipped"
    # A redelivery of the same job (its worker died) takes it back.
    assert images.process(OrganismImage, image.pk, job_id="job-a") == "ready"


def test_process_takes_over_a_stale_job(settings):
    image = stored_image(imagefiles.jpeg())
    images.claim(OrganismImage, image.pk, "job-dead")
    OrganismImage.objects.filter(pk=image.pk).update(
        processing_started_at=timezone.now() - timezone.timedelta(seconds=settings.IMAGE_STUCK_AFTER + 1)
    )
    assert list(images.stuck(OrganismImage)) == [image.pk]
    assert images.process(OrganismImage, image.pk, job_id="job-new") == "ready"


def test_process_marks_undecodable_images_failed_with_the_reason():
    image = stored_image(imagefiles.jpeg())
    Path(image.original.path).write_bytes(imagefiles.jpeg(1200, 900)[:3000])
    assert images.process(OrganismImage, image.pk, job_id="job-1") == "failed"
    image.refresh_from_db()
    assert image.status == ImageStatus.FAILED
    assert "could not be decoded" in image.error


def test_process_gives_up_after_the_attempt_cap(settings):
    image = stored_image(imagefiles.jpeg())
    OrganismImage.objects.filter(pk=image.pk).update(attempts=settings.IMAGE_MAX_ATTEMPTS)
    assert images.process(OrganismImage, image.pk, job_id="job-1") == "skipped"
    image.refresh_from_db()
    assert image.status == ImageStatus.FAILED and "Gave up" in image.error


def test_process_storage_failure_is_retryable_and_leaves_no_ready_row(settings, tmp_path):
    image = stored_image(imagefiles.jpeg())
    blocker = Path(settings.MEDIA_ROOT) / "renditions"
    blocker.write_bytes(b"a file where the renditions folder should be")  # mkdir fails, even for root
    with pytest.raises(images.StorageUnavailable, match="could not be written"):
        images.process(OrganismImage, image.pk, job_id="job-1")
    image.refresh_from_db()
    assert image.status == ImageStatus.PROCESSING and image.renditions == []
    blocker.unlink()
    assert images.process(OrganismImage, image.pk, job_id="job-1") == "ready"  # the retry, same job


def test_stuck_finds_pending_images_after_the_grace_period(settings):
    image = stored_image(imagefiles.jpeg())
    assert list(images.stuck(OrganismImage)) == []
    settings.IMAGE_PENDING_GRACE = 0
    OrganismImage.objects.filter(pk=image.pk).update(updated_at=timezone.now() - timezone.timedelta(seconds=1))
    assert list(images.stuck(OrganismImage)) == [image.pk]


class RecordingTask:
    def __init__(self):
        self.sent = []

    def apply_async(self, args):
        self.sent.append(args)


def test_sweep_image_jobs_queues_the_pending_and_the_stale_and_leaves_the_rest(settings):
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.IMAGE_STUCK_AFTER + 1)
    waiting = stored_image(imagefiles.jpeg())
    died = stored_image(imagefiles.jpeg(), status=ImageStatus.PROCESSING, processing_started_at=long_ago)
    stored_image(imagefiles.jpeg(), status=ImageStatus.PROCESSING, processing_started_at=timezone.now())
    stored_image(imagefiles.jpeg(), status=ImageStatus.READY)
    stored_image(imagefiles.jpeg(), status=ImageStatus.FAILED)
    OrganismImage.objects.exclude(status=ImageStatus.PROCESSING).update(updated_at=long_ago)
    task = RecordingTask()

    assert images.sweep_image_jobs(OrganismImage, task) == 2
    assert sorted(task.sent) == sorted([(waiting.pk,), (died.pk,)])


def test_restart_forgives_the_attempts_of_a_failed_image():
    image = stored_image(imagefiles.jpeg(), status=ImageStatus.FAILED, error="Gave up.", attempts=5, job_id="j")
    images.restart(image)
    assert (image.status, image.error, image.attempts, image.job_id) == (ImageStatus.PENDING, "", 0, "")
    assert images.process(OrganismImage, image.pk, job_id="job-1") == "ready"
