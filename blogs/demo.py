"""Demo and benchmark posts: the real posts shipped in demo_data/ (about the demo species), and synthetic
bulk posts."""

import json
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from organisms.demo import load_organisms
from organisms.models import Organism

from .markup import render_markdown
from .models import Post, PostStatus
from .services import tags_from_names

POSTS_FILE = Path(__file__).resolve().parent / "demo_data" / "posts.json"


def _editorial_author():
    user, _ = get_user_model().objects.get_or_create(
        username="editorial", defaults={"first_name": "Museum", "last_name": "Editorial", "is_active": False}
    )
    return user


@transaction.atomic
def load_catalogue() -> tuple[int, int]:
    """The real species and posts; running it again changes nothing. Returns (organisms, posts) created."""
    return load_organisms(), load_posts()


@transaction.atomic
def load_posts() -> int:
    """The real posts, linked to the demo species they are about. Returns how many were created."""
    created_posts = 0
    author = _editorial_author()
    now = timezone.now()
    for record in json.loads(POSTS_FILE.read_text()):
        slug = slugify(record["title"])[:160]
        if Post.objects.filter(slug=slug).exists():
            continue
        published_at = (now - timedelta(days=record["days_ago"])).replace(microsecond=0)
        post = Post.objects.create(
            slug=slug,
            title=record["title"],
            excerpt=record["excerpt"],
            body=record["body"],
            author=author,
            status=PostStatus.DRAFT if record.get("draft") else PostStatus.PUBLISHED,
            published_at=None if record.get("draft") else published_at,
            notifications_queued_at=now,  # demo posts are never announced to subscribers
        )
        post.tags.set(tags_from_names(record["tags"]))
        post.related_organisms.set(Organism.objects.filter(scientific_name__in=record["related_organisms"]))
        created_posts += 1
    return created_posts


def synthetic_posts(count: int, batch_size: int = 2000) -> int:
    """`count` generated published posts spread over the past years."""
    body = "## A generated post\n\nWritten to measure the blog at scale. *Nothing here is real.*"
    body_html = render_markdown(body)
    author = _editorial_author()
    now = timezone.now()
    synthetic = Post.objects.filter(slug__startswith="synthetic-post-")
    existing = synthetic.count()
    for start in range(existing, count, batch_size):
        batch = [
            Post(
                slug=f"synthetic-post-{index}",
                title=f"Generated post {index}",
                excerpt="A synthetic post for load testing.",
                body=body,
                body_html=body_html,
                author=author,
                status=PostStatus.PUBLISHED,
                published_at=now - timedelta(hours=index + 1),
                notifications_queued_at=now,
            )
            for index in range(start, min(start + batch_size, count))
        ]
        Post.objects.bulk_create(batch, ignore_conflicts=True)
    return synthetic.count() - existing
