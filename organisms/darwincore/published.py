"""The archive GET /api/v1/exports/dwca.zip serves: built once per generation of the catalogue, kept as a file.

A whole-catalogue zip is megabytes, too big for a page entry in Redis, so it is a file in DWCA_EXPORT_DIR
named for the catalogue's generation token (the one the page cache keys the catalogue's pages on) and for
its own content digest. Every committed write the public can see replaces that token, so the next request
names a file that does not exist yet and builds it: an archive is never served after a committed edit. The
token is read before building, as the page cache reads it before rendering, so a write that lands
mid-build leaves the file under the old token, which no request asks for again.

Concurrent misses on one machine build once: the builder holds an exclusive lock on the generation's lock
file, and the others wait on it and then find the file. Older archives are deleted after a build. When the
tokens cannot be trusted (the cache unreachable) or the page cache is off, each request builds its own
archive into an unnamed temporary file, served and then gone.
"""

import fcntl
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils import timezone

from biomuseum.pagecache import current_tokens

from .export import write_archive

FAMILIES = ("organisms",)  # taxa and vernacular names bump the catalogue's family too (organisms/signals.py)
FORMAT = 1  # part of every file name: a release that changes the archive never serves an older one
PREFIX = "dwca-"


@dataclass(frozen=True)
class Archive:
    """An archive ready to send: its open file, its size and its strong ETag (the content's digest)."""

    file: IO[bytes]
    size: int
    etag: str


class _Hashing:
    """A write-only stream that digests what passes through it on the way to `target`."""

    def __init__(self, target: IO[bytes]):
        self.target = target
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


def _build(target: IO[bytes]) -> str:
    hashing = _Hashing(target)
    write_archive(hashing, exported_at=timezone.now())
    target.flush()
    return hashing.digest.hexdigest()


def current_archive() -> Archive:
    """The archive of the catalogue as committed now: the one built for this generation, or a new one."""
    for _ in range(3):  # a file found can be deleted by a newer generation's build before it is opened
        tokens = current_tokens(*FAMILIES) if settings.PAGE_CACHE_ENABLED else None
        if tokens is None:
            break
        try:
            return _open(_kept(tokens))
        except FileNotFoundError:
            continue
    return _uncached()


def _kept(tokens: tuple[int, ...]) -> Path:
    raw = f"{FORMAT}:{tokens}:{settings.MUSEUM_NAME}:{settings.CATALOGUE_DEFAULT_LANGUAGE}"
    generation = hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()
    directory = Path(settings.DWCA_EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    found = _find(directory, generation)
    if found is None:
        with open(directory / f".{generation}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
            found = _find(directory, generation) or _build_file(directory, generation)
        (directory / f".{generation}.lock").unlink(missing_ok=True)
    return found


def _find(directory: Path, generation: str) -> Path | None:
    return next(iter(sorted(directory.glob(f"{PREFIX}{generation}-*.zip"))), None)


def _build_file(directory: Path, generation: str) -> Path:
    started = timezone.now().timestamp()
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".building-", suffix=".zip")
    try:
        with os.fdopen(descriptor, "wb") as target:
            digest = _build(target)
            os.fsync(target.fileno())
        final = directory / f"{PREFIX}{generation}-{digest}.zip"
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _delete_older(directory, keep=final, before=started)
    return final


def _delete_older(directory: Path, *, keep: Path, before: float) -> None:
    """Archives finished before this build began: older generations (a slower build of an older generation
    that finishes later is left for the next build to delete, so it never deletes a newer one)."""
    for path in directory.glob(f"{PREFIX}*.zip"):
        try:
            if path != keep and path.stat().st_mtime < before:
                path.unlink()  # a request still sending it keeps its open file
        except FileNotFoundError:
            pass


def _open(path: Path) -> Archive:
    file = open(path, "rb")  # noqa: SIM115 - the response closes it
    digest = path.stem.rsplit("-", 1)[-1]
    return Archive(file=file, size=os.fstat(file.fileno()).st_size, etag=f'"{digest}"')


def _uncached() -> Archive:
    file = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115 - unnamed: gone when the response closes it
    try:
        digest = _build(file)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Archive(file=file, size=os.fstat(file.fileno()).st_size, etag=f'"{digest}"')
