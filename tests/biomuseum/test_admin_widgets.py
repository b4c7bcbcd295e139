from types import SimpleNamespace

from biomuseum.admin_widgets import ProcessedImageAdminMixin, ProcessedImageForm, image_preview, status_badge


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
