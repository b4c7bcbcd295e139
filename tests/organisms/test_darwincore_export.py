"""The Darwin Core Archive export (organisms/darwincore/export.py), read back by an independent reader
(python-dwca-reader): which taxa, their links and classification, every extension, the text escaping, the
metadata, a stable order, bounded queries, and the management command."""

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from dwca.read import DwCAReader

from organisms import services
from organisms.darwincore import terms
from organisms.darwincore.export import write_archive
from organisms.models import Taxon, VernacularName
from tests.factories import OrganismFactory

pytestmark = pytest.mark.django_db

EXPORTED_AT = datetime(2026, 5, 17, 9, 30, tzinfo=UTC)
TRICKY_TEXT = 'Dens in "rocky" ledges.\nHunts at dusk\tand dawn;\r\nsays "mrrp".'


def term(name: str) -> str:
    return terms.TERMS[name]


def taxon_of(name: str) -> Taxon:
    return Taxon.objects.get(scientific_name=name, status="accepted")


@pytest.fixture
def catalogue():
    """Two published cats (one NE), a synonym, names in three languages, external ids, an imported genus,
    and an unpublished wolf whose family and genus nobody else uses."""
    puma = OrganismFactory(
        common_name="Cougar", scientific_name="Puma concolor", genus="Puma", conservation_status="VU",
        distribution="The Americas, from Yukon to Patagonia", description=TRICKY_TEXT, habitat="",
    )  # fmt: skip
    OrganismFactory(common_name="Lion", scientific_name="Panthera leo", genus="Panthera", conservation_status="NE",
                    distribution="", description="", habitat="Savanna")  # fmt: skip
    OrganismFactory(common_name="Wolf", scientific_name="Canis lupus", genus="Canis", family="Canidae",
                    is_published=False, description="Secret")  # fmt: skip
    species = taxon_of("Puma concolor")
    Taxon.objects.filter(pk=species.pk).update(authorship="(Linnaeus, 1771)", gbif_key=2435099, col_id="4QHKG")
    Taxon.objects.filter(pk=taxon_of("Puma").pk).update(source_id="gbif:2435098", inaturalist_id=42)
    services.taxon_create(parent=None, rank="species", scientific_name="Felis concolor", authorship="Linnaeus, 1771",
                          status="synonym", accepted=species)  # fmt: skip
    VernacularName.objects.create(taxon=species, name="Puma", language="fr", preferred=True)
    VernacularName.objects.create(taxon=species, name="Couguar", language="fr", region="Québec")
    VernacularName.objects.create(taxon=species, name="León de montaña", language="es", region="México")
    VernacularName.objects.create(taxon=taxon_of("Canis lupus"), name="Loup", language="fr", preferred=True)
    return puma


def export(tmp_path: Path, name: str = "catalogue.zip") -> Path:
    path = tmp_path / name
    with open(path, "wb") as out:
        write_archive(out, exported_at=EXPORTED_AT)
    return path


def read(path: Path) -> dict[str, dict]:
    """{scientificName: {"row": core data, rowType: [extension data, ...]}} as python-dwca-reader reads them."""
    found = {}
    with DwCAReader(str(path)) as archive:
        for row in archive:
            entry = found.setdefault(row.data[term("scientificName")], {"row": row.data, "id": row.id})
            for extension in row.extensions:
                entry.setdefault(extension.rowtype, []).append(extension.data)
    return found


def test_export_holds_published_taxa_their_ancestors_and_synonyms_only(catalogue, tmp_path):
    rows = read(export(tmp_path))
    assert set(rows) == {
        "Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Puma", "Puma concolor", "Panthera",
        "Panthera leo", "Felis concolor",
    }  # fmt: skip
    assert not {"Canidae", "Canis", "Canis lupus"} & set(rows)  # the unpublished wolf's own taxa


def test_export_taxa_carry_ranks_authorship_parents_and_classification(catalogue, tmp_path):
    rows = read(export(tmp_path))
    species = rows["Puma concolor"]["row"]
    assert rows["Puma concolor"]["id"] == species[term("taxonID")] == f"{terms.LOCAL_ID_PREFIX}{catalogue.taxon_id}"
    assert species[term("taxonRank")] == "species"
    assert species[term("taxonomicStatus")] == "accepted"
    assert species[term("scientificNameAuthorship")] == "(Linnaeus, 1771)"
    assert species[term("parentNameUsageID")] == "gbif:2435098"  # the imported genus keeps its taxonID
    assert rows["Puma"]["row"][term("taxonID")] == "gbif:2435098"
    assert rows["Puma"]["row"][term("parentNameUsageID")] == rows["Felidae"]["row"][term("taxonID")]
    assert rows["Animalia"]["row"][term("parentNameUsageID")] == ""
    assert [species[term(rank)] for rank in terms.CLASSIFICATION] == [
        "Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Puma",
    ]  # fmt: skip
    family = rows["Felidae"]["row"]
    assert [family[term(rank)] for rank in terms.CLASSIFICATION] == [
        "Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "",
    ]  # fmt: skip
    accepted = [entry["row"] for name, entry in rows.items() if name != "Felis concolor"]
    assert all(row[term("acceptedNameUsageID")] == "" for row in accepted)


def test_export_synonym_points_at_its_accepted_taxon(catalogue, tmp_path):
    rows = read(export(tmp_path))
    synonym = rows["Felis concolor"]["row"]
    assert synonym[term("taxonomicStatus")] == "synonym"
    assert synonym[term("acceptedNameUsageID")] == rows["Puma concolor"]["row"][term("taxonID")]
    assert synonym[term("parentNameUsageID")] == ""
    assert synonym[term("scientificNameAuthorship")] == "Linnaeus, 1771"
    assert synonym[term("genus")] == "Puma"  # the accepted taxon's classification, as GBIF's checklists give it


def test_export_vernacular_names_keep_languages_regions_and_preferred_flags(catalogue, tmp_path):
    names = read(export(tmp_path))["Puma concolor"][terms.VERNACULAR_NAME]
    found = [(n[term("vernacularName")], n[term("language")], n[term("locality")], n[term("isPreferredName")])
             for n in names]  # fmt: skip
    assert found == [
        ("Cougar", "en", "", "true"),
        ("León de montaña", "es", "México", "false"),
        ("Puma", "fr", "", "true"),
        ("Couguar", "fr", "Québec", "false"),
    ]


def test_export_distribution_has_one_row_per_published_organism_with_its_iucn_category(catalogue, tmp_path):
    rows = read(export(tmp_path))
    puma = rows["Puma concolor"][terms.DISTRIBUTION]
    assert [(d[term("threatStatus")], d[term("locality")]) for d in puma] == [
        ("VU", "The Americas, from Yukon to Patagonia")
    ]
    assert [(d[term("threatStatus")], d[term("locality")]) for d in rows["Panthera leo"][terms.DISTRIBUTION]] == [
        ("NE", "")
    ]
    assert terms.DISTRIBUTION not in rows["Puma"]  # taxa above the species hold no organism


def test_export_descriptions_round_trip_tabs_newlines_and_quotes_exactly(catalogue, tmp_path):
    rows = read(export(tmp_path))
    puma = rows["Puma concolor"][terms.DESCRIPTION]
    assert [(d[term("type")], d[term("description")], d[term("language")]) for d in puma] == [
        ("general", TRICKY_TEXT, "en")
    ]  # the empty habitat has no row
    lion = rows["Panthera leo"][terms.DESCRIPTION]
    assert [(d[term("type")], d[term("description")]) for d in lion] == [("habitat", "Savanna")]


def test_export_identifiers_are_urls_of_the_external_ids(catalogue, tmp_path):
    rows = read(export(tmp_path))
    assert [i[term("identifier")] for i in rows["Puma concolor"][terms.IDENTIFIER]] == [
        "https://www.gbif.org/species/2435099",
        "https://www.catalogueoflife.org/data/taxon/4QHKG",
    ]
    assert [i[term("identifier")] for i in rows["Puma"][terms.IDENTIFIER]] == ["https://www.inaturalist.org/taxa/42"]


def test_export_metadata_names_the_museum_and_the_export_date(catalogue, tmp_path, settings):
    settings.MUSEUM_NAME = "Muséum <d'histoire> & nature"
    with DwCAReader(str(export(tmp_path))) as archive:
        assert archive.metadata.find("dataset/title").text == "Muséum <d'histoire> & nature: published catalogue"
        assert archive.metadata.find("dataset/creator/organizationName").text == settings.MUSEUM_NAME
        assert archive.metadata.find("dataset/pubDate").text == "2026-05-17"
        assert archive.descriptor.core.type == terms.TAXON
        assert {extension.type for extension in archive.descriptor.extensions} == {
            terms.VERNACULAR_NAME, terms.DISTRIBUTION, terms.DESCRIPTION, terms.IDENTIFIER,
        }  # fmt: skip


def test_export_files_are_tab_separated_with_one_header_line(catalogue, tmp_path):
    with zipfile.ZipFile(export(tmp_path)) as archive:
        assert set(archive.namelist()) == {"meta.xml", "eml.xml", "taxon.txt", "vernacularname.txt",
                                           "distribution.txt", "description.txt", "identifier.txt"}  # fmt: skip
        taxon_lines = archive.read("taxon.txt").decode().split("\n")
        distribution = archive.read("distribution.txt").decode()
        meta = archive.read("meta.xml").decode()
    assert taxon_lines[0].split("\t")[:3] == ["taxonID", "parentNameUsageID", "acceptedNameUsageID"]
    assert taxon_lines[1].split("\t")[5] == "Animalia"  # parents first: the kingdom leads
    assert taxon_lines[-2].split("\t")[5] == "Felis concolor"  # synonyms after every accepted taxon
    assert distribution.startswith("coreid\tthreatStatus\tlocality\n")
    assert 'fieldsTerminatedBy="\\t"' in meta and 'fieldsEnclosedBy="&quot;"' in meta


def test_export_is_deterministic_for_one_catalogue_and_date(catalogue):
    first, second = io.BytesIO(), io.BytesIO()
    write_archive(first, exported_at=EXPORTED_AT)
    write_archive(second, exported_at=EXPORTED_AT)
    assert first.getvalue() == second.getvalue()


class Unseekable:
    """A pipe-like stream: write only, no tell or seek."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def test_export_writes_to_an_unseekable_stream(catalogue, tmp_path):
    stream = Unseekable()
    counts = write_archive(stream, exported_at=EXPORTED_AT)
    assert len(stream.chunks) > 5  # written as it went, not handed over in one piece
    path = tmp_path / "piped.zip"
    path.write_bytes(b"".join(stream.chunks))
    assert set(read(path)) == set(read(export(tmp_path)))
    assert counts == {"taxon.txt": 10, "vernacularname.txt": 5, "distribution.txt": 2, "description.txt": 2,
                      "identifier.txt": 3}  # fmt: skip


def test_export_queries_do_not_grow_with_the_catalogue(catalogue):
    with CaptureQueriesContext(connection) as few:
        write_archive(io.BytesIO(), exported_at=EXPORTED_AT)
    for number in range(12):
        OrganismFactory(scientific_name=f"Panthera species{number}", genus="Panthera", description="Text")
    with CaptureQueriesContext(connection) as many:
        counts = write_archive(io.BytesIO(), exported_at=EXPORTED_AT)
    assert counts["distribution.txt"] == 14
    assert len(many) == len(few) <= 8


def test_export_command_writes_the_archive_atomically_and_reports_counts(catalogue, tmp_path):
    target = tmp_path / "out" / "catalogue.zip"
    target.parent.mkdir()
    target.write_bytes(b"an older export")
    out = io.StringIO()
    call_command("export_dwca", str(target), stdout=out)
    assert "taxon.txt: 10 rows" in out.getvalue() and "distribution.txt: 2 rows" in out.getvalue()
    assert list(target.parent.iterdir()) == [target]  # no temporary file left beside it
    assert "Puma concolor" in read(target)


def test_export_command_refuses_a_missing_directory(tmp_path):
    with pytest.raises(CommandError, match="not a directory"):
        call_command("export_dwca", str(tmp_path / "nowhere" / "catalogue.zip"), stdout=io.StringIO())
