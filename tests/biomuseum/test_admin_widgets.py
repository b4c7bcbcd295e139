from types import SimpleNamespace

import pytest

from biomuseum.admin_widgets import (
    ProcessedImageAdminMixin,
    ProcessedImageForm,
    image_preview,
    largest_rendition_url,
    status_badge,
)
from biomuseum.images import ImageStatus
from tests.factories import CoverImageFactory, OrganismImageFactory, UserFactory


class SmallPreviews(ProcessedImageAdminMixin):
    preview_size = 32


def an_image(**fields) -> SimpleNamespace:
    values = {"alt_text": "A kea", "status": "ready", "error": "", "url": "/media/r/kea-320.webp", **fields}
    return SimpleNamespace(smallest_url=lambda: values["url"], **values)


def test_image_preview_is_an_image_of_the_given_size():
    html = image_preview(an_image(), size=32)

    assert 'src="/media/r/kea-320.webp"' in html and 'alt="A kea"' in html and "max-width:32px" in html


def test_image_preview_of_nothing_processed_is_a_dash():
    assert image_preview(None) == "—"
    assert image_preview(an_image(url="")) == "—"


def test_processed_image_admin_mixin_previews_at_its_size_and_badges_the_status():
    admin = SmallPreviews()
    image = an_image(status="failed", error="Not an image")

    assert admin.preview(image) == image_preview(image, size=32)
    assert admin.processing(image) == status_badge("failed", "Not an image")
    assert 'title="Not an image"' in admin.processing(image)
    assert admin.form is ProcessedImageForm


@pytest.fixture
def curator_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def currently(html: str) -> str:
    """The "Currently:" paragraph of each image upload field on the page."""
    return "".join(part.split("</p>")[0] for part in html.split('<p class="file-upload">')[1:])


def test_image_uploads_show_the_rendition_never_the_original(curator_client):
    image = OrganismImageFactory()
    cover = CoverImageFactory()
    pages = {
        f"/admin/organisms/organism/{image.organism.pk}/change/": "/media/r/a-640.webp",
        f"/admin/organisms/organismimage/{image.pk}/change/": "/media/r/a-640.webp",
        f"/admin/blogs/post/{cover.post.pk}/change/": "/media/r/c-640.webp",
    }
    for url, rendition in pages.items():
        html = curator_client.get(url).content.decode()
        assert f'Currently: <a href="{rendition}">the processed image</a>' in currently(html), url
        assert "originals/" not in html, url


@pytest.mark.parametrize("status", [ImageStatus.PENDING, ImageStatus.PROCESSING, ImageStatus.FAILED])
def test_image_uploads_not_yet_processed_link_nothing(curator_client, status):
    image = OrganismImageFactory(status=status, renditions=[])
    html = curator_client.get(f"/admin/organisms/organismimage/{image.pk}/change/").content.decode()
    shown = currently(html)
    assert f"Currently: an image with no rendition yet ({status.label})" in shown
    assert "<a " not in shown and "originals/" not in html


def test_largest_rendition_url_prefers_the_widest_jpeg_or_webp():
    image = an_image(renditions=[
        {"url": "/r/320.webp", "width": 320, "format": "webp"},
        {"url": "/r/1280.jpg", "width": 1280, "format": "jpeg"},
        {"url": "/r/1280.webp", "width": 1280, "format": "webp"},
        {"url": "/r/2000.avif", "width": 2000, "format": "avif"},
    ])  # fmt: skip
    assert largest_rendition_url(image) == "/r/1280.webp"
    assert largest_rendition_url(an_image(renditions=[])) == ""
