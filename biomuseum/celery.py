"""The Celery app. Without a broker configured, tasks run eagerly in-process (embedded defaults)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biomuseum.settings")

app = Celery("biomuseum", task_cls="biomuseum.aftercommit:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat entries beyond settings.CELERY_BEAT_SCHEDULE, merged into it when the app is configured.
app.add_periodic_task(60.0, app.signature("blogs.sweep_confirmations"), name="sweep-confirmations")
