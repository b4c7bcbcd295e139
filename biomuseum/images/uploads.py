"""Upload checks, before anything is stored or queued: size, format by content, and the pixel count read
from the header alone, so a decompression bomb is never decoded."""

import hashlib
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message says why, for the curator."""


@dataclass(frozen=True)
class UploadCheck:
    format: str
    width: int
    height: int
    content_hash: str


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
