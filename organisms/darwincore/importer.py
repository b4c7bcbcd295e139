"""One checklist into the catalogue: read, checked, then written in one transaction with one cache
invalidation, or not at all. The services give it as organisms.services.checklist_import; the admin's jobs
(.jobs) call it here, below the services, so that tasks need not import the services that queue them."""

from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from biomuseum import revisions
from biomuseum.pagecache import content_changed

from .archive import ArchiveRefused, open_checklist
from .load import Loader, Progress
from .names import check_names
from .plan import Plan
from .report import Report


class _Undo(Exception):
    """Leaves the import's transaction without committing it (a dry run, or a problem found while writing)."""


def import_checklist(
    *,
    path: str | Path,
    user: AbstractBaseUser | None,
    name: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    prune: bool = False,
    publish: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Upsert the checklist at `path` (a Darwin Core Archive, or a CSV/TSV with Darwin Core columns) into the
    tree, the names and the catalogue, and report what changed. All or nothing: a row that cannot be used
    rejects the whole import unless `skip_invalid`; a dry run reports the same and commits nothing. New
    organisms are published unless `publish` is False; `prune` withdraws published ones the file lacks."""
    report = Report(source=name or Path(path).name, dry_run=dry_run, skip_invalid=skip_invalid, prune=prune)
    try:
        with open_checklist(path, name=name) as checklist:
            plan = Plan(checklist, report)
            (progress or _quiet)("reading", 0, 0)
            plan.read()
            check_names(plan)
            plan.check()
            if report.problem_count and not skip_invalid:
                return report
            loader = Loader(plan, report, user=user, publish=publish, prune=prune, progress=progress)
            try:
                with transaction.atomic(), revisions.recording("import", user=user):
                    loader.run()
                    if dry_run or (loader.late and not skip_invalid):
                        raise _Undo
                    content_changed("organisms")  # bulk writes send no signals: once, when this commits
            except _Undo:
                return report
            report.applied = True
    except ArchiveRefused as error:
        report.refused = str(error)
    return report


def _quiet(stage: str, done: int, total: int) -> None:
    pass
