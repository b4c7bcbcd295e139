"""django-ratelimit's rate, window and key arithmetic, which it does not export.

The page cache counts public reads in its own Redis round trip (pagecache/stores.py), and must count into
exactly the keys and windows django-ratelimit's `get_usage` counts into, or hits and rendered pages would
be two limits for one client. The names used here are private to django-ratelimit (pinned in
requirements.txt); this module is their only importer, and tests/biomuseum/test_ratewindows.py pins what
they do against `get_usage`, so an upgrade that changes them fails there rather than silently.
"""

from collections.abc import Callable

from django_ratelimit import core


def split_rate(rate: str) -> tuple[int, int]:
    """ "5/m" -> (5, 60): the limit and the window's length in seconds."""
    return core._split_rate(rate)


def window_end(value: str, period: int) -> int:
    """When the window this client's value falls in ends (windows are staggered per value)."""
    return core._get_window(value, period)


def cache_key(group: str, window_end: int, rate: str, value: str, methods: list[str]) -> str:
    return core._make_cache_key(group, window_end, rate, value, methods)


def simple_key(name: str) -> Callable | None:
    """The function behind a built-in key name ("ip", "user", ...), or None."""
    return core._SIMPLE_KEYS.get(name)
