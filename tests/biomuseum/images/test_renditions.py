"""Rendering (biomuseum/images/renditions.py): sizes, formats, orientation, colour, and no metadata."""

import io
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin, features

from biomuseum import images
from organisms.models import OrganismImage
from tests import imagefiles
from tests.imagefiles import stored_image

pytestmark = pytest.mark.django_db


def test_render_never_upscales_and_makes_every_format(tmp_path):
    path = tmp_path / "original.jpg"
    path.write_bytes(imagefiles.jpeg(1000, 500))
    rendered = images.render(str(path))
    widths = sorted({r.width for r in rendered.renditions})
    assert widths == [320, 640]
    formats = {r.format for r in rendered.renditions}
    assert formats == ({"webp", "jpeg", "avif"} if features.check("avif") else {"webp", "jpeg"})
    assert all(r.height == round(500 * r.width / 1000) for r in rendered.renditions)
    assert rendered.placeholder.startswith("data:image/webp;base64,") and len(rendered.placeholder) < 1024
    painted = (40, 120, 60)
    found = tuple(int(rendered.dominant_color[i : i + 2], 16) for i in (1, 3, 5))
    assert max(abs(a - b) for a, b in zip(found, painted, strict=True)) <= 3  # near enough, after JPEG


def test_render_small_image_keeps_its_width(tmp_path):
    path = tmp_path / "small.png"
    path.write_bytes(imagefiles.png(200, 100))
    rendered = images.render(str(path))
    assert {r.width for r in rendered.renditions} == {200}


def test_render_applies_orientation_and_drops_all_metadata(tmp_path):
    path = tmp_path / "camera.jpg"
    path.write_bytes(imagefiles.jpeg(900, 400, exif=imagefiles.exif_with_gps_and_rotation()))
    rendered = images.render(str(path))
    assert (rendered.width, rendered.height) == (400, 900)
    for rendition in rendered.renditions:
        with Image.open(io.BytesIO(rendition.data)) as decoded:
            assert decoded.height > decoded.width  # rotated upright
            assert not decoded.getexif()  # no GPS, no camera, no orientation left
            assert "icc_profile" not in decoded.info


SECRET_COMMENT = "Shot at the badger sett behind 14 Mill Lane"
SECRET_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>XMP-SECRET-LOCATION</rdf:Description></x:xmpmeta>'
# What the decoders report about the file's own structure (JFIF header, progressive scans, WebP's animation
# defaults): nothing of the upload's.
STRUCTURAL_INFO = {
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "progressive",
    "progression",
    "background",
    "loop",
}


def with_metadata(image_format: str) -> bytes:
    """An upload carrying every kind of metadata its format can: EXIF with GPS, XMP, and comments or text."""
    exif = imagefiles.exif_with_gps_and_rotation()
    image, buffer = Image.new("RGB", (900, 400), (40, 120, 60)), io.BytesIO()
    if image_format == "JPEG":
        image.save(buffer, "JPEG", exif=exif, xmp=SECRET_XMP, comment=SECRET_COMMENT)
    elif image_format == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", SECRET_COMMENT)
        text.add_itxt("XML:com.adobe.xmp", SECRET_XMP.decode())
        image.save(buffer, "PNG", exif=exif, pnginfo=text)
    else:
        image.save(buffer, "WEBP", exif=exif, xmp=SECRET_XMP)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the upload really carries them
        assert check.getexif().get_ifd(0x8825) and check.getexif()[0x010F] == "Test camera maker"
        assert SECRET_XMP.decode() in str(check.info.get("xmp", check.info.get("XML:com.adobe.xmp", b"")))
        assert image_format == "WEBP" or SECRET_COMMENT in str(check.info.get("comment", check.info.get("Comment")))
    return data


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_process_renditions_carry_no_metadata(settings, image_format):
    image = stored_image(with_metadata(image_format))

    assert images.process(OrganismImage, image.pk, job_id="job-1") == "ready"

    image.refresh_from_db()
    assert {r["format"] for r in image.renditions} == set(images.output_formats())
    for rendition in image.renditions:
        path = Path(settings.MEDIA_ROOT, rendition["path"])
        with Image.open(path) as decoded:
            assert set(decoded.info) <= STRUCTURAL_INFO, (rendition["format"], decoded.info.keys())
            assert not decoded.getexif()
            assert decoded.height > decoded.width  # the orientation was applied before EXIF went
        raw = path.read_bytes()
        for secret in (SECRET_COMMENT.encode(), b"XMP-SECRET-LOCATION", b"Test camera maker", b"Exif\0\0"):
            assert secret not in raw, (rendition["format"], secret)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def adobe_rgb_like_profile() -> bytes:
    """An ICC v2 matrix/TRC display profile with Adobe RGB (1998)'s primaries (D50-adapted) and gamma 563/256.

    Built by hand because ImageCms.createProfile makes only sRGB, LAB and XYZ profiles.
    """
    text = "Adobe RGB like (test)".encode("utf-16-be")
    description = b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(text), 28) + text
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0"
    tags = [
        (b"desc", description),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.60974, 0.31111, 0.01947)),
        (b"gXYZ", _xyz(0.20528, 0.62567, 0.06087)),
        (b"bXYZ", _xyz(0.14919, 0.06322, 0.74457)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    first = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", first + len(body), len(data))
        body += data
    header = struct.pack(">I4sI4s4s4s", first + len(body), b"", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48
    return header + struct.pack(">I", len(tags)) + table + body


def decoded_pixel(data: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(data)) as decoded:
        return decoded.convert("RGB").getpixel((decoded.width // 2, decoded.height // 2))


def near(found, expected, tolerance: int) -> bool:
    return max(abs(a - b) for a, b in zip(found, expected, strict=True)) <= tolerance


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_render_converts_a_wide_gamut_profile_to_srgb(tmp_path, mode):
    # Adobe RGB (200, 100, 100) is sRGB (227, 100, 100): the two spaces share red and blue primaries, and
    # Adobe's greener green pulls red up once expressed in sRGB (by the published matrices, rounded).
    profile = adobe_rgb_like_profile()
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip()  # lcms reads it
    profiled, untagged = tmp_path / "adobe.png", tmp_path / "untagged.png"
    colour = (200, 100, 100, 255)[: len(mode)]
    Image.new(mode, (700, 400), colour).save(profiled, "PNG", icc_profile=profile)
    Image.new(mode, (700, 400), colour).save(untagged, "PNG")

    converted, unconverted = images.render(str(profiled)), images.render(str(untagged))

    assert converted.dominant_color == "#e36464"  # (227, 100, 100), before any lossy encoding
    assert unconverted.dominant_color == "#c86464"  # untagged means sRGB already: left alone
    for rendition in converted.renditions:
        with Image.open(io.BytesIO(rendition.data)) as decoded:
            assert "icc_profile" not in decoded.info  # sRGB pixels, untagged: viewers must not convert again
        assert near(decoded_pixel(rendition.data), (227, 100, 100), 4), rendition.format
    for rendition in unconverted.renditions:
        assert near(decoded_pixel(rendition.data), (200, 100, 100), 4), rendition.format


def test_render_ignores_a_profile_it_cannot_use(tmp_path):
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))  # a LAB profile cannot describe RGB pixels
    path = tmp_path / "profiled.png"
    Image.new("RGB", (400, 300), (10, 200, 10)).save(path, "PNG", icc_profile=lab.tobytes())
    rendered = images.render(str(path))
    assert rendered.renditions  # not fatal: the pixels are taken as sRGB
    for rendition in rendered.renditions:
        with Image.open(io.BytesIO(rendition.data)) as decoded:
            assert "icc_profile" not in decoded.info  # and the unusable profile is not passed on
        assert near(decoded_pixel(rendition.data), (10, 200, 10), 4), rendition.format


def test_render_refuses_truncated_data(tmp_path):
    path = tmp_path / "truncated.jpg"
    data = imagefiles.jpeg(1200, 900, colour=(1, 2, 3))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(images.ImageUnprocessable, match="could not be decoded"):
        images.render(str(path))
