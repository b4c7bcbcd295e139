"""Generation tokens: one per content family, and where every process that serves pages reads them.

Where the tokens live decides who sees a bump, so they live where every such process sees them: in Redis
when the cache is Redis (every web instance, any machine), otherwise in a small memory-mapped file
(`SharedTokenFile`: every process on the machine, the embedded default's web server, Celery worker, beat
and `manage.py` commands alike). A page cached in one process's memory is then only as fresh as the
tokens it checks, and those tokens are shared.
"""

import fcntl
import json
import mmap
import os
import secrets
import struct
import threading
import time
from pathlib import Path

from django.conf import settings
from django_redis.cache import RedisCache

FAMILIES = ("organisms", "posts")


def generation_key(family: str) -> str:
    return f"pc:gen:{family}"


def bumped_key(family: str) -> str:
    """The family's last bump: when, who, through what (the cache panel shows it)."""
    return f"pc:bumped:{family}"


def new_token() -> int:
    # Random, not a counter: a generation lost with a flushed cache can never come back and
    # revive an old entry. An int, because django-redis stores ints raw (no unpickling on a hit).
    return secrets.randbits(62)


class SharedTokenFile:
    """The families' tokens and a bump counter in a memory-mapped file that every local process maps.

    Reading is a memory read (no system call); a bump writes the slots under an exclusive lock, and every
    process mapping the file sees the new values at once. A file deleted or replaced behind a running
    process (`make clean`) is noticed within `RECHECK` seconds, and a new file starts from random tokens,
    so an old page can never match it.
    """

    SLOT = struct.Struct("<Q")
    RECHECK = 1.0

    def __init__(self, path: Path):
        self.path = path
        self.size = self.SLOT.size * (len(FAMILIES) + 1)  # the tokens, then the bump counter
        self.offsets = {family: index * self.SLOT.size for index, family in enumerate(FAMILIES)}
        self.counter_offset = len(FAMILIES) * self.SLOT.size
        self.lock = threading.Lock()
        self.map: mmap.mmap | None = None
        self.inode = None
        self.recheck_at = 0.0

    def _mapped(self) -> mmap.mmap:
        if self.map is not None and time.monotonic() < self.recheck_at:
            return self.map
        with self.lock:
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = None
            if self.map is None or current != self.inode:
                self._open()
            self.recheck_at = time.monotonic() + self.RECHECK
            return self.map

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if os.fstat(descriptor).st_size < self.size:  # new: random tokens, no bumps yet
                tokens = b"".join(self.SLOT.pack(new_token()) for _ in FAMILIES)
                os.pwrite(descriptor, tokens + self.SLOT.pack(0), 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            mapped = mmap.mmap(descriptor, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self.inode = os.fstat(descriptor).st_ino
        finally:
            os.close(descriptor)
        self.map = mapped  # an older map is left to the garbage collector: a reader may be using it

    def read(self, families) -> dict[str, int]:
        mapped = self._mapped()
        unpack, offsets = self.SLOT.unpack_from, self.offsets
        return {family: unpack(mapped, offsets[family])[0] for family in families}

    def bump(self, families, record: dict | None = None) -> None:
        """New tokens for `families`; `record` (when, who, through what) kept as each one's last bump."""
        mapped = self._mapped()
        descriptor = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # writers in turn; readers never wait
            for family in families:
                self.SLOT.pack_into(mapped, self.offsets[family], new_token())
            count = self.SLOT.unpack_from(mapped, self.counter_offset)[0]
            self.SLOT.pack_into(mapped, self.counter_offset, count + 1)
            if record is not None:
                self._write_records({**self.records(), **dict.fromkeys(families, record)})
        finally:
            os.close(descriptor)  # releases the lock

    @property
    def records_path(self) -> Path:
        return self.path.with_name(self.path.name + ".bumps.json")

    def records(self) -> dict[str, dict]:
        """Each family's last bump, as `bump` recorded it (a statistic: unreadable means none)."""
        try:
            found = json.loads(self.records_path.read_text())
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def _write_records(self, records: dict) -> None:
        partial = self.records_path.with_name(f"{self.records_path.name}.{os.getpid()}")
        partial.write_text(json.dumps(records))
        os.replace(partial, self.records_path)  # a reader sees the old file or the new one, never half

    def bumps(self) -> int:
        return self.SLOT.unpack_from(self._mapped(), self.counter_offset)[0]


_token_files: dict[str, SharedTokenFile] = {}
_token_files_lock = threading.Lock()


def token_file() -> SharedTokenFile:
    name = settings.PAGE_CACHE_GENERATIONS_FILE  # on every hit: keyed by the setting as it is
    found = _token_files.get(name)
    if found is None:
        with _token_files_lock:
            found = _token_files.setdefault(name, SharedTokenFile(Path(name)))
    return found


def read_tokens(cache, families) -> dict[str, int]:
    """The families' current tokens (Redis: by key, in the caller's round trip instead where it can)."""
    if isinstance(cache, RedisCache):
        found = cache.get_many([generation_key(family) for family in families])
        return {family: found[generation_key(family)] for family in families if generation_key(family) in found}
    return token_file().read(families)
