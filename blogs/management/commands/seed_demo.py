import time

from django.core.management.base import BaseCommand

from biomuseum.pagecache import FAMILIES, bump
from blogs.demo import load_catalogue, synthetic_posts
from blogs.models import Post
from organisms.demo import synthetic_organisms
from organisms.models import Organism


class Command(BaseCommand):
    help = "Load the demo catalogue (real species and posts), idempotently; optionally add synthetic bulk records."

    def add_arguments(self, parser):
        parser.add_argument("--organisms", type=int, default=0, help="Also ensure N synthetic organisms exist.")
        parser.add_argument("--posts", type=int, default=0, help="Also ensure N synthetic posts exist.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing unless there are no organisms and no posts at all (so species a curator deleted "
            "stay deleted).",
        )

    def handle(self, *args, organisms: int, posts: int, if_empty: bool, **options):
        started = time.monotonic()
        if if_empty and (Organism.objects.exists() or Post.objects.exists()):
            self.stdout.write(
                f"Not empty ({Organism.objects.count()} organisms, {Post.objects.count()} posts): nothing loaded."
            )
            return
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
