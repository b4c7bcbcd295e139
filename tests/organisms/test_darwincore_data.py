"""The Darwin Core test data (tests/data/dwca/) is what its README says, and the bench's generator writes
what it claims. The hostile archives are inspected, never extracted."""

import csv
import importlib.util
import json
import shutil
import stat
import zipfile
from collections import Counter
from pathlib import Path

import defusedxml.ElementTree
import pytest
from defusedxml import DefusedXmlException
from dwca.read import DwCAReader

from bench.darwincore_archive import write_checklist
from biomuseum.languages import canonical
from organisms.darwincore import terms
from organisms.models import ConservationStatus, TaxonRank

DATA = Path(__file__).resolve().parent.parent / "data" / "dwca"
DEMO_RECORDS = Path(__file__).resolve().parents[2] / "organisms" / "demo_data" / "organisms.json"
TAXON_COLUMNS = ("taxonID", "parentNameUsageID", "acceptedNameUsageID", "scientificName",
                 "scientificNameAuthorship", "taxonRank", "taxonomicStatus")  # fmt: skip
SHEET_COLUMNS = ("taxonID", "scientificName", "scientificNameAuthorship", "taxonRank", "taxonomicStatus",
                 "kingdom", "phylum", "class", "order", "family", "genus", "vernacularName", "language")  # fmt: skip
# What the README documents: archive -> {(line, column, problem)}, line 1 being the header.
DOCUMENTED = {
    "unknown-rank": {(4, "taxonRank", "unknown rank")},
    "missing-name": {(9, "scientificName", "empty name")},
    "missing-parent": {(9, "parentNameUsageID", "unresolved")},
    "synonym-cycle": {(10, "acceptedNameUsageID", "synonym cycle"), (11, "acceptedNameUsageID", "synonym cycle")},
    "parent-cycle": {(6, "parentNameUsageID", "parent cycle"), (7, "parentNameUsageID", "parent cycle")},
    "mixed": {(11, "scientificName", "empty name"), (17, "parentNameUsageID", "unresolved")},
}
BAD_ENCODING = (13, "scientificNameAuthorship")


def _load_build():
    spec = importlib.util.spec_from_file_location("dwca_test_data_build", DATA / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()


def _taxon_lines(archive: str) -> list[dict[str, str]]:
    """taxon.txt's rows as {column: value}, read from the zip; the header is line 1, so row i is line i + 2."""
    with zipfile.ZipFile(DATA / f"{archive}.zip") as opened:
        text = opened.read("taxon.txt").decode("utf-8")
    header, *lines = text.splitlines()
    assert tuple(header.split("\t")) == TAXON_COLUMNS
    return [dict(zip(TAXON_COLUMNS, line.split("\t"), strict=True)) for line in lines]


def _problems(rows: list[dict[str, str]]) -> set[tuple[int, str, str]]:
    """Every flaw an importer must report, as (line, column, problem)."""
    found = set()
    by_id = {row["taxonID"]: row for row in rows}
    line_of = {row["taxonID"]: number for number, row in enumerate(rows, start=2)}
    for number, row in enumerate(rows, start=2):
        if row["taxonRank"] not in TaxonRank.values:
            found.add((number, "taxonRank", "unknown rank"))
        if not row["scientificName"]:
            found.add((number, "scientificName", "empty name"))
        if row["taxonomicStatus"] not in ("accepted", "synonym"):
            found.add((number, "taxonomicStatus", "unknown status"))
        for column in ("parentNameUsageID", "acceptedNameUsageID"):
            if row[column] and row[column] not in by_id:
                found.add((number, column, "unresolved"))
        if (row["taxonomicStatus"] == "synonym") != bool(row["acceptedNameUsageID"]):
            found.add((number, "acceptedNameUsageID", "status and accepted name disagree"))
    for column, problem in (("parentNameUsageID", "parent cycle"), ("acceptedNameUsageID", "synonym cycle")):
        for start in rows:
            seen, current = [], start["taxonID"]
            while current in by_id and current not in seen:
                seen.append(current)
                current = by_id[current][column]
            if current in seen:  # a loop: report the rows in it, not those that merely lead into it
                found.update((line_of[taxon], column, problem) for taxon in seen[seen.index(current) :])
    return found


def _dwca_rows(reader: DwCAReader) -> list[dict[str, str]]:
    return [{column: row.data[terms.TERMS[column]] for column in TAXON_COLUMNS} for row in reader]


def _extension(reader: DwCAReader, row_type: str) -> list:
    (extension,) = (file for file in reader.extension_files if file.file_descriptor.type == row_type)
    return list(extension.iter_rows())


def _check_vernacular_names(rows: list) -> None:
    keys = Counter((row.core_id, row.data[terms.TERMS["language"]], row.data[terms.TERMS["vernacularName"]])
                   for row in rows)  # fmt: skip
    assert max(keys.values()) == 1, "a (taxon, language, name) twice"
    preferred = Counter(
        (row.core_id, row.data[terms.TERMS["language"]])
        for row in rows
        if row.data[terms.TERMS["isPreferredName"]] == "true"
    )
    assert max(preferred.values()) == 1, "two preferred names for one taxon and language"
    for _, language, name in keys:
        assert canonical(language) == language
        assert name.strip() == name and name


@pytest.mark.parametrize("source", ["demo-checklist", "demo-checklist.zip"])
def test_demo_checklist_is_a_well_formed_archive(source):
    with DwCAReader(str(DATA / source)) as reader:
        assert reader.descriptor.core.type == terms.TAXON
        rows = _dwca_rows(reader)
        vernacular = _extension(reader, terms.VERNACULAR_NAME)
        distribution = _extension(reader, terms.DISTRIBUTION)
        assert reader.metadata.find("dataset/title").text == "BioMuseum demo species"
    assert _problems(rows) == set()
    ids = [row["taxonID"] for row in rows]
    assert len(ids) == len(set(ids)) == 404
    assert Counter(row["taxonomicStatus"] for row in rows) == {"accepted": 343, "synonym": 61}
    assert {row["taxonRank"] for row in rows} == {"kingdom", "phylum", "class", "order", "family", "genus",
                                                  "species", "subspecies"}  # fmt: skip
    position = {taxon: index for index, taxon in enumerate(ids)}
    late = [row["taxonID"] for row in rows if position.get(row["parentNameUsageID"], -1) > position[row["taxonID"]]]
    assert len(late) == 6  # the Bacteria lineage, upside down: each of its parents comes after its child
    _check_vernacular_names(vernacular)
    assert len(vernacular) == 581
    assert {row.core_id for row in vernacular} | {row.core_id for row in distribution} <= set(ids)
    assert {row.data[terms.TERMS["language"]] for row in vernacular} >= {"en", "fr", "es", "de", "ja", "mi"}
    assert "Kākāpō" in {row.data[terms.TERMS["vernacularName"]] for row in vernacular}
    species = {row["taxonID"] for row in rows if row["taxonRank"] == "species" and row["taxonomicStatus"] == "accepted"}
    assert sorted(row.core_id for row in distribution) == sorted(species)
    assert {row.data[terms.TERMS["threatStatus"]] for row in distribution} <= set(ConservationStatus.values)


def test_demo_checklist_holds_the_demo_species_and_their_classification():
    records = {record["scientific_name"]: record for record in json.loads(DEMO_RECORDS.read_text())}
    with DwCAReader(str(DATA / "demo-checklist")) as reader:
        rows = {row["taxonID"]: row for row in _dwca_rows(reader)}
    accepted_species = {row["scientificName"]: row for row in rows.values()
                        if row["taxonRank"] == "species" and row["taxonomicStatus"] == "accepted"}  # fmt: skip
    assert set(accepted_species) == set(records)
    for name, row in accepted_species.items():
        lineage, parent = {}, row["parentNameUsageID"]
        while parent:
            lineage[rows[parent]["taxonRank"]] = rows[parent]["scientificName"]
            parent = rows[parent]["parentNameUsageID"]
        assert lineage == {rank: records[name][rank] for rank in terms.CLASSIFICATION}, name
    synonyms = {row["scientificName"]: rows[row["acceptedNameUsageID"]]["scientificName"]
                for row in rows.values() if row["taxonomicStatus"] == "synonym"}  # fmt: skip
    assert synonyms["Felis uncia"] == "Panthera uncia"
    assert synonyms["Strigops habroptila"] == "Strigops habroptilus"


@pytest.mark.parametrize("source", ["demo-checklist.csv", "demo-checklist.tsv"])
def test_spreadsheets_are_well_formed(source, tmp_path):
    shutil.copy(DATA / source, tmp_path)  # alone in a directory: a metafile-less archive
    with DwCAReader(str(tmp_path)) as reader:
        assert reader.descriptor is None
        assert reader.core_file.file_descriptor.fields_terminated_by == ("," if source.endswith(".csv") else "\t")
        rows = [row.data for row in reader]
    assert tuple(rows[0]) == SHEET_COLUMNS
    assert len(rows) == (82 if source.endswith(".csv") else 6)
    with (DATA / "demo-checklist.csv").open(newline="", encoding="utf-8") as sheet:
        full = {row["taxonID"]: row for row in csv.DictReader(sheet)}
    for row in rows:
        assert all(row[column] for column in SHEET_COLUMNS if column != "scientificNameAuthorship")
        assert (row["taxonRank"], row["taxonomicStatus"], canonical(row["language"])) == ("species", "accepted", "en")
        assert row == full[row["taxonID"]]


@pytest.mark.parametrize("archive", sorted(DOCUMENTED))
def test_invalid_archive_has_exactly_its_documented_problem(archive):
    assert _problems(_taxon_lines(archive)) == DOCUMENTED[archive]


def test_mixed_archive_is_valid_without_its_two_bad_rows():
    rows = _taxon_lines("mixed")
    bad_lines = {line for line, _, _ in DOCUMENTED["mixed"]}
    good = [row for number, row in enumerate(rows, start=2) if number not in bad_lines]
    assert len(good) == 19
    assert _problems(good) == set()
    with DwCAReader(str(DATA / "mixed.zip")) as reader:
        vernacular = _extension(reader, terms.VERNACULAR_NAME)
    _check_vernacular_names(vernacular)
    assert {row.core_id for row in vernacular} <= {row["taxonID"] for row in good}
    assert len(vernacular) == 14


def test_bad_encoding_archive_is_latin_1_at_the_documented_field():
    with zipfile.ZipFile(DATA / "bad-encoding.zip") as opened:
        meta, data = opened.read("meta.xml"), opened.read("taxon.txt")
    assert b'encoding="UTF-8"' in meta
    with pytest.raises(UnicodeDecodeError) as error:
        data.decode("utf-8")
    lines = data.split(b"\n")
    line, column = BAD_ENCODING
    bad_line_start = sum(len(text) + 1 for text in lines[: line - 1])
    assert bad_line_start <= error.value.start < bad_line_start + len(lines[line - 1])
    fields = lines[line - 1].split(b"\t")
    assert fields[TAXON_COLUMNS.index(column)] == b"(G\xfcldenst\xe4dt, 1770)"
    assert all(text.isascii() for number, text in enumerate(lines, start=1) if number != line)
    assert _problems(
        [dict(zip(TAXON_COLUMNS, text.split("\t"), strict=True)) for text in data.decode("latin-1").splitlines()[1:]]
    ) == set()  # fmt: skip


def _members(path: Path) -> list[tuple[str, int, bytes]]:
    with zipfile.ZipFile(path) as opened:
        return [(info.filename, info.external_attr, opened.read(info)) for info in opened.infolist()]


def test_zips_are_up_to_date_with_their_sources(tmp_path):
    written = build.build(tmp_path, skip=frozenset({"zip-bomb.zip"}))
    assert {path.name for path in written} == {path.name for path in DATA.glob("*.zip")} - {"zip-bomb.zip"}
    for path in written:
        committed = DATA / path.name
        if path.name == "not-a-zip.zip":
            assert committed.read_bytes() == path.read_bytes()
        else:
            assert _members(committed) == _members(path), f"{path.name} is stale: run tests/data/dwca/build.py"
    with zipfile.ZipFile(DATA / "zip-bomb.zip") as bomb:
        others = {info.filename: bomb.read(info) for info in bomb.infolist() if info.filename != "taxon.txt"}
    assert others == {name: data for name, data in build.directory_members("demo-checklist").items()
                      if name != "taxon.txt"}  # fmt: skip


def test_zip_bomb_declares_a_gibibyte_in_a_megabyte():
    with zipfile.ZipFile(DATA / "zip-bomb.zip") as bomb:
        info = bomb.getinfo("taxon.txt")
    assert info.file_size == build.BOMB_SIZE == 1 << 30
    assert info.compress_size < 1_100_000
    assert (DATA / "zip-bomb.zip").stat().st_size < 1_100_000
    assert info.file_size / info.compress_size > 1000


@pytest.mark.parametrize(
    ("archive", "member"), [("path-traversal.zip", "../evil.txt"), ("absolute-path.zip", "/tmp/evil.txt")]
)
def test_escaping_member_names_are_kept_verbatim(archive, member):
    with zipfile.ZipFile(DATA / archive) as opened:
        names = opened.namelist()
    assert member in names
    assert set(names) - {member} == set(build.directory_members("demo-checklist"))


def test_too_many_members():
    with zipfile.ZipFile(DATA / "too-many-members.zip") as opened:
        infos = opened.infolist()
    assert len(infos) == build.MANY_MEMBERS + 5 == 5005
    assert max(info.file_size for info in infos if info.filename.startswith("notes/")) == 2


def test_symlink_member_points_at_etc_passwd():
    with zipfile.ZipFile(DATA / "symlink-member.zip") as opened:
        info = opened.getinfo("taxon.txt")
        target = opened.read(info)
    assert info.create_system == 3
    assert stat.S_ISLNK(info.external_attr >> 16)
    assert target == b"/etc/passwd"


def test_not_a_zip():
    path = DATA / "not-a-zip.zip"
    assert not zipfile.is_zipfile(path)
    assert not path.read_bytes().startswith(b"PK")


@pytest.mark.parametrize(("archive", "declaration"), [("xxe-meta.zip", b'<!ENTITY xxe SYSTEM "file:///etc/passwd">'),
                                                      ("billion-laughs.zip", b"<!ENTITY lol9 ")])  # fmt: skip
def test_hostile_metafiles_declare_entities_a_safe_parser_refuses(archive, declaration):
    with zipfile.ZipFile(DATA / archive) as opened:
        assert opened.getinfo("meta.xml").file_size < 10_000
        meta = opened.read("meta.xml")
    assert declaration in meta
    assert b"<location>&xxe;</location>" in meta or b"&lol9;</location>" in meta
    with pytest.raises(DefusedXmlException):
        defusedxml.ElementTree.fromstring(meta)
    assert _problems(_taxon_lines(archive.removesuffix(".zip"))) == set()  # the data file itself is fine


def test_oversized_field_is_a_million_characters_at_line_11():
    with zipfile.ZipFile(DATA / "oversized-field.zip") as opened:
        assert opened.getinfo("taxon.txt").file_size < 2_000_000
        lines = opened.read("taxon.txt").decode("utf-8").splitlines()
    fields = lines[10].split("\t")
    assert fields[0] == "t8"
    assert len(fields[TAXON_COLUMNS.index("scientificName")]) == 1_000_000
    assert max(len(line) for number, line in enumerate(lines, start=1) if number != 11) < 200


def test_bench_checklist_is_an_archive_with_the_counts_asked_for(tmp_path):
    path = tmp_path / "checklist.zip"
    written = write_checklist(path, taxa=500, names=1000, seed=7)
    with DwCAReader(str(path)) as reader:
        rows = _dwca_rows(reader)
        vernacular = _extension(reader, terms.VERNACULAR_NAME)
        distribution = _extension(reader, terms.DISTRIBUTION)
    assert len(rows) == written.taxa == 500
    assert _problems(rows) == set()
    statuses = Counter(row["taxonomicStatus"] for row in rows)
    assert statuses["synonym"] == written.synonyms > 0
    assert len(vernacular) == written.names == 1000
    _check_vernacular_names(vernacular)
    assert {row.data[terms.TERMS["language"]] for row in vernacular} == {"en", "fr", "es", "de", "pt-BR", "ja"}
    species = [row["taxonID"] for row in rows if row["taxonRank"] == "species" and not row["acceptedNameUsageID"]]
    assert sorted(row.core_id for row in distribution) == sorted(species)
    assert len(species) == written.species
    assert {row.data[terms.TERMS["threatStatus"]] for row in distribution} <= set(ConservationStatus.values)


def test_bench_checklist_is_the_same_for_a_seed(tmp_path):
    paths = [tmp_path / "a.zip", tmp_path / "b.zip", tmp_path / "c.zip"]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        write_checklist(path, taxa=300, names=600, seed=seed)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
