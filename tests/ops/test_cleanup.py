import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from biomuseum.images import ImageStatus
from blogs.models import Subscriber, SubscriberStatus
from ops import cleanup
from organisms.models import OrganismImage
from tests.factories import OrganismImageFactory, UserFactory

pytestmark = pytest.mark.django_db


def age(path: Path, hours: float) -> None:
    past = time.time() - hours * 3600
    os.utime(path, (past, past))


@pytest.fixture
def mess(settings):
    """Something of each kind to clean up, and something of each kind to keep."""
    media = Path(settings.MEDIA_ROOT)
    kept_image = OrganismImageFactory()
    failed_old = OrganismImageFactory(status=ImageStatus.FAILED)
    OrganismImage.objects.filter(pk=failed_old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    failed_recent = OrganismImageFactory(status=ImageStatus.FAILED)
    orphan_old = media / "originals" / "organismimage" / "orphan-old.jpg"
    orphan_young = media / "originals" / "organismimage" / "orphan-young.jpg"
    for orphan in (orphan_old, orphan_young):
        orphan.write_bytes(b"not referenced")
    age(orphan_old, 48)
    age(Path(kept_image.original.path), 48)

    old_session = SessionStore()
    old_session.create()
    Session.objects.filter(session_key=old_session.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    live_session = SessionStore()
    live_session.create()
    old_token = Token.objects.create(user=UserFactory())
    Token.objects.filter(pk=old_token.pk).update(created=timezone.now() - timedelta(days=400))
    inactive_token = Token.objects.create(user=UserFactory(is_active=False))
    live_token = Token.objects.create(user=UserFactory())
    return locals()


def test_cleanup_dry_run_counts_and_deletes_nothing(mess, capsys):
    call_command("cleanup", "--dry-run")
    out = capsys.readouterr().out
    assert "expired sessions: would delete 1" in out
    assert "expired or orphaned API tokens: would delete 2" in out
    assert "failed images: would delete 1" in out
    assert "orphaned media files: would delete 1" in out
    assert Session.objects.count() == 2 and Token.objects.count() == 3
    assert mess["orphan_old"].exists()


def test_cleanup_deletes_only_what_is_dead_and_is_idempotent(mess, capsys):
    call_command("cleanup")
    assert list(Session.objects.values_list("session_key", flat=True)) == [mess["live_session"].session_key]
    assert list(Token.objects.all()) == [mess["live_token"]]
    assert set(OrganismImage.objects.all()) == {mess["kept_image"], mess["failed_recent"]}
    assert not mess["orphan_old"].exists()
    assert mess["orphan_young"].exists()  # inside the grace period: an upload may still be writing it
    assert Path(mess["kept_image"].original.path).exists()
    capsys.readouterr()
    call_command("cleanup")
    second = capsys.readouterr().out
    # The old failed image's file is an orphan now, but young: nothing else goes on a second run.
    assert "expired sessions: deleted 0" in second and "failed images: deleted 0" in second
    assert "orphaned media files: deleted 0" in second


def test_cleanup_keeps_files_named_in_renditions_manifests(settings):
    image = OrganismImageFactory()
    rendition = Path(settings.MEDIA_ROOT) / "renditions" / "a-320.webp"
    rendition.parent.mkdir(parents=True)
    rendition.write_bytes(b"webp")
    age(rendition, 48)
    image.renditions = [{"path": "renditions/a-320.webp", "url": "/media/renditions/a-320.webp", "width": 320}]
    image.save()
    call_command("cleanup")
    assert rendition.exists()


@pytest.fixture
def asks():
    """Subscribers by how long ago they last asked; only the old unconfirmed ones are dead."""
    now = timezone.now()

    def subscriber(email: str, days: float, **fields) -> Subscriber:
        created = Subscriber.objects.create(email=email, **fields)
        Subscriber.objects.filter(pk=created.pk).update(
            created_at=now - timedelta(days=30), confirmation_requested_at=now - timedelta(days=days)
        )
        return created

    return {
        "old_pending": subscriber("old@example.org", days=10),
        "asked_again": subscriber("again@example.org", days=1),  # created long ago, asked again yesterday
        "confirmed": subscriber("yes@example.org", days=10, status=SubscriberStatus.CONFIRMED),
        "unsubscribed": subscriber("gone@example.org", days=10, status=SubscriberStatus.UNSUBSCRIBED),
    }


def test_cleanup_dry_run_counts_unconfirmed_subscribers_and_deletes_none(asks, capsys):
    call_command("cleanup", "--dry-run")
    assert "unconfirmed subscribers: would delete 1" in capsys.readouterr().out
    assert Subscriber.objects.count() == 4


def test_cleanup_deletes_only_old_unconfirmed_subscribers_and_is_idempotent(asks, capsys):
    call_command("cleanup")
    assert "unconfirmed subscribers: deleted 1" in capsys.readouterr().out
    kept = {asks[name].pk for name in ("asked_again", "confirmed", "unsubscribed")}
    assert set(Subscriber.objects.values_list("pk", flat=True)) == kept
    call_command("cleanup")
    assert "unconfirmed subscribers: deleted 0" in capsys.readouterr().out


def test_cleanup_unconfirmed_subscriber_days_option_but_never_while_the_link_works(asks, capsys, settings):
    settings.SUBSCRIPTION_CONFIRM_MAX_AGE = 2 * 86400
    call_command("cleanup", "--unconfirmed-subscriber-days", "0")  # the link's two days win
    assert "unconfirmed subscribers: deleted 1" in capsys.readouterr().out
    assert Subscriber.objects.filter(pk=asks["asked_again"].pk).exists()
    settings.SUBSCRIPTION_CONFIRM_MAX_AGE = 3600
    call_command("cleanup", "--unconfirmed-subscriber-days", "0")
    assert "unconfirmed subscribers: deleted 1" in capsys.readouterr().out
    assert not Subscriber.objects.filter(status=SubscriberStatus.PENDING).exists()


def test_cleanup_counts_unconfirmed_subscribers_without_an_ask_on_record_from_their_creation():
    legacy = Subscriber.objects.create(email="legacy@example.org")
    Subscriber.objects.filter(pk=legacy.pk).update(created_at=timezone.now() - timedelta(days=30))
    assert cleanup.unconfirmed_subscribers(cleanup.Options()) == 1
    assert not Subscriber.objects.exists()


def test_expired_token_is_refused(api_client, settings):
    token = Token.objects.create(user=UserFactory(is_staff=True))
    Token.objects.filter(pk=token.pk).update(
        created=timezone.now() - timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS + 1)
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api_client.post("/api/v1/organisms/", {}, format="json")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_beat_schedules_cleanup_and_warming():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"ops.cleanup", "ops.warm_cache"} <= tasks
    from biomuseum.celery import app

    app.loader.import_default_modules()
    assert {"ops.cleanup", "ops.warm_cache"} <= set(app.tasks)


def test_beat_schedules_the_confirmation_sweep():
    from biomuseum.celery import app

    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert entries["blogs.sweep_confirmations"]["schedule"] == 60.0
    assert {"organisms.sweep_images", "blogs.sweep_covers", "ops.cleanup"} <= set(entries)  # settings' entries stay
    app.loader.import_default_modules()
    assert "blogs.sweep_confirmations" in app.tasks
