"""The admin's checklist import: upload, the check's preview, confirm, the report; what curators may do; the
job's steps and its sweeper. The jobs run in this process here (eager); tests/integration runs them on a
real worker."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from organisms.darwincore import jobs as checklist_jobs
from organisms.darwincore.progress import ProgressFile, read_progress
from organisms.models import ChecklistImport, ImportStatus, Organism, Taxon
from organisms.services import checklists

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "dwca"
ADD = reverse("admin:organisms_checklistimport_add")


def view_url(job: ChecklistImport) -> str:
    return reverse("admin:organisms_checklistimport_change", args=[job.pk])


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (DATA / name).read_bytes())


@pytest.fixture
def jobs(eager_jobs, django_capture_on_commit_callbacks):
    """Jobs queued on commit run then, in this process."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def curator(staff_with):
    user = staff_with("organisms.add_checklistimport", "organisms.view_checklistimport")
    client = Client()
    client.force_login(user)
    return client


def test_upload_shows_a_preview_and_imports_only_when_confirmed(curator, jobs):
    with jobs():
        response = curator.post(ADD, {"file": upload("demo-checklist.zip"), "publish": "on"})
    job = ChecklistImport.objects.get()
    assert response.status_code == 302 and response["Location"] == view_url(job)
    assert job.status == ImportStatus.CHECKED
    assert job.preview["outcome"] == "dry run" and job.preview["taxa"]["created"] == 404
    assert not Taxon.objects.exists()  # the check wrote nothing
    page = curator.get(view_url(job)).content.decode()
    assert "Import now" in page and "404 created" in page and "dry run" in page
    assert job.file.name.startswith("imports/") and "demo-checklist" not in job.file.name  # a generated name

    with jobs():
        response = curator.post(reverse("admin:organisms_checklistimport_confirm", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.report["outcome"] == "imported"
    assert Taxon.objects.count() == 404 and Organism.objects.filter(is_published=True).count() == 82
    page = curator.get(view_url(job)).content.decode()
    assert "Import now" not in page and "imported" in page
    again = curator.post(reverse("admin:organisms_checklistimport_confirm", args=[job.pk]), follow=True)
    assert "Only a checked file" in again.content.decode()  # confirmed once only
    assert Taxon.objects.count() == 404


def test_a_rejected_file_shows_its_problems_and_cannot_be_imported(curator, jobs):
    with jobs():
        curator.post(ADD, {"file": upload("mixed.zip")})
    job = ChecklistImport.objects.get()
    assert job.preview["outcome"] == "rejected"
    page = curator.get(view_url(job)).content.decode()
    assert "Import now" not in page
    assert "t404" in page and "parentNameUsageID" in page and "<td>17</td>" in page
    curator.post(reverse("admin:organisms_checklistimport_confirm", args=[job.pk]))
    assert ChecklistImport.objects.get().status == ImportStatus.CHECKED and not Taxon.objects.exists()


def test_a_hostile_upload_is_refused_in_the_preview(curator, jobs):
    with jobs():
        curator.post(ADD, {"file": upload("path-traversal.zip")})
    job = ChecklistImport.objects.get()
    assert job.preview["outcome"] == "refused" and "outside the archive" in job.preview["refused"]
    assert "outside the archive" in curator.get(view_url(job)).content.decode()


def test_the_form_refuses_what_is_not_a_checklist(curator, settings):
    response = curator.post(ADD, {"file": SimpleUploadedFile("photo.jpg", b"\xff\xd8")})
    assert response.status_code == 200 and "Darwin Core Archive (.zip)" in response.content.decode()
    settings.DWCA_MAX_UPLOAD_BYTES = 10
    response = curator.post(ADD, {"file": upload("demo-checklist.csv")})
    assert "larger than" in response.content.decode()
    assert not ChecklistImport.objects.exists()


def test_staff_without_the_permission_cannot_upload_or_confirm(staff_with, jobs):
    with jobs():
        job = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)
    client = Client()
    client.force_login(staff_with("organisms.view_organism"))
    assert client.post(ADD, {"file": upload("demo-checklist.tsv")}).status_code == 403
    assert client.post(reverse("admin:organisms_checklistimport_confirm", args=[job.pk])).status_code == 403
    assert ChecklistImport.objects.get().status == ImportStatus.CHECKED


def test_a_page_under_way_reloads_itself_and_shows_the_progress(curator):
    job = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)  # not run: no eager jobs
    ChecklistImport.objects.filter(pk=job.pk).update(status=ImportStatus.CHECKING)
    ProgressFile(job.pk)("taxa", 120, 400)
    page = curator.get(view_url(job)).content.decode()
    assert 'http-equiv="refresh"' in page and '<progress value="120" max="400">' in page
    assert read_progress(job.pk)["stage"] == "taxa"


def test_a_job_runs_each_step_once(jobs):
    with jobs():
        job = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED and job.attempts == 1
    assert checklist_jobs.checklist_job_run(pk=job.pk, apply=False, job_id="again") == "skipped"  # checked already
    assert checklist_jobs.checklist_job_run(pk=job.pk, apply=True, job_id="early") == "skipped"  # not confirmed
    with jobs():
        checklists.checklist_import_confirm(job=job, user=None)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.report["organisms"]["created"] == 6
    assert checklist_jobs.checklist_job_run(pk=job.pk, apply=True, job_id="redelivered") == "skipped"
    assert read_progress(job.pk) is None  # the progress file goes with the job


def test_the_sweeper_queues_again_what_waits_too_long_or_died(settings):
    waiting = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)
    running = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)
    fresh = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)
    long_ago = timezone.now() - timedelta(hours=1)
    ChecklistImport.objects.filter(pk=waiting.pk).update(updated_at=long_ago)
    ChecklistImport.objects.filter(pk=running.pk).update(
        status=ImportStatus.IMPORTING, started_at=long_ago, updated_at=long_ago
    )
    assert sorted(checklist_jobs.stuck_checklist_jobs()) == [(waiting.pk, False), (running.pk, True)]
    assert fresh.pk not in dict(checklist_jobs.stuck_checklist_jobs())


def test_a_missing_upload_fails_the_job_with_a_reason():
    job = checklists.checklist_upload(upload=upload("demo-checklist.tsv"), user=None)
    Path(job.file.path).unlink()
    assert checklist_jobs.checklist_job_run(pk=job.pk, apply=False, job_id="j1") == "failed"
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "missing" in job.error
