"""What every processed image (organism photographs, blog covers) stores.

The rendition pipeline fills in the server-owned fields; curators own the text.
"""

import uuid
from pathlib import PurePosixPath

from django.db import models

from ..publicstate import PublicState


def generated_upload_name(instance: models.Model, filename: str) -> str:
    """Store originals under a generated name: the uploaded name is never trusted or kept.

    The extension comes from the format found in the content (validation renames the file to it).
    """
    folder = instance._meta.model_name
    suffix = PurePosixPath(filename).suffix.lower()
    suffix = suffix if suffix in (".jpg", ".png", ".webp") else ".img"
    return f"originals/{folder}/{uuid.uuid4().hex}{suffix}"


class ImageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


# The admin's forms and the upload API refuse an image without alt text; a row may still lack it (one stored
# before the rule, or written from the shell), and such an image is never public: PUBLIC_CONDITION.
ALT_TEXT_REQUIRED = "Describe the photograph for visitors who cannot see it."
ALT_TEXT_HELP = "Required: what the photograph shows, for visitors who cannot see it. Shown publicly only with it."


class ProcessedImage(PublicState):
    original = models.ImageField(upload_to=generated_upload_name, width_field="width", height_field="height")
    alt_text = models.CharField(max_length=300, blank=True, help_text=ALT_TEXT_HELP)
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    status = models.CharField(max_length=12, choices=ImageStatus.choices, default=ImageStatus.PENDING, editable=False)
    error = models.TextField(blank=True, editable=False)
    renditions = models.JSONField(default=list, blank=True, editable=False)
    placeholder = models.TextField(blank=True, editable=False)
    dominant_color = models.CharField(max_length=7, blank=True, editable=False)
    content_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    job_id = models.CharField(max_length=64, blank=True, editable=False)  # the Celery task that holds it
    processing_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    PUBLIC_CONDITION = models.Q(status=ImageStatus.READY) & ~models.Q(alt_text="")

    class Meta:
        abstract = True

    def shows_publicly(self) -> bool:
        # The job's other states are seen by curators only, and so is a photograph nobody has described.
        return self.status == ImageStatus.READY and self.alt_text != ""

    def smallest_url(self) -> str:
        """The lightest public file: the smallest JPEG or WebP rendition ("" until processed).

        Originals are never linked: they may carry metadata such as GPS positions.
        """
        candidates = [r for r in self.renditions or [] if r["format"] in ("webp", "jpeg")]
        return min(candidates, key=lambda r: (r["width"], r["format"] != "webp"))["url"] if candidates else ""
