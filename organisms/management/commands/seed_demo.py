import time

from django.core.management.base import BaseCommand

from biomuseum.pagecache import FAMILIES, bump
from organisms.demo import load_catalogue, synthetic_organisms, synthetic_posts


class Command(BaseCommand):
    help = "Load the demo catalogue (real species and posts), idempotently; optionally add synthetic bulk records."

    def add_arguments(self, parser):
        parser.add_argument("--organisms", type=int, default=0, help="Also ensure N synthetic organisms exist.")
        parser.add_argument("--posts", type=int, default=0, help="Also ensure N synthetic posts exist.")

    def handle(self, *args, organisms: int, posts: int, **options):
        started = time.monotonic()
        created_organisms, created_posts = load_catalogue()
        self.stdout.write(f"Demo catalogue: {created_organisms} organisms and {created_posts} posts created.")
        if organisms:
            created = synthetic_organisms(organisms)
            self.stdout.write(f"Synthetic organisms: {created} created (target {organisms}).")
        if posts:
            created = synthetic_posts(posts)
            self.stdout.write(f"Synthetic posts: {created} created (target {posts}).")
        bump(*FAMILIES)  # bulk inserts send no signals
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f}s."))
