from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from biomuseum.images import ImageStatus
from blogs import selectors
from blogs.models import PostStatus
from organisms import selectors as organism_selectors

from ..factories import CoverImageFactory, OrganismFactory, PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def tagged_posts(count: int, author=None) -> list:
    """`count` public posts, each with two tags, a ready cover and an author (shared, to keep it cheap)."""
    author = author or UserFactory()
    posts = PostFactory.create_batch(count, author=author)
    for post in posts:
        post.tags.set([TagFactory(name=f"{post.slug} a"), TagFactory(name=f"{post.slug} b")])
        CoverImageFactory(post=post)
    return posts


def evaluate_list(queryset) -> list:
    """What the list endpoint touches on every row."""
    rows = list(queryset)
    for post in rows:
        _ = (post.slug, post.title, post.excerpt, post.published_at, post.author.get_full_name())
        _ = [tag.name for tag in post.tags.all()]
        _ = selectors.cover_of(post)
    return rows


# --- post_list ---


def test_post_list_shows_published_posts_whose_time_has_come():
    public = PostFactory(published_at=timezone.now() - timedelta(minutes=1))
    PostFactory(status=PostStatus.DRAFT, published_at=None)
    PostFactory(status=PostStatus.DRAFT, published_at=timezone.now() - timedelta(days=3))
    PostFactory(published_at=timezone.now() + timedelta(hours=1))

    assert list(selectors.post_list()) == [public]


def test_post_list_orders_newest_first_with_ties_broken_by_id():
    now = timezone.now().replace(microsecond=0)
    old = PostFactory(published_at=now - timedelta(days=2))
    tie_first = PostFactory(published_at=now - timedelta(days=1))
    tie_second = PostFactory(published_at=now - timedelta(days=1))
    new = PostFactory(published_at=now - timedelta(hours=1))

    assert list(selectors.post_list()) == [new, tie_second, tie_first, old]


def test_post_list_filters_by_tag_slug():
    birds, moths = TagFactory(name="Birds", slug="birds"), TagFactory(name="Moths", slug="moths")
    bird_post, moth_post, both = PostFactory(), PostFactory(), PostFactory()
    bird_post.tags.set([birds])
    moth_post.tags.set([moths])
    both.tags.set([birds, moths])
    draft = PostFactory(status=PostStatus.DRAFT, published_at=None)
    draft.tags.set([birds])

    assert set(selectors.post_list(tag="birds")) == {bird_post, both}
    assert list(selectors.post_list(tag="nothing-tagged")) == []


def test_post_list_searches_title_and_excerpt_case_insensitively():
    by_title = PostFactory(title="Night MOTHS of the heath", excerpt="")
    by_excerpt = PostFactory(title="Heath life", excerpt="Moths and beetles.")
    PostFactory(title="Owls", excerpt="Birds of the night.", body="moths moths moths")
    PostFactory(status=PostStatus.DRAFT, published_at=None, title="Moths, a draft")

    assert set(selectors.post_list(search="moths")) == {by_title, by_excerpt}


def test_post_list_combines_tag_and_search():
    birds = TagFactory(name="Birds", slug="birds")
    wanted, other = PostFactory(title="Winter owls"), PostFactory(title="Summer owls")
    wanted.tags.set([birds])
    PostFactory(title="Winter moths").tags.set([TagFactory(name="Moths", slug="moths")])

    assert list(selectors.post_list(tag="birds", search="winter")) == [wanted]
    assert other not in selectors.post_list(tag="birds", search="winter")


def test_post_list_prefetches_only_ready_covers():
    ready, pending = PostFactory(), PostFactory()
    CoverImageFactory(post=ready)
    CoverImageFactory(post=pending, status=ImageStatus.PENDING)

    covers = {post.pk: selectors.cover_of(post) for post in selectors.post_list()}

    assert covers[ready.pk] is not None
    assert covers[pending.pk] is None


def test_post_list_query_count_does_not_grow_with_posts():
    author = UserFactory(first_name="Ada", last_name="Lovelace")
    tagged_posts(2, author=author)
    with CaptureQueriesContext(connection) as few:
        assert len(evaluate_list(selectors.post_list())) == 2

    tagged_posts(18, author=author)
    with CaptureQueriesContext(connection) as many:
        assert len(evaluate_list(selectors.post_list())) == 20

    assert len(many) == len(few) <= 3


def test_post_list_query_count_does_not_grow_with_posts_when_filtered_by_tag(django_assert_num_queries):
    shared = TagFactory(name="Shared", slug="shared")
    for post in tagged_posts(20):
        post.tags.add(shared)

    with django_assert_num_queries(3):
        assert len(evaluate_list(selectors.post_list(tag="shared"))) == 20


# --- post_detail_queryset ---


def test_post_detail_queryset_hides_unpublished_related_organisms():
    shown, hidden = OrganismFactory(is_published=True), OrganismFactory(is_published=False)
    post = PostFactory()
    post.related_organisms.set([shown, hidden])

    detail = selectors.post_detail_queryset().get(pk=post.pk)

    assert list(detail.related_organisms.all()) == [shown]


def test_post_detail_queryset_excludes_drafts_and_scheduled_posts():
    public = PostFactory()
    PostFactory(status=PostStatus.DRAFT, published_at=None)
    PostFactory(published_at=timezone.now() + timedelta(days=1))

    assert list(selectors.post_detail_queryset()) == [public]


def test_post_detail_queryset_loads_a_post_in_constant_queries(django_assert_num_queries):
    post = tagged_posts(1)[0]
    post.related_organisms.set(OrganismFactory.create_batch(5))

    with django_assert_num_queries(4):
        detail = selectors.post_detail_queryset().get(pk=post.pk)
        _ = detail.author.username
        _ = [tag.name for tag in detail.tags.all()]
        _ = [organism.common_name for organism in detail.related_organisms.all()]
        _ = selectors.cover_of(detail)


# --- organism_posts_prefetch (the organism detail's related posts) ---


def test_organism_detail_shows_only_published_related_posts():
    organism = OrganismFactory()
    public = PostFactory()
    draft = PostFactory(status=PostStatus.DRAFT, published_at=None)
    for post in (public, draft):
        post.related_organisms.add(organism)
    found = organism_selectors.organism_detail_queryset().get(pk=organism.pk)
    assert list(found.posts.all()) == [public]


def test_organism_posts_prefetch_orders_newest_first():
    organism = OrganismFactory()
    older = PostFactory(published_at=timezone.now() - timedelta(days=2))
    newer = PostFactory(published_at=timezone.now() - timedelta(days=1))
    for post in (older, newer):
        post.related_organisms.add(organism)
    found = organism_selectors.organism_detail_queryset().get(pk=organism.pk)
    assert list(found.posts.all()) == [newer, older]


# --- cover_of ---


def test_cover_of_is_none_without_a_cover():
    assert selectors.cover_of(PostFactory()) is None


def test_cover_of_returns_a_ready_cover_only():
    post = PostFactory()
    cover = CoverImageFactory(post=post, status=ImageStatus.FAILED)
    post.refresh_from_db()
    assert selectors.cover_of(post) is None

    cover.status = ImageStatus.READY
    cover.save()
    post.refresh_from_db()
    assert selectors.cover_of(post) == cover
