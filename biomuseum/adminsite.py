"""The curators' admin site: the museum's name, links to the public frontend."""

from django.conf import settings
from django.contrib import admin

from .frontendlinks import frontend_url


class CuratorsAdminSite(admin.AdminSite):
    # Properties, not class attributes: they follow settings changed after import (tests, a reload).
    @property
    def site_header(self) -> str:
        return f"{settings.MUSEUM_NAME} curation"

    @property
    def site_title(self) -> str:
        return f"{settings.MUSEUM_NAME} curation"

    index_title = "Collection and blog"

    @property
    def site_url(self) -> str | None:
        return frontend_url()  # None hides "View site"
