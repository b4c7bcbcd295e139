"""Blog jobs: cover images, subscription confirmations and new-post notifications."""

import logging

from celery import shared_task
from django.db import DatabaseError

from biomuseum.images import IMAGE_TASK_OPTIONS, run_image_job, sweep_image_jobs

from . import notifications
from .models import CoverImage

logger = logging.getLogger("blogs.tasks")

EMAIL_RETRY = {
    "autoretry_for": (notifications.TransientMailError, DatabaseError),
    "retry_backoff": 10,
    "retry_backoff_max": 900,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": 300,
    "time_limit": 330,
}


@shared_task(name="blogs.process_cover", **IMAGE_TASK_OPTIONS)
def process_cover_image(self, image_id: int) -> str:
    return run_image_job(self, CoverImage, image_id)


@shared_task(name="blogs.sweep_covers", ignore_result=True)
def sweep_cover_images() -> int:
    return sweep_image_jobs(CoverImage, process_cover_image)


@shared_task(name="blogs.send_confirmation", **EMAIL_RETRY)
def send_confirmation(subscriber_id: int, ask: int | None = None) -> bool:
    return notifications.send_confirmation(subscriber_id, ask)


@shared_task(name="blogs.sweep_confirmations", ignore_result=True)
def sweep_confirmations() -> int:
    """Queue again the confirmations that never went out: asks made while the broker was down, sends
    that ran out of retries. The send claims each ask, so a confirmation that did go out is never sent twice."""
    unsent = notifications.unsent_confirmations()
    for subscriber_id, ask in unsent:
        send_confirmation.apply_async((subscriber_id, ask))
    return len(unsent)


@shared_task(name="blogs.notify_subscribers", **EMAIL_RETRY)
def notify_subscribers(post_id: int) -> int:
    """Create the post's deliveries (once) and queue the pending ones in batches."""
    batches = notifications.queue_deliveries(post_id)
    for batch in batches:
        send_deliveries.apply_async((post_id, batch))
    return len(batches)


@shared_task(name="blogs.send_deliveries", **EMAIL_RETRY)
def send_deliveries(post_id: int, delivery_ids: list[int]) -> int:
    return notifications.send_deliveries(post_id, delivery_ids)


@shared_task(name="blogs.notify_due_posts", ignore_result=True)
def notify_due_posts() -> int:
    """Every minute: posts that became public (scheduled time reached, or published) get notified once,
    and notifications interrupted by a dead worker resume."""
    due = sorted(set(notifications.due_posts()) | set(notifications.resumable_posts()))
    for post_id in due:
        notify_subscribers.apply_async((post_id,))
    return len(due)
