"""The admin's checklist import: upload, a check whose report is the preview, confirm, watch it run, read its
report. The work is a Celery job (organisms.tasks.run_checklist_import); the page reloads itself meanwhile."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ..darwincore.progress import read_progress
from ..models import ChecklistImport, ImportStatus
from ..services.checklists import check_upload, checklist_import_confirm, checklist_upload

UNDER_WAY = {ImportStatus.PENDING, ImportStatus.CHECKING, ImportStatus.QUEUED, ImportStatus.IMPORTING}
STAGES = {"reading": "Reading and checking the file", "taxa": "Writing taxa", "synonyms": "Writing synonyms",
          "names": "Writing vernacular names", "organisms": "Writing organisms"}  # fmt: skip


class ChecklistUploadForm(forms.ModelForm):
    class Meta:
        model = ChecklistImport
        fields = ("file", "skip_invalid", "prune", "publish")
        help_texts = {
            "file": "A Darwin Core Archive (.zip with meta.xml) or a .csv/.tsv whose header row uses Darwin Core "
            "terms (taxonID, scientificName, taxonRank, kingdom ... genus, vernacularName, language). It is "
            "checked first; nothing is imported until you confirm the preview."
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_upload(upload)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict.get("file", error.messages)) from error
        return upload


@admin.register(ChecklistImport)
class ChecklistImportAdmin(admin.ModelAdmin):
    list_display = ("original_name", "status", "summary", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("original_name",)
    date_hierarchy = "created_at"
    change_form_template = "admin/organisms/checklistimport/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ChecklistUploadForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("file", "skip_invalid", "prune", "publish")
        return ("original_name", "status", "progress", "options", "preview_report", "import_report", "error",
                "created_by", "created_at", "finished_at")  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self.has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False  # an import is read, confirmed and deleted, never edited: the page is its view

    def save_model(self, request, obj, form, change):
        created = checklist_upload(
            upload=form.cleaned_data["file"], user=request.user, skip_invalid=form.cleaned_data["skip_invalid"],
            prune=form.cleaned_data["prune"], publish=form.cleaned_data["publish"],
        )  # fmt: skip
        obj.pk = created.pk
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        messages.info(request, f"{obj.original_name} is being checked: its preview appears below.")
        return redirect(reverse("admin:organisms_checklistimport_change", args=[obj.pk]))

    def get_urls(self):
        confirm = self.admin_site.admin_view(self.confirm_view)
        return [path("<int:pk>/confirm/", confirm, name="organisms_checklistimport_confirm"), *super().get_urls()]

    def confirm_view(self, request, pk: int):
        if request.method != "POST":
            return redirect(reverse("admin:organisms_checklistimport_change", args=[pk]))
        if not self.has_add_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ChecklistImport, pk=pk)
        try:
            checklist_import_confirm(job=job, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{job.original_name} is being imported.")
        return redirect(reverse("admin:organisms_checklistimport_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "under_way": job is not None and job.status in UNDER_WAY,
            "can_confirm": job is not None and self._confirmable(job) and self.has_add_permission(request),
            "confirm_url": reverse("admin:organisms_checklistimport_confirm", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _confirmable(job: ChecklistImport) -> bool:
        return job.status == ImportStatus.CHECKED and bool(job.preview) and job.preview.get("outcome") == "dry run"

    @admin.display(description="Outcome")
    def summary(self, job: ChecklistImport) -> str:
        report = job.report or job.preview
        if not report:
            return "-"
        counts = report["taxa"], report["names"], report["organisms"]
        verb = "" if job.report else " (preview)"
        return (
            f"{report['outcome']}{verb}: {counts[0]['created']} taxa, {counts[1]['created']} names and "
            f"{counts[2]['created']} organisms created; {report['problem_count']} problems"
        )

    @admin.display(description="Progress")
    def progress(self, job: ChecklistImport):
        if job.status not in UNDER_WAY:
            return "-"
        found = read_progress(job.pk)
        if not found:
            return "Waiting for a worker." if job.status in (ImportStatus.PENDING, ImportStatus.QUEUED) else "Starting."
        stage = STAGES.get(found["stage"], found["stage"])
        if not found["total"]:
            return format_html("{}: {} rows", stage, f"{found['done']:,}")
        return format_html('{}: <progress value="{}" max="{}"></progress> {} of {}', stage, found["done"],
                           found["total"], f"{found['done']:,}", f"{found['total']:,}")  # fmt: skip

    @admin.display(description="Options")
    def options(self, job: ChecklistImport) -> str:
        chosen = [("skip invalid rows", job.skip_invalid), ("withdraw what the file lacks", job.prune),
                  ("publish new organisms", job.publish)]  # fmt: skip
        return ", ".join(label for label, on in chosen if on) or "none"

    @admin.display(description="Preview (what the import would do)")
    def preview_report(self, job: ChecklistImport):
        return _report_html(job.preview)

    @admin.display(description="Report")
    def import_report(self, job: ChecklistImport):
        return _report_html(job.report)


def _report_html(report: dict | None):
    if not report:
        return "-"
    rows = [("Outcome", report["outcome"])]
    if report.get("refused"):
        rows.append(("Refused", report["refused"]))
    rows += [(f"Rows in {name}", f"{count:,}") for name, count in report["rows"].items()]
    for kind, label in (("taxa", "Taxa"), ("names", "Vernacular names"), ("organisms", "Organisms")):
        counts = report[kind]
        text = f"{counts['created']:,} created, {counts['updated']:,} updated, {counts['unchanged']:,} unchanged"
        if kind == "organisms" and report.get("prune"):
            text += f", {counts['withdrawn']:,} withdrawn"
        rows.append((label, text))
    table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    problems = report.get("problems") or []
    if not problems:
        return format_html('<table class="checklist-report">{}</table>', table)
    listed = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((p["file"], p["line"], p["column"], p["value"][:80], p["reason"]) for p in problems),
    )  # fmt: skip
    more = report["problem_count"] - len(problems)
    return format_html(
        '<table class="checklist-report">{}</table><h3>{} rows that cannot be used{}</h3>'
        '<table class="checklist-problems"><thead><tr><th>File</th><th>Line</th><th>Column</th><th>Value</th>'
        "<th>Why</th></tr></thead><tbody>{}</tbody></table>",
        table, f"{report['problem_count']:,}", f" (the first {len(problems):,} listed)" if more > 0 else "", listed,
    )  # fmt: skip
