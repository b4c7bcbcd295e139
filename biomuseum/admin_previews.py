"""The admin's Preview button: a fresh preview token for the record on the page, opened on the frontend's
preview page (FRONTEND_PREVIEW_URL) or, without one, as the API's JSON (biomuseum/previews.py)."""

from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path

from . import previews


def preview_url(request, record_type: str, obj, token: str) -> str:
    token = quote(token, safe=":")
    if settings.FRONTEND_PREVIEW_URL:
        return settings.FRONTEND_PREVIEW_URL.format(type=record_type, slug=quote(obj.slug), token=token)
    return request.build_absolute_uri(f"{obj.get_absolute_url()}?preview={token}")


class PreviewMixin:
    """For a ModelAdmin of records with a public API page: `<pk>/preview/` and a Preview button beside History."""

    preview_type: str  # what FRONTEND_PREVIEW_URL's {type} says: organism, post
    change_form_template = "admin/biomuseum/change_form_with_preview.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_preview"
        preview = path("<path:object_id>/preview/", self.admin_site.admin_view(self.preview_view), name=name)
        return [preview, *super().get_urls()]

    def preview_view(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return HttpResponseRedirect(preview_url(request, self.preview_type, obj, previews.make_token(obj)))
