"""Revisions of the curated records: who changed a record, when, through what, and every field as it was.

django-simple-history keeps a historical row per save and delete of each model that declares
`history = revisions.history_records()`; the admin shows them with their differences and reverts to any of
them. This module adds what it lacks:

- *through what*: each historical row says its channel (`history_via`: admin, api, import, job, command or
  shell), from the context the entry point sets (`recording`: the request middleware below, the Celery task
  signals, the import command and job), else from how the process was started;
- *who*, where no request says it: the user a job or an import runs for;
- *bulk writes*, which send no signals: the writers that bypass save() (biomuseum.bulk, bulk_create,
  queryset updates) call `record_bulk` with the rows they wrote, one query and one insert per batch;
- *many-to-many links* as part of the revision that changed them: a form or service that saves a record and
  then sets its links makes one revision holding both, not one per field (simple-history alone records each
  add, remove and clear as a revision of its own, the empty ones included).
"""

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connections, models, router, transaction
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

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


def current_actor():
    """Who is making the change now: the user a job or import runs for, else the signed-in user of the
    request being answered (simple-history's middleware holds it), else None."""
    user = current_user()
    if user is None:
        request = getattr(HistoricalRecords.context, "request", None)
        user = getattr(request, "user", None)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


class RevisionFields(models.Model):
    """What every historical row has besides the record's fields and simple-history's own."""

    history_via = models.CharField("through", max_length=8, default="shell")

    class Meta:
        abstract = True


class _MadeInTransaction:
    """The revisions one transaction made, by record; forgotten when it commits (an on-commit callback that
    a rollback drops with the transaction, so a revision rolled back is never reused)."""

    def __init__(self):
        self.made: dict[tuple[type, object], models.Model] = {}

    def __call__(self) -> None:
        self.made.clear()

    @classmethod
    def of(cls, connection, *, create: bool) -> "_MadeInTransaction | None":
        if not connection.in_atomic_block:
            return None
        current = getattr(connection, "_revisions_made", None)
        if current is not None and any(callback is current for _, callback, _ in connection.run_on_commit):
            return current
        if not create:
            return None
        current = connection._revisions_made = cls()
        transaction.on_commit(current, using=connection.alias)
        return current


class Revisions(HistoricalRecords):
    """simple-history's records, with many-to-many changes folded into the revision of the same transaction."""

    def contribute_to_class(self, cls, name):
        super().contribute_to_class(cls, name)
        cls._revisions = self

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        if action not in ("post_add", "post_remove", "post_clear") or (action != "post_clear" and not pk_set):
            return  # nothing changed: Django signals an add or remove of no rows too
        if reverse:  # organism.posts.add(post): the revisions are the posts'
            model = self.cls
            for record in model._base_manager.filter(pk__in=pk_set):
                self._record_links(record)
            return
        self._record_links(instance)

    def _record_links(self, instance) -> None:
        connection = connections[router.db_for_write(type(instance))]
        made = _MadeInTransaction.of(connection, create=False)
        revision = made.made.get((type(instance), instance.pk)) if made is not None else None
        if revision is None:
            self.create_historical_record(instance, "~")
            return
        for field in revision._history_m2m_fields:  # the revision shows the links as they are now
            self.m2m_models[field].objects.filter(history=revision).delete()
        self.create_historical_record_m2ms(revision, instance)

    def bulk_history_create(self, model, rows: list, **options) -> list:
        created = model.history.bulk_history_create(rows, **options)
        if self.get_m2m_fields_from_model(model):
            by_pk = {row.pk: row for row in rows}
            for revision in created:
                self.create_historical_record_m2ms(revision, by_pk[getattr(revision, model._meta.pk.attname)])
        return created


def history_records(**options) -> HistoricalRecords:
    """The history of one model; its rows outlive the record (a deleted record can be seen and restored)."""
    return Revisions(bases=[RevisionFields], cascade_delete_history=False, **options)


def _stamp(sender, history_instance, **kwargs) -> None:
    history_instance.history_via = current_via()
    if history_instance.history_user_id is None and current_user() is not None:
        history_instance.history_user = current_user()


def _remember(sender, instance, history_instance, **kwargs) -> None:
    connection = connections[router.db_for_write(type(instance))]
    made = _MadeInTransaction.of(connection, create=True)
    if made is not None:
        made.made[(type(instance), instance.pk)] = history_instance


def connect() -> None:
    pre_create_historical_record.connect(_stamp, dispatch_uid="biomuseum.revisions.stamp")
    post_create_historical_record.connect(_remember, dispatch_uid="biomuseum.revisions.remember")


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
    options = {"batch_size": BATCH, "update": not created, "default_user": current_user(),
               "custom_historical_attrs": {"history_via": current_via()}}  # fmt: skip
    model._revisions.bulk_history_create(model, rows, **options)
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
