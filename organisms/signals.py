"""Page-cache invalidation for the catalogue.

Signals rather than service calls because every path must invalidate: services,
the admin's forms and inlines, the shell, imports. The bump runs after commit.
"""

from django.db.models.signals import post_delete, post_save

from biomuseum.pagecache import content_changed

from .models import Organism, OrganismImage


def organisms_changed(sender, **kwargs) -> None:
    content_changed("organisms")


def connect() -> None:
    for model in (Organism, OrganismImage):
        post_save.connect(organisms_changed, sender=model, dispatch_uid=f"pagecache-save-{model.__name__}")
        post_delete.connect(organisms_changed, sender=model, dispatch_uid=f"pagecache-delete-{model.__name__}")
