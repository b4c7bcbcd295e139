"""Page-cache invalidation for the blog (see organisms/signals.py for why signals)."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from biomuseum.pagecache import content_changed

from .models import CoverImage, Post, Tag


def posts_changed(sender, **kwargs) -> None:
    content_changed("posts")


def connect() -> None:
    for model in (Post, Tag, CoverImage):
        post_save.connect(posts_changed, sender=model, dispatch_uid=f"pagecache-save-{model.__name__}")
        post_delete.connect(posts_changed, sender=model, dispatch_uid=f"pagecache-delete-{model.__name__}")
    for through in (Post.tags.through, Post.related_organisms.through):
        m2m_changed.connect(posts_changed, sender=through, dispatch_uid=f"pagecache-m2m-{through.__name__}")
