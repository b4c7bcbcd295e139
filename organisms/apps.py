from django.apps import AppConfig


class OrganismsConfig(AppConfig):
    name = "organisms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from biomuseum import revisions

        from . import signals

        signals.connect()
        revisions.connect()  # once for every app's histories (dispatch_uid)
