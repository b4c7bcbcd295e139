from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from blogs import services
from blogs.models import Post, PostStatus, Tag
from organisms.models import Organism

from ..factories import OrganismFactory, PostFactory, TagFactory, UserFactory

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
