"""Content elsewhere that refers to an organism, shown on its detail.

Apps above the catalogue (the blog's posts about a species) refer to organisms; the catalogue must not import
them. Such an app registers a `RelatedContent` from its `AppConfig.ready()`, and the organism detail reads the
registry: its queryset adds each prefetch, its serializer each field (after the organism's own fields, before
the timestamps), and its page-cache policy each family and expiry, so an edit to the related content, or its
scheduled publication, reaches the cached detail page. Nothing registered: the detail shows the organism alone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch
from rest_framework.fields import Field


@dataclass(frozen=True)
class RelatedContent:
    name: str  # the detail's field, e.g. "related_posts"
    field: Callable[[], Field]  # a new read-only field each call (a bound field belongs to one serializer)
    prefetch: Callable[[], Prefetch]  # what the field reads, fetched with the organisms in one query
    families: tuple[str, ...]  # the page-cache families the field's content is bumped under
    expires: Callable[[], datetime | None] | None = None  # when the content changes by itself (scheduled posts)


_registry: dict[str, RelatedContent] = {}


def register(content: RelatedContent) -> None:
    """Show `content` on every organism detail; registering a name again replaces it (ready() may rerun)."""
    _registry[content.name] = content


def registered() -> tuple[RelatedContent, ...]:
    return tuple(_registry.values())


def field_names() -> list[str]:
    return [content.name for content in _registry.values()]


def fields() -> dict[str, Field]:
    return {content.name: content.field() for content in _registry.values()}


def prefetches() -> list[Prefetch]:
    return [content.prefetch() for content in _registry.values()]


def families() -> tuple[str, ...]:
    return tuple(dict.fromkeys(family for content in _registry.values() for family in content.families))


def next_change_at() -> datetime | None:
    """The soonest time any registered content changes by itself: a cached detail must not outlive it."""
    upcoming = [when for content in _registry.values() if content.expires and (when := content.expires())]
    return min(upcoming, default=None)
