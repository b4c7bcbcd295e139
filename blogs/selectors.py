"""Reads of the blog."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from organisms.models import Organism

from .models import CoverImage, Post, PostStatus, Tag

LIST_FIELDS = (
    "id",
    "slug",
    "title",
    "excerpt",
    "published_at",
    "author__first_name",
    "author__last_name",
    "author__author_profile__display_name",
)


def _cover() -> Prefetch:
    return Prefetch("cover", queryset=CoverImage.objects.filter(CoverImage.PUBLIC_CONDITION))


def post_list(*, tag: str = "", search: str = "") -> QuerySet:
    """Public posts, newest first: author joined, tags and a ready cover prefetched."""
    queryset = Post.objects.published().select_related("author__author_profile").only(*LIST_FIELDS)
    if tag:
        queryset = queryset.filter(tags__slug=tag)
    if search:
        queryset = queryset.filter(Q(title__icontains=search) | Q(excerpt__icontains=search))
    return queryset.prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name", "slug")), _cover())


def post_detail_queryset(*, include_unpublished: bool = False) -> QuerySet:
    """Everything a post page shows; related organisms only when they are published (staff who wrote the post
    see it whole, published or not)."""
    posts = Post.objects.all() if include_unpublished else Post.objects.published()
    organisms = Organism.objects.all() if include_unpublished else Organism.objects.published()
    organisms = organisms.only("id", "slug", "common_name", "scientific_name")
    return posts.select_related("author__author_profile").prefetch_related(
        "tags", Prefetch("related_organisms", queryset=organisms), _cover()
    )


def organism_posts_prefetch() -> Prefetch:
    """The published posts about each organism, newest first, for the organism detail."""
    posts = (
        Post.objects.published().only("id", "slug", "title", "excerpt", "published_at").order_by("-published_at", "-id")
    )
    return Prefetch("posts", queryset=posts)


def cover_of(post: Post) -> CoverImage | None:
    """The public cover, if any (a cover not yet processed, or without alt text, is not shown)."""
    try:
        cover = post.cover
    except CoverImage.DoesNotExist:
        return None
    return cover if cover.shows_publicly() else None


def next_publication_at() -> datetime | None:
    """When the next scheduled post goes public: cached pages that list posts must not outlive it."""
    return (
        Post.objects.filter(status=PostStatus.PUBLISHED, published_at__gt=timezone.now())
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
