"""Reading a checklist's taxa and checking them as a whole before anything is written.

The core file is read once into one small record per taxon (a few hundred bytes: ids, names, rank, status,
and an organism's texts from the extensions), so the tree can be checked in any row order: parents that come
after their children, parents named only by the classification columns, cycles. Vernacular names, the bulk
of a checklist, are not held: they are checked here in one pass and written in batches by .load.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from biomuseum import languages

from ..models import RANK_LEVEL, ConservationStatus, Taxon, TaxonomicStatus, TaxonRank
from . import terms
from .archive import ArchiveRefused, Checklist, Row
from .report import Problem, Report

RANK_ALIASES = {"sp.": "species", "sp": "species", "ssp.": "subspecies", "subsp.": "subspecies",
                "var.": "variety", "gen.": "genus", "fam.": "family", "ord.": "order", "cl.": "class",
                "infraspecies": "subspecies", "form": "variety"}  # fmt: skip
THREAT_STATUSES = {
    **{code.lower(): code for code in ConservationStatus.values},
    **{label.lower(): code for code, label in ConservationStatus.choices},
    "extinct in the wild": "EW", "extinct_in_the_wild": "EW", "critically_endangered": "CR",
    "near_threatened": "NT", "least_concern": "LC", "data_deficient": "DD", "not_evaluated": "NE",
}  # fmt: skip
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}
NOT_IN_CORE = "no taxon of the core file has this taxonID"
UNKNOWN_ID = "no taxon in the file or the catalogue has this taxonID"
CLOSE_SPELLING = 0.85  # difflib's ratio: "Panthera uncai" to "Panthera uncia" is 0.93; Panthera leo to onca 0.8
MAX_NAME = Taxon._meta.get_field("scientific_name").max_length
MAX_ID = Taxon._meta.get_field("source_id").max_length


@dataclass(slots=True, eq=False)
class TaxonRow:
    """One taxon of the checklist, as read and then resolved: `parent` and `accepted` are other rows' keys."""

    key: str
    file: str
    line: int
    name: str
    authorship: str
    rank: str
    status: str
    parent_key: str | None = None
    accepted_key: str | None = None
    classification: tuple[tuple[str, str], ...] = ()
    implied: bool = False  # a higher taxon only named in the classification columns
    ids: dict = field(default_factory=dict)  # gbif_key, inaturalist_id, col_id
    texts: dict = field(default_factory=dict)  # an organism's fields: conservation_status, distribution, ...
    depth: int = 0
    pk: int | None = None
    path: str = ""

    def problem(self, column: str, reason: str, value: str = "") -> Problem:
        return Problem(self.file, self.line, column, reason, value)


class Plan:
    """The checklist's taxa by key, checked: what .load writes, rows with problems left out."""

    def __init__(self, checklist: Checklist, report: Report):
        self.checklist = checklist
        self.report = report
        self.rows: dict[str, TaxonRow] = {}
        self.core_names: list[tuple[str, Row]] = []  # vernacular names given on core rows (a spreadsheet)
        self.rejected: set[str] = set()
        self.known: dict[str, tuple[int, str, str, int]] = {}  # keys of taxa already in the database

    def reject(self, row: TaxonRow, problem: Problem) -> None:
        if row.key not in self.rejected:
            self.rejected.add(row.key)
            self.report.reject(problem)

    # --- Reading ------------------------------------------------------------------------------------------

    def read(self) -> None:
        core = self.checklist.core
        if "taxonID" not in core.names and not core.has_key:
            raise ArchiveRefused(f"{core.name} has no taxonID column: imports match taxa on it.")
        count = 0
        for row in core.rows():
            count += 1
            self._read_core_row(row)
        self.report.rows[core.name] = count
        self._read_identifiers()
        self._read_texts()

    def _read_core_row(self, row: Row) -> None:
        values = row.values
        key = values.get("taxonID") or values.get("_key", "")
        problem = _first_problem(row, values, key)
        taxon = TaxonRow(
            key=key or f"line {row.line}",
            file=row.file,
            line=row.line,
            name=values.get("scientificName", ""),
            authorship=values.get("scientificNameAuthorship", ""),
            rank=RANK_ALIASES.get(values.get("taxonRank", "").lower(), values.get("taxonRank", "").lower()),
            status=TaxonomicStatus.ACCEPTED,
            parent_key=values.get("parentNameUsageID") or None,
            classification=tuple(
                (rank, values[column]) for column, rank in terms.CLASSIFICATION.items() if values.get(column)
            ),
        )
        status, accepted = values.get("taxonomicStatus", "").lower(), values.get("acceptedNameUsageID", "")
        if status in terms.SYNONYM_STATUSES or (not status and accepted and accepted != key):
            taxon.status, taxon.accepted_key = TaxonomicStatus.SYNONYM, accepted or None
            taxon.parent_key = None  # a synonym has no place in the tree (GBIF gives it its accepted's parent)
        elif status and status not in terms.ACCEPTED_STATUSES and problem is None:
            problem = taxon.problem("taxonomicStatus", "not a taxonomic status BioMuseum knows", status)
        _identifier_in_key(taxon)
        if "threatStatus" in values or "locality" in values:  # a spreadsheet with a distribution on each row
            _add_distribution(taxon, row, values, self.report)
        earlier = self.rows.get(taxon.key)
        if earlier is not None:
            if (earlier.name, earlier.rank, earlier.parent_key, earlier.accepted_key) != (
                taxon.name, taxon.rank, taxon.parent_key, taxon.accepted_key,
            ):  # fmt: skip
                self.reject(taxon, taxon.problem("taxonID", f"also on line {earlier.line}, with other values", key))
        else:
            self.rows[taxon.key] = taxon
        if problem is not None:
            self.reject(taxon, problem)
        if values.get("vernacularName"):
            self.core_names.append((taxon.key, row))
        if taxon.status == TaxonomicStatus.SYNONYM and not taxon.accepted_key:
            self.reject(taxon, taxon.problem("acceptedNameUsageID", "a synonym needs its accepted taxon's taxonID"))

    def _read_identifiers(self) -> None:
        for taxon, row in self._extension_rows(terms.IDENTIFIER):
            found = _identifier(row.values.get("identifier", ""))
            if found:
                taxon.ids.setdefault(*found)

    def _read_texts(self) -> None:
        for taxon, row in self._extension_rows(terms.DISTRIBUTION):
            _add_distribution(taxon, row, row.values, self.report)
        for taxon, row in self._extension_rows(terms.DESCRIPTION):
            field_name = terms.DESCRIPTION_TYPES.get(row.values.get("type", "").lower() or "general")
            text = row.values.get("description", "")
            if field_name and text:
                _append_text(taxon, field_name, text)

    def _extension_rows(self, row_type: str) -> Iterator[tuple[TaxonRow, Row]]:
        """The rows of one extension (if the checklist has it) with the taxon each belongs to, counted."""
        extension = self.checklist.extension(row_type)
        if extension is None:
            return
        count = 0
        for row in extension.rows():
            count += 1
            taxon = self._owner(row)
            if taxon is not None:
                yield taxon, row
        self.report.rows[extension.name] = count

    def _owner(self, row: Row) -> TaxonRow | None:
        """The taxon an extension row belongs to; a row naming no taxon of the core file is a problem."""
        key = row.values.get("_key", "")
        taxon = self.rows.get(key)
        if taxon is None:
            self.report.reject(Problem(row.file, row.line, "taxonID", NOT_IN_CORE, key))
        return taxon

    # --- Checking -----------------------------------------------------------------------------------------

    def check(self) -> None:
        """Resolve every accepted row's parent (its parentNameUsageID, else its classification columns) and every
        synonym's accepted taxon; refuse unknown references, ranks that climb, and cycles; then leave out the
        rows that hang from a rejected one."""
        self._load_known([*self._references()])
        self._imply_parents()
        self._find_cycles()
        for row in list(self.rows.values()):
            if row.key in self.rejected:
                continue
            if row.status == TaxonomicStatus.ACCEPTED:
                self._check_parent(row)
            else:
                self._check_accepted(row)
        self._check_taken_ids()
        self._reject_dependents()
        self._depths()
        self._unique_organism_names()

    def _references(self):
        for row in self.rows.values():
            for key in (row.parent_key, row.accepted_key):
                if key and key not in self.rows:
                    yield key

    def _load_known(self, keys: list[str]) -> None:
        """Taxa outside the file that rows point at by taxonID: imported earlier, so in the database."""
        for start in range(0, len(keys), 2000):
            found = Taxon.objects.filter(source_id__in=keys[start : start + 2000])
            for pk, source_id, rank, status, depth in found.values_list("pk", "source_id", "rank", "status", "depth"):
                self.known[source_id] = (pk, rank, status, depth)

    def _imply_parents(self) -> None:
        """A row without parentNameUsageID hangs from the nearest rank its classification columns name: a row of
        the file with that rank and name when there is exactly one, else a taxon implied by the columns."""
        by_name: dict[tuple[str, str], list[str]] = {}
        for row in self.rows.values():
            if row.status == TaxonomicStatus.ACCEPTED:
                by_name.setdefault((row.rank, row.name), []).append(row.key)
        for row in list(self.rows.values()):
            if row.status != TaxonomicStatus.ACCEPTED or row.parent_key or not row.classification:
                continue
            lineage = [(rank, name) for rank, name in row.classification if (rank, name) != (row.rank, row.name)]
            lineage = [(rank, name) for rank, name in lineage if RANK_LEVEL[rank] < RANK_LEVEL.get(row.rank, 99)]
            row.parent_key = self._implied(lineage, by_name, row)

    def _implied(self, lineage: list[tuple[str, str]], by_name: dict, child: TaxonRow) -> str | None:
        if not lineage:
            return None
        rank, name = lineage[-1]
        matches = by_name.get((rank, name), [])
        if len(matches) == 1:
            return matches[0]
        key = "implied:" + "/".join(f"{rank}={name}" for rank, name in lineage)
        if key not in self.rows:
            self.rows[key] = TaxonRow(
                key=key, file=child.file, line=child.line, name=name, authorship="", rank=rank,
                status=TaxonomicStatus.ACCEPTED, implied=True,
                parent_key=self._implied(lineage[:-1], by_name, child),
            )  # fmt: skip
        return key

    def _check_parent(self, row: TaxonRow) -> None:
        if row.rank not in RANK_LEVEL:
            return
        key = row.parent_key
        if key is None:
            return
        parent = self.rows.get(key)
        if parent is not None:
            parent_rank, parent_status = parent.rank, parent.status
        elif key in self.known:
            _, parent_rank, parent_status, _ = self.known[key]
        else:
            self.reject(row, row.problem("parentNameUsageID", UNKNOWN_ID, key))
            return
        if parent_status != TaxonomicStatus.ACCEPTED:
            self.reject(row, row.problem("parentNameUsageID", "the parent is a synonym: it cannot hold taxa", key))
        elif parent_rank in RANK_LEVEL and RANK_LEVEL[parent_rank] >= RANK_LEVEL[row.rank]:
            reason = f"a {row.rank} cannot sit under a {parent_rank}"
            self.reject(row, row.problem("parentNameUsageID", reason, key))

    def _check_accepted(self, row: TaxonRow) -> None:
        key = row.accepted_key
        if key not in self.rows and key not in self.known:
            self.reject(row, row.problem("acceptedNameUsageID", UNKNOWN_ID, key))
            return
        seen = [row.key]
        while key in self.rows and self.rows[key].status == TaxonomicStatus.SYNONYM:  # a synonym of a synonym
            if key in seen:
                self.reject(row, row.problem("acceptedNameUsageID", "synonyms lead to each other in a cycle: "
                                             + " -> ".join([*seen, key]), row.accepted_key))  # fmt: skip
                return
            seen.append(key)
            key = self.rows[key].accepted_key
        if key in self.known and self.known[key][2] != TaxonomicStatus.ACCEPTED:
            self.reject(row, row.problem("acceptedNameUsageID", "it leads to a synonym", row.accepted_key))
            return
        row.accepted_key = key  # the accepted taxon at the end of the chain

    def _find_cycles(self) -> None:
        done: set[str] = set()
        for row in self.rows.values():
            trail: list[str] = []
            key: str | None = row.key
            while key in self.rows and key not in done:
                if key in trail:
                    cycle = trail[trail.index(key) :]
                    for member in cycle:
                        taxon = self.rows[member]
                        reason = "parents lead to each other in a cycle: " + " -> ".join([*cycle, key])
                        self.reject(taxon, taxon.problem("parentNameUsageID", reason, taxon.parent_key or ""))
                    break
                trail.append(key)
                key = self.rows[key].parent_key if self.rows[key].status == TaxonomicStatus.ACCEPTED else None
            done.update(trail)

    def _check_taken_ids(self) -> None:
        """A taxonID the catalogue has for a taxon of another name belongs to another checklist that happens to
        use the same ids (taxonIDs are unique within one dataset only, and many datasets number their rows),
        unless the new name is a correction: same rank, same parent, a spelling close to the old one. Refused
        otherwise, rather than that taxon renamed: a new name under an old id is a new taxonID in a checklist
        (the old name becoming its synonym)."""
        keys = [row.key for row in self.rows.values() if not row.implied and row.key not in self.rejected]
        for start in range(0, len(keys), 2000):
            found = Taxon.objects.filter(source_id__in=keys[start : start + 2000]).values_list(
                "source_id", "scientific_name", "rank", "parent__source_id"
            )
            for source_id, name, rank, parent in found:
                row = self.rows[source_id]
                if name == row.name or _a_correction(row, name, rank, parent):
                    continue
                reason = (
                    f"the catalogue's taxon with this taxonID is {name} ({rank}): another checklist's id, or a new "
                    "name (which needs a taxonID of its own)?"
                )
                self.reject(row, row.problem("taxonID", reason, source_id))

    def _reject_dependents(self) -> None:
        """A row under a rejected parent, or a synonym of a rejected taxon, cannot be placed either."""
        changed = True
        while changed:
            changed = False
            for row in self.rows.values():
                if row.key in self.rejected:
                    continue
                for column, key in (("parentNameUsageID", row.parent_key), ("acceptedNameUsageID", row.accepted_key)):
                    if key and key in self.rejected:
                        self.reject(row, row.problem(column, f"the taxon it names ({key}) was rejected", key))
                        changed = True
                        break

    def _depths(self) -> None:
        for row in self.accepted():
            chain, key = [], row.key
            while key in self.rows and not self.rows[key].depth and key not in chain:
                chain.append(key)
                key = self.rows[key].parent_key
            base = (self.rows[key].depth + 1 if key in self.rows else self.known[key][3] + 1) if key else 0
            for offset, member in enumerate(reversed(chain)):
                self.rows[member].depth = base + offset
        # depth 0 is both "a root" and "not computed yet" above: roots stay 0, the rest were set from them

    def _unique_organism_names(self) -> None:
        """Organisms' scientific names are unique: two accepted species of one name (in two kingdoms) cannot both
        have a record."""
        seen: dict[str, TaxonRow] = {}
        for row in self.accepted():
            if row.rank in (TaxonRank.SPECIES, TaxonRank.SUBSPECIES, TaxonRank.VARIETY):
                first = seen.setdefault(row.name, row)
                if first is not row:
                    reason = f"line {first.line} names another {first.rank} {row.name}: an organism's name is unique"
                    self.reject(row, row.problem("scientificName", reason, row.name))

    # --- Results ------------------------------------------------------------------------------------------

    def accepted(self) -> list[TaxonRow]:
        return [r for r in self.rows.values() if r.status == TaxonomicStatus.ACCEPTED and r.key not in self.rejected]

    def synonyms(self) -> list[TaxonRow]:
        return [r for r in self.rows.values() if r.status == TaxonomicStatus.SYNONYM and r.key not in self.rejected]

    def by_level(self) -> list[list[TaxonRow]]:
        levels: dict[int, list[TaxonRow]] = {}
        for row in self.accepted():
            levels.setdefault(row.depth, []).append(row)
        return [levels[depth] for depth in sorted(levels)]


def _a_correction(row: TaxonRow, name: str, rank: str, parent: str | None) -> bool:
    """Whether `row` renames the taxon it shares a taxonID with (`name`, `rank`, parent's taxonID) in place: a
    spelling corrected, not another taxon."""
    same_parent = parent == row.parent_key or (parent is None and (row.parent_key or "").startswith("implied:"))
    close = SequenceMatcher(None, name.lower(), row.name.lower()).ratio() >= CLOSE_SPELLING
    return rank == row.rank and same_parent and close


def _first_problem(row: Row, values: dict[str, str], key: str) -> Problem | None:
    for column, value in values.items():
        if "\ufffd" in value:
            return Problem(row.file, row.line, column, "not valid text in the file's encoding (UTF-8?)", value)
    if not key:
        return Problem(row.file, row.line, "taxonID", "missing")
    if len(key) > MAX_ID:
        return Problem(row.file, row.line, "taxonID", f"longer than {MAX_ID} characters", key)
    name = values.get("scientificName", "")
    if not name:
        return Problem(row.file, row.line, "scientificName", "missing")
    for column in ("scientificName", "scientificNameAuthorship", *terms.CLASSIFICATION):
        if len(values.get(column, "")) > MAX_NAME:
            return Problem(row.file, row.line, column, f"longer than {MAX_NAME} characters", values[column][:80])
    rank = values.get("taxonRank", "").lower()
    if not rank:
        return Problem(row.file, row.line, "taxonRank", "missing")
    if RANK_ALIASES.get(rank, rank) not in RANK_LEVEL:
        return Problem(row.file, row.line, "taxonRank", "not a rank BioMuseum knows (kingdom ... variety)", rank)
    return None


def _add_distribution(taxon: TaxonRow, row: Row, values: dict[str, str], report: Report) -> None:
    threat = values.get("threatStatus", "").strip()
    if threat:
        code = THREAT_STATUSES.get(threat.lower().replace("-", " "))
        if code is None:
            report.reject(Problem(row.file, row.line, "threatStatus", "not an IUCN Red List category", threat))
        else:
            taxon.texts.setdefault("conservation_status", code)
    locality = values.get("locality", "")
    if locality:
        _append_text(taxon, "distribution", locality, separator="; ")


def _append_text(taxon: TaxonRow, field_name: str, text: str, separator: str = "\n\n") -> None:
    earlier = taxon.texts.get(field_name)
    if earlier is None:
        taxon.texts[field_name] = text
    elif text not in earlier.split(separator):
        taxon.texts[field_name] = f"{earlier}{separator}{text}"


def _identifier(value: str) -> tuple[str, object] | None:
    """(Taxon field, value) for an external id written as its URL, if it is one."""
    for field_name, prefix in terms.IDENTIFIER_URLS.items():
        if value.startswith(prefix):
            rest = value[len(prefix) :].strip("/")
            if field_name == "col_id":
                return (field_name, rest) if rest and len(rest) <= 20 else None
            return (field_name, int(rest)) if rest.isdigit() else None
    return None


def _identifier_in_key(taxon: TaxonRow) -> None:
    found = _identifier(taxon.key)
    if found:
        taxon.ids.setdefault(*found)


def canonical_language(value: str) -> str | None:
    try:
        return languages.canonical(value)
    except languages.MalformedTag:
        return None


def is_true(value: str) -> bool | None:
    value = value.strip().lower()
    return True if value in TRUE else False if value in FALSE else None
