"""The Celery app. Without a broker configured, tasks run eagerly in-process (embedded defaults)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biomuseum.settings")

app = Celery("biomuseum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
