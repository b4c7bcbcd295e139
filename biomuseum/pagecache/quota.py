"""Public-read rate limits for hits answered from a process's own copies (local.py), without a round trip.

Spare hits are set aside in Redis by a round-trip lookup (stores.RedisStore, with django-ratelimit's keys
and windows): every process together never allows more than the limit, and a client close to it is counted
in Redis on every request.
"""

import contextlib
import itertools
import time
from collections import deque

from .. import ratelimits

PRUNE_EVERY = 1.0  # seconds between sweeps of allowances whose window has ended

RESERVE_AT_MOST = 128  # hits one lookup may set aside for this process's own copies


class Allowance:
    """Hits a lookup set aside in Redis for one client and window, spent here without a round trip."""

    __slots__ = ("first", "granted", "taken", "ends")

    def __init__(self, first: int, granted: int, ends: float):
        self.first, self.granted, self.ends = first, granted, ends  # first: the count the first spare one is
        self.taken = itertools.count()  # next() is atomic: no lock, and no spare one is handed out twice


class LocalQuota:
    """Public-read limits for hits answered from this process's copies, exact without a lock.

    A round-trip lookup counts its request in Redis and, when this process holds no spare hits for the
    window, sets some aside for it in the same script: at most an eighth of what the window has left
    (and `RESERVE_AT_MOST`). Those are counted in Redis at once, so every process together can never
    allow more than the limit: near the limit the spare shrinks to nothing and each request is counted
    in Redis. A hit answered here spends one (`take`); with none left it makes the round trip. Spares not
    spent die with the window (or sit in another process), which only ever makes a client's limit
    tighter, never looser.
    """

    def __init__(self):
        # window key -> the allowances lookups made for it, spent oldest first (deque: atomic appends and
        # removals, so concurrent lookups add to what is there instead of replacing it)
        self.allowances: dict[str, deque[Allowance]] = {}
        self.prune_at = 0.0

    def take(self, windows: list[ratelimits.Window]) -> ratelimits.Decision | None:
        """Spend one spare hit in every window; None when one has none left (count in Redis instead)."""
        counts = []
        for window in windows:
            count = self._spend(self.allowances.get(window.cache_key))
            if count is None:
                return None
            counts.append(count)
        return ratelimits.decide(windows, counts)

    @staticmethod
    def _spend(pool: deque[Allowance] | None) -> int | None:
        while pool:
            try:
                allowance = pool[0]
            except IndexError:
                return None
            spent = next(allowance.taken)
            if spent < allowance.granted:
                return allowance.first + spent
            with contextlib.suppress(ValueError):
                pool.remove(allowance)  # used up (another thread may have removed it first)
        return None

    def to_reserve(self, window: ratelimits.Window) -> int:
        """How many spare hits a lookup may set aside: none while this process may still hold some (most
        lookups are for pages not kept here, and must not pile up spares the client never spends)."""
        return 0 if self.allowances.get(window.cache_key) else RESERVE_AT_MOST

    def granted(self, windows: list[ratelimits.Window], counted: list[int], spares: list[int]) -> None:
        """What a lookup counted for these windows, and the spare hits it set aside."""
        now = time.time()
        for window, count, spare in zip(windows, counted, spares, strict=True):
            if spare > 0:
                pool = self.allowances.get(window.cache_key)
                if pool is None:
                    pool = self.allowances.setdefault(window.cache_key, deque())
                pool.append(Allowance(int(count) + 1, int(spare), now + window.reset))
        if now >= self.prune_at:
            self.prune_at = now + PRUNE_EVERY
            self.prune()

    def prune(self) -> None:
        now = time.time()
        for key, pool in list(self.allowances.items()):
            if not pool or pool[-1].ends <= now:
                self.allowances.pop(key, None)
