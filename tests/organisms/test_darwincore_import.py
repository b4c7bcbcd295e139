"""Importing Darwin Core checklists: archives and spreadsheets into the tree, upserts that change nothing the
second time, reports that name file, line and column, all-or-nothing, dry runs, pruning, and hostile files."""

import io
import random
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from biomuseum.pagecache import bump_stats
from organisms import services
from organisms.darwincore.archive import MAX_MEMBERS, ArchiveRefused, open_checklist
from organisms.models import Organism, Taxon, TaxonomicStatus, VernacularName

pytestmark = pytest.mark.django_db

DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DC = "http://purl.org/dc/terms/"
TAXON_TERMS = {"taxonID": DWC, "parentNameUsageID": DWC, "acceptedNameUsageID": DWC, "scientificName": DWC,
               "scientificNameAuthorship": DWC, "taxonRank": DWC, "taxonomicStatus": DWC}  # fmt: skip
NAME_TERMS = {"vernacularName": DWC, "language": DC, "isPreferredName": GBIF}
DISTRIBUTION_TERMS = {"threatStatus": GBIF, "locality": DWC}

TAXA = [
    # taxonID, parent, accepted, name, authorship, rank, status: the species come before their genus and family
    ("s1", "g1", "", "Panthera uncia", "(Schreber, 1775)", "species", "accepted"),
    ("s2", "g1", "", "Panthera leo", "(Linnaeus, 1758)", "species", "accepted"),
    ("g1", "f1", "", "Panthera", "Oken, 1816", "genus", "accepted"),
    ("k1", "", "", "Animalia", "", "kingdom", "accepted"),
    ("p1", "k1", "", "Chordata", "", "phylum", "accepted"),
    ("c1", "p1", "", "Mammalia", "", "class", "accepted"),
    ("o1", "c1", "", "Carnivora", "", "order", "accepted"),
    ("f1", "o1", "", "Felidae", "", "family", "accepted"),
    ("y1", "", "s1", "Uncia uncia", "(Schreber, 1775)", "species", "synonym"),
]
NAMES = [
    ("s1", "Snow leopard", "en", "true"),
    ("s1", "Panthère des neiges", "fr", "true"),
    ("s1", "Schneeleopard", "de", "true"),
    ("s1", "Irbis", "de", "false"),
    ("s2", "Lion", "en", "true"),
    ("s2", "León", "es", "true"),
]
DISTRIBUTIONS = [("s1", "VU", "Mountains of Central and South Asia"), ("s2", "VU", "Africa, Gir forest in India")]


def meta(files: dict[str, tuple[str, dict[str, str]]]) -> str:
    """meta.xml for a core (the first file) and extensions: {file: (row type, {term: namespace})}."""
    parts = []
    for position, (name, (row_type, terms)) in enumerate(files.items()):
        tag = "core" if position == 0 else "extension"
        key = '<id index="0"/>' if position == 0 else '<coreid index="0"/>'
        fields = "".join(f'<field index="{i}" term="{ns}{term}"/>' for i, (term, ns) in enumerate(terms.items(), 1))
        parts.append(
            f'<{tag} encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" '
            f'ignoreHeaderLines="1" rowType="{row_type}"><files><location>{name}</location></files>{key}{fields}'
            f"</{tag}>"
        )
    return f'<?xml version="1.0" encoding="UTF-8"?><archive xmlns="http://rs.tdwg.org/dwc/text/">{"".join(parts)}</archive>'


def table(key: str, terms: dict, rows: list[tuple]) -> str:
    return "\n".join(["\t".join([key, *terms])] + ["\t".join(row) for row in rows]) + "\n"


def archive(tmp_path: Path, taxa=TAXA, names=NAMES, distributions=DISTRIBUTIONS, name="checklist.zip") -> Path:
    """A Darwin Core Archive of the rows given (each taxon row's first value is its id twice: id and taxonID)."""
    files = {
        "taxon.txt": (f"{DWC}Taxon", TAXON_TERMS),
        "vernacularname.txt": (f"{GBIF}VernacularName", NAME_TERMS),
        "distribution.txt": (f"{GBIF}Distribution", DISTRIBUTION_TERMS),
    }
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("meta.xml", meta(files))
        zipped.writestr("taxon.txt", table("id", TAXON_TERMS, [(row[0], *row) for row in taxa]))
        zipped.writestr("vernacularname.txt", table("coreid", NAME_TERMS, names))
        zipped.writestr("distribution.txt", table("coreid", DISTRIBUTION_TERMS, distributions))
    return path


def run(path: Path, **options):
    return services.checklist_import(path=path, user=None, **options)


def test_an_archive_builds_the_tree_whatever_the_row_order(tmp_path):
    report = run(archive(tmp_path))
    assert report.outcome == "imported", report.lines()
    assert (report.taxa.created, report.names.created, report.organisms.created) == (9, 6, 2)
    uncia = Taxon.objects.get(source_id="s1")
    ancestors = Taxon.objects.in_bulk(uncia.ancestor_ids)
    assert [ancestors[pk].scientific_name for pk in uncia.ancestor_ids] == [
        "Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Panthera",
    ]  # fmt: skip
    assert uncia.authorship == "(Schreber, 1775)"
    synonym = Taxon.objects.get(source_id="y1")
    assert (synonym.status, synonym.accepted_id, synonym.path) == (TaxonomicStatus.SYNONYM, uncia.pk, "")
    german = VernacularName.objects.filter(taxon=uncia, language="de").order_by("name")
    assert [(name.name, name.preferred) for name in german] == [("Irbis", False), ("Schneeleopard", True)]
    organism = Organism.objects.get(taxon=uncia)
    assert (organism.scientific_name, organism.common_name, organism.genus, organism.class_name) == (
        "Panthera uncia", "Snow leopard", "Panthera", "Mammalia",
    )  # fmt: skip
    assert (organism.conservation_status, organism.distribution, organism.is_published) == (
        "VU", "Mountains of Central and South Asia", True,
    )  # fmt: skip
    assert organism.slug == "panthera-uncia"


@pytest.mark.django_db(transaction=True)
def test_the_same_archive_twice_changes_nothing_the_second_time(tmp_path):
    path = archive(tmp_path)
    run(path)
    before = list(Taxon.objects.values_list("pk", "path", "updated_at").order_by("pk"))
    bumps = bump_stats()["bumps"]
    report = run(path)
    assert report.outcome == "imported"
    for counts in (report.taxa, report.names, report.organisms):
        assert (counts.created, counts.updated) == (0, 0), report.lines()
    assert report.taxa.unchanged == 9 and report.names.unchanged == 6 and report.organisms.unchanged == 2
    assert list(Taxon.objects.values_list("pk", "path", "updated_at").order_by("pk")) == before
    assert bump_stats()["bumps"] == bumps + 1  # one invalidation per import, however many rows


def test_a_changed_row_updates_and_a_new_parent_moves_the_taxon(tmp_path):
    run(archive(tmp_path))
    taxa = [row for row in TAXA if row[0] != "s2"]
    taxa += [("s2", "g2", "", "Panthera leo", "Linnaeus, 1758", "species", "accepted"),
             ("g2", "f1", "", "Leo", "", "genus", "accepted")]  # fmt: skip
    names = [*NAMES[:1], ("s1", "Ounce", "en", "false"), *NAMES[1:]]
    report = run(archive(tmp_path, taxa=taxa, names=names, name="second.zip"))
    assert report.outcome == "imported", report.lines()
    assert (report.taxa.created, report.taxa.updated) == (1, 1)
    assert (report.names.created, report.names.updated) == (1, 0)
    lion = Taxon.objects.get(source_id="s2")
    assert lion.authorship == "Linnaeus, 1758"
    assert lion.parent == Taxon.objects.get(source_id="g2")
    assert lion.path.startswith(Taxon.objects.get(source_id="g2").path)
    assert Organism.objects.get(taxon=lion).genus == "Leo"  # the record follows its taxon's move


def test_a_new_preferred_name_takes_the_flag_from_the_old_one(tmp_path):
    run(archive(tmp_path))
    names = [("s1", "Snow leopard", "en", "false"), ("s1", "Ounce", "en", "true"), *NAMES[1:]]
    report = run(archive(tmp_path, names=names, name="renamed.zip"))
    assert report.outcome == "imported", report.lines()
    english = VernacularName.objects.filter(taxon__source_id="s1", language="en")
    assert {name.name: name.preferred for name in english} == {"Snow leopard": False, "Ounce": True}
    assert Organism.objects.get(taxon__source_id="s1").common_name == "Ounce"


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_reports_and_writes_nothing(tmp_path):
    bumps = bump_stats()["bumps"]
    report = run(archive(tmp_path), dry_run=True)
    assert report.outcome == "dry run"
    assert (report.taxa.created, report.organisms.created) == (9, 2)
    assert not Taxon.objects.exists() and not Organism.objects.exists()
    assert bump_stats()["bumps"] == bumps


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (("s9", "g1", "", "Panthera onca", "", "superclade", "accepted"), "taxonRank", "not a rank"),
        (("s9", "g1", "", "", "", "species", "accepted"), "scientificName", "missing"),
        (("s9", "g404", "", "Panthera onca", "", "species", "accepted"), "parentNameUsageID", "no taxon"),
        (("s9", "s1", "", "Panthera onca", "", "genus", "accepted"), "parentNameUsageID", "cannot sit under"),
        (("s9", "", "s404", "Felis onca", "", "species", "synonym"), "acceptedNameUsageID", "no taxon"),
        (("s9", "", "", "Felis onca", "", "species", "synonym"), "acceptedNameUsageID", "needs its accepted"),
        (("s9", "g1", "", "Panthera onca", "", "species", "unsure"), "taxonomicStatus", "not a taxonomic status"),
    ],
)
def test_one_bad_row_rejects_the_whole_import_with_its_place_and_reason(tmp_path, row, column, reason):
    report = run(archive(tmp_path, taxa=[*TAXA, row]))
    assert report.outcome == "rejected"
    assert not Taxon.objects.exists()
    [problem] = report.problems
    assert (problem.file, problem.line, problem.column) == ("taxon.txt", len(TAXA) + 2, column)
    assert reason in problem.reason


def test_cycles_are_reported_for_parents_and_for_synonyms(tmp_path):
    taxa = [*TAXA, ("a1", "a2", "", "Alpha", "", "genus", "accepted"), ("a2", "a1", "", "Beta", "", "genus",
            "accepted"), ("y8", "", "y9", "Gamma", "", "species", "synonym"),
            ("y9", "", "y8", "Delta", "", "species", "synonym")]  # fmt: skip
    report = run(archive(tmp_path, taxa=taxa))
    assert report.outcome == "rejected"
    reasons = {problem.value: problem.reason for problem in report.problems}
    assert "cycle" in reasons["a2"] and "cycle" in reasons["a1"]
    assert "cycle" in reasons["y9"] or "cycle" in reasons["y8"]


def test_skip_invalid_imports_the_rest_and_leaves_out_what_hangs_from_a_bad_row(tmp_path):
    taxa = [*TAXA, ("g9", "f1", "", "Neofelis", "", "clade", "accepted"),
            ("s9", "g9", "", "Neofelis nebulosa", "", "species", "accepted")]  # fmt: skip
    names = [*NAMES, ("s2", "Löwe", "xx_not_a_tag", "false")]
    report = run(archive(tmp_path, taxa=taxa, names=names), skip_invalid=True)
    assert report.outcome == "imported", report.lines()
    assert {problem.column for problem in report.problems} == {"taxonRank", "parentNameUsageID", "language"}
    assert report.taxa.created == 9
    assert not Taxon.objects.filter(scientific_name__startswith="Neofelis").exists()
    assert not VernacularName.objects.filter(name="Löwe").exists()


def test_prune_withdraws_published_records_the_file_lacks_and_deletes_nothing(tmp_path):
    run(archive(tmp_path))
    report = run(archive(tmp_path, taxa=[row for row in TAXA if row[0] != "s2"],
                         names=NAMES[:4], distributions=DISTRIBUTIONS[:1], name="smaller.zip"), prune=True)  # fmt: skip
    assert report.organisms.withdrawn == 1
    lion = Organism.objects.get(scientific_name="Panthera leo")
    assert lion.is_published is False
    assert Organism.objects.get(scientific_name="Panthera uncia").is_published is True


def test_a_spreadsheet_with_classification_columns_builds_the_same_tree(tmp_path):
    path = tmp_path / "species.csv"
    path.write_text(
        "taxonID,scientificName,taxonRank,kingdom,phylum,class,order,family,genus,vernacularName,language\n"
        "s1,Panthera uncia,species,Animalia,Chordata,Mammalia,Carnivora,Felidae,Panthera,Snow leopard,en\n"
        "s1,Panthera uncia,species,Animalia,Chordata,Mammalia,Carnivora,Felidae,Panthera,Once,fr\n"
        "s2,Puma concolor,species,Animalia,Chordata,Mammalia,Carnivora,Felidae,Puma,Cougar,en\n",
        encoding="utf-8",
    )
    report = run(path)
    assert report.outcome == "imported", report.lines()
    assert report.taxa.created == 2 + 7  # the two species, and Animalia to Felidae, Panthera and Puma
    puma = Taxon.objects.get(source_id="s2")
    assert Taxon.objects.get(pk=puma.parent_id).scientific_name == "Puma"
    assert Taxon.objects.filter(scientific_name="Felidae").count() == 1
    assert set(VernacularName.objects.filter(taxon__source_id="s1").values_list("name", flat=True)) == {
        "Snow leopard", "Once",
    }  # fmt: skip
    assert run(path).taxa.created == 0


def test_the_command_prints_the_report_and_fails_on_a_rejected_file(tmp_path):
    out = io.StringIO()
    call_command("import_dwca", str(archive(tmp_path)), "--no-progress", stdout=out)
    assert "taxa: 9 created, 0 updated, 0 unchanged" in out.getvalue()
    bad = archive(tmp_path, taxa=[*TAXA, ("s9", "g1", "", "", "", "species", "accepted")], name="bad.zip")
    out = io.StringIO()
    with pytest.raises(CommandError, match="rejected"):
        call_command("import_dwca", str(bad), "--no-progress", stdout=out)
    assert "taxon.txt, line 11, scientificName: missing" in out.getvalue()


def hostile_zip(tmp_path: Path, members: list[tuple[object, bytes]]) -> Path:
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for member, data in members:
            zipped.writestr(member, data)
    return path


def symlink_member() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("taxon.txt")
    info.external_attr = 0o120777 << 16
    return info


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("../evil.txt", b"x")], "outside the archive"),
        ([("/tmp/evil.txt", b"x")], "outside the archive"),
        ([("dir\\..\\evil.txt", b"x")], "outside the archive"),
        ([(symlink_member(), b"/etc/passwd")], "not a regular file"),
        ([(f"f{number}.txt", b"x") for number in range(MAX_MEMBERS + 1)], "members"),
        ([("taxon.txt", b"0\n" * (32 * 1024**2))], "zip bomb"),
        ([("taxon.txt", b"taxonID\tscientificName\n1\t" + random.randbytes(2 * 1024**2).hex().encode())], "line over"),
        (
            [("meta.xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')],
            "DTD",
        ),
    ],
)
def test_hostile_archives_are_refused_before_anything_is_read(tmp_path, members, message):
    path = hostile_zip(tmp_path, members)
    with pytest.raises(ArchiveRefused, match=message), open_checklist(path):
        pass
    report = run(path)
    assert report.outcome == "refused" and message in report.refused
    assert not (tmp_path.parent / "evil.txt").exists()


def test_a_file_that_is_no_checklist_is_refused_with_a_reason(tmp_path):
    garbage = tmp_path / "catalogue.zip"
    garbage.write_bytes(b"\x89PNG not a zip at all")
    assert "not a zip" in run(garbage).refused
    no_names = tmp_path / "plain.csv"
    no_names.write_text("a,b\n1,2\n")
    assert "scientificName" in run(no_names).refused


DATA = Path(__file__).resolve().parent.parent / "data" / "dwca"


def test_the_demo_checklist_imports_into_an_empty_catalogue_and_again_changes_nothing():
    report = run(DATA / "demo-checklist.zip")
    assert report.outcome == "imported", report.lines()
    assert (report.taxa.created, report.names.created, report.organisms.created) == (404, 581, 82)
    kakapo = Organism.objects.get(scientific_name="Strigops habroptilus")
    assert kakapo.common_name == "Kākāpō" or VernacularName.objects.filter(taxon=kakapo.taxon, name="Kākāpō").exists()
    again = run(DATA / "demo-checklist.zip")
    assert (again.taxa.created, again.taxa.updated, again.names.updated, again.organisms.updated) == (0, 0, 0, 0)


def test_the_demo_checklist_adopts_the_demo_catalogue_rather_than_duplicating_it():
    from organisms import demo

    demo.load_organisms()
    taxa, organisms = Taxon.objects.count(), Organism.objects.count()
    report = run(DATA / "demo-checklist.zip")
    assert report.outcome == "imported", report.lines()
    assert (report.taxa.created, report.organisms.created) == (0, 0)
    assert (Taxon.objects.count(), Organism.objects.count()) == (taxa, organisms)
    assert not Taxon.objects.filter(source_id__isnull=True).exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown-rank.zip", [("taxon.txt", 4, "taxonRank")]),
        ("missing-name.zip", [("taxon.txt", 9, "scientificName")]),
        ("missing-parent.zip", [("taxon.txt", 9, "parentNameUsageID")]),
        ("synonym-cycle.zip", [("taxon.txt", 10, "acceptedNameUsageID"), ("taxon.txt", 11, "acceptedNameUsageID")]),
        ("parent-cycle.zip", [("taxon.txt", 6, "parentNameUsageID"), ("taxon.txt", 7, "parentNameUsageID")]),
        ("bad-encoding.zip", [("taxon.txt", 13, "scientificNameAuthorship")]),
        ("mixed.zip", [("taxon.txt", 11, "scientificName"), ("taxon.txt", 17, "parentNameUsageID")]),
    ],
)
def test_each_invalid_checklist_is_rejected_at_its_documented_place(name, expected):
    report = run(DATA / name)
    assert report.outcome == "rejected"
    places = [(problem.file, problem.line, problem.column) for problem in report.problems]
    assert places[: len(expected)] == expected, [str(problem) for problem in report.problems]
    assert not Taxon.objects.exists()


def test_the_mixed_checklist_with_skip_invalid_imports_its_good_rows():
    report = run(DATA / "mixed.zip", skip_invalid=True)
    assert report.outcome == "imported"
    assert report.problem_count == 2
    assert report.taxa.created == Taxon.objects.count() > 0
    assert not Taxon.objects.filter(source_id="t404").exists()


@pytest.mark.parametrize(
    "name",
    ["zip-bomb.zip", "too-many-members.zip", "path-traversal.zip", "absolute-path.zip", "xxe-meta.zip",
     "billion-laughs.zip", "not-a-zip.zip", "symlink-member.zip"],
)  # fmt: skip
def test_each_hostile_archive_is_refused(name):
    report = run(DATA / name)
    assert report.outcome == "refused" and report.refused
    assert not Taxon.objects.exists()


def test_a_field_over_the_size_limit_refuses_the_file_and_says_where():
    report = run(DATA / "oversized-field.zip")
    assert report.outcome == "refused"
    assert "taxon.txt, line 11, scientificName: a field of 1,000,000 characters" in report.refused
    assert len(report.refused) < 200  # the report does not carry the megabyte
    assert not Taxon.objects.exists()


@pytest.mark.parametrize("name", ["demo-checklist.csv", "demo-checklist.tsv"])
def test_the_demo_spreadsheets_import(name):
    report = run(DATA / name)
    assert report.outcome == "imported", report.lines()
    assert report.organisms.created == report.rows[name]
    assert run(DATA / name).taxa.created == 0


def archive_rows(path: Path) -> dict[str, list[tuple]]:
    """Every data file's rows (as sorted tuples of term and value), read by python-dwca-reader; the
    metadata (eml.xml, with the export date) left out."""
    from dwca.read import DwCAReader

    rows = {}
    with DwCAReader(str(path)) as read:
        for data_file in [read.core_file, *read.extension_files]:
            descriptor = data_file.file_descriptor
            terms = sorted(descriptor.terms)
            values = data_file.iter_terms(terms)
            rows[descriptor.file_location] = sorted(tuple(zip(terms, row, strict=True)) for row in values)
    return rows


def empty_the_catalogue() -> None:
    Organism.objects.all().delete()
    Taxon.objects.filter(status=TaxonomicStatus.SYNONYM).delete()
    for depth in sorted(set(Taxon.objects.values_list("depth", flat=True)), reverse=True):
        Taxon.objects.filter(depth=depth).delete()  # leaves first: a parent is protected while it has children


def test_the_demo_catalogue_round_trips_through_darwin_core_without_loss(tmp_path):
    from organisms import demo

    demo.load_organisms()
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    call_command("export_dwca", str(first), stdout=io.StringIO())
    empty_the_catalogue()
    assert not Taxon.objects.exists() and not Organism.objects.exists()
    report = run(first)
    assert report.outcome == "imported", report.lines()
    call_command("export_dwca", str(second), stdout=io.StringIO())
    before, after = archive_rows(first), archive_rows(second)
    assert set(before) == set(after)
    assert {"taxon.txt", "vernacularname.txt", "distribution.txt", "description.txt"} <= set(before)
    for name in before:
        assert after[name] == before[name], name
    assert len(before["taxon.txt"]) > 300 and len(before["vernacularname.txt"]) > 300


def test_a_spelling_corrected_under_its_taxonID_renames_and_another_checklists_id_is_refused(tmp_path):
    run(archive(tmp_path))
    corrected = [("s2", "g1", "", "Panthera leoo", "(Linnaeus, 1758)", "species", "accepted") if row[0] == "s2"
                 else row for row in TAXA]  # fmt: skip
    report = run(archive(tmp_path, taxa=corrected, name="corrected.zip"))
    assert report.outcome == "imported", report.lines()
    assert Taxon.objects.get(source_id="s2").scientific_name == "Panthera leoo"
    assert Organism.objects.get(taxon__source_id="s2").scientific_name == "Panthera leoo"  # the record follows
    other = [("s2", "g1", "", "Panthera onca", "", "species", "accepted") if row[0] == "s2" else row
             for row in TAXA]  # fmt: skip
    report = run(archive(tmp_path, taxa=other, name="other.zip"))
    assert report.outcome == "rejected"
    [problem] = report.problems
    assert problem.column == "taxonID" and "Panthera leoo" in problem.reason
    assert Taxon.objects.get(source_id="s2").scientific_name == "Panthera leoo"


def test_a_spreadsheet_saved_as_csv_utf8_with_a_byte_order_mark_and_semicolons_imports(tmp_path):
    path = tmp_path / "export from a spreadsheet.csv"
    path.write_bytes(
        b"\xef\xbb\xbftaxonID;scientificName;taxonRank;kingdom;genus;vernacularName;language\r\n"
        + b"s1;Panthera uncia;species;Animalia;Panthera;Schneeleopard;de\r\n"
    )
    report = run(path)
    assert report.outcome == "imported", report.lines()
    assert VernacularName.objects.get(taxon__source_id="s1").name == "Schneeleopard"
