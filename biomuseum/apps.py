from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BioMuseumConfig(AppConfig):
    """The shared layer as an app: the curators' admin look (templates, favicon) and account state."""

    name = "biomuseum"
    default_auto_field = "django.db.models.BigAutoField"


class CuratorsAdminConfig(AdminConfig):
    """Django's admin with BioMuseum's site as `admin.site`, so every `@admin.register` lands on it."""

    default_site = "biomuseum.adminsite.CuratorsAdminSite"
