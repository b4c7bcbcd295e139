"""Page-cache hits without a Redis round trip, and still never stale after an edit.

On Redis, each web process keeps the pages it served most recently (`LocalPages`). A kept page is only
as good as the process's copy of the generation tokens, which a background thread (`_Watch`) keeps
current:

- it subscribes to the cache's bump channel (one per Redis database and key prefix: pub/sub itself knows no
  databases), and on every message re-reads the tokens from Redis (the truth, so the order of messages
  never matters) and acknowledges at once, between ticks too;
- `announce` (called by every bump) publishes and waits, bounded by `ACK_TIMEOUT`, until every
  subscriber has acknowledged: when a write's request returns, every process already has the new tokens;
- the copy is a lease: the thread pings Redis every `TICK` through the subscription (pub/sub replies
  come in order, so a pong proves every earlier bump has been applied), and the copy counts only until
  `LEASE` after the ping. A stalled or unreachable Redis, or a starved thread, turns local hits off within
  `LEASE`, shorter than the cache's socket timeout: a writer that cannot reach Redis fails its bump only
  after every other process has stopped trusting its copy. `ACK_TIMEOUT` is longer than `LEASE`, so a
  writer that stops waiting for a silent subscriber knows that subscriber's lease has run out; such late
  acknowledgements are counted in Redis (`announce_stats`) for /ops/pools/ and /ops/metrics;
- a watch that has served no page for `PAGE_CACHE_WATCH_IDLE_EXIT` unsubscribes and answers every bump that
  reached it before Redis took it off the channel, then stops.

Public-read rate limits on those hits are spent from spare hits a round-trip lookup set aside in Redis for
this process (quota.py).
"""

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque

from django.conf import settings

from .quota import LocalQuota
from .tokens import FAMILIES, generation_key

logger = logging.getLogger("biomuseum.pagecache")

TICK = 0.08
LEASE = 0.2
# Tokens are re-read on every bump, and this often besides: one flushed from Redis (no bump announces that)
# must not keep its pages trusted for long.
REREAD_EVERY = 1.0
ACK_TIMEOUT = 0.5
GIVE_UP = 1.0  # no answer to a ping in this long: the connection is dead, make another
REPORT_EVERY = 1.0  # each process's copies and lease, written to Redis for the cache panel
PROCESS_GONE = 30.0  # a process silent this long has stopped (or lost Redis): the panel forgets it


class LocalPages:
    """One process's copies of recently served entries, valid while its generation lease holds."""

    def __init__(self, client, make_key, decode, max_entries: int):
        self.client = client  # redis-py, thread-safe
        self.make_key, self.decode = make_key, decode
        self.max_entries = max_entries
        self.entries: dict[str, object] = {}
        self.lock = threading.Lock()
        self.quota = LocalQuota()
        # Shorter than the socket timeout: a writer that cannot reach Redis gives up on its bump only after
        # every process has stopped trusting its copy of the tokens.
        socket_timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or LEASE
        self.lease = min(LEASE, 0.8 * socket_timeout)
        self.channel = channel_for(client, make_key)
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
    """Keeps a LocalPages' tokens current and its lease alive."""

    def __init__(self, pages: LocalPages):
        super().__init__(name="page-cache-watch", daemon=True)
        self.pages = pages
        self.pid = _pid
        self.stopped = False  # set when run() ends (is_alive() takes a lock: too dear for every request)
        self.generation_keys: list[tuple[str, str]] = []
        self._lease: tuple[dict[str, int | None], float] = ({}, 0.0)  # (tokens, valid until, monotonic)
        self.renewed_at = 0.0
        self.lapses = 0  # ticks answered too late for a lease (a starved thread or a slow Redis)
        self.unacked: deque = deque()  # bumps read and not yet acknowledged
        self.report_at = 0.0
        # A watch nobody asked for in this long stops; the next request starts another.
        self.idle_exit = settings.PAGE_CACHE_WATCH_IDLE_EXIT

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
        self.generation_keys = [(family, self.pages.make_key(generation_key(family))) for family in FAMILIES]
        delay = TICK
        while time.monotonic() - self.pages.last_used < self.idle_exit:
            pubsub = self.pages.client.pubsub()
            try:
                pubsub.subscribe(self.pages.channel)
                self._acknowledge()  # bumps read before a lost connection: the lease was dropped since
                self._follow(pubsub)
                self._leave(pubsub)
            except Exception as error:  # Redis down or stalled: no lease until it answers again
                self.invalidate()
                logger.debug("page cache watch lost Redis: %s", error)
                with contextlib.suppress(Exception):
                    self._acknowledge()
                delay = TICK if self.renewed_at > time.monotonic() - 1.0 else min(delay * 2, 1.0)
                time.sleep(delay)
            else:
                return
            finally:
                pubsub.close()
        self.invalidate()

    def _follow(self, pubsub) -> None:
        """Until idle: apply every bump as it arrives, renew the lease each tick."""
        reread_at = 0.0
        while time.monotonic() - self.pages.last_used < self.idle_exit:
            asked_at = time.monotonic()
            pubsub.ping()
            bumped = False
            while True:
                message = pubsub.get_message(timeout=GIVE_UP)
                if message is None or time.monotonic() - asked_at > GIVE_UP:
                    raise TimeoutError("no answer to the watch's ping")
                if message["type"] == "message":
                    self.unacked.append(message["data"])
                    bumped = True
                elif message["type"] == "pong":
                    break  # every bump published before the ping has been read
            if bumped or asked_at >= reread_at:
                self._refresh(asked_at)
                reread_at = asked_at + REREAD_EVERY
            else:  # no bump since the last reading: the same tokens, a new lease (no MGET)
                self._renew(asked_at)
            self._acknowledge()
            if asked_at >= self.report_at:
                self._report()
                self.report_at = asked_at + REPORT_EVERY
            self._answer_bumps_until(pubsub, asked_at + TICK)

    def _answer_bumps_until(self, pubsub, until: float) -> None:
        """Between ticks, a bump is applied and acknowledged as soon as it arrives: a writer waits for
        the slowest process's read of the tokens, not for its next tick."""
        while (left := until - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "message":
                self.unacked.append(message["data"])
                self._store_tokens(self._read_tokens())  # read after the bump: at least as new
                self._acknowledge()

    def _leave(self, pubsub) -> None:
        """Stop following (idle): unsubscribe, and answer every bump published before Redis took us off the
        channel, which counted this process as a listener."""
        pubsub.unsubscribe(self.pages.channel)
        deadline = time.monotonic() + GIVE_UP
        while (left := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=left)
            if message is None:
                continue
            if message["type"] == "message":
                self.unacked.append(message["data"])
            elif message["type"] == "unsubscribe":
                break
        self.invalidate()  # what is acknowledged now is that this process trusts no copy
        self._acknowledge()
        with contextlib.suppress(Exception):
            self.pages.client.hdel(_processes_key(self.pages.make_key), _process_name(self.pid))

    def _report(self) -> None:
        """This process's copies and lease, where the cache panel reads every web process's. A statistic:
        a report that fails never costs the lease (a Redis that is gone fails the next ping anyway)."""
        stats = {**self.pages.stats(), "pid": self.pid, "host": socket.gethostname(),
                 "worker": os.environ.get("OPS_WORKER_ID"), "at": time.time()}  # fmt: skip
        key = _processes_key(self.pages.make_key)
        try:
            pipeline = self.pages.client.pipeline(transaction=False)
            pipeline.hset(key, _process_name(self.pid), json.dumps(stats)).expire(key, int(2 * PROCESS_GONE))
            pipeline.execute()
        except Exception as error:
            logger.debug("page cache watch could not report its copies: %s", error)

    def _acknowledge(self) -> None:
        while self.unacked:
            ack_key = _ack_key(self.unacked[0])
            self.pages.client.pipeline().rpush(ack_key, self.pid).expire(ack_key, 10).execute()
            self.unacked.popleft()

    def _renew(self, asked_at: float) -> None:
        self._store_lease(self._lease[0], asked_at)

    def _read_tokens(self) -> dict[str, int | None]:
        values = self.pages.client.mget([key for _, key in self.generation_keys])
        return {
            family: None if value is None else self.pages.decode(value)
            for (family, _), value in zip(self.generation_keys, values, strict=True)
        }

    def _refresh(self, asked_at: float) -> None:
        self._store_lease(self._read_tokens(), asked_at)

    def _store_tokens(self, tokens: dict[str, int | None]) -> None:
        """New tokens under the lease already held (its end was proven by the last pong)."""
        self._lease = (tokens, self._lease[1])

    def _store_lease(self, tokens: dict[str, int | None], asked_at: float) -> None:
        valid_until = asked_at + self.pages.lease
        if time.monotonic() >= valid_until:  # answered too late to vouch for anything
            self.lapses += 1
        self._lease = (tokens, valid_until)
        self.renewed_at = time.monotonic()


def _processes_key(make_key) -> str:
    return make_key("pc:stats:processes")


def _process_name(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def process_stats(client, make_key) -> list[dict]:
    """Every process that reported its local copies in the last PROCESS_GONE seconds (those silent longer are
    forgotten), each with `seen` (seconds since its report)."""
    key = _processes_key(make_key)
    now = time.time()
    found, gone = [], []
    for name, value in client.hgetall(key).items():
        try:
            stats = json.loads(value)
            seen = now - float(stats["at"])
        except (ValueError, KeyError, TypeError):
            gone.append(name)
            continue
        if seen > PROCESS_GONE:
            gone.append(name)
        else:
            found.append({**stats, "seen": round(max(seen, 0.0), 1)})
    if gone:
        client.hdel(key, *gone)
    return sorted(found, key=lambda stats: (stats["host"], stats["pid"]))


def _ack_key(bump_id) -> str:
    return f"pc:ack:{bump_id.decode() if isinstance(bump_id, bytes) else bump_id}"


def channel_for(client, make_key) -> str:
    """The bump channel of one cache: pub/sub ignores Redis's database numbers, so the channel names the
    database and the key prefix, and processes of another cache on the same server never count as ours."""
    database = client.connection_pool.connection_kwargs.get("db", 0)
    return f"{make_key('pc:bumps')}@{database}"


def _stats_keys(make_key) -> tuple[str, str]:
    return make_key("pc:stats:bumps"), make_key("pc:stats:late_acks")


def announce(client, make_key) -> int:
    """Tell every process to re-read the tokens, and wait (bounded) until each has. Returns how many
    listeners did not answer in time (counted in Redis for /ops/pools/ and /ops/metrics).

    `client` is a redis-py client of the cache's database, `make_key` the cache's key function."""
    bump_id = secrets.token_hex(8)
    late = 0
    try:
        listeners = client.publish(channel_for(client, make_key), bump_id)
        deadline = time.monotonic() + ACK_TIMEOUT
        acked = 0
        while acked < listeners:
            left = deadline - time.monotonic()
            if left <= 0:
                late = listeners - acked
                logger.warning("page cache: %s of %s processes did not confirm a bump", late, listeners)
                break
            # Short waits: a blocking call must end well within the client's socket timeout.
            if client.blpop([_ack_key(bump_id)], timeout=min(left, 0.1)) is not None:
                acked += 1
        bumps_key, late_key = _stats_keys(make_key)
        pipeline = client.pipeline(transaction=False).incr(bumps_key)
        if late:
            pipeline.incrby(late_key, late)
        pipeline.execute()
    except Exception as error:  # their leases run out on their own when Redis is unreachable
        logger.warning("page cache: could not announce a bump: %s", error)
    finally:
        with contextlib.suppress(Exception):
            client.delete(_ack_key(bump_id))
    return late


def announce_stats(client, make_key) -> dict:
    """Bumps announced by every process on this cache, and listeners that did not acknowledge in time."""
    bumps, late = client.mget(_stats_keys(make_key))
    return {"tokens": "redis", "bumps": int(bumps or 0), "late_acks": int(late or 0)}


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
