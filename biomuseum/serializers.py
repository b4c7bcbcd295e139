"""Serializer behaviour both apps share: sparse output fields and strict input."""

import copy

from django.conf import settings
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict


class FieldsBuiltOnceMixin:
    """For a read serializer whose fields depend on neither the instance nor the context: the fields that
    `get_fields()` builds from the model (field by field, with their kwargs and validators: most of a
    ModelSerializer's cost on every request) are built once per class, and each serializer gets a copy, as
    DRF copies a serializer's declared fields."""

    @classmethod
    def fields_key(cls) -> object:
        """What else the fields depend on (a registry filled as the apps load): built again when it changes."""
        return None

    @cached_property
    def fields(self):
        cls, key = type(self), self.fields_key()
        built = cls.__dict__.get("_fields_built_once", {}).get(key)
        if built is None:
            built = self.get_fields()
            # Unbound: only copies are ever bound to a serializer. A new dict each time: no reader sees a
            # dict being written.
            cls._fields_built_once = {**cls.__dict__.get("_fields_built_once", {}), key: built}
        fields = BindingDict(self)
        for name, field in copy.deepcopy(built).items():
            fields[name] = field
        return fields


class SparseFieldsMixin:
    """Drops every output field not named in `context["fields"]` (the `fields` query parameter)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wanted = self.context.get("fields")
        if wanted:
            for name in set(self.fields) - set(wanted):
                self.fields.pop(name)


class StrictInputMixin:
    """Refuses fields the client may not set, instead of silently ignoring them.

    This is what makes mass assignment of server-owned fields (author, timestamps,
    processing status) impossible, and visible to the client that tried.
    """

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["This field cannot be set."] for name in unknown})
        return super().to_internal_value(data)


def media_url(url: str, request=None) -> str:
    """A stored file's URL, absolute like every other `url` in the API, so a frontend on another origin
    loads it from here: from MEDIA_BASE_URL when set (a CDN), else from the address the request came to
    (PUBLIC_BASE_URL outside a request, as in mail)."""
    if not url or "//" in url[:8]:
        return url
    base = settings.MEDIA_BASE_URL
    if base and url.startswith(settings.MEDIA_URL):
        return f"{base.rstrip('/')}/{url[len(settings.MEDIA_URL) :]}"
    if request is not None:
        return request.build_absolute_uri(url)
    return f"{settings.PUBLIC_BASE_URL}{url}"


def absolute_renditions(renditions: list[dict], request=None) -> list[dict]:
    return [{**rendition, "url": media_url(rendition["url"], request)} for rendition in renditions]


def srcset_by_format(renditions: list[dict]) -> dict[str, str]:
    """`{"webp": "a.webp 320w, b.webp 640w", ...}` from a renditions manifest."""
    by_format: dict[str, list[dict]] = {}
    for rendition in renditions:
        by_format.setdefault(rendition["format"], []).append(rendition)
    return {
        fmt: ", ".join(f"{r['url']} {r['width']}w" for r in sorted(items, key=lambda r: r["width"]))
        for fmt, items in by_format.items()
    }


class ProcessedImageSerializer(serializers.Serializer):
    """The public face of a ready image: renditions only, never the original (it may carry metadata)."""

    id = serializers.IntegerField(read_only=True)
    alt_text = serializers.CharField(read_only=True)
    width = serializers.IntegerField(read_only=True, allow_null=True)
    height = serializers.IntegerField(read_only=True, allow_null=True)
    placeholder = serializers.CharField(read_only=True)
    dominant_color = serializers.CharField(read_only=True)
    renditions = serializers.SerializerMethodField()
    srcset = serializers.SerializerMethodField()

    def get_renditions(self, image) -> list[dict]:
        return absolute_renditions(image.renditions or [], self.context.get("request"))

    def get_srcset(self, image) -> dict[str, str]:
        return srcset_by_format(absolute_renditions(image.renditions or [], self.context.get("request")))
