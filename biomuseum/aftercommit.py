"""The base class of every task (the Celery app's `task_cls`): queued after the transaction commits, and a
broker that is down leaves the work waiting, not lost; what it writes is recorded as a job's revision.

Celery's DjangoTask queues on commit, but a broker error escapes from the commit hook (the write is
committed by then, so the request fails for nothing), after apply_async has retried the connection. Here
the send is tried once and a failure is logged: the row the work is about stays as it was (an image
pending, a confirmation unsent, a post not yet notified), and the periodic sweepers queue it.
"""

import logging

from celery.contrib.django.task import DjangoTask
from django.db import transaction

from .revisions import recording

logger = logging.getLogger("biomuseum.aftercommit")


class Task(DjangoTask):
    def __call__(self, *args, **kwargs):
        with recording("job"):  # what a task writes is a revision made by a job (an import says so itself)
            return super().__call__(*args, **kwargs)

    def apply_async_on_commit(self, args=None, kwargs=None, **options) -> None:
        """apply_async() once the surrounding transaction commits (at once outside one); never raises."""
        options.setdefault("retry", False)

        def send() -> None:
            try:
                self.apply_async(args, kwargs, **options)
            except Exception:
                logger.warning("could not queue %s%s; a periodic sweep will catch up", self.name, args, exc_info=True)

        transaction.on_commit(send)

    def delay_on_commit(self, *args, **kwargs) -> None:
        self.apply_async_on_commit(args, kwargs)
