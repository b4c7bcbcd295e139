import time

from django.apps import AppConfig

STARTED_AT = time.monotonic()


class OpsConfig(AppConfig):
    name = "ops"

    def ready(self) -> None:
        from django.core.signals import got_request_exception, request_finished, setting_changed

        from . import errorids, metrics, tasksignals

        got_request_exception.connect(errorids.assign_error_id, dispatch_uid="ops.error_id")
        request_finished.connect(metrics.refresh_on_request_finished, dispatch_uid="ops.pool_gauges")
        setting_changed.connect(_forget_routes, dispatch_uid="ops.routes")
        tasksignals.connect()


def _forget_routes(setting: str, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        from .metrics import route_name

        route_name.cache_clear()
