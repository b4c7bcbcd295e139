"""Generation tokens: one per content family, replaced once per committed transaction that changed it.

Where the tokens live decides who sees a bump, so they live where every process that serves pages sees
them: in Redis when the cache is Redis (every web instance, any machine), otherwise in a small
memory-mapped file (`SharedTokenFile`: every process on the machine, the embedded default's web server,
Celery worker, beat and `manage.py` commands alike). A page cached in one process's memory is then only
as fresh as the tokens it checks, and those tokens are shared.
"""

import fcntl
import logging
import mmap
import os
import secrets
import struct
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django_redis.cache import RedisCache

from . import local

logger = logging.getLogger("biomuseum.pagecache")

FAMILIES = ("organisms", "posts")


def generation_key(family: str) -> str:
    return f"pc:gen:{family}"


def _new_token() -> int:
    # Random, not a counter: a generation lost with a flushed cache can never come back and
    # revive an old entry. An int, because django-redis stores ints raw (no unpickling on a hit).
    return secrets.randbits(62)


# --- tokens shared through a file (caches other than Redis) ---


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
                tokens = b"".join(self.SLOT.pack(_new_token()) for _ in FAMILIES)
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

    def bump(self, families) -> None:
        mapped = self._mapped()
        descriptor = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # writers in turn; readers never wait
            for family in families:
                self.SLOT.pack_into(mapped, self.offsets[family], _new_token())
            count = self.SLOT.unpack_from(mapped, self.counter_offset)[0]
            self.SLOT.pack_into(mapped, self.counter_offset, count + 1)
        finally:
            os.close(descriptor)  # releases the lock

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


# --- bumps ---


_unsaved_bumps: set[str] = set()
_unsaved_lock = threading.Lock()


def bump(*families: str) -> bool:
    """Replace the families' generation tokens now. False if the cache did not take it (retried later)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        token_file().bump(families)
        return True
    tokens = {generation_key(family): _new_token() for family in families}
    cache.set_many(tokens, timeout=None)
    stored = cache.get_many(list(tokens))
    failed = {family for family in families if stored.get(generation_key(family)) != tokens[generation_key(family)]}
    with _unsaved_lock:
        _unsaved_bumps.difference_update(set(families) - failed)
        _unsaved_bumps.update(failed)
    if failed:
        logger.warning("page cache generations not saved, retrying on the next request: %s", sorted(failed))
    else:
        # every process drops its copies before the writer goes on
        local.announce(cache.client.get_client(write=True), cache.client.make_key)
    return not failed


class _TransactionBumps:
    """The families a transaction changed, bumped together once when it commits."""

    def __init__(self, using: str | None):
        self.using = using
        self.families: set[str] = set()
        self.position = -1
        self.done = False

    def __call__(self) -> None:
        self.done = True
        bump(*sorted(self.families))

    def registered(self, connection) -> bool:
        """Still waiting for this transaction's commit (not run, not dropped with a rolled-back savepoint)."""
        if self.done:
            return False
        pending = connection.run_on_commit
        if 0 <= self.position < len(pending) and pending[self.position][1] is self:
            return True
        for position, (_, callback, _) in enumerate(pending):  # moved: a savepoint before it rolled back
            if callback is self:
                self.position = position
                return True
        return False


def content_changed(*families: str, using: str | None = None) -> None:
    """Call inside a write: the families' pages die when (and only if) the transaction commits.

    However many rows a transaction writes, each family is bumped once, after the commit; outside a
    transaction (autocommit) each write bumps at once.
    """
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        bump(*families)
        return
    pending = getattr(connection, "_page_cache_bumps", None)
    if pending is None or not pending.registered(connection):
        pending = connection._page_cache_bumps = _TransactionBumps(using)
        transaction.on_commit(pending, using=using)
        pending.position = len(connection.run_on_commit) - 1
    pending.families.update(families)


def generations() -> dict[str, int | None]:
    cache = caches["default"]
    found = read_tokens(cache, FAMILIES)
    return {family: found.get(family) for family in FAMILIES}


def bump_stats() -> dict:
    """Bumps made by every process sharing the tokens, and (on Redis) acknowledgements that came late."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return {"tokens": "file", "bumps": token_file().bumps(), "late_acks": 0}
    try:
        return local.announce_stats(cache.client.get_client(write=True), cache.client.make_key)
    except Exception as error:  # statistics never fail a probe
        return {"tokens": "redis", "bumps": None, "late_acks": None, "error": str(error)}
