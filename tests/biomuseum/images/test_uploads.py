"""Upload checks (biomuseum/images/uploads.py): accepted by content, renamed, refused with a reason."""

import io

import pytest
from PIL import Image

from biomuseum import images
from tests import imagefiles
from tests.imagefiles import upload


@pytest.mark.parametrize(
    ("data", "expected"),
    [(imagefiles.jpeg(), ("JPEG", ".jpg")), (imagefiles.png(), ("PNG", ".png"))],
)
def test_check_upload_accepts_by_content_and_renames(data, expected):
    file = upload(data, name="../../etc/passwd.exe")
    checked = images.check_upload(file)
    assert checked.format == expected[0]
    assert file.name == f"upload{expected[1]}"
    assert len(checked.content_hash) == 64


def test_check_upload_accepts_webp():
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40)).save(buffer, "WEBP")
    assert images.check_upload(upload(buffer.getvalue())).format == "WEBP"


def test_check_upload_takes_a_png_named_jpeg_for_what_it_is():
    file = upload(imagefiles.png(), name="holiday.jpg", content_type="image/jpeg")
    assert images.check_upload(file).format == "PNG"
    assert file.name.endswith(".png")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "not a valid"),
        (imagefiles.gif(), "GIF images are not accepted"),
        (b"", "empty"),
        (imagefiles.png_claiming(20000, 20000), "megapixels"),
        (imagefiles.png_claiming(60000, 60000), "megapixels"),
        (imagefiles.jpeg()[:200], "not a valid"),
    ],
)
def test_check_upload_rejects_with_a_clear_message(data, message):
    with pytest.raises(images.ImageRejected) as rejected:
        images.check_upload(upload(data))
    assert message in str(rejected.value)


def test_check_upload_size_cap(settings):
    settings.IMAGE_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(images.ImageRejected, match="larger than"):
        images.check_upload(upload(imagefiles.jpeg(400, 300) + b"\0" * 2000))
