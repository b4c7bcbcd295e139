"""One pipeline for every processed image: organism photographs and blog covers.

Uploads are checked before anything is stored or queued (size, format by content,
pixel count from the header alone, so a decompression bomb is never decoded).
The worker re-encodes: orientation applied, metadata dropped (EXIF with its GPS,
XMP, comments, text chunks), colours converted to sRGB and no profile embedded,
renditions at fixed widths (never upscaled) in WebP and JPEG (and AVIF where
Pillow can), a tiny blurred placeholder and a dominant colour. Rendition files
are named by the original's content hash, so running a job twice, or two
workers racing, writes the same files once.
"""

import base64
import hashlib
import io
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import ExifTags, Image, ImageCms, ImageFilter, ImageOps, UnidentifiedImageError, features

from .imagefields import ImageStatus, ProcessedImage

logger = logging.getLogger("biomuseum.images")

ACCEPTED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
RENDITION_WIDTHS = (320, 640, 1280, 2048)
ENCODERS = {
    "webp": {"format": "WEBP", "quality": 80, "method": 4},
    "jpeg": {"format": "JPEG", "quality": 82, "optimize": True, "progressive": True},
    "avif": {"format": "AVIF", "quality": 60, "speed": 8},
}
EXTENSIONS = {"webp": "webp", "jpeg": "jpg", "avif": "avif"}


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the curator."""


class ImageUnprocessable(ValueError):
    """The stored original cannot be decoded or encoded: a permanent failure, not worth retrying."""


class StorageUnavailable(OSError):
    """Renditions could not be written (disk full, permissions): worth retrying later."""


@dataclass(frozen=True)
class UploadCheck:
    format: str
    width: int
    height: int
    content_hash: str


def output_formats() -> tuple[str, ...]:
    return ("webp", "jpeg", "avif") if features.check("avif") else ("webp", "jpeg")


def check_upload(upload) -> UploadCheck:
    """Accept JPEG, PNG and WebP by content, within the size and pixel caps; rename the file to match."""
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise ImageRejected("The file is empty.")
    if size > settings.IMAGE_UPLOAD_MAX_BYTES:
        raise ImageRejected(f"The file is larger than {settings.IMAGE_UPLOAD_MAX_BYTES // (1024 * 1024)} MB.")
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:  # reads the header; pixels are not decoded here
                image_format, (width, height) = image.format, image.size
                if image_format not in ACCEPTED_FORMATS:
                    raise ImageRejected(f"{image_format} images are not accepted: upload JPEG, PNG or WebP.")
                if max(width, height) > settings.IMAGE_UPLOAD_MAX_SIDE:
                    raise ImageRejected(
                        f"The image is {width}×{height} pixels; no side may exceed {settings.IMAGE_UPLOAD_MAX_SIDE}."
                    )
                if width * height > settings.IMAGE_UPLOAD_MAX_PIXELS:
                    raise ImageRejected(
                        f"The image is {width}×{height} pixels; at most "
                        f"{settings.IMAGE_UPLOAD_MAX_PIXELS // 1_000_000} megapixels are accepted."
                    )
                image.verify()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        cap = settings.IMAGE_UPLOAD_MAX_PIXELS // 1_000_000
        raise ImageRejected(f"The image has too many pixels: at most {cap} megapixels are accepted.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRejected("The file is not a valid JPEG, PNG or WebP image.") from error
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    upload.name = f"upload{ACCEPTED_FORMATS[image_format]}"  # the stored name never comes from the client
    return UploadCheck(image_format, width, height, digest.hexdigest())


# --- rendering (pure: bytes in, bytes out) ---


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    format: str
    data: bytes


@dataclass(frozen=True)
class Rendered:
    renditions: list[Rendition]
    placeholder: str
    dominant_color: str
    width: int  # the original's size upright (EXIF orientation applied), as every rendition shows it
    height: int


def _to_srgb(image: Image.Image) -> Image.Image:
    """sRGB pixels and nothing else: no profile is embedded (untagged means sRGB), and no metadata rides along."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    target = "RGBA" if has_alpha else "RGB"
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("P", "PA"):
        image = image.convert(target)  # palette entries are colours in the same profile
    converted = None
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            logger.info("ignoring an unusable colour profile")
    if converted is None:
        converted = image.convert(target)  # a new image either way: ours to change
    # Pillow's encoders fall back on `info` (JPEG writes its "comment", AVIF its "icc_profile": after a
    # conversion, the source's, which would make viewers convert again), so the renditions start from none.
    converted.info = {}
    return converted


def _encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "jpeg" and image.mode != "RGB":
        flattened = Image.new("RGB", image.size, "white")
        flattened.paste(image, mask=image.getchannel("A") if "A" in image.getbands() else None)
        image = flattened
    buffer = io.BytesIO()
    image.save(buffer, **ENCODERS[fmt])  # no exif= and no icc_profile=: nothing of the original's metadata
    return buffer.getvalue()


def _placeholder(image: Image.Image) -> str:
    for size in (24, 16, 8):
        tiny = image.convert("RGB")
        tiny.thumbnail((size, size))
        buffer = io.BytesIO()
        tiny.filter(ImageFilter.GaussianBlur(1)).save(buffer, "WEBP", quality=30)
        uri = "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()
        if len(uri) < 1024:
            return uri
    return ""


def _dominant_color(image: Image.Image) -> str:
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    quantized = small.quantize(colors=5)
    palette = quantized.getpalette()
    _, index = max(quantized.getcolors())
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def render(path: str) -> Rendered:
    """Every rendition of one original. Raises ImageUnprocessable when it cannot be decoded."""
    Image.MAX_IMAGE_PIXELS = settings.IMAGE_UPLOAD_MAX_PIXELS  # defence in depth: never decode a bomb
    try:
        with Image.open(path) as source:
            upright = source.size  # before draft() below shrinks it
            if source.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8):  # a quarter turn
                upright = upright[::-1]
            if source.format == "JPEG" and source.width > 2 * RENDITION_WIDTHS[-1]:
                source.draft("RGB", (RENDITION_WIDTHS[-1], RENDITION_WIDTHS[-1]))  # decode at reduced scale
            source.load()
            image = _to_srgb(ImageOps.exif_transpose(source))
        widths = [w for w in RENDITION_WIDTHS if w <= image.width] or [image.width]
        renditions = []
        current = image
        for width in sorted(widths, reverse=True):  # each size from the one above it: cheaper, as sharp
            height = max(1, round(image.height * width / image.width))
            if current.width != width:
                current = current.resize((width, height), Image.Resampling.LANCZOS)
            renditions += [Rendition(width, height, fmt, _encode(current, fmt)) for fmt in output_formats()]
        return Rendered(
            sorted(renditions, key=lambda r: (r.width, r.format)), _placeholder(image), _dominant_color(image), *upright
        )
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageUnprocessable(f"The image could not be decoded: {error}") from error


# --- the job ---


def rendition_name(image: ProcessedImage, rendition: Rendition) -> str:
    digest = image.content_hash
    return f"renditions/{digest[:2]}/{digest}/{rendition.width}.{EXTENSIONS[rendition.format]}"


def _write(storage, name: str, data: bytes) -> None:
    """Write whole or not at all: readers never see half a file, and a rerun replaces, never duplicates."""
    try:
        if isinstance(storage, FileSystemStorage):
            target = Path(storage.path(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as temporary:
                temporary.write(data)
            os.chmod(temporary.name, 0o644)
            os.replace(temporary.name, target)
        else:
            storage.delete(name)
            storage.save(name, io.BytesIO(data))
    except OSError as error:
        raise StorageUnavailable(f"Renditions could not be written: {error.strerror or error}") from error


def _content_hash(image: ProcessedImage) -> str:
    digest = hashlib.sha256()
    with image.original.open("rb") as original:
        for chunk in iter(lambda: original.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def claim(model: type[ProcessedImage], pk: int, job_id: str) -> ProcessedImage | None:
    """Take the image for this job, or None when there is nothing to do (gone, done, or another job has it)."""
    with transaction.atomic():
        image = model.objects.select_for_update().filter(pk=pk).first()
        if image is None or image.status == ImageStatus.READY:
            return None
        stale_before = timezone.now() - timedelta(seconds=settings.IMAGE_STUCK_AFTER)
        held_by_other = image.job_id and image.job_id != job_id
        if image.status == ImageStatus.PROCESSING and held_by_other and image.processing_started_at > stale_before:
            return None  # a live job has it; a redelivery of this same job (job_id equal) takes it back
        if image.attempts >= settings.IMAGE_MAX_ATTEMPTS:
            image.status, image.error = ImageStatus.FAILED, f"Gave up after {image.attempts} attempts."
            image.save(update_fields=["status", "error", "updated_at"])
            return None
        image.status, image.job_id = ImageStatus.PROCESSING, job_id
        image.processing_started_at, image.attempts = timezone.now(), image.attempts + 1
        image.save(update_fields=["status", "job_id", "processing_started_at", "attempts", "updated_at"])
        return image


def fail(model: type[ProcessedImage], pk: int, job_id: str, message: str) -> None:
    model.objects.filter(pk=pk, job_id=job_id).exclude(status=ImageStatus.READY).update(
        status=ImageStatus.FAILED, error=message[:2000], updated_at=timezone.now()
    )


def process(model: type[ProcessedImage], pk: int, job_id: str) -> str:
    """Make one image ready. Returns what happened; raises StorageUnavailable (and database errors) to retry."""
    image = claim(model, pk, job_id)
    if image is None:
        return "skipped"
    try:
        if not image.content_hash:
            image.content_hash = _content_hash(image)
        rendered = render(image.original.path if hasattr(image.original, "path") else image.original.open("rb"))
    except ImageUnprocessable as error:
        fail(model, pk, job_id, str(error))
        return "failed"
    except FileNotFoundError:
        fail(model, pk, job_id, "The original file is missing.")
        return "failed"
    storage = image.original.storage
    manifest = []
    for rendition in rendered.renditions:
        name = rendition_name(image, rendition)
        _write(storage, name, rendition.data)
        manifest.append(
            {
                "url": storage.url(name),
                "path": name,
                "width": rendition.width,
                "height": rendition.height,
                "format": rendition.format,
                "bytes": len(rendition.data),
            }
        )
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=pk).first()
        if current is None or current.job_id != job_id or current.original.name != image.original.name:
            return "superseded"  # deleted, replaced or reclaimed meanwhile: its files are cleanup's
        current.renditions, current.placeholder = manifest, rendered.placeholder
        current.width, current.height = rendered.width, rendered.height  # the stored pixels may lie on their side
        current.dominant_color, current.content_hash = rendered.dominant_color, image.content_hash
        current.status, current.error, current.processed_at = ImageStatus.READY, "", timezone.now()
        current.save()  # a full save: signals tell the page cache the content changed
    return "ready"


def stuck(model: type[ProcessedImage]):
    """Images a sweeper should enqueue again: pending for a while (the broker was down?) or processing too long."""
    now = timezone.now()
    return model.objects.filter(
        Q(status=ImageStatus.PENDING, updated_at__lt=now - timedelta(seconds=settings.IMAGE_PENDING_GRACE))
        | Q(
            status=ImageStatus.PROCESSING, processing_started_at__lt=now - timedelta(seconds=settings.IMAGE_STUCK_AFTER)
        )
    ).values_list("pk", flat=True)


def enqueue(task, pk: int) -> None:
    """Queue processing after the surrounding transaction commits. A broker outage leaves the image
    pending (logged); the sweeper queues it again, so nothing is lost."""

    def send() -> None:
        try:
            task.apply_async((pk,), retry=False)
        except Exception:
            logger.warning("could not queue image %s; it stays pending for the sweeper", pk, exc_info=True)

    transaction.on_commit(send)
