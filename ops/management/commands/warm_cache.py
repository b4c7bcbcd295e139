from django.conf import settings
from django.core.management.base import BaseCommand

from ops.warmup import Warmer, cache_is_shared


class Command(BaseCommand):
    help = "Render the first pages of each public list (and common filters) and recent detail pages into the cache."

    def add_arguments(self, parser):
        parser.add_argument("--pages", type=int, default=3, help="Pages of each list (default 3).")
        parser.add_argument("--details", type=int, default=200, help="Recent organisms and posts, each (default 200).")
        parser.add_argument("--concurrency", type=int, default=2, help="Requests at once (default 2).")
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL, help="The public site the pages are for.")

    def handle(self, *args, pages: int, details: int, concurrency: int, base_url: str, **options):
        warmer = Warmer(base_url, concurrency=concurrency)

        def progress(what: str, count: int) -> None:
            self.stdout.write(f"  {what}: {count}")

        if not cache_is_shared():
            self.stdout.write(
                "The cache is each process's own memory (no REDIS_URL): what this command renders is its own. "
                "A web process warms its cache with the admin's cache panel (Warm now)."
            )
        report = warmer.run(pages=pages, details=details, progress=progress)
        kinds = ", ".join(f"{count} {kind}" for kind, count in report.by_kind.items())
        self.stdout.write(
            self.style.SUCCESS(f"Warmed {report.pages} pages ({kinds}) for {base_url} in {report.seconds:.1f}s")
            + (f"; {report.errors} answered with an error" if report.errors else "")
        )
