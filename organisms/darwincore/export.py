"""The published catalogue as a Darwin Core Archive, written as a stream.

Which rows (docs/DARWIN_CORE.md): the taxa of published organisms, all their ancestors and the synonyms of
those taxa in taxon.txt (the core); their vernacular names, external identifiers, and one distribution row
and up to two description rows per published organism in the extensions.

The archive is never held in memory: each data file is one query walked in chunks and written row by row
into the zip member as it is read. What is held is the set of exported taxon ids and, for the taxa that
other rows point at (parents, accepted names), their classification.

Rows come in one stable order, so two exports of the same catalogue hold the same rows in the same order and,
given the same `exported_at`, the same bytes: accepted taxa by depth (parents before children), scientific
name and id, then synonyms by scientific name and id; extension rows follow their core row's order. The only
date is the export date, in eml.xml and the zip members' timestamps.
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.db.models import Q

from ..models import Organism, Taxon, TaxonomicStatus, VernacularName
from . import terms

CHUNK_SIZE = 2000  # rows per database round trip

# One file per row type: its name, its row type, and its columns after the id (core) or coreid (extensions).
TAXON_COLUMNS = (
    "taxonID", "parentNameUsageID", "acceptedNameUsageID", "taxonomicStatus", "taxonRank", "scientificName",
    "scientificNameAuthorship", *terms.CLASSIFICATION,
)  # fmt: skip
FILES = {
    "taxon.txt": (terms.TAXON, TAXON_COLUMNS),
    "vernacularname.txt": (terms.VERNACULAR_NAME, ("vernacularName", "language", "locality", "isPreferredName")),
    "distribution.txt": (terms.DISTRIBUTION, ("threatStatus", "locality")),
    "description.txt": (terms.DESCRIPTION, ("type", "description", "language")),
    "identifier.txt": (terms.IDENTIFIER, ("identifier",)),
}
# Quoted only where a value needs it (a tab, a line break or a quote inside; quotes doubled): the text guide's
# fieldsEnclosedBy, so curators' paragraphs survive exactly, and every other value stays bare.
DIALECT = {"delimiter": "\t", "quotechar": '"', "quoting": csv.QUOTE_MINIMAL, "lineterminator": "\n"}

# The core's order; extension rows follow it through their taxon (`taxon__` + each).
TAXON_ORDER = ("status", "depth", "scientific_name", "id")
RANK_COLUMN = {rank: index for index, rank in enumerate(terms.CLASSIFICATION.values())}


def taxon_id(pk: int, source_id: str | None) -> str:
    """The taxonID a taxon is exported with: the one it was imported with, so ids survive a round trip."""
    return source_id or f"{terms.LOCAL_ID_PREFIX}{pk}"


@dataclass
class Selection:
    """The taxa an export holds, and which of them other rows point at."""

    accepted: set[int]
    synonyms: set[int]
    referenced: set[int]  # parents and accepted names of exported taxa

    @property
    def taxa(self) -> set[int]:
        return self.accepted | self.synonyms


def select_taxa() -> Selection:
    """Published organisms' taxa and every ancestor (their paths), then the synonyms of all of those."""
    accepted: set[int] = set()
    referenced: set[int] = set()
    paths = Taxon.objects.filter(organisms__is_published=True, status=TaxonomicStatus.ACCEPTED)
    for path in paths.values_list("path", flat=True).distinct().iterator(chunk_size=CHUNK_SIZE):
        ids = [int(part) for part in path.strip("/").split("/") if part]
        accepted.update(ids)
        referenced.update(ids[:-1])
    synonyms: set[int] = set()
    found = Taxon.objects.filter(status=TaxonomicStatus.SYNONYM).values_list("id", "accepted_id")
    for pk, accepted_id in found.iterator(chunk_size=CHUNK_SIZE):
        if accepted_id in accepted:
            synonyms.add(pk)
            referenced.add(accepted_id)
    return Selection(accepted, synonyms, referenced)


def write_archive(stream: IO[bytes], *, exported_at: datetime) -> dict[str, int]:
    """Write the published catalogue to `stream` (seekable or not) as a zip; the rows written per data file."""
    selection = select_taxa()
    stamp = exported_at.astimezone(UTC).timetuple()[:6]
    counts = {}
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def member(name: str) -> IO[bytes]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            return archive.open(info, "w")

        with member("meta.xml") as out:
            out.write(meta_xml().encode())
        with member("eml.xml") as out:
            out.write(eml_xml(exported_at).encode())
        rows = {
            "taxon.txt": _taxon_rows(selection),
            "vernacularname.txt": _vernacular_rows(selection.taxa),
            "distribution.txt": _distribution_rows(selection.accepted),
            "description.txt": _description_rows(selection.accepted),
            "identifier.txt": _identifier_rows(selection.taxa),
        }
        for name, (_, columns) in FILES.items():
            with member(name) as out:
                header = columns if name == "taxon.txt" else ("coreid", *columns)  # the core's id is its taxonID
                counts[name] = _write_rows(out, header, rows[name])
    return counts


def _write_rows(out: IO[bytes], header: tuple[str, ...], rows: Iterable[tuple]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text, **DIALECT)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    text.flush()
    text.detach()  # the zip member is closed by its own `with`
    return count


def _taxon_rows(selection: Selection) -> Iterator[tuple]:
    # The classification of the taxa other rows point at. Parents are written before their children (depth
    # order) and accepted names before synonyms (status order), so each is known in time; the ids they are
    # pointed at by come with the row itself, so a taxon moved while the export runs cannot break it.
    classifications: dict[int, tuple[str, ...]] = {}
    empty = ("",) * len(RANK_COLUMN)
    fields = ("id", "source_id", "parent_id", "parent__source_id", "accepted_id", "accepted__source_id", "status",
              "rank", "scientific_name", "authorship")  # fmt: skip
    found = Taxon.objects.order_by(*TAXON_ORDER).values_list(*fields)
    wanted = selection.taxa
    for row in found.iterator(CHUNK_SIZE):
        pk, source_id, parent_id, parent_source, accepted_id, accepted_source, status, rank, name, authorship = row
        if pk not in wanted:
            continue
        if status == TaxonomicStatus.SYNONYM:
            parent_taxon_id = ""
            accepted_taxon_id = taxon_id(accepted_id, accepted_source)
            classification = classifications.get(accepted_id, empty)  # the accepted taxon's, as GBIF gives it
        else:
            parent_taxon_id = taxon_id(parent_id, parent_source) if parent_id else ""
            accepted_taxon_id = ""  # GBIF's convention: only a synonym names its accepted taxon
            classification = classifications.get(parent_id, empty)
            if rank in RANK_COLUMN:  # a genus names itself in the genus column, as GBIF's checklists do
                classification = tuple(name if i == RANK_COLUMN[rank] else v for i, v in enumerate(classification))
            if pk in selection.referenced:
                classifications[pk] = classification
        yield (taxon_id(pk, source_id), parent_taxon_id, accepted_taxon_id, status, rank, name, authorship,
               *classification)  # fmt: skip


def _vernacular_rows(taxa: set[int]) -> Iterator[tuple]:
    order = [f"taxon__{field}" for field in TAXON_ORDER] + ["language", "-preferred", "name", "id"]
    fields = ("taxon_id", "taxon__source_id", "name", "language", "region", "preferred")
    found = VernacularName.objects.order_by(*order).values_list(*fields)
    for pk, source_id, name, language, region, preferred in found.iterator(CHUNK_SIZE):
        if pk in taxa:
            yield (taxon_id(pk, source_id), name, language, region, "true" if preferred else "false")


def _published_organisms(taxa: set[int], *fields: str) -> Iterator[tuple]:
    order = [f"taxon__{field}" for field in TAXON_ORDER] + ["id"]
    found = Organism.objects.published().filter(taxon__isnull=False).order_by(*order)
    for row in found.values_list("taxon_id", "taxon__source_id", *fields).iterator(CHUNK_SIZE):
        if row[0] in taxa:
            yield (taxon_id(row[0], row[1]), *row[2:])


def _distribution_rows(taxa: set[int]) -> Iterator[tuple]:
    # The IUCN code as stored, NE included: GBIF's threat status vocabulary has every one of them.
    yield from _published_organisms(taxa, "conservation_status", "distribution")


def _description_rows(taxa: set[int]) -> Iterator[tuple]:
    language = settings.CATALOGUE_DEFAULT_LANGUAGE  # what curators write the catalogue's texts in
    kinds = list(terms.DESCRIPTION_TYPES.items())
    for core_id, *texts in _published_organisms(taxa, *(field for _, field in kinds)):
        for (kind, _), text in zip(kinds, texts, strict=True):
            if text.strip():
                yield (core_id, kind, text, language)


def _identifier_rows(taxa: set[int]) -> Iterator[tuple]:
    external = list(terms.IDENTIFIER_URLS)
    has_one = Q()
    for field in external:
        has_one |= Q(**{f"{field}__isnull": False})
    found = Taxon.objects.filter(has_one).order_by(*TAXON_ORDER).values_list("id", "source_id", *external)
    for pk, source_id, *values in found.iterator(CHUNK_SIZE):
        if pk not in taxa:
            continue
        for field, value in zip(external, values, strict=True):
            if value not in (None, ""):
                yield (taxon_id(pk, source_id), f"{terms.IDENTIFIER_URLS[field]}{value}")


def meta_xml() -> str:
    """The text guide's descriptor: one file per row type, the core keyed by taxonID, extensions by coreid."""
    attributes = (
        'encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="&quot;" '
        'ignoreHeaderLines="1"'
    )
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">']  # fmt: skip
    for name, (row_type, columns) in FILES.items():
        tag = "core" if row_type == terms.TAXON else "extension"
        key = "id" if tag == "core" else "coreid"
        parts.append(f'  <{tag} {attributes} rowType="{row_type}">')
        parts.append(f"    <files><location>{name}</location></files>")
        parts.append(f'    <{key} index="0"/>')
        offset = 0 if tag == "core" else 1
        for index, column in enumerate(columns, start=offset):
            parts.append(f'    <field index="{index}" term="{terms.TERMS[column]}"/>')
        parts.append(f"  </{tag}>")
    parts.append("</archive>\n")
    return "\n".join(parts)


def eml_xml(exported_at: datetime) -> str:
    """EML 2.1.1 (GBIF's profile): who publishes the checklist, and when it was exported."""
    museum = escape(settings.MUSEUM_NAME)
    language = escape(settings.CATALOGUE_DEFAULT_LANGUAGE)
    moment = exported_at.astimezone(UTC)
    package = quoteattr(f"{settings.PUBLIC_BASE_URL}/api/v1/exports/dwca.zip")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="eml://ecoinformatics.org/eml-2.1.1 http://rs.gbif.org/schema/eml-gbif-profile/1.1/eml.xsd"
  packageId={package} system="http://gbif.org" scope="system" xml:lang="{language}">
  <dataset>
    <title>{museum}: published catalogue</title>
    <creator><organizationName>{museum}</organizationName></creator>
    <metadataProvider><organizationName>{museum}</organizationName></metadataProvider>
    <pubDate>{moment.date().isoformat()}</pubDate>
    <language>{language}</language>
    <abstract><para>The species {museum} publishes, with their taxonomy, vernacular names, conservation status and descriptions.</para></abstract>
    <contact><organizationName>{museum}</organizationName></contact>
  </dataset>
  <additionalMetadata><metadata><gbif><dateStamp>{moment.isoformat()}</dateStamp></gbif></metadata></additionalMetadata>
</eml:eml>
"""  # noqa: E501
