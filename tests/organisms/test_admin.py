import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organisms.models import ConservationStatus, Organism

from ..factories import OrganismFactory, OrganismImageFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:organisms_organism_changelist")
PASSWORD = "correct horse battery staple"


def listed(response) -> list[Organism]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def run_action(client: Client, action: str, organisms: list[Organism]):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [organism.pk for organism in organisms], "index": 0}
    )


@pytest.fixture
def curator_client(staff_with) -> Client:
    return logged_in(staff_with("organisms.view_organism", "organisms.change_organism"))


# --- the changelist ---


def test_organism_changelist_loads(admin_client):
    OrganismFactory.create_batch(3)

    assert len(listed(admin_client.get(CHANGELIST))) == 3


@pytest.mark.parametrize("term", ["red fox", "VULPES", "vulpes vul"])
def test_organism_changelist_search_finds_by_common_and_scientific_name(admin_client, term):
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")
    OrganismFactory(common_name="Barn owl", scientific_name="Tyto alba", slug="tyto-alba")

    assert listed(admin_client.get(CHANGELIST, {"q": term})) == [fox]


def test_organism_changelist_search_by_exact_slug_only(admin_client):
    fox = OrganismFactory(common_name="Red fox", scientific_name="Vulpes vulpes", slug="vulpes-vulpes")

    assert listed(admin_client.get(CHANGELIST, {"q": "vulpes-vulpes"})) == [fox]
    assert listed(admin_client.get(CHANGELIST, {"q": "vulpes-vul"})) == []


def test_organism_changelist_filters_by_kingdom(admin_client):
    oak = OrganismFactory(kingdom="Plantae")
    OrganismFactory(kingdom="Animalia")

    assert listed(admin_client.get(CHANGELIST, {"kingdom": "Plantae"})) == [oak]


def test_organism_changelist_filters_by_conservation_status(admin_client):
    rare = OrganismFactory(conservation_status=ConservationStatus.CRITICALLY_ENDANGERED)
    OrganismFactory(conservation_status=ConservationStatus.LEAST_CONCERN)

    assert listed(admin_client.get(CHANGELIST, {"conservation_status__exact": "CR"})) == [rare]


def test_organism_changelist_filters_by_is_published(admin_client):
    OrganismFactory(is_published=True)
    hidden = OrganismFactory(is_published=False)

    assert listed(admin_client.get(CHANGELIST, {"is_published__exact": "0"})) == [hidden]


def test_organism_changelist_shows_a_thumbnail_when_an_image_exists(admin_client):
    image = OrganismImageFactory(organism=OrganismFactory(common_name="Pictured"))
    OrganismFactory(common_name="Unpictured")

    content = admin_client.get(CHANGELIST).content.decode()

    # The smallest rendition, not the original.
    assert '<img src="/media/r/a-320.webp" alt="A test photograph" style="max-width:48px' in content
    assert image.original.url not in content
    assert content.count("max-width:48px") == 1


def test_organism_changelist_query_count_does_not_grow_with_organisms(admin_client):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(CHANGELIST)
        assert response.status_code == 200
        return len(queries)

    for organism in OrganismFactory.create_batch(3):
        OrganismImageFactory.create_batch(2, organism=organism)
    few = count_queries()

    for organism in OrganismFactory.create_batch(27):
        OrganismImageFactory.create_batch(2, organism=organism)
    many = count_queries()

    assert many == few


# --- the change page ---


def test_organism_change_page_shows_image_previews(admin_client):
    image = OrganismImageFactory()

    response = admin_client.get(reverse("admin:organisms_organism_change", args=[image.organism.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<img src="/media/r/a-320.webp" alt="A test photograph" style="max-width:120px' in content
    assert ">ready</span>" in content


def test_organism_change_page_without_images_loads(admin_client):
    organism = OrganismFactory()

    response = admin_client.get(reverse("admin:organisms_organism_change", args=[organism.pk]))

    assert response.status_code == 200
    assert organism.scientific_name in response.content.decode()


# --- bulk actions ---


def test_organism_admin_publish_action(admin_client):
    drafts = OrganismFactory.create_batch(2, is_published=False)
    untouched = OrganismFactory(is_published=False)

    response = run_action(admin_client, "publish", drafts)

    assert response.status_code == 302
    assert set(Organism.objects.filter(is_published=True)) == set(drafts)
    untouched.refresh_from_db()
    assert not untouched.is_published


def test_organism_admin_unpublish_action(admin_client):
    published = OrganismFactory.create_batch(2, is_published=True)
    untouched = OrganismFactory(is_published=True)

    run_action(admin_client, "unpublish", published)

    assert set(Organism.objects.filter(is_published=False)) == set(published)
    untouched.refresh_from_db()
    assert untouched.is_published


def test_organism_admin_publish_action_reports_what_changed(admin_client):
    organisms = [OrganismFactory(is_published=False), OrganismFactory(is_published=True)]

    response = admin_client.post(
        CHANGELIST, {"action": "publish", "_selected_action": [o.pk for o in organisms], "index": 0}, follow=True
    )

    assert "Published 1 organism(s)." in [str(message) for message in response.context["messages"]]


def test_organism_admin_curator_can_use_the_actions(curator_client):
    organism = OrganismFactory(is_published=False)

    choices = dict(curator_client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    run_action(curator_client, "publish", [organism])

    assert {"publish", "unpublish"} <= set(choices)
    organism.refresh_from_db()
    assert organism.is_published


def test_organism_admin_staff_without_change_permission_gets_no_actions(staff_with):
    client = logged_in(staff_with("organisms.view_organism"))
    organism = OrganismFactory(is_published=False)

    response = client.get(CHANGELIST)
    run_action(client, "publish", [organism])

    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert 'value="publish"' not in response.content.decode()
    organism.refresh_from_db()
    assert not organism.is_published


def test_organism_admin_staff_without_view_permission_is_refused(staff_with):
    client = logged_in(staff_with())
    OrganismFactory()

    assert client.get(CHANGELIST).status_code == 403


def test_organism_admin_non_staff_is_sent_to_login():
    client = logged_in(UserFactory(is_staff=False, permissions=["organisms.view_organism"]))

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
