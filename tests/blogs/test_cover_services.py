"""The cover image services (blogs/services.py): reprocessing through the real pipeline."""

import pytest

from biomuseum.images import ImageStatus
from blogs import services
from blogs.models import CoverImage

from ..factories import CoverImageFactory

pytestmark = pytest.mark.django_db


def test_cover_image_reprocess_resets_a_failed_cover_and_renders_it_after_commit(
    eager_jobs, django_capture_on_commit_callbacks
):
    cover = CoverImageFactory(status=ImageStatus.FAILED, error="disk full", attempts=5, job_id="old", renditions=[])

    with django_capture_on_commit_callbacks() as queued:
        returned = services.cover_image_reprocess(image=cover, user=None)

    assert returned is cover
    assert (cover.status, cover.error, cover.attempts, cover.job_id) == (ImageStatus.PENDING, "", 0, "")
    assert len(queued) == 1  # the job, for after the commit
    queued[0]()
    cover.refresh_from_db()
    assert (cover.status, cover.attempts) == (ImageStatus.READY, 1)
    assert {r["format"] for r in cover.renditions} >= {"webp", "jpeg"}
    assert all(r["path"].startswith(f"renditions/{cover.content_hash[:2]}/") for r in cover.renditions)


def test_cover_image_saved_reprocesses_only_a_new_or_replaced_original(django_capture_on_commit_callbacks):
    cover = CoverImageFactory(status=ImageStatus.FAILED, error="left alone", attempts=5)

    with django_capture_on_commit_callbacks() as queued:
        services.cover_image_saved(image=cover, created=False, original_changed=False)
    assert queued == []
    assert CoverImage.objects.get(pk=cover.pk).status == ImageStatus.FAILED

    with django_capture_on_commit_callbacks() as queued:
        services.cover_image_saved(image=cover, created=False, original_changed=True)
    assert len(queued) == 1
    assert CoverImage.objects.get(pk=cover.pk).status == ImageStatus.PENDING
