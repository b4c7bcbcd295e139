"""A broker outage, for the tests of "work waits, not lost"."""

from contextlib import contextmanager


@contextmanager
def broker_down():
    """Queueing fails as it does when Redis is unreachable: nothing listens on port 1.

    The app's connection and producer pools are set aside meanwhile: one that an earlier test made keeps
    its own broker address, and publishing through it would not fail (or would reach a broker that happens
    to listen on this machine).
    """
    from biomuseum.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager, app._pool, app.amqp._producer_pool
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    app._pool = app.amqp._producer_pool = None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app.conf.task_always_eager, app._pool, app.amqp._producer_pool = saved
