"""The migration that starts recording a post's links gives the revisions made before it the links the post
has: what they were is not known, and reverting to one of them must not clear them."""

import pytest
from django.utils import timezone

from tests.migrating import migrate

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migrations_restored")]

BEFORE = ("blogs", "0008_revisions")
AFTER = ("blogs", "0009_post_link_revisions")


def test_earlier_revisions_hold_the_links_the_post_has():
    apps = migrate(BEFORE)
    Post, Tag, HistoricalPost = (apps.get_model("blogs", name) for name in ("Post", "Tag", "HistoricalPost"))
    now = timezone.now()
    post = Post.objects.create(title="Owls", slug="owls", body="Hoot", status="draft", created_at=now, updated_at=now)
    other = Post.objects.create(title="Moths", slug="moths", body="", status="draft", created_at=now, updated_at=now)
    post.tags.set([Tag.objects.create(name="owls", slug="owls"), Tag.objects.create(name="night", slug="night")])
    for record, body in ((post, "Hoo"), (post, "Hoot"), (other, "")):
        HistoricalPost.objects.create(
            id=record.pk, title=record.title, slug=record.slug, body=body, status="draft", created_at=now,
            updated_at=now, history_date=now, history_type="~", history_via="shell",
        )  # fmt: skip

    apps = migrate(AFTER)
    HistoricalPost = apps.get_model("blogs", "HistoricalPost")
    links = apps.get_model("blogs", "HistoricalPost_tags")
    for revision in HistoricalPost.objects.filter(id=post.pk):
        names = sorted(links.objects.filter(history=revision).values_list("tag__name", flat=True))
        assert names == ["night", "owls"]
    assert not links.objects.filter(history__id=other.pk).exists()
