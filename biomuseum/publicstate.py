"""Whether a write can change what the public sees: changes nobody can see (a draft's edits, an image's job
state before it is ready) must not empty the page cache.

A model opts in with `PublicState`: `shows_publicly()` says whether the row, as it is in memory, can appear
on (or shape) a public page, and `PUBLIC_CONDITION` says the same as a query. A write counts when the row
was public as stored before it, or is public after it. "Before" comes from the row as loaded when that
says public; otherwise it is asked of the database, so a stale copy of a row that has since been published
still counts.
"""

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save


class PublicState(models.Model):
    PUBLIC_CONDITION = models.Q()
    PRIVATE_FIELDS: frozenset[str] = frozenset()  # a save of only these (`update_fields`) is never seen

    class Meta:
        abstract = True

    def shows_publicly(self) -> bool:
        return True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        deferred = instance.get_deferred_fields()
        instance._public_when_loaded = bool(deferred) or instance.shows_publicly()
        return instance


def stored_as_public(instance: models.Model) -> bool:
    """Before a save or delete: was the row public as the database holds it?"""
    if not isinstance(instance, PublicState):
        return True
    if instance.pk is None:
        return False
    if instance._state.adding is False and getattr(instance, "_public_when_loaded", True):
        return True
    manager = type(instance)._base_manager
    return manager.using(instance._state.db or "default").filter(instance.PUBLIC_CONDITION, pk=instance.pk).exists()


def public_before_or_after(instance: models.Model) -> bool:
    """Before a save or delete: is the row public as written now, or as stored? (The database is asked only
    when the answer is still no: a write that makes a row public needs no query to know it is seen.)"""
    if isinstance(instance, PublicState) and instance.shows_publicly():
        return True
    return stored_as_public(instance)


def seen_by_public(instance: models.Model, *, was_public: bool, update_fields=None) -> bool:
    """After a save: can the public see this write?"""
    if update_fields and isinstance(instance, PublicState) and set(update_fields) <= instance.PRIVATE_FIELDS:
        return False
    return public_after_write(instance) or was_public


def public_after_write(instance: models.Model) -> bool:
    """After a save: is the row public now (and remember it, for the next save of the same object)?"""
    if not isinstance(instance, PublicState):
        return True
    public = instance.shows_publicly()
    instance._public_when_loaded = public
    return public


def invalidate_on_writes(model: type[models.Model], family: str) -> None:
    """Bump `family`'s pages after every committed save or delete of `model` that the public can see.

    Before the write, the handlers note whether the row is public as written or as stored; after it,
    whether it is public now. Signals, so every path counts: services, admin forms and inlines, the shell,
    imports, jobs. (Connected from the apps' ready(); the page cache is not imported with the models.)"""
    from .pagecache import content_changed

    def before(sender, instance, **kwargs) -> None:
        instance._page_cache_public_around = public_before_or_after(instance)

    def saved(sender, instance, update_fields=None, using=None, **kwargs) -> None:
        around = getattr(instance, "_page_cache_public_around", True)
        if seen_by_public(instance, was_public=around, update_fields=update_fields):
            content_changed(family, using=using)

    def deleted(sender, instance, using=None, **kwargs) -> None:
        if getattr(instance, "_page_cache_public_around", True):
            content_changed(family, using=using)

    name = f"{model._meta.label}-{family}"
    pre_save.connect(before, sender=model, weak=False, dispatch_uid=f"pagecache-presave-{name}")
    post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"pagecache-save-{name}")
    pre_delete.connect(before, sender=model, weak=False, dispatch_uid=f"pagecache-predelete-{name}")
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"pagecache-delete-{name}")
