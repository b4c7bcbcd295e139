"""The tasks' base class (biomuseum/aftercommit.py): queued after commit, never lost to a broker outage."""

import logging

import pytest
from django.db import transaction

from biomuseum.aftercommit import Task
from biomuseum.celery import app
from blogs.tasks import notify_subscribers
from organisms.tasks import process_organism_image
from tests.outages import broker_down

pytestmark = pytest.mark.django_db


def test_task_class_is_every_project_task_base():
    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if name.split(".")[0] in ("organisms", "blogs", "ops")]
    assert ours
    assert all(isinstance(task, Task) for task in ours)


def test_task_apply_async_on_commit_sends_once_after_commit_and_tries_the_broker_once(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(process_organism_image, "apply_async", lambda *args, **options: sent.append((args, options)))
    with django_capture_on_commit_callbacks(execute=True):
        process_organism_image.delay_on_commit(7)
        assert sent == []  # not before the commit
    assert sent == [(((7,), {}), {"retry": False})]


def test_task_apply_async_on_commit_sends_nothing_when_rolled_back(monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(process_organism_image, "apply_async", lambda *args, **options: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        process_organism_image.delay_on_commit(7)
        raise RuntimeError("rolled back")
    assert sent == []


def test_task_apply_async_on_commit_logs_a_broker_outage_and_does_not_raise(caplog, django_capture_on_commit_callbacks):
    with caplog.at_level(logging.WARNING, "biomuseum.aftercommit"), broker_down():
        with django_capture_on_commit_callbacks() as hooks:
            notify_subscribers.delay_on_commit(3)
        hooks[0]()  # the hook itself must not raise: the transaction it follows is committed
    assert [record.getMessage() for record in caplog.records] == [
        "could not queue blogs.notify_subscribers(3,); a periodic sweep will catch up"
    ]
