"""Housekeeping that is safe to run at any time, as often as you like.

Each step selects what has been dead for a while (past a grace period, so nothing a
request is still writing is touched), deletes it, and reports how many. Running it
twice deletes nothing the second time.
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import FileField, Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from biomuseum.images import ImageStatus, ProcessedImage
from blogs.models import Subscriber, SubscriberStatus


@dataclass
class Options:
    dry_run: bool = False
    failed_image_days: int = 30
    orphan_grace_hours: int = 24
    unconfirmed_subscriber_days: int = 7


def expired_sessions(options: Options) -> int:
    expired = Session.objects.filter(expire_date__lt=timezone.now())
    return expired.count() if options.dry_run else expired.delete()[0]


def stale_tokens(options: Options) -> int:
    cutoff = timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS)
    stale = Token.objects.filter(Q(created__lt=cutoff) | Q(user__is_active=False))
    return stale.count() if options.dry_run else stale.delete()[0]


def _image_models() -> list[type[ProcessedImage]]:
    return [model for model in apps.get_models() if issubclass(model, ProcessedImage)]


def failed_images(options: Options) -> int:
    """Images whose processing failed long ago: the curator has had time to see the error and retry."""
    cutoff = timezone.now() - timedelta(days=options.failed_image_days)
    removed = 0
    for model in _image_models():
        for image in model.objects.filter(status=ImageStatus.FAILED, updated_at__lt=cutoff):
            removed += 1
            if not options.dry_run:
                image.delete()  # its files become orphans, removed below once past the grace period
    return removed


def _referenced_media() -> set[str]:
    """Every file name a row points at: file fields, and the renditions manifests."""
    names: set[str] = set()
    for model in apps.get_models():
        file_fields = [field.name for field in model._meta.get_fields() if isinstance(field, FileField)]
        for field_name in file_fields:
            names.update(name for name in model.objects.values_list(field_name, flat=True) if name)
        if issubclass(model, ProcessedImage):
            for manifest in model.objects.exclude(renditions=[]).values_list("renditions", flat=True):
                names.update(rendition["path"] for rendition in manifest or [] if rendition.get("path"))
    return names


def orphaned_media(options: Options) -> int:
    """Files under MEDIA_ROOT that no row refers to and that are older than the grace period."""
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return 0
    cutoff = time.time() - options.orphan_grace_hours * 3600
    candidates = [
        path for path in root.rglob("*") if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff
    ]
    if not candidates:
        return 0
    referenced = _referenced_media()  # read after listing: a file saved meanwhile is either young or referenced
    removed = 0
    for path in candidates:
        if path.relative_to(root).as_posix() in referenced:
            continue
        removed += 1
        if not options.dry_run:
            path.unlink(missing_ok=True)
    if not options.dry_run:
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if not any(folder.iterdir()):
                os.rmdir(folder)
    return removed


def unconfirmed_subscribers(options: Options) -> int:
    """Addresses that asked to subscribe and never confirmed: their links expired long ago."""
    # Never while the latest confirmation link still works, whatever the option says.
    age = max(
        timedelta(days=options.unconfirmed_subscriber_days), timedelta(seconds=settings.SUBSCRIPTION_CONFIRM_MAX_AGE)
    )
    cutoff = timezone.now() - age
    # Rows from before confirmation_requested_at was recorded count from when they were created.
    stale = Subscriber.objects.filter(
        Q(confirmation_requested_at__lt=cutoff) | Q(confirmation_requested_at__isnull=True, created_at__lt=cutoff),
        status=SubscriberStatus.PENDING,
    )
    if options.dry_run:
        return stale.count()
    removed = 0
    while True:
        with transaction.atomic():
            # Locked, then deleted by the same filter: a subscriber who confirms or asks again meanwhile
            # waits for the lock, and the row either goes first or no longer matches.
            batch = list(stale.select_for_update(skip_locked=True).values_list("pk", flat=True)[:500])
            if not batch:
                return removed
            removed += stale.filter(pk__in=batch).delete()[1].get(Subscriber._meta.label, 0)


STEPS: list[tuple[str, Callable[[Options], int]]] = [
    ("expired sessions", expired_sessions),
    ("expired or orphaned API tokens", stale_tokens),
    ("failed images", failed_images),
    ("orphaned media files", orphaned_media),
    ("unconfirmed subscribers", unconfirmed_subscribers),
]


def run(options: Options) -> dict[str, int]:
    return {name: step(options) for name, step in STEPS}
