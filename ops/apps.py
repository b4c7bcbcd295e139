from django.apps import AppConfig

from . import uptime  # noqa: F401 - the process's start, taken as Django loads the apps


class OpsConfig(AppConfig):
    name = "ops"

    def ready(self) -> None:
        from django.core.signals import got_request_exception, request_finished, setting_changed

        from biomuseum import errorids

        from . import pools, tasksignals

        got_request_exception.connect(errorids.assign_error_id, dispatch_uid="ops.error_id")
        request_finished.connect(pools.refresh_on_request_finished, dispatch_uid="ops.pool_gauges")
        setting_changed.connect(_forget_routes, dispatch_uid="ops.routes")
        tasksignals.connect()


def _forget_routes(setting: str, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        from .metrics import route_name

        route_name.cache_clear()
