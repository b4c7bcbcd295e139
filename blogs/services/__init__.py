"""Every write to the blog goes through here."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from biomuseum import images
from biomuseum.slugs import unique_slug
from organisms.models import Organism

from ..models import CoverImage, Post, PostStatus, Subscriber, SubscriberStatus, Tag

EDITABLE_FIELDS = ("title", "excerpt", "body", "status", "published_at")


def tags_from_names(names: Iterable[str | Tag]) -> list[Tag]:
    """The tags with these names, created when new (a Tag given, as the admin's form gives them, is kept)."""
    tags = []
    for name in names:
        if isinstance(name, Tag):
            tags.append(name)
            continue
        name = " ".join(name.split())
        if name:
            tag = Tag.objects.filter(name__iexact=name).first()
            tags.append(tag or Tag.objects.create(name=name, slug=unique_slug(Tag, name, max_length=60)))
    return tags


# The author is the server's to set and may be gone (SET_NULL): it is not something to validate.
SERVER_OWNED = ("author",)


def publication_time(*, status: str, published_at: datetime | None) -> datetime | None:
    """The time a post with this status keeps: published without one means now (a published post has a time,
    constraint post_published_has_time); a future time schedules it; a draft keeps what it was given."""
    if status == PostStatus.PUBLISHED and published_at is None:
        return timezone.now()
    return published_at


def _apply_publication(post: Post) -> None:
    post.published_at = publication_time(status=post.status, published_at=post.published_at)


@transaction.atomic
def post_create(
    *,
    author: AbstractBaseUser | None,
    title: str,
    body: str,
    slug: str = "",
    tags: Iterable[str | Tag] = (),
    related_organisms: Iterable[Organism] = (),
    **fields,
) -> Post:
    """A new post, a draft unless a status says otherwise; the author is whoever writes it."""
    post = Post(title=title, body=body, author=author, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    post.slug = slug or unique_slug(Post, title, max_length=160)
    _apply_publication(post)
    post.full_clean(exclude=SERVER_OWNED)
    post.save()
    post.tags.set(tags_from_names(tags))
    post.related_organisms.set(list(related_organisms))
    post_schedule_notifications(post=post)
    return post


@transaction.atomic
def post_update(
    *,
    post: Post,
    user: AbstractBaseUser | None,
    tags: Iterable[str | Tag] | None = None,
    related_organisms: Iterable[Organism] | None = None,
    **fields,
) -> Post:
    """Change what the caller names. A post deleted meanwhile stays deleted (DoesNotExist: a 404)."""
    if not Post.objects.select_for_update().filter(pk=post.pk).exists():
        raise Post.DoesNotExist("This post no longer exists.")
    for name, value in fields.items():
        if name in EDITABLE_FIELDS or name == "slug":
            setattr(post, name, value)
    _apply_publication(post)
    post.full_clean(exclude=SERVER_OWNED)
    post.save(force_update=True)
    if tags is not None:
        post.tags.set(tags_from_names(tags))
    if related_organisms is not None:
        post.related_organisms.set(list(related_organisms))
    post_schedule_notifications(post=post)
    return post


@transaction.atomic
def post_delete(*, post: Post, user: AbstractBaseUser | None) -> None:
    post.delete()


@transaction.atomic
def post_publish(*, posts: QuerySet, user: AbstractBaseUser | None, at: datetime | None = None) -> int:
    """Publish now, or schedule for `at`. A post published in the past keeps its date when published again."""
    now = timezone.now()
    changed = 0
    # Lock the posts only: callers (the admin) join the nullable author, which PostgreSQL cannot lock.
    for post in posts.select_for_update(of=("self",)):
        if at is None and post.is_public:
            continue
        if at is not None:
            post.published_at = at
        elif post.published_at is None or post.published_at > now:
            post.published_at = now
        post.status = PostStatus.PUBLISHED
        post.save(update_fields=["status", "published_at", "updated_at"])
        post_schedule_notifications(post=post)
        changed += 1
    return changed


@transaction.atomic
def post_unpublish(*, posts: QuerySet, user: AbstractBaseUser | None) -> int:
    """Back to draft; the public no longer sees it."""
    changed = 0
    for post in posts.select_for_update(of=("self",)).filter(status=PostStatus.PUBLISHED):
        post.status = PostStatus.DRAFT
        post.save(update_fields=["status", "updated_at"])
        changed += 1
    return changed


# --- subscriptions ---


@transaction.atomic
def subscriber_subscribe(*, email: str) -> None:
    """Double opt-in. The caller learns nothing about whether the address was known (no enumeration)."""
    from ..tasks import send_confirmation

    email = email.strip().lower()
    subscriber, _ = Subscriber.objects.select_for_update().get_or_create(email=email)
    if subscriber.status == SubscriberStatus.CONFIRMED:
        # The same work as the other path (one write, one job that sends nothing to a confirmed address), so
        # the answer's timing does not tell a confirmed address from another.
        Subscriber.objects.filter(pk=subscriber.pk).update(status=F("status"))
        send_confirmation.delay_on_commit(subscriber.pk, subscriber.confirmation_asks)
        return
    # Each ask earns a confirmation (someone asking again has probably lost the first); numbering the asks
    # lets the send claim its own, so the sweep re-queueing one whose queueing failed never sends it twice.
    subscriber.status, subscriber.unsubscribed_at = SubscriberStatus.PENDING, None
    subscriber.confirmation_asks += 1
    subscriber.confirmation_requested_at, subscriber.confirmation_resends = timezone.now(), 0
    subscriber.save(
        update_fields=[
            "status",
            "unsubscribed_at",
            "confirmation_asks",
            "confirmation_requested_at",
            "confirmation_resends",
        ]
    )
    send_confirmation.delay_on_commit(subscriber.pk, subscriber.confirmation_asks)


@transaction.atomic
def subscriber_confirm(*, subscriber: Subscriber) -> Subscriber:
    """Confirm a pending subscription. An unsubscribed address stays unsubscribed: its old confirmation link
    must not undo the unsubscribe (subscribing again makes it pending, with a new link)."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.status == SubscriberStatus.PENDING:
        subscriber.status, subscriber.confirmed_at = SubscriberStatus.CONFIRMED, timezone.now()
        subscriber.save(update_fields=["status", "confirmed_at"])
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, subscriber: Subscriber) -> Subscriber:
    if subscriber.status != SubscriberStatus.UNSUBSCRIBED:
        subscriber.status, subscriber.unsubscribed_at = SubscriberStatus.UNSUBSCRIBED, timezone.now()
        subscriber.save(update_fields=["status", "unsubscribed_at"])
    return subscriber


def post_schedule_notifications(*, post: Post) -> None:
    """A post that is public now is announced to subscribers (once: the deliveries make it so).
    Scheduled posts are picked up by the `blogs.notify_due_posts` beat task when their time comes."""
    from ..tasks import notify_subscribers

    if post.is_public and post.notifications_queued_at is None:
        notify_subscribers.delay_on_commit(post.pk)


# --- cover images ---


@transaction.atomic
def cover_image_reprocess(*, image: CoverImage, user: AbstractBaseUser | None) -> CoverImage:
    """Start the cover's processing over (after a failure, or when the pipeline changed)."""
    from ..tasks import process_cover_image

    images.restart(image)
    process_cover_image.delay_on_commit(image.pk)
    return image


def cover_image_saved(*, image: CoverImage, created: bool, original_changed: bool) -> None:
    """The admin saved a cover: a new or replaced original is processed (again)."""
    if created or original_changed:
        cover_image_reprocess(image=image, user=None)
