"""The cover image services (blogs/services.py): reprocessing through the real pipeline."""

import pytest

from biomuseum.images import ImageStatus
from blogs import services
from blogs.models import CoverImage
from blogs.tasks import process_cover_image

from ..factories import CoverImageFactory

pytestmark = pytest.mark.django_db


def test_cover_image_reprocess_resets_a_failed_cover_and_renders_it_after_commit(
    eager_jobs, django_capture_on_commit_callbacks
):
    cover = CoverImageFactory(status=ImageStatus.FAILED, error="disk full", attempts=5, job_id="old", renditions=[])

    with django_capture_on_commit_callbacks(execute=True):
        returned = services.cover_image_reprocess(image=cover, user=None)
        assert returned is cover
        assert (cover.status, cover.error, cover.attempts, cover.job_id) == (ImageStatus.PENDING, "", 0, "")
    cover.refresh_from_db()
    assert (cover.status, cover.attempts) == (ImageStatus.READY, 1)
    assert {r["format"] for r in cover.renditions} >= {"webp", "jpeg"}
    assert all(r["path"].startswith(f"renditions/{cover.content_hash[:2]}/") for r in cover.renditions)


def test_cover_image_saved_reprocesses_only_a_new_or_replaced_original(monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(process_cover_image, "apply_async", lambda args, kwargs, **options: sent.append(args))
    cover = CoverImageFactory(status=ImageStatus.FAILED, error="left alone", attempts=5)

    with django_capture_on_commit_callbacks(execute=True):
        services.cover_image_saved(image=cover, created=False, original_changed=False)
    assert sent == []
    assert CoverImage.objects.get(pk=cover.pk).status == ImageStatus.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        services.cover_image_saved(image=cover, created=False, original_changed=True)
    assert sent == [(cover.pk,)]
    assert CoverImage.objects.get(pk=cover.pk).status == ImageStatus.PENDING
