"""Page-cache invalidation for the blog (see organisms/signals.py for why signals)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from biomuseum.pagecache import content_changed
from biomuseum.publicstate import invalidate_on_writes, public_after_write, stored_as_public

from .models import AuthorProfile, CoverImage, Post, Tag

M2M_CHANGES = frozenset({"post_add", "post_remove", "post_clear"})


def tag_deleted(sender, instance, **kwargs) -> None:
    content_changed("posts", using=kwargs.get("using"))


def tag_saved(sender, instance, created, **kwargs) -> None:
    if not created:  # a new tag is on no post yet; a renamed one may be on public ones
        content_changed("posts", using=kwargs.get("using"))


def post_links_changed(sender, instance, action, reverse, **kwargs) -> None:
    """Tags and related species of a post: seen only once the change is made, and only on public posts."""
    if action not in M2M_CHANGES:
        return
    if reverse or stored_as_public(instance) or public_after_write(instance):
        content_changed("posts", using=kwargs.get("using"))


# What an account's save can change that posts show: the byline falls back to the full name. A sign-in (it
# records last_login) or a password change does not touch it.
BYLINE_BLIND_SAVES = frozenset({"last_login", "password"})


def account_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if not created and not (update_fields and set(update_fields) <= BYLINE_BLIND_SAVES):
        content_changed("posts", using=kwargs.get("using"))


def connect() -> None:
    for model in (Post, CoverImage, AuthorProfile):  # a display name is the byline of every post by its account
        invalidate_on_writes(model, "posts")
    post_save.connect(account_saved, sender=get_user_model(), dispatch_uid="pagecache-save-account")
    post_save.connect(tag_saved, sender=Tag, dispatch_uid="pagecache-save-Tag")
    post_delete.connect(tag_deleted, sender=Tag, dispatch_uid="pagecache-delete-Tag")
    for through in (Post.tags.through, Post.related_organisms.through):
        m2m_changed.connect(post_links_changed, sender=through, dispatch_uid=f"pagecache-m2m-{through.__name__}")
