"""Admin display pieces both apps use: image previews and status badges."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.db import models
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from . import images

STATUS_COLOURS = {"pending": "#8a6d3b", "processing": "#31708f", "ready": "#3c763d", "failed": "#a94442"}


def image_preview(image, size: int = 80) -> str:
    url = image.smallest_url() if image is not None else ""
    if not url:
        return "—"  # not processed yet: its status says why
    return format_html(
        '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;object-fit:cover;border-radius:3px">',
        url,
        image.alt_text,
        size,
        size,
    )


def short_datetime(value) -> str:
    """A time in a changelist column, in little more than the width of the date: `6 Dec 2026 14:05`."""
    return date_format(localtime(value), "j M Y H:i") if value else "—"


def status_badge(status: str, error: str = "") -> str:
    return format_html(
        '<span title="{}" style="color:#fff;background:{};padding:1px 6px;border-radius:8px">{}</span>',
        error,
        STATUS_COLOURS.get(status, "#777"),
        status,
    )


def largest_rendition_url(image) -> str:
    """The biggest JPEG or WebP rendition, for a curator who wants to look closely ("" until processed)."""
    candidates = [r for r in image.renditions or [] if r["format"] in ("webp", "jpeg")]
    return max(candidates, key=lambda r: (r["width"], r["format"] == "webp"))["url"] if candidates else ""


class RenditionFileInput(AdminFileWidget):
    """An image upload whose "Currently" links the processed rendition, or says why there is none yet.

    Django's widget links the stored file, here the original: a 404, since originals are never served
    (they may carry metadata such as GPS positions), and its generated path means nothing to a curator.
    """

    template_name = "biomuseum/widgets/rendition_file_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        image = getattr(value, "instance", None)
        if context["widget"]["is_initial"] and image is not None:
            url = largest_rendition_url(image) if image.status == images.ImageStatus.READY else ""
            context["widget"]["rendition_url"] = url
            context["widget"]["rendition_label"] = (
                "the processed image" if url else f"an image with no rendition yet ({image.get_status_display()})"
            )
        return context


class ProcessedImageForm(forms.ModelForm):
    """Admin uploads pass the same checks as API uploads, before anything is stored, and are described."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "alt_text" in self.fields:
            self.fields["alt_text"].required = True
            self.fields["alt_text"].error_messages["required"] = images.ALT_TEXT_REQUIRED

    def clean_original(self):
        upload = self.cleaned_data.get("original")
        if upload and "original" in self.changed_data:
            try:
                checked = images.check_upload(upload)
            except images.ImageRejected as error:
                raise forms.ValidationError(str(error)) from error
            self.instance.content_hash = checked.content_hash
        return upload


class ProcessedImageAdminMixin:
    """For an admin or inline of processed images: checked uploads, and `preview` and `processing` (status)
    to list in `readonly_fields`; `preview_size` in pixels."""

    form = ProcessedImageForm
    formfield_overrides = {models.ImageField: {"widget": RenditionFileInput}}
    preview_size = 80

    @admin.display(description="Preview")
    def preview(self, image):
        return image_preview(image, size=self.preview_size)

    @admin.display(description="Status")
    def processing(self, image):
        return status_badge(image.status, image.error)


def after_image_formset_saved(formset, on_saved) -> None:
    """Call `on_saved(image=, created=, original_changed=)` for each image the formset wrote."""
    for form in formset.forms:
        if form in getattr(formset, "deleted_forms", []) or not form.instance.pk or not form.has_changed():
            continue
        on_saved(
            image=form.instance,
            created=form in formset.new_objects or not form.initial,
            original_changed="original" in form.changed_data,
        )
