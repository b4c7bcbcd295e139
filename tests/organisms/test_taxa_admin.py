"""The taxon admin: find by any name, breadcrumb, vernacular names and synonyms inline, moves that carry the
subtree along, and the moves the tree refuses shown as form errors."""

import pytest
from django.urls import reverse

from organisms import services
from organisms.models import Organism, Taxon, TaxonomicStatus, VernacularName

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:organisms_taxon_changelist")


def change_url(taxon: Taxon) -> str:
    return reverse("admin:organisms_taxon_change", args=[taxon.pk])


@pytest.fixture
def puma():
    return services.organism_create(user=None, common_name="Cougar", scientific_name="Puma concolor",
                                    kingdom="Animalia", class_name="Mammalia", family="Felidae")  # fmt: skip


def form_data(taxon: Taxon, **changes) -> dict:
    data = {
        "rank": taxon.rank, "scientific_name": taxon.scientific_name, "authorship": taxon.authorship,
        "parent": taxon.parent_id or "", "status": taxon.status, "accepted": taxon.accepted_id or "",
        "gbif_key": "", "inaturalist_id": "", "col_id": "",
        "vernacular_names-TOTAL_FORMS": "0", "vernacular_names-INITIAL_FORMS": "0",
        "synonyms-TOTAL_FORMS": "0", "synonyms-INITIAL_FORMS": "0",
    }  # fmt: skip
    return {**data, **changes}


def test_a_taxon_is_found_by_a_vernacular_name_in_any_language(admin_client, puma):
    VernacularName.objects.create(taxon_id=puma.taxon_id, name="Berglöwe", language="de")
    found = admin_client.get(CHANGELIST, {"q": "Berglöwe"}).context["cl"].result_list
    assert [taxon.scientific_name for taxon in found] == ["Puma concolor"]


def test_the_change_page_shows_the_breadcrumb(admin_client, puma):
    species = Taxon.objects.get(pk=puma.taxon_id)
    page = admin_client.get(change_url(species)).content.decode()
    crumbs = page[page.index("Place in the tree") :]
    ancestors = [Taxon.objects.get(pk=pk) for pk in species.ancestor_ids]
    assert [ancestor.scientific_name for ancestor in ancestors] == ["Animalia", "Mammalia", "Felidae", "Puma"]
    positions = [
        crumbs.index(f'<a href="{change_url(ancestor)}">{ancestor.scientific_name}</a>') for ancestor in ancestors
    ]
    assert positions == sorted(positions)  # kingdom first
    assert crumbs.index("<strong>Puma concolor</strong>") > positions[-1]


def test_changing_the_parent_moves_the_subtree(admin_client, puma):
    felidae = Taxon.objects.get(scientific_name="Felidae")
    carnivora = services.taxon_create(parent=Taxon.objects.get(scientific_name="Mammalia"), rank="order",
                                      scientific_name="Carnivora")  # fmt: skip
    response = admin_client.post(change_url(felidae), form_data(felidae, parent=carnivora.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    species = Taxon.objects.get(pk=Organism.objects.get(pk=puma.pk).taxon_id)
    assert species.path.startswith(f"{carnivora.path}{felidae.pk}/")


def test_a_move_under_a_descendant_is_a_form_error_and_changes_nothing(admin_client, puma):
    felidae = Taxon.objects.get(scientific_name="Felidae")
    genus = Taxon.objects.get(scientific_name="Puma")
    paths = dict(Taxon.objects.values_list("pk", "path"))
    response = admin_client.post(change_url(felidae), form_data(felidae, parent=genus.pk))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "descendants" in str(errors["parent"])
    assert dict(Taxon.objects.values_list("pk", "path")) == paths


def test_a_new_taxon_and_its_names_and_synonyms_from_the_add_page(admin_client, puma):
    felidae = Taxon.objects.get(scientific_name="Felidae")
    data = form_data(Taxon(rank="genus", scientific_name="Panthera", status=TaxonomicStatus.ACCEPTED),
                     parent=felidae.pk, authorship="Oken, 1816")  # fmt: skip
    data.update({
        "vernacular_names-TOTAL_FORMS": "1", "vernacular_names-0-name": "Großkatzen",
        "vernacular_names-0-language": "de", "vernacular_names-0-region": "", "vernacular_names-0-preferred": "on",
        "synonyms-TOTAL_FORMS": "1", "synonyms-0-scientific_name": "Leo", "synonyms-0-authorship": "Brehm, 1829",
        "synonyms-0-rank": "genus",
    })  # fmt: skip
    response = admin_client.post(reverse("admin:organisms_taxon_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    panthera = Taxon.objects.get(scientific_name="Panthera")
    assert panthera.path == f"{felidae.path}{panthera.pk}/" and panthera.depth == felidae.depth + 1
    assert [(name.name, name.language) for name in panthera.vernacular_names.all()] == [("Großkatzen", "de")]
    assert [(synonym.scientific_name, synonym.status) for synonym in panthera.synonyms.all()] == [("Leo", "synonym")]


def test_renaming_a_genus_renames_it_on_the_organisms_beneath(admin_client, puma):
    genus = Taxon.objects.get(scientific_name="Puma")
    response = admin_client.post(change_url(genus), form_data(genus, scientific_name="Pumas"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Organism.objects.get(pk=puma.pk).genus == "Pumas"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"status": "synonym", "parent": ""}, "status", "before it becomes a synonym"),
        ({"rank": "genus"}, "rank", "it stays a species, subspecies or variety"),
    ],
)
def test_a_change_that_would_leave_an_organism_without_a_valid_taxon_is_a_form_error(
    admin_client, puma, changes, field, message
):
    species = Taxon.objects.get(pk=puma.taxon_id)
    if "status" in changes:
        changes["accepted"] = Taxon.objects.get(scientific_name="Puma").pk
    response = admin_client.post(change_url(species), form_data(species, **changes))
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    assert Taxon.objects.get(pk=species.pk).status == TaxonomicStatus.ACCEPTED
