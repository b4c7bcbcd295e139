"""Writing a checked checklist: taxa a level at a time, then synonyms, vernacular names and organisms, each in
batches with a few queries per batch, inside the caller's transaction.

A taxon is matched by its taxonID (`source_id`), then by an external id, then by its place in the tree
(parent, rank and name): importing a checklist of taxa the catalogue already has adopts them. Text changes are
written in bulk; a taxon that moves, changes rank, name or status goes through taxon_update, so the organisms
beneath follow as they do for a curator's edit. Nothing here sends signals: the caller bumps the cache once.
"""

from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from biomuseum.bulk import set_column, set_columns
from biomuseum.languages import default_language
from biomuseum.revisions import record_bulk, record_rows
from biomuseum.slugs import unique_slug

from ..models import ORGANISM_RANKS, ConservationStatus, Organism, Taxon, TaxonomicStatus, VernacularName
from ..services.lineage import tree_fields
from ..services.taxa import taxon_update
from .names import name_rows
from .plan import Plan, TaxonRow
from .report import Problem, Report

BATCH = 2000
NAME_BATCH = 5000
ID_FIELDS = ("gbif_key", "inaturalist_id", "col_id")
ORGANISM_TEXTS = ("conservation_status", "distribution", "habitat", "description")

Progress = Callable[[str, int, int], None]


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Loader:
    def __init__(self, plan: Plan, report: Report, *, user: AbstractBaseUser | None, publish: bool,
                 prune: bool, progress: Progress | None = None):  # fmt: skip
        self.plan = plan
        self.report = report
        self.user = user
        self.publish = publish
        self.prune = prune
        self.progress = progress or (lambda stage, done, total: None)
        self.paths: dict[int, str] = {}
        self.late: list[Problem] = []  # problems only the database shows (an id another taxon holds)

    def run(self) -> None:
        self._accepted()
        self._synonyms()
        self._names()
        self._organisms()
        if self.prune:
            self._withdraw_absent()

    def _late(self, row: TaxonRow, column: str, reason: str, value: str = "") -> None:
        problem = row.problem(column, reason, value)
        self.late.append(problem)
        self.report.reject(problem)

    # --- Taxa ---------------------------------------------------------------------------------------------

    def _path(self, pk: int) -> str:
        if pk not in self.paths:
            self.paths.update(Taxon.objects.filter(pk=pk).values_list("pk", "path"))
        return self.paths[pk]

    def _parent_pk(self, row: TaxonRow) -> int | None:
        if row.parent_key is None:
            return None
        parent = self.plan.rows.get(row.parent_key)
        return parent.pk if parent is not None else self.plan.known[row.parent_key][0]

    def _accepted(self) -> None:
        levels = self.plan.by_level()
        total, done = sum(map(len, levels)), 0
        for level in levels:
            for batch in _batches(level, BATCH):
                self._accepted_batch(batch)
                done += len(batch)
                self.progress("taxa", done, total)

    def _accepted_batch(self, batch: list[TaxonRow]) -> None:
        self._upsert_batch(batch, {row.key: self._parent_pk(row) for row in batch}, TaxonomicStatus.ACCEPTED)

    def _upsert_batch(self, batch: list[TaxonRow], parents: dict[str, int | None], status: str) -> None:
        """The batch's taxa matched in the catalogue and updated, the others created."""
        existing = self._match(batch, parents, status)
        for row in batch:
            if row.key in existing:
                self._update_taxon(row, existing[row.key], parent_id=parents.get(row.key),
                                   accepted_id=self._accepted_pk(row))  # fmt: skip
        self._create_taxa([row for row in batch if row.key not in existing], parents)

    def _match(self, batch: list[TaxonRow], parents: dict, status: str) -> dict[str, Taxon]:
        """The taxa already in the catalogue for the rows of `batch`: by taxonID, external id, or place."""
        fields = ("pk", "rank", "scientific_name", "authorship", "status", "parent_id", "accepted_id", "path",
                  "source_id", *ID_FIELDS)  # fmt: skip
        ids = [row.key for row in batch if not row.implied]
        matched = {taxon.source_id: taxon for taxon in Taxon.objects.filter(source_id__in=ids).only(*fields)}
        found = {row.key: matched[row.key] for row in batch if row.key in matched}
        for field_name in ID_FIELDS:
            wanted = {row.ids[field_name]: row for row in batch if row.key not in found and field_name in row.ids}
            if wanted:
                for taxon in Taxon.objects.filter(**{f"{field_name}__in": list(wanted)}).only(*fields):
                    found.setdefault(wanted[getattr(taxon, field_name)].key, taxon)
        rest = [row for row in batch if row.key not in found]
        if rest:
            places = Taxon.objects.filter(status=status, scientific_name__in={row.name for row in rest}).only(*fields)
            where = {(t.parent_id, t.accepted_id, t.rank, t.scientific_name): t for t in places}
            for row in rest:
                taxon = where.get((parents.get(row.key), self._accepted_pk(row), row.rank, row.name))
                claimed = taxon is not None and taxon.source_id and taxon.source_id != row.key and not row.implied
                if taxon is not None and not claimed:
                    found[row.key] = taxon
        for row in batch:
            if row.key in found:
                row.pk = found[row.key].pk
                self.paths[row.pk] = found[row.key].path
        return found

    def _free_ids(self, rows: list[TaxonRow], owners: dict[str, int | None]) -> None:
        """Drop, with a problem, external ids another taxon of the catalogue holds (they are unique)."""
        for field_name in ID_FIELDS:
            wanted = {row.ids[field_name]: row for row in rows if field_name in row.ids}
            if not wanted:
                continue
            held = Taxon.objects.filter(**{f"{field_name}__in": list(wanted)}).values_list(field_name, "pk")
            for value, pk in held:
                row = wanted[value]
                if pk != owners.get(row.key):
                    self._late(row, "identifier", f"taxon {pk} has this {field_name} already", str(value))
                    del row.ids[field_name]

    def _create_taxa(self, rows: list[TaxonRow], parents: dict[str, int | None]) -> None:
        if not rows:
            return
        self._free_ids(rows, {})
        created = []
        for row in rows:
            parent_id = parents.get(row.key)
            parent_path = self._path(parent_id) if parent_id else "/"
            created.append(Taxon(
                rank=row.rank, scientific_name=row.name, authorship=row.authorship, parent_id=parent_id,
                status=row.status, source_id=None if row.implied else row.key, path="",
                depth=parent_path.count("/") - 1, accepted_id=self._accepted_pk(row), **row.ids,
            ))  # fmt: skip
        Taxon.objects.bulk_create(created, record=False)
        paths = []
        for row, taxon in zip(rows, created, strict=True):
            row.pk = taxon.pk
            if row.status == TaxonomicStatus.ACCEPTED:
                self.paths[taxon.pk] = f"{self._path(taxon.parent_id) if taxon.parent_id else '/'}{taxon.pk}/"
                paths.append((self.paths[taxon.pk], taxon.pk))
        set_column(Taxon, "path", paths, record=False)
        for taxon in created:
            taxon.path = self.paths.get(taxon.pk, "")
        record_rows(Taxon, created, created=True)
        self.report.taxa.created += len(rows)

    def _accepted_pk(self, row: TaxonRow) -> int | None:
        if not row.accepted_key:
            return None
        accepted = self.plan.rows.get(row.accepted_key)
        return accepted.pk if accepted is not None else self.plan.known[row.accepted_key][0]

    def _update_taxon(self, row: TaxonRow, taxon: Taxon, *, parent_id: int | None, accepted_id: int | None) -> None:
        self._free_ids([row], {row.key: taxon.pk})
        wanted = dict(row.ids)
        if not row.implied:  # the classification columns give a higher taxon only its name
            wanted["source_id"] = row.key
            if row.authorship:  # an empty cell says nothing: what a curator wrote stays
                wanted["authorship"] = row.authorship
        texts = {name: value for name, value in wanted.items() if getattr(taxon, name) != value}
        structure = {"parent": parent_id, "accepted": accepted_id, "rank": row.rank,
                     "scientific_name": row.name, "status": row.status}  # fmt: skip
        moved = {
            name: value for name, value in structure.items()
            if getattr(taxon, f"{name}_id" if name in ("parent", "accepted") else name) != value
        }  # fmt: skip
        if moved:
            self._restructure(row, taxon, moved)
        if texts:
            set_columns(Taxon, (*texts, "updated_at"), [(*texts.values(), timezone.now(), taxon.pk)])
        if moved or texts:
            self.report.taxa.updated += 1
        else:
            self.report.taxa.unchanged += 1

    def _restructure(self, row: TaxonRow, taxon: Taxon, changes: dict) -> None:
        """A move, a new rank, name or status: as a curator's edit, with the organisms beneath following."""
        fields = {name: value for name, value in changes.items() if name not in ("parent", "accepted")}
        if "parent" in changes:
            fields["parent"] = Taxon.objects.get(pk=changes["parent"]) if changes["parent"] else None
        if "accepted" in changes:
            fields["accepted"] = Taxon.objects.get(pk=changes["accepted"]) if changes["accepted"] else None
        try:
            with transaction.atomic():
                taxon_update(taxon=Taxon.objects.get(pk=taxon.pk), user=self.user, **fields)
        except ValidationError as error:
            column = "parentNameUsageID" if "parent" in changes else "taxonomicStatus"
            self._late(row, column, "; ".join(error.messages))
        self.paths.clear()  # a move rewrote the paths beneath

    def _synonyms(self) -> None:
        rows = self.plan.synonyms()
        done = 0
        for batch in _batches(rows, BATCH):
            self._upsert_batch(batch, {}, TaxonomicStatus.SYNONYM)
            done += len(batch)
            self.progress("synonyms", done, len(rows))

    # --- Vernacular names ---------------------------------------------------------------------------------

    def _names(self) -> None:
        preferred_from_file: set[tuple[int, str]] = set()
        done = 0
        usable = (
            (row, name) for row, name, problem in name_rows(self.plan)
            if problem is None and name is not None and name.key not in self.plan.rejected
            and self.plan.rows[name.key].pk is not None
        )  # fmt: skip
        for batch in _batches(usable, NAME_BATCH):
            self._names_batch([name for _, name in batch], preferred_from_file)
            done += len(batch)
            self.progress("names", done, 0)

    def _names_batch(self, names: list, preferred_from_file: set[tuple[int, str]]) -> None:
        pks = {self.plan.rows[name.key].pk for name in names}
        existing = {}
        preferred_now = {}
        columns = ("pk", "taxon_id", "language", "name", "region", "preferred")
        for pk, taxon_id, language, text, region, preferred in VernacularName.objects.filter(
            taxon_id__in=pks
        ).values_list(*columns):
            existing[(taxon_id, language, text)] = [pk, region, preferred]
            if preferred:
                preferred_now[(taxon_id, language)] = (taxon_id, language, text)
        creates, unset, changes, touched = [], [], {}, set()
        for name in names:
            taxon_id = self.plan.rows[name.key].pk
            slot = (taxon_id, name.language)
            key = (taxon_id, name.language, name.name)
            if key in touched:
                continue
            touched.add(key)
            preferred = name.preferred
            if preferred is None:  # the file does not say: a name keeps its flag, a new one is preferred if first
                known = existing.get(key)
                preferred = known[2] if known else slot not in preferred_now and slot not in preferred_from_file
            if preferred:
                preferred_from_file.add(slot)
                holder = preferred_now.get(slot)
                if holder is not None and holder != key:
                    unset.append(existing[holder][0])
                preferred_now[slot] = key
            elif preferred_now.get(slot) == key:
                del preferred_now[slot]
            if key in existing:
                pk, region, was_preferred = existing[key]
                if region != name.region or was_preferred != preferred:
                    changes[pk] = (name.region, preferred, pk)
            else:
                creates.append(VernacularName(taxon_id=taxon_id, name=name.name, language=name.language,
                                              region=name.region, preferred=preferred))  # fmt: skip
        VernacularName.objects.filter(pk__in=unset).update(preferred=False)
        record_bulk(VernacularName, [pk for pk in unset if pk not in changes])  # the others: set_columns
        # names losing the flag before those gaining it: at most one preferred per language at every statement
        set_columns(VernacularName, ("region", "preferred"), sorted(changes.values(), key=lambda change: change[1]))
        VernacularName.objects.bulk_create(creates)
        updated = set(changes) | set(unset)
        self.report.names.created += len(creates)
        self.report.names.updated += len(updated)
        self.report.names.unchanged += sum(1 for key in touched if key in existing and existing[key][0] not in updated)

    # --- Organisms ----------------------------------------------------------------------------------------

    def _organisms(self) -> None:
        rows = [row for row in self.plan.accepted() if row.rank in ORGANISM_RANKS and row.pk is not None]
        for done, batch in enumerate(_batches(rows, BATCH), start=1):
            self._organisms_batch(batch)
            self.progress("organisms", min(done * BATCH, len(rows)), len(rows))

    def _organisms_batch(self, batch: list[TaxonRow]) -> None:
        by_taxon = {row.pk: row for row in batch}
        filed = {organism.taxon_id: organism for organism in Organism.objects.filter(taxon_id__in=by_taxon)}
        namesakes = {
            organism.scientific_name: organism
            for organism in Organism.objects.filter(scientific_name__in=[row.name for row in batch]).exclude(
                taxon_id__in=by_taxon
            )
        }
        common = self._common_names(list(by_taxon))
        taxa = Taxon.objects.filter(pk__in=by_taxon).only("pk", "path", "scientific_name")
        lineage = tree_fields(list(taxa))
        new, now = [], timezone.now()
        for taxon_id, row in by_taxon.items():
            organism = filed.get(taxon_id)
            if organism is None and row.name in namesakes:
                other = namesakes[row.name]
                if other.taxon_id is not None:
                    self._late(row, "scientificName", f"the organism {other.slug} has this name, under another taxon")
                    continue
                organism = other  # a record not yet in the tree: the checklist places it
            wanted = {**{name: row.texts[name] for name in ORGANISM_TEXTS if name in row.texts}}
            if common.get(taxon_id):
                wanted["common_name"] = common[taxon_id]
            if organism is None:
                new.append(self._new_organism(row, wanted, lineage[taxon_id], common.get(taxon_id), now))
                continue
            wanted.update(lineage[taxon_id], taxon_id=taxon_id)
            changed = {name: value for name, value in wanted.items() if getattr(organism, name) != value}
            if changed:
                set_columns(Organism, (*changed, "updated_at"), [(*changed.values(), now, organism.pk)])
                self.report.organisms.updated += 1
            else:
                self.report.organisms.unchanged += 1
        self._give_slugs(new)
        Organism.objects.bulk_create(new)
        record_rows(Organism, new, created=True)
        self.report.organisms.created += len(new)

    def _new_organism(self, row: TaxonRow, wanted: dict, lineage: dict, common: str | None, now) -> Organism:
        fields = {"conservation_status": ConservationStatus.NOT_EVALUATED, **wanted, **lineage}
        fields["common_name"] = common or row.name
        return Organism(taxon_id=row.pk, is_published=self.publish, created_at=now, updated_at=now, **fields)

    def _common_names(self, taxon_ids: list[int]) -> dict[int, str]:
        """Each taxon's name in the site's default language: its preferred one, else the first."""
        language = default_language()
        names = VernacularName.objects.filter(taxon_id__in=taxon_ids, language=language).order_by(
            "taxon_id", "-preferred", "name"
        )
        common: dict[int, str] = {}
        for taxon_id, name in names.values_list("taxon_id", "name"):
            common.setdefault(taxon_id, name)
        return common

    def _give_slugs(self, organisms: list[Organism]) -> None:
        bases = {organism.pk or id(organism): slugify(organism.scientific_name)[:132] for organism in organisms}
        taken = set(Organism.objects.filter(slug__in=bases.values()).values_list("slug", flat=True))
        for organism in organisms:
            base = bases[organism.pk or id(organism)] or "organism"
            slug = base if base not in taken else unique_slug(Organism, organism.scientific_name)
            while slug in taken:
                slug = f"{base}-{len(taken)}"
            taken.add(slug)
            organism.slug = slug

    def _withdraw_absent(self) -> None:
        """--prune: published records whose taxon the checklist does not have are withdrawn, never deleted."""
        kept = {row.pk for row in self.plan.accepted() if row.pk is not None}
        published = Organism.objects.filter(is_published=True).values_list("pk", "taxon_id")
        absent = [pk for pk, taxon_id in published.iterator(chunk_size=5000) if taxon_id not in kept]
        now = timezone.now()
        for batch in _batches(absent, BATCH):
            Organism.objects.filter(pk__in=batch).update(is_published=False, updated_at=now)
            record_bulk(Organism, batch)
        self.report.organisms.withdrawn = len(absent)
