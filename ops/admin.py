"""The cache panel in the curators' admin: the CacheWarmup changelist is the panel (ops/cachepanel.py).

Seeing it takes the view permission on cache warm-ups, "Warm now" the add permission, "Purge" the
purge_page_cache permission; the Curators group has all three (`manage.py ensure_curator`).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from biomuseum.pagecache import FAMILIES

from . import cachepanel
from .models import CacheWarmup

WARM_PERMISSION = "ops.add_cachewarmup"
PURGE_PERMISSION = "ops.purge_page_cache"


@admin.register(CacheWarmup)
class CachePanelAdmin(admin.ModelAdmin):
    readonly_fields = ("status", "requested_by", "requested_at", "started_at", "finished_at", "where", "pages",
                       "errors", "seconds", "by_kind", "error")  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False  # a warm-up is asked for with "Warm now", never written by hand

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("warm/", self.admin_site.admin_view(self.warm_view), name=f"{name}_warm"),
            path("purge/", self.admin_site.admin_view(self.purge_view), name=f"{name}_purge"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Page cache",
            "opts": self.opts,
            "panel": cachepanel.snapshot(),
            "can_warm": request.user.has_perm(WARM_PERMISSION),
            "can_purge": request.user.has_perm(PURGE_PERMISSION),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/ops/cache_panel.html", context)

    @property
    def panel_url(self) -> str:
        return reverse(f"{self.admin_site.name}:ops_cachewarmup_changelist")

    def warm_view(self, request):
        return require_POST(self._warm)(request)

    def _warm(self, request):
        if not request.user.has_perm(WARM_PERMISSION):
            raise PermissionDenied
        job, new = cachepanel.request_warmup(request.user)
        if new:
            self.message_user(request, "Warm-up started: its report appears below when it is done (reload).")
        else:
            self.message_user(request, f"A warm-up is already {job.get_status_display()}.", messages.WARNING)
        return HttpResponseRedirect(self.panel_url)

    def purge_view(self, request):
        return require_POST(self._purge)(request)

    def _purge(self, request):
        if not request.user.has_perm(PURGE_PERMISSION):
            raise PermissionDenied
        family = request.POST.get("family", "")
        if family not in FAMILIES:
            return HttpResponseBadRequest(f"Unknown family: choose one of {', '.join(FAMILIES)}.")
        if cachepanel.purge(family):
            self.message_user(request, f"Purged {family}: every page that shows {family} is rendered anew.")
        else:
            self.message_user(
                request, f"Redis did not take the purge of {family}; it is retried on the next request.",
                messages.WARNING,
            )  # fmt: skip
        return HttpResponseRedirect(self.panel_url)
