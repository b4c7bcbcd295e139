"""Reading originals and writing renditions, wherever the storage keeps them.

Rendition files are named by the original's content hash, so running a job twice, or two workers racing,
writes the same files once.
"""

import hashlib
import io
import os
import tempfile
from pathlib import Path

from django.core.files.storage import FileSystemStorage

from .fields import ProcessedImage
from .renditions import Rendition

EXTENSIONS = {"webp": "webp", "jpeg": "jpg", "avif": "avif"}


class StorageUnavailable(OSError):
    """Renditions could not be written (disk full, permissions): worth retrying later."""


def rendition_name(image: ProcessedImage, rendition: Rendition) -> str:
    digest = image.content_hash
    return f"renditions/{digest[:2]}/{digest}/{rendition.width}.{EXTENSIONS[rendition.format]}"


def write_whole(storage, name: str, data: bytes) -> None:
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


def original_hash(image: ProcessedImage) -> str:
    digest = hashlib.sha256()
    with image.original.open("rb") as original:
        for chunk in iter(lambda: original.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def original_source(image: ProcessedImage):
    """What render() reads: the original's path on local disk, else an open file."""
    return image.original.path if hasattr(image.original, "path") else image.original.open("rb")
