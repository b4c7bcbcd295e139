"""One pipeline for every processed image: organism photographs and blog covers.

An upload is checked (uploads), stored under a generated name (fields), and a job on the `images` queue
(jobs) renders it (renditions) and writes the files (storage).
"""

from .fields import ALT_TEXT_REQUIRED, ImageStatus, ProcessedImage, generated_upload_name
from .jobs import IMAGE_TASK_OPTIONS, claim, fail, process, restart, run_image_job, stuck, sweep_image_jobs
from .renditions import RENDITION_WIDTHS, ImageUnprocessable, Rendered, Rendition, output_formats, render
from .storage import StorageUnavailable, rendition_name
from .uploads import ACCEPTED_FORMATS, ImageRejected, UploadCheck, check_upload

__all__ = [
    "ALT_TEXT_REQUIRED",
    "ACCEPTED_FORMATS",
    "IMAGE_TASK_OPTIONS",
    "RENDITION_WIDTHS",
    "ImageRejected",
    "ImageStatus",
    "ImageUnprocessable",
    "ProcessedImage",
    "Rendered",
    "Rendition",
    "StorageUnavailable",
    "UploadCheck",
    "check_upload",
    "claim",
    "fail",
    "generated_upload_name",
    "output_formats",
    "process",
    "render",
    "rendition_name",
    "restart",
    "run_image_job",
    "stuck",
    "sweep_image_jobs",
]
