"""Cache warming: render the pages visitors ask for first, through the deployed application.

Requests go through the same WSGI application (page cache included) in this process,
as the site's public host, a few at a time with a pause between them, so a warm-up
never competes with visitors for the database.

A warm-up the cache panel asks for, or the schedule runs, is a `CacheWarmup` row (`run` carries it out and
writes its report there). Where the cache is shared (Redis) any process can warm it, so a Celery worker
does; where it is a process's own memory (the embedded default), only the web process that serves from it
can, so the panel's warm-up runs there, and the schedule, whose worker would fill a cache nobody reads,
does not run (`cache_is_shared`).
"""

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.core.servers.basehttp import get_internal_wsgi_application
from django.db import close_old_connections, connection
from django.utils import timezone
from django_redis.cache import RedisCache

from biomuseum.wsgicalls import collect
from blogs.models import Post
from organisms.models import ConservationStatus, Organism

from .models import CacheWarmup, WarmupStatus

logger = logging.getLogger("ops.warmup")

# A warm-up still running after the task's hard time limit has died with its worker.
ABANDONED_AFTER = timedelta(seconds=700)


@dataclass
class WarmReport:
    pages: int = 0
    errors: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


class Warmer:
    def __init__(self, base_url: str, *, concurrency: int = 2, pause: float = 0.01):
        parts = urlsplit(base_url)
        self.application = get_internal_wsgi_application()  # settings.WSGI_APPLICATION: the deployed stack
        self.scheme, self.host = parts.scheme or "http", parts.netloc
        self.concurrency = max(1, concurrency)
        self.pause = pause

    def get(self, path_and_query: str) -> tuple[int, dict]:
        path, _, query = path_and_query.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": self.host.split(":")[0],
            "SERVER_PORT": self.host.split(":")[1] if ":" in self.host else ("443" if self.scheme == "https" else "80"),
            "HTTP_HOST": self.host,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
            "biomuseum.warmup": True,  # a server-side key: warm-ups do not count against visitors' rate limits
        }
        status, _, body = collect(self.application, environ)
        code = int(status.split()[0])
        try:
            return code, json.loads(body) if body else {}
        except ValueError:
            return code, {}

    def list_pages(self, first: str, pages: int) -> Iterator[str]:
        """The first `pages` pages of a list, following `next` links."""
        url = first
        for _ in range(pages):
            yield url
            code, body = self.get(url)
            following = body.get("next") if code == 200 else None
            if not following:
                return
            parts = urlsplit(following)
            url = f"{parts.path}?{parts.query}"

    def run(self, *, pages: int, details: int, progress: Callable[[str, int], None] | None = None) -> WarmReport:
        started = time.monotonic()
        report = WarmReport()
        lists = ["/api/v1/organisms/", "/api/v1/posts/"]
        lists += [f"/api/v1/organisms/?kingdom={k}" for k in _kingdoms()]
        threatened = ",".join(s for s in ConservationStatus.values if s in ("CR", "EN", "VU"))
        lists.append(f"/api/v1/organisms/?conservation_status={threatened}")
        detail_paths = [f"/api/v1/organisms/{slug}/" for slug in _recent_organisms(details)]
        detail_paths += [f"/api/v1/posts/{slug}/" for slug in _recent_posts(details)]

        def warm_list(first: str) -> list[int]:
            codes = []
            for _ in self.list_pages(first, pages):
                codes.append(200)
                time.sleep(self.pause)
            return codes

        def warm_detail(path: str) -> int:
            try:
                return self.get(path)[0]
            finally:
                close_old_connections()
                time.sleep(self.pause)

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for first, codes in zip(lists, pool.map(warm_list, lists), strict=True):
                report.pages += len(codes)
                report.by_kind["list pages"] = report.by_kind.get("list pages", 0) + len(codes)
                if progress:
                    progress(first, len(codes))
            for done, code in enumerate(pool.map(warm_detail, detail_paths), start=1):
                report.pages += 1
                report.errors += code != 200
                report.by_kind["detail pages"] = report.by_kind.get("detail pages", 0) + 1
                if progress and (done % 50 == 0 or done == len(detail_paths)):
                    progress("detail pages", done)
        report.seconds = time.monotonic() - started
        return report


def _kingdoms() -> list[str]:
    return list(Organism.objects.published().order_by().values_list("kingdom", flat=True).distinct()[:10])


def _recent_organisms(limit: int) -> list[str]:
    return list(Organism.objects.published().order_by("-updated_at").values_list("slug", flat=True)[:limit])


def _recent_posts(limit: int) -> list[str]:
    return list(Post.objects.published().order_by("-published_at").values_list("slug", flat=True)[:limit])


def cache_is_shared() -> bool:
    """Whether pages rendered in this process reach the cache the web processes serve from."""
    return isinstance(caches["default"], RedisCache)


def run(warmup_id: int, *, where: str, pages: int = 3, details: int = 200) -> CacheWarmup | None:
    """Carry out a waiting warm-up and write its report on the row; None if it is not waiting (another
    process took it)."""
    started = timezone.now()
    claimed = CacheWarmup.objects.filter(pk=warmup_id, status=WarmupStatus.QUEUED).update(
        status=WarmupStatus.RUNNING, started_at=started, where=where
    )
    if not claimed:
        return None
    try:
        report = Warmer(settings.PUBLIC_BASE_URL).run(pages=pages, details=details)
    except Exception as error:
        logger.exception("cache warm-up %s failed", warmup_id)
        CacheWarmup.objects.filter(pk=warmup_id).update(
            status=WarmupStatus.FAILED, finished_at=timezone.now(), error=f"{type(error).__name__}: {error}"[:2000]
        )
    else:
        CacheWarmup.objects.filter(pk=warmup_id).update(
            status=WarmupStatus.DONE, finished_at=timezone.now(), pages=report.pages, errors=report.errors,
            seconds=round(report.seconds, 2), by_kind=report.by_kind,
        )  # fmt: skip
        logger.info("cache warmed", extra={"warmup": warmup_id, "pages": report.pages, "where": where})
    return CacheWarmup.objects.get(pk=warmup_id)


def forget_abandoned() -> int:
    """Warm-ups whose worker died while running them are failed, so a new one may start."""
    return CacheWarmup.objects.filter(
        status=WarmupStatus.RUNNING, started_at__lt=timezone.now() - ABANDONED_AFTER
    ).update(status=WarmupStatus.FAILED, finished_at=timezone.now(), error="stopped before it finished")


def in_progress() -> CacheWarmup | None:
    forget_abandoned()
    return CacheWarmup.objects.filter(status__in=(WarmupStatus.QUEUED, WarmupStatus.RUNNING)).first()


def in_this_process(warmup_id: int) -> None:
    """Run a warm-up on a thread of this (web) process, which serves from the cache it fills."""

    def work() -> None:
        try:
            run(warmup_id, where="web process")
        finally:
            connection.close()  # the thread's own connection

    threading.Thread(target=work, name=f"cache-warmup-{warmup_id}", daemon=True).start()
