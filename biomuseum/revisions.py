"""Revisions of the curated records: who changed a record, when, through what, and every field as it was.

django-simple-history keeps a historical row per save and delete of each model that declares
`history = revisions.history_records()`; the admin shows them with their differences and reverts to any of
them. This module adds what it lacks:

- *through what*: each historical row says its channel (`history_via`: admin, api, import, job, command or
  shell), from the context the entry point sets (`recording`: the request middleware below, the Celery task
  signals, the import command and job), else from how the process was started;
- *who*, where no request says it: the user a job or an import runs for;
- *bulk writes*, which send no signals: the writers that bypass save() (biomuseum.bulk, bulk_create,
  queryset updates) call `record_bulk` with the rows they wrote, one query and one insert per batch.
"""

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import models
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

CHANNELS = ("admin", "api", "import", "job", "command", "shell")
BATCH = 2000


@dataclass(frozen=True)
class Context:
    via: str
    user: object | None = None


_current: ContextVar[Context | None] = ContextVar("revision_context", default=None)


@contextmanager
def recording(via: str, *, user=None) -> Iterator[None]:
    """Every revision made inside says it came through `via` (and, where no request says who, from `user`)."""
    if via not in CHANNELS:
        raise ValueError(f"{via!r} is not a revision channel: {', '.join(CHANNELS)}")
    token = _current.set(Context(via, user if user is not None and getattr(user, "pk", None) else None))
    try:
        yield
    finally:
        _current.reset(token)


def current_via() -> str:
    context = _current.get()
    if context is not None:
        return context.via
    command = sys.argv[1] if len(sys.argv) > 1 and sys.argv[0].endswith("manage.py") else "shell"
    return "shell" if command in ("shell", "shell_plus", "dbshell") else "command"


def current_user():
    context = _current.get()
    return context.user if context is not None else None


class RevisionFields(models.Model):
    """What every historical row has besides the record's fields and simple-history's own."""

    history_via = models.CharField("through", max_length=8, default="shell")

    class Meta:
        abstract = True


def history_records(**options) -> HistoricalRecords:
    """The history of one model; its rows outlive the record (a deleted record can be seen and restored)."""
    return HistoricalRecords(bases=[RevisionFields], cascade_delete_history=False, **options)


def _stamp(sender, history_instance, **kwargs) -> None:
    history_instance.history_via = current_via()
    if history_instance.history_user_id is None and current_user() is not None:
        history_instance.history_user = current_user()


def connect() -> None:
    pre_create_historical_record.connect(_stamp, dispatch_uid="biomuseum.revisions.stamp")


def record_bulk(model: type[models.Model], pks: Iterable[int], *, created: bool = False) -> int:
    """Record the rows `pks` of `model` as they now are (read back), after a write that sent no signals (a
    bulk update). Returns how many revisions it made."""
    if not hasattr(model, "history"):
        return 0
    pks = list(pks)
    made = 0
    for start in range(0, len(pks), BATCH):
        made += record_rows(model, list(model._base_manager.filter(pk__in=pks[start : start + BATCH])), created)
    return made


def record_rows(model: type[models.Model], rows: list[models.Model], created: bool = False) -> int:
    """Record `rows` (instances holding every field as written: what a bulk insert returns) as revisions."""
    if not hasattr(model, "history") or not rows:
        return 0
    model.history.bulk_history_create(
        rows, batch_size=BATCH, update=not created, default_user=current_user(),
        custom_historical_attrs={"history_via": current_via()},
    )  # fmt: skip
    return len(rows)


def channel_for_path(path: str, admin_prefix: str) -> str:
    return "admin" if path.startswith(admin_prefix) else "api"


class RevisionChannelMiddleware:
    """Revisions made while answering a request came through the admin or the API."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.admin_prefix = f"/{settings.ADMIN_URL}"

    def __call__(self, request):
        with recording(channel_for_path(request.path, self.admin_prefix)):
            return self.get_response(request)
