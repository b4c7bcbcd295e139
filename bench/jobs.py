"""`make bench-jobs` (QUICK=1 for `--quick`), or `.venv/bin/python bench/jobs.py [--quick]`: the background jobs.

- Renditions per minute for a 12-megapixel JPEG, through a real Celery worker process
  (`celery -A biomuseum worker --concurrency 1`, started here) on Redis db 11 at 127.0.0.1:6379: images are
  added as an upload adds them (`organism_image_add`, queued on commit) and timed from the commit until the
  last row is ready, so the broker, the database and writing the files are in the figure. Beside it, the
  pipeline's own `render` in this process, and the limit: Pillow decoding the same file and encoding one
  2048-wide JPEG, nothing else.
- Notification emails per second to a real SMTP server on loopback (aiosmtpd, in this process) for 10,000
  subscribers (1,000 with --quick), through the same worker: one `blogs.notify_subscribers` task, timed until
  every delivery row is sent, each address received exactly once (checked). Beside it, the limit: smtplib
  sending as many messages over one connection, with no database and no templates.

When Redis does not answer (or with --in-process) the same tasks run in this process instead (Celery eager,
no broker), and the output says so on its first line and in the table. Redis db 11 is the benchmark's own:
it is emptied at the start. The database is a SQLite file of its own (var/bench-jobs.sqlite3), the media a
temporary folder; the developer's .env is not read. Prints a Markdown table; raw figures go to
bench/results/jobs-<UTC time>.json.
"""

import argparse
import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)
REDIS_URL = os.environ.get("BENCH_JOBS_REDIS_URL", "redis://127.0.0.1:6379/11")
WORKER_LOG = ROOT / "var" / "bench-jobs-worker.log"
JOB_TIMEOUT = 900  # seconds for one batch of jobs to finish before the run gives up


def twelve_megapixel_jpeg() -> bytes:
    """A photograph-like 4000×3000 JPEG: smooth gradients with grain, which encoders find realistic."""
    from PIL import Image, ImageFilter

    base = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    grain = Image.effect_noise((4000, 3000), 40).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(base, grain, 0.35).filter(ImageFilter.SMOOTH).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def redis_answers(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


class SmtpSink:
    """aiosmtpd on a free loopback port, counting each recipient it is handed."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.recipients: list[str] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                with sink.lock:
                    sink.recipients.extend(envelope.rcpt_tos)
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def take(self) -> list[str]:
        with self.lock:
            taken, self.recipients = self.recipients, []
        return taken

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class Worker:
    """The project's Celery worker, one pool process, in a session of its own (stopping it stops its child)."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Worker":
        WORKER_LOG.parent.mkdir(exist_ok=True)
        self.log = WORKER_LOG.open("wb")
        command = [str(Path(sys.executable).parent / "celery"), "-A", "biomuseum", "worker", "--queues", "images,email"]
        command += ["--concurrency", "1", "--prefetch-multiplier", "1", "--pool", "prefork", "--loglevel", "INFO"]
        command += ["--hostname", "bench-jobs@%h", "--without-mingle", "--without-gossip"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        from biomuseum.celery import app

        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):  # db 11 was emptied: whoever answers is this worker
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the Celery worker did not start; see {WORKER_LOG.relative_to(ROOT)}")
        return self

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the group is this worker's alone: its pool child
        self.process.wait(timeout=30)
        self.process = None
        self.log.close()


def wait_for(condition, what: str):
    deadline = time.monotonic() + JOB_TIMEOUT
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up after {JOB_TIMEOUT}s waiting for {what}")
        time.sleep(0.1)
    return value


def add_images(organism, original: bytes, count: int) -> tuple[list[int], float]:
    """`count` images added as uploads are, committed together; their ids and the time of the commit."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from organisms.services import organism_image_add

    with transaction.atomic():
        ids = [
            organism_image_add(
                organism=organism,
                user=None,
                upload=SimpleUploadedFile("photo.jpg", original, "image/jpeg"),
                alt_text="A benchmark photograph",
            ).pk
            for _ in range(count)
        ]
        committed = time.perf_counter()  # the jobs are queued (or, in process, run) as this block commits
    return ids, committed


def finished_images(ids: list[int]) -> list | None:
    from biomuseum.images import ImageStatus
    from organisms.models import OrganismImage

    rows = list(OrganismImage.objects.filter(pk__in=ids).only("status", "error", "renditions"))
    if any(row.status == ImageStatus.FAILED for row in rows):
        raise RuntimeError(f"an image job failed: {[row.error for row in rows if row.error]}")
    return rows if all(row.status == ImageStatus.READY for row in rows) else None


def bench_renditions(images: int) -> dict:
    from PIL import Image

    from biomuseum.images import render
    from organisms.models import Organism

    original = twelve_megapixel_jpeg()
    organism, _ = Organism.objects.get_or_create(
        slug="bench-jobs", defaults={"scientific_name": "Benchmarkia jobsii", "common_name": "Bench creature"}
    )
    organism.images.all().delete()
    warm_up, _ = add_images(organism, original, 1)  # the worker's pool child imports and opens its codecs
    wait_for(lambda: finished_images(warm_up), "the warm-up image")
    ids, committed = add_images(organism, original, images)
    rows = wait_for(lambda: finished_images(ids), f"{images} images")
    job = time.perf_counter() - committed  # polled every 0.1 s: at most that much too slow
    count = sum(len(row.renditions) for row in rows)

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "twelve.jpg"
        source.write_bytes(original)
        render(str(source))  # warm up codecs
        started = time.perf_counter()
        rendered = sum(len(render(str(source)).renditions) for _ in range(images))
        pipeline = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(images):
            with Image.open(source) as image:
                image.load()
                buffer = io.BytesIO()
                image.resize((2048, 1536)).save(buffer, "JPEG", quality=82)
        limit = time.perf_counter() - started
    return {
        "images": images,
        "renditions": count,
        "renditions_per_minute": count / job * 60,
        "images_per_minute": images / job * 60,
        "render_only_renditions_per_minute": rendered / pipeline * 60,
        "render_only_images_per_minute": images / pipeline * 60,
        "limit_images_per_minute": images / limit * 60,
        "ratio": (images / job) / (images / limit),
        "render_only_ratio": limit / pipeline,
    }


def bench_email(subscribers: int, sink: SmtpSink) -> dict:
    from django.db import transaction

    from blogs.models import Delivery, DeliveryStatus, Post, PostStatus, Subscriber, SubscriberStatus
    from blogs.tasks import notify_subscribers

    Post.objects.filter(slug__startswith="bench-").delete()
    Subscriber.objects.all().delete()
    Subscriber.objects.bulk_create(
        (Subscriber(email=f"reader{i}@example.org", status=SubscriberStatus.CONFIRMED) for i in range(subscribers)),
        batch_size=5000,
    )
    post = Post.objects.create(
        slug=f"bench-{secrets.token_hex(4)}", title="A benchmark post", excerpt="Measured.", body="Hello.",
        status=PostStatus.PUBLISHED, published_at=datetime.now(UTC),
    )  # fmt: skip
    sink.take()
    started = time.perf_counter()
    with transaction.atomic():
        transaction.on_commit(lambda: notify_subscribers.apply_async((post.pk,)))  # as post_schedule_notifications
    queued = Post.objects.filter(pk=post.pk, notifications_queued_at__isnull=False)  # its deliveries exist
    unfinished = Delivery.objects.filter(post=post, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
    wait_for(lambda: queued.exists() and not unfinished.exists(), f"{subscribers} deliveries")
    ours = time.perf_counter() - started
    time.sleep(0.5)  # anything sent twice would arrive by now
    delivered = sink.take()

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for i in range(subscribers):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@example.org", f"r{i}@example.org", "x"
            message.set_content("Hello.")
            smtp.send_message(message)
    limit = time.perf_counter() - started
    sink.take()
    sent_rows = Delivery.objects.filter(post=post, status=DeliveryStatus.SENT).count()
    return {
        "subscribers": subscribers,
        "delivered": len(delivered),
        "unique_recipients": len(set(delivered)),
        "rows_sent": sent_rows,
        "exactly_once": len(delivered) == len(set(delivered)) == subscribers == sent_rows,
        "emails_per_second": subscribers / ours,
        "limit_emails_per_second": subscribers / limit,
        "ratio": limit / ours,
    }


def environment(sink_port: int, broker: str) -> dict[str, str]:
    """What this process and the worker both run with: the same database, media, broker and mail server."""
    database = ROOT / "var" / "bench-jobs.sqlite3"
    database.parent.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_", "EMAIL_"))}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "LOG_LEVEL"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="biomuseum.settings",
        DJANGO_ENV_FILE="/nonexistent/.env",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{database}",
        MEDIA_ROOT=tempfile.mkdtemp(prefix="bench-jobs-media-"),
        EMAIL_URL=f"smtp://127.0.0.1:{sink_port}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if broker:
        env["CELERY_BROKER_URL"] = broker
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 images and 1,000 subscribers (about a minute)")
    parser.add_argument("--in-process", action="store_true", help="run the tasks here (Celery eager), no worker")
    parser.add_argument("--images", type=int, help="images to time (default 10, --quick 2)")
    parser.add_argument("--subscribers", type=int, help="subscribers to notify (default 10,000, --quick 1,000)")
    args = parser.parse_args(argv)
    images = args.images or (2 if args.quick else 10)
    subscribers = args.subscribers or (1000 if args.quick else 10_000)
    use_worker = not args.in_process and redis_answers(REDIS_URL)
    if use_worker:
        where = f"a real Celery worker process (`celery -A biomuseum worker --concurrency 1`) on {REDIS_URL}"
    else:
        why = "--in-process" if args.in_process else f"Redis does not answer at {REDIS_URL}"
        where = f"THIS PROCESS, not a worker: Celery eager, no broker ({why})"
    print(f"Jobs run in {where}.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the worker is stopped, files removed

    with SmtpSink() as sink:
        env = environment(sink.port, REDIS_URL if use_worker else "")
        os.environ.clear()
        os.environ.update(env)
        try:
            import django
            from django.core.management import call_command
            from django.db import connection

            django.setup()
            call_command("migrate", "--noinput", verbosity=0)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode=WAL")  # the worker writes while this process reads
            if use_worker:
                import redis

                broker = redis.Redis.from_url(REDIS_URL)
                broker.flushdb()  # db 11 is the benchmark's: no stale tasks from an interrupted run
            with Worker(env) if use_worker else contextlib.nullcontext():
                print(f"Renditions: {images} images of 12 MP (and one to warm up)...", flush=True)
                renditions = bench_renditions(images)
                print(f"Email: {subscribers:,} subscribers to a local SMTP server...", flush=True)
                email = bench_email(subscribers, sink)
            if use_worker:
                broker.flushdb()
        finally:
            shutil.rmtree(env["MEDIA_ROOT"], ignore_errors=True)

    runner = "Celery worker, 1 process, Redis" if use_worker else "IN PROCESS (eager), no worker"
    print()
    print(f"Jobs ran in {where}.")
    print()
    print("| job | BioMuseum | limit | ratio |")
    print("|---|---|---|---|")
    print(
        f"| renditions, 12 MP JPEG, {runner} | {renditions['renditions_per_minute']:.0f} renditions/min "
        f"({renditions['images_per_minute']:.1f} images/min) | {renditions['limit_images_per_minute']:.1f} "
        f"images/min (decode + one 2048 px JPEG) | {renditions['ratio']:.2f}x |"
    )
    print(
        f"| renditions, 12 MP JPEG, `render` alone in this process | "
        f"{renditions['render_only_renditions_per_minute']:.0f} renditions/min "
        f"({renditions['render_only_images_per_minute']:.1f} images/min) | same | "
        f"{renditions['render_only_ratio']:.2f}x |"
    )
    print(
        f"| notifications to {subscribers:,} subscribers, {runner} | {email['emails_per_second']:.0f} emails/s, "
        f"exactly once: {'yes' if email['exactly_once'] else 'NO'} | {email['limit_emails_per_second']:.0f} "
        f"emails/s (bare smtplib) | {email['ratio']:.2f}x |"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    target = results / f"jobs-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    ran_in = {"worker": use_worker, "broker": REDIS_URL if use_worker else None, "where": where}
    target.write_text(json.dumps({"ran_in": ran_in, "renditions": renditions, "email": email}, indent=2))
    print(f"\nRaw results: {target.relative_to(ROOT)}")
    return 0 if email["exactly_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
