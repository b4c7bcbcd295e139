"""Sentry, only when SENTRY_DSN is set: Django, Celery and Redis integrations, no personal data by default.

With send_default_pii off (the default) the SDK leaves out cookies, users and client addresses;
`prepare_event` also leaves out what the SDK would still send and a request can carry: its query
string and body (addresses, tokens), and frame locals are off. Every event is tagged with the
request id, so it can be found next to the log lines of the same request.
"""

from functools import partial

FILTERED = "[Filtered]"


def prepare_event(event: dict, hint: dict, *, send_default_pii: bool) -> dict:
    from .requestids import current_request_id

    request_id = current_request_id.get()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    request = event.get("request")
    if isinstance(request, dict) and not send_default_pii:
        for field in ("query_string", "data"):
            if request.get(field):
                request[field] = FILTERED
    return event


def init_sentry(
    dsn: str, *, release: str, environment: str, send_default_pii: bool = False, traces_sample_rate: float = 0.0
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment=environment,
        send_default_pii=send_default_pii,
        # Frame locals hold whatever a request carried (addresses, session keys): personal data too.
        include_local_variables=send_default_pii,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration(), RedisIntegration()],
        before_send=partial(prepare_event, send_default_pii=send_default_pii),
    )
