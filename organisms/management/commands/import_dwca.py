import json
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from organisms.services import checklist_import

STAGES = {"reading": "reading and checking", "taxa": "taxa", "synonyms": "synonyms", "names": "vernacular names",
          "organisms": "organisms"}  # fmt: skip


class Command(BaseCommand):
    help = (
        "Import a checklist: a Darwin Core Archive (zip with meta.xml; Taxon core, VernacularName, Distribution, "
        "Description and Identifier extensions) or a CSV/TSV whose header uses Darwin Core terms. Upserts by "
        "taxonID; one bad row rejects the whole import unless --skip-invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The archive (.zip) or the delimited file (.csv, .tsv, .txt).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--skip-invalid", action="store_true", help="Import the usable rows, list the rest.")
        prune = "Withdraw (unpublish, never delete) the published organisms the file lacks."
        parser.add_argument("--prune", action="store_true", help=prune)
        parser.add_argument("--unpublished", action="store_true", help="Create new organisms as drafts.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (it goes to standard error).")

    def handle(self, *args, path: str, dry_run: bool, skip_invalid: bool, prune: bool, unpublished: bool,
               json: bool = False, no_progress: bool = False, **options):  # fmt: skip
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if no_progress:
                return
            bar = bars.get(stage)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[stage] = tqdm(total=total or None, desc=STAGES.get(stage, stage), unit=" rows",
                                         file=sys.stderr, leave=False, disable=None)  # fmt: skip
            bar.update(done - bar.n)

        report = checklist_import(path=path, user=None, dry_run=dry_run, skip_invalid=skip_invalid, prune=prune,
                                  publish=not unpublished, progress=progress)  # fmt: skip
        for bar in bars.values():
            bar.close()
        if json:
            self.stdout.write(_json(report.as_dict()))
        else:
            for line in report.lines():
                self.stdout.write(line)
        if report.outcome in ("refused", "rejected"):
            raise CommandError(f"{report.source} was {report.outcome}: nothing was written.")


def _json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
