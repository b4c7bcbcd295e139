"""An import's progress, where the admin page can read it while the import's transaction is still open: a small
JSON file beside the upload (a row written from inside that transaction would not be seen until it commits,
and on SQLite could not be written from outside it). The worker and the web processes share the media folder
already: the worker reads the upload from there."""

import json
import os
import time
from pathlib import Path

from django.conf import settings

EVERY = 0.5  # seconds between writes


def progress_file(import_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / f"{import_id}.progress.json"


class ProgressFile:
    """A progress callback (stage, done, total) that writes the file at most every EVERY seconds."""

    def __init__(self, import_id: int):
        self.path = progress_file(import_id)
        self.written_at = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.written_at < EVERY and done != total:
            return
        self.written_at = now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps({"stage": stage, "done": done, "total": total, "at": time.time()}))
        os.replace(partial, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def read_progress(import_id: int) -> dict | None:
    try:
        return json.loads(progress_file(import_id).read_text())
    except (OSError, ValueError):
        return None
