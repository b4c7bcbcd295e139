"""Page-cache invalidation for the catalogue.

Signals rather than service calls because every path must invalidate: services,
the admin's forms and inlines, the shell, imports. Only writes the public can see
count (biomuseum.publicstate), and a transaction bumps once, after it commits.
"""

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from biomuseum.pagecache import content_changed
from biomuseum.publicstate import public_before_or_after, seen_by_public

from .models import Organism, OrganismImage


def remember_public_state(sender, instance, **kwargs) -> None:
    instance._page_cache_was_public = public_before_or_after(instance)


def organism_saved(sender, instance, update_fields=None, **kwargs) -> None:
    was_public = getattr(instance, "_page_cache_was_public", True)
    if seen_by_public(instance, was_public=was_public, update_fields=update_fields):
        content_changed("organisms", using=kwargs.get("using"))


def organism_deleted(sender, instance, **kwargs) -> None:
    if getattr(instance, "_page_cache_was_public", True):
        content_changed("organisms", using=kwargs.get("using"))


def connect() -> None:
    for model in (Organism, OrganismImage):
        name = model.__name__
        pre_save.connect(remember_public_state, sender=model, dispatch_uid=f"pagecache-presave-{name}")
        post_save.connect(organism_saved, sender=model, dispatch_uid=f"pagecache-save-{name}")
        pre_delete.connect(remember_public_state, sender=model, dispatch_uid=f"pagecache-predelete-{name}")
        post_delete.connect(organism_deleted, sender=model, dispatch_uid=f"pagecache-delete-{name}")
