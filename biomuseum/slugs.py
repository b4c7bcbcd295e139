"""Slugs both apps give their rows: derived from a title or name, unique within one model."""

from django.db.models import Model
from django.utils.text import slugify
from rest_framework import serializers


def unique_slug(model: type[Model], text: str, *, exclude_pk: int | None = None, max_length: int = 140) -> str:
    """A slug from `text` that no other row of `model` has."""
    base = slugify(text)[: max_length - 8].strip("-") or "item"
    candidate, number = base, 2
    others = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while others.filter(slug=candidate).exists():
        candidate, number = f"{base}-{number}", number + 1
    return candidate


class UniqueSlugMixin:
    """For a write serializer: a slug another row of the model already has is a field error, not a 500 from the
    unique constraint. `slug_taken_message` names the kind of record."""

    slug_taken_message = "A record with this slug already exists."

    def validate_slug(self, value: str) -> str:
        others = self.Meta.model.objects.filter(slug=value)
        if self.instance:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(self.slug_taken_message)
        return value
