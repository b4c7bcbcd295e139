import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from organisms.darwincore.export import write_archive


class Command(BaseCommand):
    help = (
        "Write the published catalogue as a Darwin Core Archive to PATH (`-`: standard output). The file appears"
        " whole or not at all: it is written beside PATH and renamed into place."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Where to write the zip; `-` writes it to standard output.")

    def handle(self, *args, path, **options):
        exported_at = timezone.now()
        if path == "-":
            counts = write_archive(sys.stdout.buffer, exported_at=exported_at)
            sys.stdout.buffer.flush()
            report = self.stderr  # standard output carries the archive
        else:
            counts = self._write_file(Path(path), exported_at)
            report = self.stdout
        for name, count in counts.items():
            report.write(f"{name}: {count} rows")
        if path != "-":
            report.write(self.style.SUCCESS(f"Wrote {path}."))

    @staticmethod
    def _write_file(target: Path, exported_at) -> dict[str, int]:
        directory = target.resolve().parent
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as out:
                counts = write_archive(out, exported_at=exported_at)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return counts
