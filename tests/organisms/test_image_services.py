"""The organism image services (organisms/services/) with real image files: upload checks, the job
queued after commit, the renditions it produces, starting over, and an upload made while the broker is down."""

import hashlib
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from biomuseum.images import ALT_TEXT_REQUIRED, ImageStatus
from organisms import services
from organisms.models import OrganismImage
from organisms.tasks import process_organism_image, sweep_organism_images
from tests import imagefiles
from tests.factories import OrganismFactory, OrganismImageFactory
from tests.outages import broker_down

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "IMG_0042 at home.jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.fixture
def sent(monkeypatch) -> list:
    """The arguments of each image job sent to the broker."""
    messages = []
    monkeypatch.setattr(process_organism_image, "apply_async", lambda args, kwargs, **options: messages.append(args))
    return messages


def test_organism_image_add_stores_the_original_under_a_generated_name_and_queues_one_job(
    sent, django_capture_on_commit_callbacks
):
    data = imagefiles.jpeg(900, 600)
    with django_capture_on_commit_callbacks(execute=True):
        image = services.organism_image_add(
            organism=OrganismFactory(), user=None, upload=upload(data), alt_text="A kea", position=2
        )
        assert sent == []  # the job waits for the commit

    assert sent == [(image.pk,)]
    image.refresh_from_db()
    assert image.status == ImageStatus.PENDING and image.attempts == 0 and image.renditions == []
    assert re.fullmatch(r"originals/organismimage/[0-9a-f]{32}\.jpg", image.original.name)  # not the client's name
    assert image.content_hash == hashlib.sha256(data).hexdigest()
    assert (image.width, image.height, image.alt_text, image.position) == (900, 600, "A kea", 2)


def test_organism_image_add_then_the_job_makes_renditions(settings, eager_jobs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        image = services.organism_image_add(
            organism=OrganismFactory(), user=None, upload=upload(imagefiles.jpeg()), alt_text="A kea"
        )

    image.refresh_from_db()
    assert (image.status, image.attempts, image.error) == (ImageStatus.READY, 1, "")
    assert {(r["width"], r["format"]) for r in image.renditions} >= {(320, "webp"), (640, "jpeg")}
    assert max(r["width"] for r in image.renditions) <= 800  # never upscaled
    assert all(Path(settings.MEDIA_ROOT, r["path"]).stat().st_size == r["bytes"] for r in image.renditions)
    assert image.placeholder.startswith("data:image/webp;base64,")


@pytest.mark.parametrize("alt_text", ["", "  "])
def test_organism_image_add_refuses_a_photograph_without_alt_text(alt_text):
    with pytest.raises(ValidationError) as refused:
        services.organism_image_add(
            organism=OrganismFactory(), user=None, upload=upload(imagefiles.jpeg()), alt_text=alt_text
        )

    assert refused.value.message_dict == {"alt_text": [ALT_TEXT_REQUIRED]}
    assert not OrganismImage.objects.exists()


def test_organism_image_add_rejects_what_is_not_an_accepted_image_and_stores_nothing(
    sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.organism_image_add(
            organism=OrganismFactory(), user=None, upload=upload(imagefiles.gif(), "a.gif"), alt_text="A kea"
        )

    assert "GIF images are not accepted" in error.value.message_dict["file"][0]
    assert sent == [] and not OrganismImage.objects.exists()


def test_organism_image_add_with_the_broker_down_waits_for_the_sweeper(
    settings, eager_jobs, django_capture_on_commit_callbacks
):
    with broker_down(), django_capture_on_commit_callbacks(execute=True):  # queueing fails, the upload succeeds
        image = services.organism_image_add(
            organism=OrganismFactory(), user=None, upload=upload(imagefiles.jpeg()), alt_text="A kea"
        )
    image.refresh_from_db()
    assert image.status == ImageStatus.PENDING

    assert sweep_organism_images() == 0  # within the grace period: the first job may still be on its way
    OrganismImage.objects.filter(pk=image.pk).update(
        updated_at=timezone.now() - timezone.timedelta(seconds=settings.IMAGE_PENDING_GRACE + 1)
    )
    assert sweep_organism_images() == 1
    image.refresh_from_db()
    assert image.status == ImageStatus.READY and image.renditions


def test_organism_image_reprocess_starts_a_failed_image_over(eager_jobs, django_capture_on_commit_callbacks):
    image = OrganismImageFactory(status=ImageStatus.FAILED, error="Gave up after 5 attempts.", attempts=5, job_id="x")

    with django_capture_on_commit_callbacks(execute=True):
        returned = services.organism_image_reprocess(image=image, user=None)
        assert returned is image
        assert (image.status, image.error, image.attempts, image.job_id) == (ImageStatus.PENDING, "", 0, "")
    image.refresh_from_db()
    assert (image.status, image.attempts, image.error) == (ImageStatus.READY, 1, "")
    assert all(r["url"].startswith("/media/renditions/") for r in image.renditions)  # the factory's fakes replaced


def test_organism_image_reprocess_rolled_back_queues_nothing(sent, django_capture_on_commit_callbacks):
    image = OrganismImageFactory(status=ImageStatus.FAILED, attempts=5)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.organism_image_reprocess(image=image, user=None)
        raise RuntimeError("rolled back")

    image.refresh_from_db()
    assert sent == [] and (image.status, image.attempts) == (ImageStatus.FAILED, 5)
