from django.conf import settings
from django.db import models


class WarmupStatus(models.TextChoices):
    QUEUED = "queued", "waiting"
    RUNNING = "running", "warming"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class CacheWarmup(models.Model):
    """One warm-up of the page cache (ops/warmup.py), asked for in the cache panel or run on schedule: the row
    is the job's truth and its report. It is also what the cache panel's permissions hang on."""

    status = models.CharField(max_length=8, choices=WarmupStatus.choices, default=WarmupStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    where = models.CharField(max_length=20, blank=True, help_text="What ran it: a Celery worker or a web process.")
    pages = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    by_kind = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "cache warm-up"
        verbose_name_plural = "page cache"
        permissions = [("purge_page_cache", "Can purge a family of the page cache")]

    def __str__(self) -> str:
        return f"cache warm-up {self.pk} ({self.get_status_display()})"
