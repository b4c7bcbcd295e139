import time

from django.apps import AppConfig

STARTED_AT = time.monotonic()


class OpsConfig(AppConfig):
    name = "ops"
