"""Photograph uploads through the API: checked before anything is stored, processed as a job."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from biomuseum.images import ALT_TEXT_REQUIRED, ImageStatus
from organisms.models import OrganismImage
from tests import imagefiles
from tests.factories import OrganismFactory
from tests.outages import broker_down

pytestmark = pytest.mark.django_db

PERMISSIONS = ("organisms.add_organismimage", "organisms.view_organismimage", "organisms.change_organismimage")


def images_url(organism) -> str:
    return f"/api/v1/organisms/{organism.slug}/images/"


def post_image(client, organism, data: bytes, name: str = "photo.jpg", **fields):
    file = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post(images_url(organism), {"file": file, "alt_text": "A photograph", **fields}, format="multipart")


def test_upload_is_202_with_status_resource_and_processes(token_client, eager_jobs, django_capture_on_commit_callbacks):
    organism = OrganismFactory()
    client = token_client(*PERMISSIONS)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_image(client, organism, imagefiles.jpeg(900, 600), alt_text="A cat", credit="Museum")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == ImageStatus.PENDING
    assert response["Location"] == body["url"]
    image = OrganismImage.objects.get(pk=body["id"])
    assert image.status == ImageStatus.READY  # the job ran in-process, after commit
    assert image.original.name.startswith("originals/organismimage/") and image.original.name.endswith(".jpg")
    assert "photo" not in image.original.name
    status = client.get(body["url"]).json()
    assert status["status"] == "ready" and status["error"] == ""
    assert {r["width"] for r in status["renditions"]} == {320, 640}
    assert status["srcset"]["webp"].endswith("640w")
    public = client.get(f"/api/v1/organisms/{organism.slug}/").json()
    assert public["images"][0]["alt_text"] == "A cat"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html><body>hello</body></html>", "page.jpg"),
        (imagefiles.png_claiming(30000, 30000), "bomb.png"),
        (imagefiles.png_claiming(100000, 2), "wide.png"),
        (imagefiles.gif(), "anim.gif"),
        (imagefiles.jpeg()[:150], "cut.jpg"),
    ],
)
def test_upload_rejects_hostile_files_with_400_and_stores_nothing(token_client, data, name, settings):
    settings.IMAGE_UPLOAD_MAX_PIXELS = 50_000_000
    organism = OrganismFactory()
    response = post_image(token_client(*PERMISSIONS), organism, data, name=name)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["fields"]["file"][0]
    assert not OrganismImage.objects.exists()


@pytest.mark.parametrize("alt_text", [None, "", "   "])
def test_upload_without_alt_text_is_a_400_asking_for_a_description(token_client, alt_text):
    organism = OrganismFactory()
    file = SimpleUploadedFile("photo.jpg", imagefiles.jpeg(), content_type="image/jpeg")
    fields = {"file": file} if alt_text is None else {"file": file, "alt_text": alt_text}

    response = token_client(*PERMISSIONS).post(images_url(organism), fields, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"alt_text": [ALT_TEXT_REQUIRED]}
    assert not OrganismImage.objects.exists()


def test_upload_needs_the_image_permission(token_client, api_client):
    organism = OrganismFactory()
    assert post_image(api_client, organism, imagefiles.jpeg()).status_code == 401
    assert post_image(token_client("organisms.change_organism"), organism, imagefiles.jpeg()).status_code == 403
    assert not OrganismImage.objects.exists()


def test_upload_refuses_server_owned_fields(token_client):
    organism = OrganismFactory()
    response = post_image(token_client(*PERMISSIONS), organism, imagefiles.jpeg(), status="ready")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_upload_without_file_is_400(token_client):
    response = token_client(*PERMISSIONS).post(images_url(OrganismFactory()), {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_upload_to_unknown_organism_is_404(token_client):
    client = token_client(*PERMISSIONS)
    response = client.post("/api/v1/organisms/nope/images/", {}, format="multipart")
    assert response.status_code == 404


def test_upload_with_broker_down_still_succeeds_and_stays_pending(
    token_client, caplog, django_capture_on_commit_callbacks
):
    with broker_down(), django_capture_on_commit_callbacks(execute=True):
        response = post_image(token_client(*PERMISSIONS), OrganismFactory(), imagefiles.jpeg())
    assert response.status_code == 202
    assert OrganismImage.objects.get().status == ImageStatus.PENDING  # the sweeper will queue it
    assert any(record.getMessage().startswith("could not queue organisms.process_image") for record in caplog.records)


def test_failed_image_can_be_reprocessed(token_client, eager_jobs, django_capture_on_commit_callbacks):
    organism = OrganismFactory()
    client = token_client(*PERMISSIONS)
    with django_capture_on_commit_callbacks(execute=True):
        body = post_image(client, organism, imagefiles.jpeg()).json()
    image = OrganismImage.objects.get(pk=body["id"])
    OrganismImage.objects.filter(pk=image.pk).update(status=ImageStatus.FAILED, error="disk full", attempts=5)
    assert client.get(body["url"]).json()["error"] == "disk full"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(body["url"] + "reprocess/")
    assert response.status_code == 202
    image.refresh_from_db()
    assert (image.status, image.error, image.attempts) == (ImageStatus.READY, "", 1)


def test_image_status_is_staff_only(api_client, token_client):
    organism = OrganismFactory()
    from tests.factories import OrganismImageFactory

    image = OrganismImageFactory(organism=organism)
    url = f"{images_url(organism)}{image.pk}/"
    assert api_client.get(url).status_code == 401
    assert token_client("organisms.view_organismimage").get(url).status_code == 200
    assert token_client(*PERMISSIONS).get(f"/api/v1/organisms/other/images/{image.pk}/").status_code == 404


def test_admin_inline_upload_is_checked_and_processed(client, eager_jobs, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    organism = OrganismFactory()
    url = f"/admin/organisms/organism/{organism.pk}/change/"
    form = {
        "common_name": organism.common_name,
        "scientific_name": organism.scientific_name,
        "slug": organism.slug,
        "kingdom": organism.kingdom,
        "taxon": organism.taxon_id,  # in the tree: its name and ranks come from there
        "conservation_status": organism.conservation_status,
        "is_published": "on",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-alt_text": "Uploaded by a curator",
        "images-0-position": "0",
    }
    bad = {**form, "images-0-original": SimpleUploadedFile("x.jpg", b"<html>", content_type="image/jpeg")}
    response = client.post(url, bad)
    assert response.status_code == 200  # the form again, with the error
    assert "valid image" in response.content.decode()
    assert not OrganismImage.objects.exists()
    good = {**form, "images-0-original": SimpleUploadedFile("x.jpg", imagefiles.jpeg(), content_type="image/jpeg")}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, good)
    assert response.status_code == 302
    image = OrganismImage.objects.get()
    assert image.status == ImageStatus.READY and image.content_hash


def test_upload_with_unwritable_media_is_a_clear_503_and_leaves_no_row(token_client, settings, tmp_path):
    blocked = tmp_path / "media-is-a-file"
    blocked.write_bytes(b"not a directory")  # even root cannot make folders inside a file
    settings.MEDIA_ROOT = str(blocked)
    response = post_image(token_client(*PERMISSIONS), OrganismFactory(), imagefiles.jpeg())
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "storage_unavailable"
    assert "could not be stored" in body["error"]["message"]
    assert not OrganismImage.objects.exists()
