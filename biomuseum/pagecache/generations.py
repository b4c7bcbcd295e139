"""Generation tokens: one per content family, replaced after every committed write."""

import logging
import secrets
import threading

from django.core.cache import caches
from django.db import transaction
from django_redis.cache import RedisCache

from . import local

logger = logging.getLogger("biomuseum.pagecache")

FAMILIES = ("organisms", "posts")


def generation_key(family: str) -> str:
    return f"pc:gen:{family}"


# --- generations ---


def _new_token() -> int:
    # Random, not a counter: a generation lost with a flushed cache can never come back and
    # revive an old entry. An int, because django-redis stores ints raw (no unpickling on a hit).
    return secrets.randbits(62)


_unsaved_bumps: set[str] = set()
_unsaved_lock = threading.Lock()


def bump(*families: str) -> bool:
    """Replace the families' generation tokens now. False if the cache did not take it (retried later)."""
    cache = caches["default"]
    tokens = {generation_key(family): _new_token() for family in families}
    cache.set_many(tokens, timeout=None)
    stored = cache.get_many(list(tokens))
    failed = {family for family in families if stored.get(generation_key(family)) != tokens[generation_key(family)]}
    with _unsaved_lock:
        _unsaved_bumps.difference_update(set(families) - failed)
        _unsaved_bumps.update(failed)
    if failed:
        logger.warning("page cache generations not saved, retrying on the next request: %s", sorted(failed))
    elif isinstance(cache, RedisCache):
        local.announce(cache.client.get_client(write=True))  # every process drops its copies first
    return not failed


def content_changed(*families: str) -> None:
    """Call inside a write: the families' pages die when (and only if) the transaction commits."""
    transaction.on_commit(lambda: bump(*families))


def generations() -> dict[str, int | None]:
    found = caches["default"].get_many([generation_key(family) for family in FAMILIES])
    return {family: found.get(generation_key(family)) for family in FAMILIES}
