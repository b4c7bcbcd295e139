"""Finding records by any of their names: the accepted scientific name, a synonym's, or a vernacular name in
any language, compared folded (biomuseum.textfold: `kakapo` finds Kākāpō, `felis concolor` finds Puma
concolor through its synonym).

Every match says which name matched, so a suggestion can show "Felis concolor → Puma concolor".
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, Value
from django.db.models.functions import Collate

from biomuseum.textfold import fold

from .models import Organism, Taxon, TaxonomicStatus, VernacularName


@dataclass(frozen=True)
class MatchedName:
    name: str
    kind: str  # "scientific", "synonym" or "vernacular"
    language: str | None  # a vernacular name's BCP 47 tag


class Words(Func):
    """PostgreSQL: the words of a folded name, as the GIN index of migration 0007 holds them."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class NameSource:
    """Where a record's names of one kind are, as a path from the record (`taxon__synonyms__`)."""

    path: str
    name_field: str
    kind: str

    def annotate(self, records: QuerySet) -> QuerySet:
        key = F(f"{self.path}search_name")
        language = F(f"{self.path}language") if self.kind == "vernacular" else Value("")
        if _on_postgresql():
            records = records.annotate(match_words=Words(key))
        return records.annotate(
            match_folded=key,
            match_key=Collate(key, "C") if _on_postgresql() else key,  # read in order for prefixes
            match_name=F(f"{self.path}{self.name_field}"),
            match_language=language,
            match_kind=Value(self.kind),
        )


def _sources(through: str) -> tuple[NameSource, ...]:
    """The three kinds of name, reached from a record through `through` (the record's accepted taxon)."""
    return (
        NameSource(through, "scientific_name", "scientific"),
        NameSource(f"{through}synonyms__", "scientific_name", "synonym"),
        NameSource(f"{through}vernacular_names__", "name", "vernacular"),
    )


NOTHING = Q(pk__in=[])
ORGANISM_NAMES = _sources("taxon__")
TAXON_NAMES = _sources("")


def suggest(records: QuerySet, sources: tuple[NameSource, ...], query: str, limit: int = 10) -> list:
    """At most `limit` records with a name matching what was typed: names starting with it first (an exact
    match is the first of them: no longer name with that prefix sorts before it), then names with a word
    starting with it; within each, in the order of the matched name. Each record carries `matched_name`.

    Each tier asks each kind of name for a few rows read in key order from an index (migration 0007): a
    short prefix shared by thousands of names still reads only those rows, and word starts are asked for only
    when the prefixes left room.
    """
    folded, typed = fold(query), query.strip().casefold()
    if not folded:
        return []
    found: dict[int, object] = {}
    for tier in (_prefixes(records, sources, folded, limit), _word_starts(records, sources, folded, limit)):
        rows = sorted(_rows(tier), key=lambda row: (row.match_key, typed not in row.match_name.casefold(), row.pk))
        for row in rows:  # among equal folded names, the one as typed first: "kākā" prefers Kākāpō to Kakapo
            if row.pk not in found and len(found) < limit:
                row.matched_name = MatchedName(row.match_name, row.match_kind, row.match_language or None)
                found[row.pk] = row
        if len(found) >= limit:
            break
    return list(found.values())


def _prefixes(records: QuerySet, sources, folded: str, limit: int) -> list[QuerySet]:
    """Names starting with `folded`, the first few of each kind in key order (a range read on PostgreSQL)."""
    return [
        source.annotate(records).filter(match_key__startswith=folded).order_by("match_key", "pk")[: limit * 2]
        for source in sources
    ]


def _word_starts(records: QuerySet, sources, folded: str, limit: int) -> list[QuerySet]:
    """Names with a later word starting with `folded` (`lesser sh` in "Pale lesser shrew"): a few of each
    kind, in no particular order, sorted by the caller.

    On PostgreSQL the words' GIN index narrows the names to those having each typed word as a word prefix
    (found in a millisecond among 300,000, however common the word), and the LIKE keeps those where the words
    follow each other; ordering them in the database would read every match. A query with no word characters
    has no word starts."""
    tiers = []
    for source in sources:
        matches = source.annotate(records).filter(match_folded__contains=f" {folded}")
        if _on_postgresql():
            words = [re.sub(r"\W", "", word) for word in folded.split()]
            if not all(words):
                return []
            prefixes = " & ".join(f"{word}:*" for word in words)
            matches = matches.filter(match_words=SearchQuery(prefixes, search_type="raw", config="simple"))
        tiers.append(matches.order_by()[: limit * 2])
    return tiers


def _rows(querysets: list[QuerySet]) -> list:
    """The rows of every queryset: on PostgreSQL one UNION ALL of the limited, ordered queries (one round trip),
    elsewhere one query each (SQLite cannot order and limit inside a compound query)."""
    if not querysets:
        return []
    if connection.features.supports_slicing_ordering_in_compound:
        return list(querysets[0].union(*querysets[1:], all=True))
    return [row for queryset in querysets for row in queryset]


PROBE = 2000  # matching taxa read up front; a name commoner than this is searched the other way round


def organisms_named(query: str) -> Q:
    """Organisms with a name containing `query`, in any of the three kinds (for the list's `search`).

    A rare name (a few matching taxa, read from the trigram indexes in a millisecond) becomes a list of taxon
    ids, and the list page is those organisms, sorted. A common one (`a`, `lesser`) matches so many organisms
    that walking them in the page's order and keeping the matches stops within a few rows; that form on a
    rare name would walk every organism (40 ms on 100,000), hence the probe.
    """
    folded = fold(query)
    if not folded:
        return NOTHING  # only punctuation, or marks: nothing to look for, not everything
    taxa = Taxon.objects.filter(search_name__contains=folded).order_by()
    sources = (
        taxa.filter(status=TaxonomicStatus.ACCEPTED).values_list("pk", flat=True),
        taxa.filter(status=TaxonomicStatus.SYNONYM).values_list("accepted_id", flat=True),
        VernacularName.objects.filter(search_name__contains=folded).order_by().values_list("taxon_id", flat=True),
    )
    probed = list(sources[0].union(*sources[1:], all=True)[:PROBE])  # ALL: the limit stops the reading
    if len(probed) < PROBE:  # every match is here
        return Q(taxon_id__in=set(probed)) if probed else NOTHING
    return Q(taxon_id__in=sources[0]) | Q(taxon_id__in=sources[1]) | Q(taxon_id__in=sources[2])


def taxa_named(query: str) -> Q:
    """Taxa (synonyms included) whose scientific name contains `query`, or one of whose vernacular names does."""
    folded = fold(query)
    if not folded:
        return NOTHING
    named = VernacularName.objects.filter(search_name__contains=folded).values("taxon_id")
    return Q(search_name__contains=folded) | Q(pk__in=named)


def published_organisms() -> QuerySet:
    return Organism.objects.published().only("id", "slug", "common_name", "scientific_name", "taxon_id")
