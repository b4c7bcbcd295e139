"""How many generation bumps a write costs: one per content family per committed transaction, and none for
changes the public cannot see. Counted, not timed, on whichever cache the suite runs with (the shared token
file on the embedded defaults, Redis in CI's second pass)."""

import importlib

import pytest
from django.db import transaction

from biomuseum import images
from biomuseum.images import ImageStatus
from biomuseum.pagecache import bump_stats, current_tokens, generations
from blogs import services as blog_services
from blogs.models import AuthorProfile, Post, PostStatus
from organisms import services
from organisms.models import Organism, OrganismImage
from tests.factories import OrganismFactory, OrganismImageFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
# The module itself (the package exports a function of the same name).
GENERATIONS_MODULE = importlib.import_module("biomuseum.pagecache.generations")


class Bumps:
    """Bumps made, and which families' tokens moved, since it was made."""

    def __init__(self):
        self.bumps_before, self.tokens_before = bump_stats()["bumps"], generations()

    @property
    def count(self) -> int:
        return bump_stats()["bumps"] - self.bumps_before

    @property
    def families(self) -> set[str]:
        now = generations()
        return {family for family, token in now.items() if token != self.tokens_before[family]}


def test_bumps_bulk_unpublish_through_the_service_bumps_once():
    OrganismFactory.create_batch(500)
    bumps = Bumps()
    with transaction.atomic():
        changed = services.organism_set_published(organisms=Organism.objects.all(), published=False, user=None)
    assert changed == 500
    assert bumps.count == 1
    assert bumps.families == {"organisms"}
    assert not Organism.objects.published().exists()


def test_bumps_bulk_unpublish_through_the_admin_action_bumps_once(client):
    OrganismFactory.create_batch(500)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    bumps = Bumps()
    first = Organism.objects.values_list("pk", flat=True).first()
    # "Select all 500": the admin sends select_across rather than every id
    data = {"action": "unpublish", "select_across": "1", "index": "0", "_selected_action": [first]}
    response = client.post("/admin/organisms/organism/", data)
    assert response.status_code == 302
    assert bumps.count == 1
    assert bumps.families == {"organisms"}
    assert not Organism.objects.published().exists()


def test_bumps_post_with_tags_and_related_organisms_bumps_once():
    organisms = OrganismFactory.create_batch(3)
    bumps = Bumps()
    post = blog_services.post_create(
        author=None,
        title="Three species",
        body="Text.",
        status=PostStatus.PUBLISHED,
        tags=["birds", "spring", "new"],
        related_organisms=organisms,
    )
    assert post.tags.count() == 3 and post.related_organisms.count() == 3
    assert bumps.count == 1
    assert bumps.families == {"posts"}


def test_bumps_post_links_changed_outside_a_transaction_bump_after_the_change_only():
    post = PostFactory()
    organism = OrganismFactory()
    bumps = Bumps()
    post.related_organisms.add(organism)  # autocommit: the post_add, not the pre_add, bumps
    assert bumps.count == 1
    post.related_organisms.clear()
    assert bumps.count == 2


def test_bumps_each_autocommit_write_bumps_at_once():
    organism = OrganismFactory()
    bumps = Bumps()
    services.organism_update(organism=organism, user=None, habitat="Reef")
    assert bumps.count == 1
    organism.refresh_from_db()
    organism.description = "Second edit"
    organism.save()
    assert bumps.count == 2


def test_bumps_nothing_for_a_rolled_back_transaction():
    organism = OrganismFactory()
    bumps = Bumps()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.organism_update(organism=organism, user=None, habitat="Never")
        raise RuntimeError
    assert bumps.count == 0


def test_bumps_change_after_a_rolled_back_savepoint_still_bumps_once():
    first, second = OrganismFactory.create_batch(2)
    bumps = Bumps()
    with transaction.atomic():
        try:
            with transaction.atomic():
                services.organism_update(organism=first, user=None, habitat="Rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
        services.organism_update(organism=second, user=None, habitat="Kept")
    assert bumps.count == 1
    assert bumps.families == {"organisms"}


def test_bumps_drafts_edits_bump_nothing_until_published():
    unpublished = OrganismFactory(is_published=False)  # its taxa are public: the tree shows them
    bumps = Bumps()
    draft = blog_services.post_create(author=None, title="Work in progress", body="Draft.", tags=["later"])
    blog_services.post_update(post=draft, user=None, body="Still a draft.", tags=["later", "maybe"])
    Post.objects.get(pk=draft.pk).delete()
    assert bumps.count == 0
    services.organism_update(organism=unpublished, user=None, habitat="Not yet shown")
    assert bumps.count == 0
    services.organism_update(organism=unpublished, user=None, is_published=True)
    assert bumps.count == 1
    services.organism_update(organism=unpublished, user=None, is_published=False)  # withdrawn: seen too
    assert bumps.count == 2


def test_bumps_a_stale_copy_of_a_row_published_since_still_bumps():
    organism = OrganismFactory(is_published=False)
    stale = Organism.objects.get(pk=organism.pk)
    Organism.objects.filter(pk=organism.pk).update(is_published=True)  # published by someone else meanwhile
    bumps = Bumps()
    stale.habitat = "Edited from an old copy"
    stale.save()  # saves is_published=False: the public sees the record go
    assert bumps.count == 1


def test_bumps_image_job_states_bump_only_when_ready():
    image = OrganismImageFactory(status=ImageStatus.PENDING, renditions=[])
    bumps = Bumps()
    claimed = images.claim(OrganismImage, image.pk, "job-1")  # pending -> processing: curators only
    assert claimed is not None and claimed.status == ImageStatus.PROCESSING
    assert bumps.count == 0
    assert images.process(OrganismImage, image.pk, "job-1") == "ready"
    assert bumps.count == 1
    assert bumps.families == {"organisms"}


def test_bumps_an_undescribed_photograph_bumps_once_it_is_described():
    image = OrganismImageFactory(status=ImageStatus.PENDING, renditions=[], alt_text="")
    bumps = Bumps()
    images.claim(OrganismImage, image.pk, "job-1")
    assert images.process(OrganismImage, image.pk, "job-1") == "ready"
    assert bumps.count == 0  # ready, but not public without alt text
    image = OrganismImage.objects.get(pk=image.pk)
    image.alt_text = "A snow leopard on a ledge"
    image.save()
    assert bumps.count == 1
    assert bumps.families == {"organisms"}


def test_bumps_a_display_name_or_full_name_edit_bumps_posts_and_a_sign_in_does_not():
    author = UserFactory()
    bumps = Bumps()
    profile = AuthorProfile.objects.create(user=author, display_name="Mary Anning")
    assert bumps.families == {"posts"}
    bumps = Bumps()
    author.first_name = "Mary"
    author.save()
    assert bumps.families == {"posts"}
    bumps = Bumps()
    author.save(update_fields=["last_login"])
    assert bumps.count == 0
    profile.display_name = "Dr Mary Anning"
    profile.save()
    assert bumps.families == {"posts"}


def test_current_tokens_move_with_each_committed_bump_of_their_family():
    before = current_tokens("organisms", "posts")
    assert before is not None and len(before) == 2
    assert current_tokens("organisms", "posts") == before
    OrganismFactory()
    after = current_tokens("organisms", "posts")
    assert after[0] != before[0] and after[1] == before[1]


def test_current_tokens_are_not_trusted_while_a_bump_is_unsaved(monkeypatch):
    def refuse():
        raise ConnectionError("generations could not be saved")

    assert current_tokens("organisms") is not None  # the tokens exist (on Redis they start at first use)
    monkeypatch.setattr(GENERATIONS_MODULE, "save_unsaved_bumps", refuse)
    assert current_tokens("organisms") is None
    assert generations()["organisms"] is not None  # the tokens exist; they are just not trusted now
