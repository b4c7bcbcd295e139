"""`make bench-jobs` (or `.venv/bin/python bench/jobs.py [--quick]`): the background jobs, measured.

- Renditions per minute for a 12-megapixel JPEG in one worker process (the pipeline's own `render`),
  beside the limit: Pillow decoding the same file and encoding one 2048-wide JPEG, nothing else.
- Notification emails per second to a real SMTP server on loopback (aiosmtpd) for 10,000 subscribers,
  each delivered exactly once (checked), beside the limit: smtplib sending the same number of
  messages over one connection, with no database and no templates.

Both run in this process against a SQLite database of their own under var/, and print a Markdown table.
"""

import argparse
import io
import json
import os
import secrets
import smtplib
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)


def twelve_megapixel_jpeg(path: Path) -> None:
    """A photograph-like 4000×3000 JPEG: smooth gradients with grain, which encoders find realistic."""
    from PIL import Image, ImageFilter

    base = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    grain = Image.effect_noise((4000, 3000), 40).convert("RGB")
    Image.blend(base, grain, 0.35).filter(ImageFilter.SMOOTH).save(path, "JPEG", quality=90)


class SmtpSink:
    """aiosmtpd on a free loopback port, counting each recipient it is handed."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.recipients: list[str] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.recipients.extend(envelope.rcpt_tos)
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def bench_renditions(images: int) -> dict:
    from PIL import Image

    from biomuseum.images import render

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "twelve.jpg"
        twelve_megapixel_jpeg(source)
        render(str(source))  # warm up codecs
        started = time.perf_counter()
        count = sum(len(render(str(source)).renditions) for _ in range(images))
        ours = time.perf_counter() - started
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
        "renditions_per_minute": count / ours * 60,
        "images_per_minute": images / ours * 60,
        "limit_images_per_minute": images / limit * 60,
        "ratio": (images / ours) / (images / limit),
    }


def bench_email(subscribers: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from blogs import notifications
    from blogs.models import Delivery, DeliveryStatus, Post, PostStatus, Subscriber, SubscriberStatus

    call_command("migrate", "--noinput", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    Subscriber.objects.all().delete()
    Subscriber.objects.bulk_create(
        (Subscriber(email=f"reader{i}@example.org", status=SubscriberStatus.CONFIRMED) for i in range(subscribers)),
        batch_size=5000,
    )
    post = Post.objects.create(
        slug=f"bench-{secrets.token_hex(4)}", title="A benchmark post", excerpt="Measured.", body="Hello.",
        status=PostStatus.PUBLISHED, published_at=datetime.now(UTC),
    )  # fmt: skip
    with SmtpSink() as sink:
        from django.conf import settings

        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        started = time.perf_counter()
        for batch in notifications.queue_deliveries(post.pk):
            notifications.send_deliveries(post.pk, batch)
        ours = time.perf_counter() - started
        delivered = list(sink.recipients)
        sink.recipients.clear()

        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for i in range(subscribers):
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = "a@example.org", f"r{i}@example.org", "x"
                message.set_content("Hello.")
                smtp.send_message(message)
        limit = time.perf_counter() - started
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    database = ROOT / "var" / "bench-jobs.sqlite3"
    database.parent.mkdir(exist_ok=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="biomuseum.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{database}",
        MEDIA_ROOT=tempfile.mkdtemp(prefix="bench-media-"),
        LOG_LEVEL="WARNING",
    )
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "EMAIL_HOST"):
        os.environ.pop(name, None)
    import django

    django.setup()
    images = 2 if args.quick else 10
    subscribers = 1000 if args.quick else 10_000
    print(f"Renditions: {images} images of 12 MP in one process...", flush=True)
    renditions = bench_renditions(images)
    print(f"Email: {subscribers:,} subscribers to a local SMTP server...", flush=True)
    email = bench_email(subscribers)
    print()
    print("| job | BioMuseum | limit | ratio |")
    print("|---|---|---|---|")
    print(
        f"| renditions, 12 MP JPEG, one process | {renditions['renditions_per_minute']:.0f} renditions/min "
        f"({renditions['images_per_minute']:.1f} images/min) | {renditions['limit_images_per_minute']:.1f} "
        f"images/min (decode + one 2048 px JPEG) | {renditions['ratio']:.2f}x |"
    )
    print(
        f"| notifications to {subscribers:,} subscribers | {email['emails_per_second']:.0f} emails/s, "
        f"exactly once: {'yes' if email['exactly_once'] else 'NO'} | {email['limit_emails_per_second']:.0f} "
        f"emails/s (bare smtplib) | {email['ratio']:.2f}x |"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    target = results / f"jobs-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(json.dumps({"renditions": renditions, "email": email}, indent=2))
    print(f"\nRaw results: {target.relative_to(ROOT)}")
    return 0 if email["exactly_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
