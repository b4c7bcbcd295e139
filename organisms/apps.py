from django.apps import AppConfig


class OrganismsConfig(AppConfig):
    name = "organisms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals

        signals.connect()
