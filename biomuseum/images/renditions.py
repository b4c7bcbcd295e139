"""Rendering, pure: an original's bytes in, renditions' bytes out.

Orientation applied, metadata dropped (EXIF with its GPS, XMP, comments, text chunks), colours converted to
sRGB and no profile embedded, renditions at fixed widths (never upscaled) in WebP and JPEG (and AVIF where
Pillow can), a tiny blurred placeholder and a dominant colour.
"""

import base64
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from PIL import ExifTags, Image, ImageCms, ImageFilter, ImageOps, UnidentifiedImageError, features

logger = logging.getLogger("biomuseum.images")

RENDITION_WIDTHS = (320, 640, 1280, 2048)
ENCODERS = {
    "webp": {"format": "WEBP", "quality": 80, "method": 4},
    "jpeg": {"format": "JPEG", "quality": 82, "optimize": True, "progressive": True},
    "avif": {"format": "AVIF", "quality": 60, "speed": 8},
}


class ImageUnprocessable(ValueError):
    """The stored original cannot be decoded or encoded: a permanent failure, not worth retrying."""


def output_formats() -> tuple[str, ...]:
    return ("webp", "jpeg", "avif") if features.check("avif") else ("webp", "jpeg")


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
