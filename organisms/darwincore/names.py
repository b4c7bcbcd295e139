"""A checklist's vernacular names, read the same way by the check and by the write: from the VernacularName
extension, or from the core rows of a spreadsheet that gives one name per row."""

from collections.abc import Iterator
from dataclasses import dataclass

from ..models import VernacularName
from . import terms
from .archive import Row
from .plan import NOT_IN_CORE, Plan, canonical_language, is_true
from .report import Problem

MAX_NAME = VernacularName._meta.get_field("name").max_length
MAX_REGION = VernacularName._meta.get_field("region").max_length


@dataclass(frozen=True, slots=True)
class NameRow:
    key: str
    name: str
    language: str
    region: str
    preferred: bool | None  # None: the file does not say (isPreferredName absent)


def check_names(plan: Plan) -> None:
    """The vernacular names, in one pass: nothing of them is kept but the count and the problems."""
    count = 0
    for _row, _name, problem in name_rows(plan):
        count += 1
        if problem is not None:
            plan.report.reject(problem)
    extension = plan.checklist.extension(terms.VERNACULAR_NAME)
    if extension is not None:
        plan.report.rows[extension.name] = count


def name_rows(plan: Plan) -> Iterator[tuple[Row, NameRow | None, Problem | None]]:
    """Each name row with what it says, or the problem that keeps it out. Two names marked preferred for one
    taxon and language: the second is the problem."""
    preferred_given: set[tuple[str, str]] = set()
    extension = plan.checklist.extension(terms.VERNACULAR_NAME)
    rows = ((row.values.get("_key", ""), row) for row in extension.rows()) if extension else iter(plan.core_names)
    for key, row in rows:
        name, problem = _read(plan, key, row)
        if name is not None and name.preferred:
            if (key, name.language) in preferred_given:
                reason = f"a second preferred name for {key} in {name.language}"
                given = row.values["vernacularName"]
                name, problem = None, Problem(row.file, row.line, "isPreferredName", reason, given)
            else:
                preferred_given.add((key, name.language))
        yield row, name, problem


def _read(plan: Plan, key: str, row: Row) -> tuple[NameRow | None, Problem | None]:
    values = row.values

    def problem(column: str, reason: str) -> tuple[None, Problem]:
        return None, Problem(row.file, row.line, column, reason, values.get(column, ""))

    if key not in plan.rows:
        return problem("taxonID", NOT_IN_CORE) if "_key" in values else (None, None)
    name = values.get("vernacularName", "")
    for column in ("vernacularName", "language", "locality", "countryCode"):
        if "\ufffd" in values.get(column, ""):
            return problem(column, "not valid text in the file's encoding (UTF-8?)")
    if not name:
        return problem("vernacularName", "missing")
    if len(name) > MAX_NAME:
        return problem("vernacularName", f"longer than {MAX_NAME} characters")
    if not values.get("language"):
        return problem("language", "missing: a vernacular name needs its BCP 47 language tag (en, pt-BR)")
    language = canonical_language(values["language"])
    if language is None:
        return problem("language", "not a BCP 47 language tag (such as en, fr, pt-BR, zh-Hant)")
    region = values.get("locality") or values.get("countryCode", "")
    if len(region) > MAX_REGION:
        return problem("locality", f"longer than {MAX_REGION} characters")
    preferred = None
    if "isPreferredName" in values:
        preferred = is_true(values["isPreferredName"])
        if preferred is None:
            return problem("isPreferredName", "neither true nor false")
    return NameRow(key, name, language, region, preferred), None
