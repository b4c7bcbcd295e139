"""Page-cache hits without a Redis round trip, and still never stale after an edit.

On Redis, each web process keeps the pages it served most recently (`LocalPages`). A kept page is only
as good as the process's copy of the generation tokens, which a background thread (`_Watch`) keeps
current:

- it subscribes to the bump channel, and on every message re-reads the tokens from Redis (the truth, so
  the order of messages never matters) and acknowledges;
- `announce` (called by every bump) publishes and waits, bounded by `ACK_TIMEOUT`, until every
  subscriber has acknowledged: when a write's request returns, every process already has the new tokens;
- the copy is a lease: the thread pings Redis every `TICK` through the subscription (pub/sub replies
  come in order, so a pong proves every earlier bump has been applied), and the copy counts only until
  `LEASE` after the ping. A stalled or unreachable Redis, or a starved thread, turns local hits off within
  `LEASE`, shorter than the cache's socket timeout: a writer that cannot reach Redis fails its bump only
  after every other process has stopped trusting its copy. `ACK_TIMEOUT` is longer than `LEASE`, so a
  writer that stops waiting for a silent subscriber knows that subscriber's lease has run out.

Public-read rate limits on those hits are counted in the process and added to Redis's counters by the
same thread every `TICK` (django-ratelimit's keys and windows, as the round-trip path counts). A client
close to a limit is counted in Redis on every request instead, so limits stay exact where they bite.
"""

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import deque

from django.conf import settings

from .. import ratelimits

logger = logging.getLogger("biomuseum.pagecache")

CHANNEL = "pc:bumps"
TICK = 0.08
LEASE = 0.2
# Tokens are re-read on every bump, and this often besides: one flushed from Redis (no bump announces that)
# must not keep its pages trusted for long.
REREAD_EVERY = 1.0
ACK_TIMEOUT = 0.5
GIVE_UP = 1.0  # no answer to a ping in this long: the connection is dead, make another
IDLE_EXIT = 60.0  # a watch nobody asked for in this long stops; the next request starts another

FLUSH_COUNTS = """
local out = {}
for i = 1, #KEYS do
    out[i] = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
    if out[i] == tonumber(ARGV[2 * i - 1]) then redis.call('EXPIRE', KEYS[i], ARGV[2 * i]) end
end
return out
"""


def headroom(limit: int) -> int:
    """How close to a limit a client must be before each of its requests is counted in Redis."""
    return max(10, limit // 10)


class LocalCounts:
    """Rate counters for requests answered in this process, sent to Redis in batches.

    Lock-free where requests touch it: a lock there, taken on every hit by every thread, made threads queue
    for it and for the GIL in turn (six futex calls per hit). A hit appends its windows to a deque (atomic)
    and bumps an estimate of what this process has not sent yet, which decides only whether the client is
    near a limit; what reaches Redis is counted from the deque, exactly.
    """

    NOTHING = (0, 0.0)

    def __init__(self):
        self.queue: deque[tuple[ratelimits.Window, ...]] = deque()
        self.unsent: dict[str, int] = {}  # window key -> hits not yet sent (an estimate: racy increments)
        self.known: dict[str, tuple[int, float]] = {}  # window key -> (count Redis last gave, when it ends)
        # Held while counts are on their way, so that a round trip near a limit sees them once, exactly.
        self.sending = threading.Lock()

    def take(self, windows: list[ratelimits.Window]) -> ratelimits.Decision | None:
        """Count one request here; None when the client is near a limit (count it in Redis instead)."""
        known, unsent = self.known, self.unsent
        counts = []
        for window in windows:
            count = known.get(window.cache_key, self.NOTHING)[0] + unsent.get(window.cache_key, 0) + 1
            if window.limit - count < headroom(window.limit):
                return None
            counts.append(count)
        for window in windows:
            unsent[window.cache_key] = unsent.get(window.cache_key, 0) + 1
        self.queue.append(tuple(windows))
        return ratelimits.decide(windows, counts)

    def has_unsent(self, windows: list[ratelimits.Window]) -> bool:
        return any(self.unsent.get(window.cache_key) for window in windows)

    def with_unsent(self, windows: list[ratelimits.Window], counts: list[int]) -> list[int]:
        """Redis's counts plus what this process has counted and not sent (call holding `sending`)."""
        return [count + self.unsent.get(window.cache_key, 0) for window, count in zip(windows, counts, strict=True)]

    def observe(self, windows: list[ratelimits.Window], counts: list[int]) -> None:
        """What Redis answered for these windows on a round trip."""
        ends = time.time()
        for window, count in zip(windows, counts, strict=True):
            self.known[window.cache_key] = (int(count), ends + window.reset)

    def drain(self) -> dict[str, tuple[int, int, float]]:
        """Window key -> (hits, period, when the window ends), for everything queued so far."""
        taken: dict[str, tuple[int, int, float]] = {}
        now = time.time()
        while True:
            try:
                windows = self.queue.popleft()
            except IndexError:
                break
            for window in windows:
                hits = taken.get(window.cache_key, (0,))[0]
                taken[window.cache_key] = (hits + 1, window.period, now + window.reset)
        return taken

    def sent(self, key: str, hits: int, total: int, ends: float) -> None:
        self.unsent[key] = max(0, self.unsent.get(key, 0) - hits)
        self.known[key] = (total, ends)

    def prune(self) -> None:
        now = time.time()
        for key in [key for key, (_, ends) in self.known.items() if ends <= now]:
            self.known.pop(key, None)
        for key in [key for key, hits in self.unsent.items() if not hits]:
            self.unsent.pop(key, None)


class LocalPages:
    """One process's copies of recently served entries, valid while its generation lease holds."""

    def __init__(self, client, make_key, decode, max_entries: int):
        self.client = client  # redis-py, thread-safe
        self.make_key, self.decode = make_key, decode
        self.max_entries = max_entries
        self.entries: dict[str, object] = {}
        self.lock = threading.Lock()
        self.counts = LocalCounts()
        # Shorter than the socket timeout: a writer that cannot reach Redis gives up on its bump only after
        # every process has stopped trusting its copy of the tokens.
        socket_timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or LEASE
        self.lease = min(LEASE, 0.8 * socket_timeout)
        self.watch: _Watch | None = None
        self.last_used = time.monotonic()

    def tokens(self) -> dict[str, int | None] | None:
        """The generation tokens, or None when this process cannot vouch for them right now."""
        self.last_used = time.monotonic()
        watch = self.watch
        if watch is None or watch.stopped or watch.pid != _pid:
            self._start_watch()
            return None
        return watch.current()

    def get(self, key: str):
        return self.entries.get(key)  # atomic; no lock on the hit path

    def put(self, key: str, entry) -> None:
        """Kept in the order stored; past the cap the oldest goes (a page still in demand is stored again)."""
        with self.lock:
            self.entries.pop(key, None)
            self.entries[key] = entry
            while len(self.entries) > self.max_entries:
                self.entries.pop(next(iter(self.entries)))

    def forget(self) -> None:
        with self.lock:
            self.entries.clear()
        watch = self.watch
        if watch is not None:
            watch.invalidate()

    def stats(self) -> dict:
        watch = self.watch
        return {
            "entries": len(self.entries),
            "max_entries": self.max_entries,
            "lease": watch is not None and watch.current() is not None,
            "lease_lapses": watch.lapses if watch is not None else 0,
        }

    def _start_watch(self) -> None:
        with self.lock:
            watch = self.watch
            if watch is not None and not watch.stopped and watch.pid == _pid:
                return
            self.entries.clear()  # a new watch (after a fork, or an idle stop) starts from nothing
            self.watch = _Watch(self)
            self.watch.start()


class _Watch(threading.Thread):
    """Keeps a LocalPages' tokens current and its lease alive; sends its rate counts."""

    def __init__(self, pages: LocalPages):
        super().__init__(name="page-cache-watch", daemon=True)
        self.pages = pages
        self.pid = _pid
        self.stopped = False  # set when run() ends (is_alive() takes a lock: too dear for every request)
        self.generation_keys: list[tuple[str, str]] = []
        self._lease: tuple[dict[str, int | None], float] = ({}, 0.0)  # (tokens, valid until, monotonic)
        self.renewed_at = 0.0
        self.lapses = 0  # ticks answered too late for a lease (a starved thread or a slow Redis)

    def current(self) -> dict[str, int | None] | None:
        tokens, valid_until = self._lease  # one attribute, read atomically: no lock on the hit path
        return tokens if time.monotonic() < valid_until else None

    def invalidate(self) -> None:
        self._lease = ({}, 0.0)

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.stopped = True

    def _run(self) -> None:
        from .generations import FAMILIES, generation_key

        self.generation_keys = [(family, self.pages.make_key(generation_key(family))) for family in FAMILIES]
        flush = self.pages.client.register_script(FLUSH_COUNTS)
        delay = TICK
        while time.monotonic() - self.pages.last_used < IDLE_EXIT:
            pubsub = self.pages.client.pubsub()
            try:
                pubsub.subscribe(CHANNEL)
                self._follow(pubsub, flush)
            except Exception as error:  # Redis down or stalled: no lease until it answers again
                self.invalidate()
                logger.debug("page cache watch lost Redis: %s", error)
                delay = TICK if self.renewed_at > time.monotonic() - 1.0 else min(delay * 2, 1.0)
                time.sleep(delay)
            else:
                return
            finally:
                pubsub.close()
        self.invalidate()

    def _follow(self, pubsub, flush) -> None:
        """Until idle: apply every bump, renew the lease each tick, send the rate counts."""
        reread_at = 0.0
        while time.monotonic() - self.pages.last_used < IDLE_EXIT:
            asked_at = time.monotonic()
            pubsub.ping()
            acks = []
            while True:
                message = pubsub.get_message(timeout=GIVE_UP)
                if message is None or time.monotonic() - asked_at > GIVE_UP:
                    raise TimeoutError("no answer to the watch's ping")
                if message["type"] == "message":
                    acks.append(message["data"])
                elif message["type"] == "pong":
                    break  # every bump published before the ping has been read
            if acks or asked_at >= reread_at:
                self._refresh(asked_at)
                reread_at = asked_at + REREAD_EVERY
            else:  # no bump since the last reading: the same tokens, a new lease (no MGET)
                self._renew(asked_at)
            for bump_id in acks:
                ack_key = _ack_key(bump_id)
                self.pages.client.pipeline().rpush(ack_key, self.pid).expire(ack_key, 10).execute()
            self._send_counts(flush)
            time.sleep(max(0.0, TICK - (time.monotonic() - asked_at)))

    def _renew(self, asked_at: float) -> None:
        self._store_lease(self._lease[0], asked_at)

    def _refresh(self, asked_at: float) -> None:
        values = self.pages.client.mget([key for _, key in self.generation_keys])
        tokens = {
            family: None if value is None else self.pages.decode(value)
            for (family, _), value in zip(self.generation_keys, values, strict=True)
        }
        self._store_lease(tokens, asked_at)

    def _store_lease(self, tokens: dict[str, int | None], asked_at: float) -> None:
        valid_until = asked_at + self.pages.lease
        if time.monotonic() >= valid_until:  # answered too late to vouch for anything
            self.lapses += 1
        self._lease = (tokens, valid_until)
        self.renewed_at = time.monotonic()

    def _send_counts(self, flush) -> None:
        counts = self.pages.counts
        with counts.sending:
            taken = counts.drain()
            if taken:
                keys = list(taken)
                args = [value for hits, period, _ in taken.values() for value in (hits, period + 5)]
                try:
                    totals = flush(keys=[self.pages.make_key(key) for key in keys], args=args)
                except Exception:
                    totals = None  # public reads fail open: counts lost with an outage are not worth an error
                for key, total in zip(keys, totals or [None] * len(keys), strict=True):
                    hits, _, ends = taken[key]
                    counts.sent(key, hits, int(total) if total is not None else 0, ends)
        counts.prune()


def _ack_key(bump_id) -> str:
    return f"pc:ack:{bump_id.decode() if isinstance(bump_id, bytes) else bump_id}"


def announce(client) -> None:
    """Tell every process to re-read the tokens, and wait (bounded) until each has."""
    bump_id = secrets.token_hex(8)
    try:
        listeners = client.publish(CHANNEL, bump_id)
        deadline = time.monotonic() + ACK_TIMEOUT
        acked = 0
        while acked < listeners:
            left = deadline - time.monotonic()
            if left <= 0:
                logger.warning("page cache: %s of %s processes did not confirm a bump", listeners - acked, listeners)
                return
            # Short waits: a blocking call must end well within the client's socket timeout.
            if client.blpop([_ack_key(bump_id)], timeout=min(left, 0.1)) is not None:
                acked += 1
    except Exception as error:  # their leases run out on their own when Redis is unreachable
        logger.warning("page cache: could not announce a bump: %s", error)
    finally:
        with contextlib.suppress(Exception):
            client.delete(_ack_key(bump_id))


_pid = os.getpid()  # this process's, kept current across forks without a system call per request


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)

_layers: dict[tuple, LocalPages] = {}
_layers_lock = threading.Lock()


def layer_for(cache) -> LocalPages | None:
    """The process's LocalPages for a django-redis cache (one per server and key prefix, not per thread)."""
    if not settings.PAGE_CACHE_LOCAL_ENTRIES:
        return None
    identity = (tuple(cache._server) if isinstance(cache._server, list) else cache._server, cache.key_prefix)
    with _layers_lock:
        layer = _layers.get(identity)
        if layer is None:
            client = cache.client.get_client(write=True)
            layer = _layers[identity] = LocalPages(
                client, cache.client.make_key, cache.client.decode, settings.PAGE_CACHE_LOCAL_ENTRIES
            )
        return layer


def forget_all() -> None:
    """Drop every local copy and lease (tests, after emptying the cache behind the processes' back)."""
    with _layers_lock:
        layers = list(_layers.values())
    for layer in layers:
        layer.forget()
