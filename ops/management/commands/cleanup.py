import time

from django.core.management.base import BaseCommand

from ops import cleanup


class Command(BaseCommand):
    help = (
        "Delete expired sessions and tokens, old failed images, orphaned media files and subscribers who never"
        " confirmed. Safe to run any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--failed-image-days", type=int, default=30)
        parser.add_argument("--orphan-grace-hours", type=int, default=24)
        parser.add_argument(
            "--unconfirmed-subscriber-days",
            type=int,
            default=7,
            help="Delete pending subscribers who last asked longer ago than this (never while their link works).",
        )

    def handle(self, *args, dry_run, failed_image_days, orphan_grace_hours, unconfirmed_subscriber_days, **options):
        started = time.monotonic()
        counts = cleanup.run(
            cleanup.Options(
                dry_run=dry_run,
                failed_image_days=failed_image_days,
                orphan_grace_hours=orphan_grace_hours,
                unconfirmed_subscriber_days=unconfirmed_subscriber_days,
            )
        )
        verb = "would delete" if dry_run else "deleted"
        for name, count in counts.items():
            self.stdout.write(f"{name}: {verb} {count}")
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f}s."))
