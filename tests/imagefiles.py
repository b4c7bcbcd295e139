"""Image files for tests, made on the spot with Pillow (and by hand, for the hostile ones), and stored."""

import io
import struct
import zlib

from PIL import Image


def jpeg(width: int = 800, height: int = 600, colour=(40, 120, 60), exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG", quality=90, exif=exif or Image.Exif())
    return buffer.getvalue()


def png(width: int = 400, height: int = 300, mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (10, 10)).save(buffer, "GIF")
    return buffer.getvalue()


def exif_with_gps_and_rotation() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "Test camera maker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 0.0)
    return exif


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims `width`×`height` pixels: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def blank_png(width: int, height: int) -> bytes:
    """A real, complete 1-bit PNG of any size that weighs next to nothing: huge dimensions, tiny file."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_image(data: bytes, **fields):
    """An organism photograph as an upload leaves it: checked, stored under a generated name, pending."""
    from biomuseum import images
    from organisms.models import OrganismImage
    from tests.factories import OrganismFactory

    file = upload(data)
    checked = images.check_upload(file)
    return OrganismImage.objects.create(
        organism=OrganismFactory(), original=file, content_hash=checked.content_hash, **fields
    )
