from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BioMuseumConfig(AppConfig):
    """The shared layer as an app: the curators' admin look (templates, favicon), account state, revisions."""

    name = "biomuseum"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import revisions

        revisions.connect()  # every app's histories say through what they were made


class CuratorsAdminConfig(AdminConfig):
    """Django's admin with BioMuseum's site as `admin.site`, so every `@admin.register` lands on it."""

    default_site = "biomuseum.adminsite.CuratorsAdminSite"
