"""A large Darwin Core Archive for the import and export bench (issue 16), generated, never committed.

`python bench/darwincore_archive.py OUT.zip [--taxa N] [--names N] [--seed N]`, or write_checklist() from
code. The checklist has the shape of organisms/demo/synthetic.py's catalogue and uses its names: its orders,
generated families and genera of 1 to 50 species, and vernacular names formed as it forms them. On top of
that, five in a hundred rows are synonyms, names are spread over six languages (en, fr, es, de, pt-BR, ja)
with at most one preferred per taxon and language, and each species has a Distribution row with an IUCN
Red List category. The same seed gives the same archive.

The rows are generated again for each file rather than kept: an archive of 100,000 taxa is written in a few
seconds and never holds a file's text in memory.
"""

import argparse
import io
import itertools
import os
import random
import secrets
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DC = "http://purl.org/dc/terms/"
SEED = 20260116
TIMESTAMP = (2026, 1, 1, 0, 0, 0)  # every member's: the same seed gives the same bytes
SYNONYM_CHANCE = 0.063  # per species: about 5% of all rows, since four rows in five are species
LANGUAGES = ("en", "fr", "es", "de", "pt-BR", "ja")
NOUN_LANGUAGE = {"pt-BR": "pt"}  # synthetic.py's nouns are keyed by language, Portuguese as "pt"
FORMS_PER_LANGUAGE = 3
# How many names a species gets, relative to the others: many have one or two, a few have a dozen.
NAME_WEIGHTS = (1, 1, 1, 2, 2, 3, 4, 6)
# IUCN Red List categories, weighted roughly as the assessed species are.
THREAT_STATUSES = {"LC": 55, "DD": 12, "NT": 7, "VU": 9, "EN": 8, "CR": 5, "EW": 1, "EX": 2, "NE": 1}
LOCALITIES = (
    "Andes", "Amazon basin", "Atlantic Forest", "Borneo", "Sumatra", "New Guinea", "Madagascar", "Congo basin",
    "East African Rift", "Cape Floristic Region", "Mediterranean Basin", "Caucasus", "Himalaya", "Western Ghats",
    "Indochina", "Japan", "Philippines", "Great Barrier Reef", "New Zealand", "California", "Mesoamerica",
    "Caribbean", "Patagonia", "Scandinavia", "Alps", "Siberia", "Arabian Peninsula", "Sahara", "Sahel", "Tibet",
)  # fmt: skip
KANA = "カキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモ"
JA_SUFFIXES = ("", "モドキ", "ダマシ")  # "false" and "deceiving": how Japanese names a look-alike
MEMBERS = {
    "taxon.txt": (
        "taxonID", "parentNameUsageID", "acceptedNameUsageID", "scientificName", "scientificNameAuthorship",
        "taxonRank", "taxonomicStatus",
    ),
    "vernacularname.txt": ("taxonID", "vernacularName", "language", "isPreferredName"),
    "distribution.txt": ("taxonID", "threatStatus", "locality"),
}  # fmt: skip
TERM_URIS = {
    "language": f"{DC}language",
    "isPreferredName": f"{GBIF}isPreferredName",
    "threatStatus": f"{GBIF}threatStatus",
}


@dataclass(frozen=True)
class Row:
    """A taxon.txt row; `species` is set on a species' own row (not a higher taxon's, not a synonym's)."""

    taxon_id: str
    parent_id: str
    accepted_id: str
    name: str
    authorship: str
    rank: str
    species: "Species | None" = None

    def line(self) -> str:
        status = "synonym" if self.accepted_id else "accepted"
        fields = (self.taxon_id, self.parent_id, self.accepted_id, self.name, self.authorship, self.rank, status)
        return "\t".join(fields) + "\n"


@dataclass(frozen=True)
class Species:
    index: int
    nouns: dict[str, str]
    adjective: str
    people: tuple[str, ...]
    name_weight: int
    threat_status: str
    locality: str


@dataclass(frozen=True)
class Written:
    taxa: int
    species: int
    synonyms: int
    names: int
    distributions: int
    seconds: float


def write_checklist(path: str | Path, *, taxa: int = 100_000, names: int = 200_000, seed: int = SEED) -> Written:
    """Writes a DwC-A zip of `taxa` taxon rows (higher taxa, species, synonyms) and `names` vernacular names.

    Fewer names only if `names` is more than the species can hold (FORMS_PER_LANGUAGE in each language).
    """
    started = time.perf_counter()
    synthetic = _synthetic()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("meta.xml", TIMESTAMP), _meta(), zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("eml.xml", TIMESTAMP), _eml(taxa, names, seed), zipfile.ZIP_DEFLATED)
        rows = species = synonyms = weights = 0
        with _member(archive, "taxon.txt") as out:
            for row in _rows(synthetic, taxa, seed):
                out.write(row.line())
                rows += 1
                if row.accepted_id:
                    synonyms += 1
                elif row.species:
                    species += 1
                    weights += row.species.name_weight
        with _member(archive, "distribution.txt") as out:
            for row in _species_rows(synthetic, taxa, seed):
                out.write(f"{row.taxon_id}\t{row.species.threat_status}\t{row.species.locality}\n")
        written_names = 0
        with _member(archive, "vernacularname.txt") as out:
            cumulative = 0  # the species so far are due names * (their weights / all weights), rounded down
            for row in _species_rows(synthetic, taxa, seed):
                before = cumulative * names // weights
                cumulative += row.species.name_weight
                due = cumulative * names // weights - before
                for language, name, preferred in _names(synthetic, row.species, due):
                    out.write(f"{row.taxon_id}\t{name}\t{language}\t{'true' if preferred else 'false'}\n")
                    written_names += 1
    return Written(
        taxa=rows,
        species=species,
        synonyms=synonyms,
        names=written_names,
        distributions=species,
        seconds=time.perf_counter() - started,
    )


def _synthetic() -> ModuleType:
    """organisms.demo.synthetic, whose names this reuses; it imports the models, so Django must be set up."""
    from django.apps import apps

    if not apps.ready:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "biomuseum.settings")
        os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # no request is ever served
        django.setup()
    from organisms.demo import synthetic

    return synthetic


def _member(archive: zipfile.ZipFile, name: str) -> io.TextIOWrapper:
    info = zipfile.ZipInfo(name, TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    out = io.TextIOWrapper(archive.open(info, "w"), encoding="utf-8", newline="")
    out.write("\t".join(MEMBERS[name]) + "\n")
    return out


def _rows(synthetic: ModuleType, taxa: int, seed: int) -> Iterator[Row]:
    """Every taxon.txt row in order, parents before children, stopping at `taxa` rows; the same for a seed."""
    rng = random.Random(seed)
    weights = [order.weight for order in synthetic.ORDERS]
    statuses, status_weights = list(THREAT_STATUSES), list(THREAT_STATUSES.values())
    ids: dict[tuple[str, str], str] = {}
    families: dict[str, list[str]] = {order.order_name: [] for order in synthetic.ORDERS}
    number = itertools.count(1)
    emitted = 0
    index = family_number = 0
    for genus_number in itertools.count():
        order = rng.choices(synthetic.ORDERS, weights)[0]
        parent = ""
        for rank, name in (
            ("kingdom", order.kingdom), ("phylum", order.phylum), ("class", order.class_name),
            ("order", order.order_name),
        ):  # fmt: skip
            if (rank, name) not in ids:
                ids[rank, name] = str(next(number))
                yield Row(ids[rank, name], parent, "", name, "", rank)
                emitted += 1
                if emitted == taxa:
                    return
            parent = ids[rank, name]
        known = families[order.order_name]
        if not known or rng.random() < synthetic.NEW_FAMILY_CHANCE:
            known.append(synthetic._family_name(family_number, order.kingdom))
            family_number += 1
        family = rng.choice(known)
        if ("family", family) not in ids:
            ids["family", family] = str(next(number))
            yield Row(ids["family", family], parent, "", family, "", "family")
            emitted += 1
            if emitted == taxa:
                return
        genus, genus_id = synthetic._genus_name(genus_number), str(next(number))
        yield Row(genus_id, ids["family", family], "", genus, "", "genus")
        emitted += 1
        if emitted == taxa:
            return
        size = min(synthetic.MAX_GENUS_SIZE, int(rng.paretovariate(synthetic.GENUS_SIZE_TAIL)))
        for epithet in rng.sample(synthetic.EPITHETS, size):
            people = tuple(rng.sample(synthetic.PEOPLE, FORMS_PER_LANGUAGE))
            author = f"{people[0]}, {rng.randint(1758, 2020)}"
            moved = rng.random() < SYNONYM_CHANCE
            species = Species(
                index=index,
                nouns=order.nouns,
                adjective=rng.choice(synthetic.ADJECTIVES),
                people=people,
                name_weight=rng.choice(NAME_WEIGHTS),
                threat_status=rng.choices(statuses, status_weights)[0],
                locality=rng.choice(LOCALITIES),
            )
            index += 1
            species_id = str(next(number))
            yield Row(species_id, genus_id, "", f"{genus} {epithet}", f"({author})" if moved else author,
                      "species", species)  # fmt: skip
            emitted += 1
            if emitted == taxa:
                return
            if moved:
                synonym_genus = synthetic._genus_name(synthetic.SYNONYM_GENERA + genus_number)
                yield Row(str(next(number)), "", species_id, f"{synonym_genus} {epithet}", author, "species")
                emitted += 1
                if emitted == taxa:
                    return


def _species_rows(synthetic: ModuleType, taxa: int, seed: int) -> Iterator[Row]:
    return (row for row in _rows(synthetic, taxa, seed) if row.species)


def _names(synthetic: ModuleType, species: Species, count: int) -> Iterator[tuple[str, str, bool]]:
    """`count` distinct (language, name, preferred) for a species: English first, then the other languages in
    turn, the first name of each language its preferred one."""
    others, turn = LANGUAGES[1:], species.index % (len(LANGUAGES) - 1)
    order = ("en", *others[turn:], *others[:turn])
    slots = [(language, form) for form in range(FORMS_PER_LANGUAGE) for language in order]
    for language, form in slots[:count]:
        yield language, _name(synthetic, species, language, form), form == 0


def _name(synthetic: ModuleType, species: Species, language: str, form: int) -> str:
    if language == "ja":
        digits, number = [], species.index + len(KANA) ** 2  # three kana at least
        while True:
            number, digit = divmod(number, len(KANA))
            digits.append(KANA[digit])
            if not number:
                break
        return "".join(digits) + JA_SUFFIXES[form]
    noun_language = NOUN_LANGUAGE.get(language, language)
    noun = species.nouns[noun_language]
    if language == "en":  # as synthetic.py names a species in English: numbered, so a search finds one
        return (
            f"{species.adjective.capitalize()} {noun} {species.index}",
            f"{species.people[1]}'s {noun} {species.index}",
            f"{species.adjective.capitalize()} {species.people[2]} {noun} {species.index}",
        )[form]
    return synthetic._vernacular(noun_language, noun, species.people[form])


def _meta() -> str:
    def fields(member: str, first_index: int) -> str:
        return "".join(
            f'    <field index="{index}" term="{TERM_URIS.get(term, DWC + term)}"/>\n'
            for index, term in enumerate(MEMBERS[member])
            if index >= first_index
        )

    attributes = (
        'encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1"'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">\n'
        f'  <core {attributes} rowType="{DWC}Taxon">\n'
        '    <files><location>taxon.txt</location></files>\n    <id index="0"/>\n'
        f"{fields('taxon.txt', 0)}  </core>\n"
        f'  <extension {attributes} rowType="{GBIF}VernacularName">\n'
        '    <files><location>vernacularname.txt</location></files>\n    <coreid index="0"/>\n'
        f"{fields('vernacularname.txt', 1)}  </extension>\n"
        f'  <extension {attributes} rowType="{GBIF}Distribution">\n'
        '    <files><location>distribution.txt</location></files>\n    <coreid index="0"/>\n'
        f"{fields('distribution.txt', 1)}  </extension>\n"
        "</archive>\n"
    )


def _eml(taxa: int, names: int, seed: int) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" packageId="biomuseum-bench-{seed}" '
        'system="BioMuseum">\n'
        f"  <dataset>\n    <title>BioMuseum bench checklist: {taxa:,} taxa, {names:,} names (seed {seed})</title>\n"
        "    <creator><organizationName>BioMuseum bench</organizationName></creator>\n"
        "    <contact><organizationName>BioMuseum bench</organizationName></contact>\n"
        "  </dataset>\n</eml:eml>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the zip to write")
    parser.add_argument("--taxa", type=int, default=100_000, help="taxon rows (default 100,000)")
    parser.add_argument("--names", type=int, default=200_000, help="vernacular names (default 200,000)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    written = write_checklist(args.out, taxa=args.taxa, names=args.names, seed=args.seed)
    print(
        f"{args.out}: {written.taxa:,} taxa ({written.species:,} species, {written.synonyms:,} synonyms), "
        f"{written.names:,} names, {written.distributions:,} distributions, {args.out.stat().st_size:,} bytes "
        f"in {written.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # run as a script: the repository root, for Django
    sys.exit(main())
