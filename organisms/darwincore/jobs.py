"""The admin's checklist jobs, step by step (the check, then the import the curator confirmed): their states
on the ChecklistImport row (the row is the truth, not a result backend), and what a sweeper queues again."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ChecklistImport, ImportStatus
from .importer import import_checklist
from .progress import ProgressFile

RUNNING = {False: ImportStatus.CHECKING, True: ImportStatus.IMPORTING}
WAITING = {False: ImportStatus.PENDING, True: ImportStatus.QUEUED}
FINISHED = {False: ImportStatus.CHECKED, True: ImportStatus.DONE}


def _claim(pk: int, apply: bool, job_id: str) -> ChecklistImport | None:
    """Take the job, or None when there is nothing to do: gone, past this step, or another live job has it."""
    with transaction.atomic():
        job = ChecklistImport.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status not in (WAITING[apply], RUNNING[apply]):
            return None
        stale = job.started_at and (timezone.now() - job.started_at).total_seconds() > settings.DWCA_IMPORT_STUCK_AFTER
        if job.status == RUNNING[apply] and job.job_id != job_id and not stale:
            return None
        if job.attempts >= settings.DWCA_IMPORT_MAX_ATTEMPTS:
            job.status, job.error = ImportStatus.FAILED, f"Gave up after {job.attempts} attempts."
            job.save(update_fields=["status", "error", "updated_at"])
            return None
        job.status, job.job_id, job.attempts, job.started_at = RUNNING[apply], job_id, job.attempts + 1, timezone.now()
        job.save(update_fields=["status", "job_id", "attempts", "started_at", "updated_at"])
        return job


def checklist_job_run(*, pk: int, apply: bool, job_id: str) -> str:
    """One step of an admin import (the check, or the import itself) as a worker runs it: the report lands on
    the row; its progress meanwhile in the progress file."""
    job = _claim(pk, apply, job_id)
    if job is None:
        return "skipped"
    path = Path(job.file.path)  # the media folder the web processes and the workers share
    if not path.is_file():
        _finish(job, job_id, status=ImportStatus.FAILED, error="The uploaded file is missing.")
        return "failed"
    progress = ProgressFile(job.pk)
    try:
        report = import_checklist(
            path=path, name=job.original_name, user=job.created_by, dry_run=not apply,
            skip_invalid=job.skip_invalid, prune=job.prune, publish=job.publish, progress=progress,
        )  # fmt: skip
    finally:
        progress.remove()
    field = "report" if apply else "preview"
    _finish(job, job_id, status=FINISHED[apply], **{field: report.as_dict()})
    return report.outcome


def checklist_job_failed(*, pk: int, job_id: str, message: str) -> None:
    ChecklistImport.objects.filter(pk=pk, job_id=job_id).exclude(status=ImportStatus.DONE).update(
        status=ImportStatus.FAILED, error=message[:2000], finished_at=timezone.now(), updated_at=timezone.now()
    )


def _finish(job: ChecklistImport, job_id: str, *, status: str, **fields) -> None:
    ChecklistImport.objects.filter(pk=job.pk, job_id=job_id).update(
        status=status, finished_at=timezone.now(), updated_at=timezone.now(), **fields
    )


def stuck_checklist_jobs() -> list[tuple[int, bool]]:
    """(pk, apply) of the jobs a sweeper should queue again: waiting for a while (the broker was down?), or
    running for longer than a live job can."""
    now = timezone.now()
    waiting = now - timedelta(seconds=settings.DWCA_IMPORT_PENDING_GRACE)
    running = now - timedelta(seconds=settings.DWCA_IMPORT_STUCK_AFTER)
    jobs = ChecklistImport.objects.filter(
        Q(status__in=[ImportStatus.PENDING, ImportStatus.QUEUED], updated_at__lt=waiting)
        | Q(status__in=[ImportStatus.CHECKING, ImportStatus.IMPORTING], started_at__lt=running)
    )
    apply = {ImportStatus.QUEUED, ImportStatus.IMPORTING}
    return [(pk, status in apply) for pk, status in jobs.values_list("pk", "status")]
