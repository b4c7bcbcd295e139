from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from blogs import notifications, services
from blogs.markup import MAX_SOURCE_LENGTH
from blogs.models import Post, PostStatus, Subscriber, SubscriberStatus, Tag
from blogs.tasks import send_confirmation, sweep_confirmations
from organisms.models import Organism

from ..factories import OrganismFactory, PostFactory, TagFactory, UserFactory
from ..outages import broker_down

pytestmark = pytest.mark.django_db


def create(**overrides) -> Post:
    fields = {"author": None, "title": "Foxes in winter", "body": "Cold *paws*."}
    return services.post_create(**{**fields, **overrides})


# --- post_create ---


def test_post_create_derives_the_slug_from_the_title():
    post = create(title="Foxes in Winter: a Field Guide!")

    assert post.slug == "foxes-in-winter-a-field-guide"


def test_post_create_keeps_a_given_slug():
    post = create(slug="winter-foxes")

    assert post.slug == "winter-foxes"


def test_post_create_makes_the_slug_unique_on_collision():
    first = create(title="Moths")
    second = create(title="Moths")
    third = create(title="moths!")

    assert [first.slug, second.slug, third.slug] == ["moths", "moths-2", "moths-3"]
    assert Post.objects.count() == 3


def test_post_create_refuses_a_body_over_the_length_cap():
    with pytest.raises(ValidationError) as refused:
        create(body="x" * (MAX_SOURCE_LENGTH + 1))

    assert list(refused.value.message_dict) == ["body"]
    assert not Post.objects.exists()


def test_post_create_sets_the_author():
    user = UserFactory()

    post = create(author=user)

    post.refresh_from_db()
    assert post.author == user


def test_post_create_is_a_draft_by_default():
    post = create()

    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT
    assert post.published_at is None
    assert not post.is_public
    assert not Post.objects.published().exists()


def test_post_create_published_without_a_time_is_published_now():
    before = timezone.now()

    post = create(status=PostStatus.PUBLISHED)

    post.refresh_from_db()
    assert before <= post.published_at <= timezone.now()
    assert post.is_public


def test_post_create_published_with_a_future_time_is_scheduled():
    later = timezone.now() + timedelta(days=2)

    post = create(status=PostStatus.PUBLISHED, published_at=later)

    post.refresh_from_db()
    assert post.published_at == later
    assert not post.is_public
    assert not Post.objects.published().filter(pk=post.pk).exists()


def test_post_create_ignores_fields_that_are_not_editable():
    post = create(body_html="<script>alert(1)</script>", created_at=timezone.now() - timedelta(days=400))

    post.refresh_from_db()
    assert "<script" not in post.body_html
    assert post.created_at > timezone.now() - timedelta(minutes=1)


def test_post_create_creates_tags():
    post = create(tags=["Birds", "  Winter   migration "])

    assert sorted(post.tags.values_list("name", "slug")) == [
        ("Birds", "birds"),
        ("Winter migration", "winter-migration"),
    ]


def test_post_create_reuses_tags_case_insensitively():
    existing = TagFactory(name="Birds", slug="birds")

    post = create(tags=["birds", "BIRDS", "Owls", "owls"])

    assert Tag.objects.count() == 2
    assert set(post.tags.all()) == {existing, Tag.objects.get(name="Owls")}


def test_post_create_gives_tags_with_colliding_slugs_unique_slugs():
    TagFactory(name="Sea birds", slug="sea-birds")

    post = create(tags=["Sea-birds"])

    tag = post.tags.get()
    assert tag.name == "Sea-birds"
    assert tag.slug == "sea-birds-2"


def test_post_create_keeps_the_tag_rows_it_is_given():
    lower, upper = TagFactory(name="birds", slug="birds"), TagFactory(name="BIRDS", slug="birds-2")

    post = create(tags=[upper, "Owls"])

    assert set(post.tags.all()) == {upper, Tag.objects.get(name="Owls")}
    assert lower not in post.tags.all()


def test_post_create_skips_blank_tag_names():
    post = create(tags=["", "   ", "Bats"])

    assert list(post.tags.values_list("name", flat=True)) == ["Bats"]
    assert Tag.objects.count() == 1


def test_post_create_sets_related_organisms():
    fox, owl = OrganismFactory(), OrganismFactory()
    OrganismFactory()

    post = create(related_organisms=[fox, owl])

    assert set(post.related_organisms.all()) == {fox, owl}


def test_post_create_renders_body_html():
    post = create(body="## Tracks\n\nSee <script>alert(1)</script>*paws*.")

    post.refresh_from_db()
    assert "<h2>Tracks</h2>" in post.body_html
    assert "<em>paws</em>" in post.body_html
    assert "<script" not in post.body_html


def test_post_create_refuses_an_empty_title():
    with pytest.raises(ValidationError) as caught:
        create(title="", slug="untitled")

    assert "title" in caught.value.message_dict
    assert not Post.objects.exists()


# --- post_update ---


def test_post_update_changes_the_named_fields_only():
    post = PostFactory(title="Old", excerpt="Keep me.")

    services.post_update(post=post, user=None, title="New")

    post.refresh_from_db()
    assert post.title == "New"
    assert post.excerpt == "Keep me."


def test_post_update_ignores_server_owned_fields():
    author = UserFactory()
    post = PostFactory(author=author)

    services.post_update(post=post, user=None, author=UserFactory(), body_html="<b>forged</b>")

    post.refresh_from_db()
    assert post.author == author
    assert "forged" not in post.body_html


def test_post_update_rerenders_body_html():
    post = PostFactory(body="old text")

    services.post_update(post=post, user=None, body="**new** text")

    post.refresh_from_db()
    assert post.body_html == "<p><strong>new</strong> text</p>"


def test_post_update_replaces_tags_and_related_organisms_when_given():
    post = PostFactory()
    post.tags.set([TagFactory(name="Old")])
    post.related_organisms.set([OrganismFactory()])
    new_organism = OrganismFactory()

    services.post_update(post=post, user=None, tags=["old", "Fresh"], related_organisms=[new_organism])

    assert sorted(post.tags.values_list("name", flat=True)) == ["Fresh", "Old"]
    assert list(post.related_organisms.all()) == [new_organism]


def test_post_update_leaves_tags_and_related_organisms_alone_when_not_given():
    post = PostFactory()
    tag, organism = TagFactory(), OrganismFactory()
    post.tags.set([tag])
    post.related_organisms.set([organism])

    services.post_update(post=post, user=None, title="Renamed")

    assert list(post.tags.all()) == [tag]
    assert list(post.related_organisms.all()) == [organism]


def test_post_update_publishing_a_draft_without_a_time_publishes_now():
    post = PostFactory(status=PostStatus.DRAFT, published_at=None)

    services.post_update(post=post, user=None, status=PostStatus.PUBLISHED)

    post.refresh_from_db()
    assert post.is_public
    assert post.published_at <= timezone.now()


def test_post_update_changes_the_slug():
    post = PostFactory(slug="old-slug")

    services.post_update(post=post, user=None, slug="new-slug")

    assert Post.objects.get(pk=post.pk).slug == "new-slug"


def test_post_update_refuses_a_slug_another_post_has():
    PostFactory(slug="taken")
    post = PostFactory(slug="mine")

    with pytest.raises(ValidationError):
        services.post_update(post=post, user=None, slug="taken")

    assert Post.objects.get(pk=post.pk).slug == "mine"


# --- post_publish ---


def test_post_publish_makes_a_draft_public_now():
    post = PostFactory(status=PostStatus.DRAFT, published_at=None)
    before = timezone.now()

    changed = services.post_publish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert changed == 1
    assert post.status == PostStatus.PUBLISHED
    assert before <= post.published_at <= timezone.now()
    assert post.is_public


def test_post_publish_makes_a_scheduled_post_public_now():
    post = PostFactory(published_at=timezone.now() + timedelta(days=3))
    assert not post.is_public

    changed = services.post_publish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert changed == 1
    assert post.is_public
    assert post.published_at <= timezone.now()


def test_post_publish_at_schedules():
    post = PostFactory(status=PostStatus.DRAFT, published_at=None)
    later = timezone.now() + timedelta(days=7)

    changed = services.post_publish(posts=Post.objects.filter(pk=post.pk), user=None, at=later)

    post.refresh_from_db()
    assert changed == 1
    assert post.status == PostStatus.PUBLISHED
    assert post.published_at == later
    assert not post.is_public


def test_post_publish_keeps_the_date_of_a_public_post():
    published_at = timezone.now() - timedelta(days=30)
    post = PostFactory(published_at=published_at)

    changed = services.post_publish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert changed == 0
    assert post.published_at == published_at


def test_post_publish_republishing_an_unpublished_post_keeps_its_original_date():
    published_at = timezone.now() - timedelta(days=30)
    post = PostFactory(status=PostStatus.DRAFT, published_at=published_at)

    services.post_publish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert post.is_public
    assert post.published_at == published_at


def test_post_publish_counts_only_what_changed():
    PostFactory.create_batch(2, status=PostStatus.DRAFT, published_at=None)
    PostFactory()

    changed = services.post_publish(posts=Post.objects.all(), user=None)

    assert changed == 2
    assert Post.objects.published().count() == 3


def test_post_publish_leaves_body_html_alone():
    post = PostFactory(status=PostStatus.DRAFT, published_at=None, body="*hi*")

    services.post_publish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert post.body_html == "<p><em>hi</em></p>"


def test_post_publish_accepts_a_queryset_joining_the_author():
    # The admin's queryset joins the nullable author; PostgreSQL refuses FOR UPDATE on such a join.
    post = PostFactory(status=PostStatus.DRAFT, published_at=None)

    changed = services.post_publish(posts=Post.objects.select_related("author").filter(pk=post.pk), user=None)

    assert changed == 1
    assert Post.objects.published().filter(pk=post.pk).exists()


# --- post_unpublish ---


def test_post_unpublish_returns_a_public_post_to_draft():
    post = PostFactory()

    changed = services.post_unpublish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert changed == 1
    assert post.status == PostStatus.DRAFT
    assert not post.is_public
    assert not Post.objects.published().exists()


def test_post_unpublish_withdraws_a_scheduled_post():
    post = PostFactory(published_at=timezone.now() + timedelta(days=1))

    services.post_unpublish(posts=Post.objects.filter(pk=post.pk), user=None)

    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT


def test_post_unpublish_skips_drafts():
    PostFactory(status=PostStatus.DRAFT, published_at=None)
    PostFactory()

    changed = services.post_unpublish(posts=Post.objects.all(), user=None)

    assert changed == 1
    assert Post.objects.filter(status=PostStatus.DRAFT).count() == 2


def test_post_unpublish_accepts_a_queryset_joining_the_author():
    post = PostFactory()

    changed = services.post_unpublish(posts=Post.objects.select_related("author").filter(pk=post.pk), user=None)

    assert changed == 1
    assert not Post.objects.published().exists()


# --- post_delete ---


def test_post_delete_removes_the_post_but_not_its_tags_or_organisms():
    post = PostFactory()
    post.tags.set([TagFactory()])
    post.related_organisms.set([OrganismFactory()])

    services.post_delete(post=post, user=None)

    assert not Post.objects.exists()
    assert Tag.objects.count() == 1
    assert Organism.objects.count() == 1


# --- body_html on save ---


def test_post_save_renders_body_html():
    post = PostFactory(body="## Hello\n\nSome *text*.")

    assert Post.objects.get(pk=post.pk).body_html == "<h2>Hello</h2>\n<p>Some <em>text</em>.</p>"


def test_post_save_with_update_fields_body_rerenders_body_html():
    post = PostFactory(body="first")
    post.body = "**second**"

    post.save(update_fields=["body"])

    assert Post.objects.get(pk=post.pk).body_html == "<p><strong>second</strong></p>"


# --- subscriber_subscribe and the confirmation sweep ---


def subscribe(email: str, capture) -> Subscriber:
    with capture(execute=True):
        services.subscriber_subscribe(email=email)
    return Subscriber.objects.get(email=email)


def test_subscriber_subscribe_numbers_each_ask_and_mails_each(eager_jobs, django_capture_on_commit_callbacks):
    subscriber = subscribe("ma@example.org", django_capture_on_commit_callbacks)
    assert (subscriber.confirmation_asks, subscriber.confirmation_sent_for) == (1, 1)
    assert subscriber.confirmation_requested_at and subscriber.confirmation_sent_at
    subscriber = subscribe("ma@example.org", django_capture_on_commit_callbacks)
    assert (subscriber.confirmation_asks, subscriber.confirmation_sent_for) == (2, 2)
    assert len(mail.outbox) == 2


def test_subscriber_subscribe_again_after_unsubscribing_is_pending_with_a_new_ask(
    eager_jobs, django_capture_on_commit_callbacks
):
    Subscriber.objects.create(
        email="na@example.org", status=SubscriberStatus.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )
    subscriber = subscribe("na@example.org", django_capture_on_commit_callbacks)
    assert (subscriber.status, subscriber.unsubscribed_at) == (SubscriberStatus.PENDING, None)
    assert subscriber.confirmation_sent_for == subscriber.confirmation_asks == 1
    assert len(mail.outbox) == 1


def test_sweep_confirmations_sends_a_confirmation_lost_to_a_broker_outage_once(
    eager_jobs, settings, django_capture_on_commit_callbacks
):
    with broker_down():
        subscriber = subscribe("oa@example.org", django_capture_on_commit_callbacks)
    assert mail.outbox == [] and subscriber.confirmation_sent_for == 0
    assert sweep_confirmations() == 0  # not yet: the first send may still be on its way
    settings.EMAIL_CLAIM_TIMEOUT = 0
    assert sweep_confirmations() == 1
    assert [message.to for message in mail.outbox] == [["oa@example.org"]]
    assert sweep_confirmations() == 0
    assert send_confirmation(subscriber.pk, 1) is False  # the first task, arriving late, sends nothing
    assert len(mail.outbox) == 1


def test_sweep_confirmations_leaves_a_confirmation_that_went_out_alone(
    eager_jobs, settings, django_capture_on_commit_callbacks
):
    subscribe("pa@example.org", django_capture_on_commit_callbacks)
    settings.EMAIL_CLAIM_TIMEOUT = 0
    assert sweep_confirmations() == 0
    assert len(mail.outbox) == 1


def test_send_confirmation_that_fails_gives_its_ask_back_to_the_sweep(
    eager_jobs, settings, django_capture_on_commit_callbacks
):
    with broker_down():
        subscriber = subscribe("qa@example.org", django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens
    with pytest.raises(notifications.TransientMailError):
        notifications.send_confirmation(subscriber.pk, 1)
    subscriber.refresh_from_db()
    assert (subscriber.confirmation_sent_for, subscriber.confirmation_sent_at) == (0, None)
    settings.EMAIL_CLAIM_TIMEOUT = 0
    assert notifications.unsent_confirmations() == [(subscriber.pk, 1)]


def test_send_confirmation_answers_each_ask_once_whatever_order_the_tasks_run_in(
    settings, django_capture_on_commit_callbacks
):
    with broker_down():
        subscribe("va@example.org", django_capture_on_commit_callbacks)
        subscriber = subscribe("va@example.org", django_capture_on_commit_callbacks)
    assert notifications.send_confirmation(subscriber.pk, 2) is True
    assert notifications.send_confirmation(subscriber.pk, 1) is True  # overtaken, but asked for all the same
    assert notifications.send_confirmation(subscriber.pk, 2) is False
    assert Subscriber.objects.get().confirmation_sent_for == 2
    settings.EMAIL_CLAIM_TIMEOUT = 0
    assert notifications.unsent_confirmations() == []
    assert len(mail.outbox) == 2


def test_unsent_confirmations_waits_longer_each_time_and_gives_up(settings):
    settings.EMAIL_CLAIM_TIMEOUT = 600
    asked = timezone.now() - timedelta(minutes=15)
    subscriber = Subscriber.objects.create(email="ra@example.org", confirmation_asks=1, confirmation_requested_at=asked)
    assert notifications.unsent_confirmations() == [(subscriber.pk, 1)]  # 15 minutes waited: more than 10
    assert notifications.unsent_confirmations() == []  # the next waits 20 minutes
    settings.EMAIL_CLAIM_TIMEOUT = 0
    found = [notifications.unsent_confirmations() for _ in range(notifications.CONFIRMATION_RESENDS + 1)]
    assert found == [[(subscriber.pk, 1)]] * (notifications.CONFIRMATION_RESENDS - 1) + [[], []]
    assert Subscriber.objects.get().confirmation_resends == notifications.CONFIRMATION_RESENDS


def test_unsent_confirmations_skips_confirmed_and_expired_asks(settings):
    settings.EMAIL_CLAIM_TIMEOUT = 0
    long_ago = timezone.now() - timedelta(seconds=settings.SUBSCRIPTION_CONFIRM_MAX_AGE + 60)
    recent = timezone.now() - timedelta(minutes=1)
    Subscriber.objects.create(email="sa@example.org", confirmation_asks=1, confirmation_requested_at=long_ago)
    Subscriber.objects.create(
        email="ta@example.org", status=SubscriberStatus.CONFIRMED, confirmation_asks=1, confirmation_requested_at=recent
    )
    assert notifications.unsent_confirmations() == []


def test_unsent_confirmations_takes_a_bounded_batch_oldest_first(settings, monkeypatch):
    settings.EMAIL_CLAIM_TIMEOUT = 0
    monkeypatch.setattr(notifications, "CONFIRMATION_SWEEP_BATCH", 2)
    now = timezone.now()
    subscribers = [
        Subscriber.objects.create(
            email=f"u{i}@example.org", confirmation_asks=1, confirmation_requested_at=now - timedelta(minutes=10 - i)
        )
        for i in range(3)
    ]
    assert notifications.unsent_confirmations() == [(s.pk, 1) for s in subscribers[:2]]
