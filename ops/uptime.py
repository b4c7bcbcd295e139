"""When this process started (ops.apps imports it as Django loads): liveness and /ops/pools/ report it."""

import time

STARTED_AT = time.monotonic()


def uptime_seconds(digits: int = 1) -> float:
    return round(time.monotonic() - STARTED_AT, digits)
