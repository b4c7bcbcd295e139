"""Bumps: each content family's token replaced once per committed transaction that changed what the public
sees (`content_changed`), and on Redis announced to every process holding local copies (local.py)."""

import logging
import threading
import time

from django.core.cache import caches
from django.db import transaction
from django_redis.cache import RedisCache

from . import local
from .tokens import FAMILIES, bumped_key, generation_key, new_token, read_tokens, token_file

logger = logging.getLogger("biomuseum.pagecache")


# Families whose bump Redis did not take: pages are not served from local copies until they are saved.
_unsaved_bumps: set[str] = set()
_unsaved_lock = threading.Lock()


def has_unsaved_bumps() -> bool:
    return bool(_unsaved_bumps)  # read without the lock: a set's truth value is one atomic read


def save_unsaved_bumps() -> None:
    """Retry the bumps Redis did not take; ConnectionError while it still does not."""
    with _unsaved_lock:
        pending = set(_unsaved_bumps)
    if pending and not bump(*pending):
        raise ConnectionError("generations could not be saved")


def bump(*families: str, purge: bool = False) -> bool:
    """Replace the families' generation tokens now. False if the cache did not take it (retried later).

    Each family's last bump is kept beside its token: when, by whom, through what, and whether it was a
    purge (the cache panel's) rather than a change."""
    cache = caches["default"]
    record = _record(purge)
    if isinstance(cache, RedisCache):
        tokens = {generation_key(family): new_token() for family in families}
        cache.set_many({**tokens, **{bumped_key(family): record for family in families}}, timeout=None)
        stored = cache.get_many(list(tokens))
        failed = {family for family in families if stored.get(generation_key(family)) != tokens[generation_key(family)]}
    else:
        token_file().bump(families, record)
        failed = set()
    with _unsaved_lock:
        _unsaved_bumps.difference_update(set(families) - failed)
        _unsaved_bumps.update(failed)
    if failed:
        logger.warning("page cache generations not saved, retrying on the next request: %s", sorted(failed))
    elif isinstance(cache, RedisCache):
        # every process drops its copies before the writer goes on
        local.announce(cache.client.get_client(write=True), cache.client.make_key)
    return not failed


def _record(purge: bool) -> dict:
    from .. import revisions  # models: not importable before the apps are (the package is, by the bench)

    user = revisions.current_actor()
    return {"at": time.time(), "by": user.get_username() if user is not None else None,
            "via": revisions.current_via(), "purge": purge}  # fmt: skip


def last_bumps() -> dict[str, dict | None]:
    """Each family's last bump as `bump` recorded it; None where none is known (never bumped, or the cache
    was flushed). Raises ConnectionError when Redis does not answer."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        found = token_file().records()
        return {family: found.get(family) for family in FAMILIES}
    found = cache.get_many([bumped_key(family) for family in FAMILIES])
    return {family: found.get(bumped_key(family)) for family in FAMILIES}


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


def current_tokens(*families: str) -> tuple[int, ...] | None:
    """The families' tokens as a page rendered now records them, for what is cached outside the page cache
    (files built once per generation). None when they cannot be trusted: the cache unreachable, or a bump it
    has not taken yet (a file keyed on the old tokens would be served after the write)."""
    cache = caches["default"]
    try:
        save_unsaved_bumps()
        found = read_tokens(cache, families)
        missing = [family for family in families if family not in found]
        for family in missing:  # first use, or the cache was flushed: start new generations, as pages do
            cache.add(generation_key(family), new_token(), timeout=None)
        if missing:
            found.update(read_tokens(cache, missing))
        return tuple(found[family] for family in families)
    except (ConnectionError, KeyError):
        return None


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
