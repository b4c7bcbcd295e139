"""Darwin Core checklists into the catalogue: the import itself, and the admin's uploads and confirmations
(whose jobs are organisms.darwincore.jobs)."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from ..darwincore.importer import import_checklist as checklist_import
from ..models import ChecklistImport, ImportStatus

__all__ = ["check_upload", "checklist_import", "checklist_import_confirm", "checklist_upload"]


UPLOAD_SUFFIXES = (".zip", ".csv", ".tsv", ".txt")


def check_upload(upload) -> str:
    """The upload's own name, if it may be a checklist (the form shows the error first); its content is
    checked by the job."""
    name = Path(upload.name or "").name
    if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise ValidationError({"file": "A checklist is a Darwin Core Archive (.zip) or a .csv, .tsv or .txt file."})
    if upload.size > settings.DWCA_MAX_UPLOAD_BYTES:
        limit = settings.DWCA_MAX_UPLOAD_BYTES // 1024**2
        raise ValidationError({"file": f"The file is larger than {limit:,} MiB."})
    return name


@transaction.atomic
def checklist_upload(
    *, upload, user: AbstractBaseUser | None, skip_invalid: bool = False, prune: bool = False, publish: bool = True
) -> ChecklistImport:
    """Keep an uploaded checklist and queue its check (a dry run: the preview the curator confirms)."""
    name = check_upload(upload)
    job = ChecklistImport(original_name=name[:200], skip_invalid=skip_invalid, prune=prune, publish=publish,
                          created_by=user if user is not None and user.pk else None)  # fmt: skip
    job.file.save(name, upload, save=False)
    job.save()
    _queue(job, apply=False)
    return job


@transaction.atomic
def checklist_import_confirm(*, job: ChecklistImport, user: AbstractBaseUser | None) -> ChecklistImport:
    """The curator read the preview and wants the import: queue it. Only a checked file whose preview imports
    (nothing rejected, or rejected rows skipped) can be confirmed, once."""
    job = ChecklistImport.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.CHECKED or not job.preview or job.preview.get("outcome") != "dry run":
        raise ValidationError("Only a checked file whose preview shows an import can be imported.")
    job.status = ImportStatus.QUEUED
    job.save(update_fields=["status", "updated_at"])
    _queue(job, apply=True)
    return job


def _queue(job: ChecklistImport, *, apply: bool) -> None:
    from ..tasks import run_checklist_import

    run_checklist_import.delay_on_commit(job.pk, apply)
