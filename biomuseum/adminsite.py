"""The curators' admin site: the museum's name, links to the public frontend, and a one-time password
replaced before anything else."""

from functools import wraps

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from .frontendlinks import frontend_url
from .passwordchange import must_change_password

# What an account with a one-time password may still open: the form that replaces it, and the way out.
OPEN_BEFORE_THE_PASSWORD_CHANGE = frozenset({"password_change", "password_change_done", "logout", "jsi18n"})


class CuratorsAdminSite(admin.AdminSite):
    # Properties, not class attributes: they follow settings changed after import (tests, a reload).
    @property
    def site_header(self) -> str:
        return f"{settings.MUSEUM_NAME} curation"

    @property
    def site_title(self) -> str:
        return f"{settings.MUSEUM_NAME} curation"

    index_title = "Collection and blog"
    # The navigation column takes a quarter of a laptop's screen from every changelist and form; the
    # breadcrumbs and the index lead everywhere it does.
    enable_nav_sidebar = False

    @property
    def site_url(self) -> str | None:
        return frontend_url()  # None hides "View site"

    def admin_view(self, view, cacheable=False):
        """Every admin page (the site's own and each ModelAdmin's) comes here: until an account has replaced
        a one-time password, each one redirects to the password change form."""

        @wraps(view)
        def password_changed_first(request, *args, **kwargs):
            if request.resolver_match.url_name not in OPEN_BEFORE_THE_PASSWORD_CHANGE and must_change_password(
                request.user
            ):
                messages.warning(request, "Choose a new password: the one you signed in with was for one use.")
                return HttpResponseRedirect(reverse("admin:password_change", current_app=self.name))
            return view(request, *args, **kwargs)

        return super().admin_view(password_changed_first, cacheable)
