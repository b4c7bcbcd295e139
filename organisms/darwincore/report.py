"""What an import did, or would do: counts per kind of record, and every row it could not use."""

from dataclasses import asdict, dataclass, field

MAX_LISTED = 1000  # problems kept in a report; the count goes on


@dataclass(frozen=True)
class Problem:
    """A row that cannot be used: where it is, which column, the value, and why."""

    file: str
    line: int
    column: str
    reason: str
    value: str = ""

    def __str__(self) -> str:
        value = f" ({self.value[:80]!r})" if self.value else ""
        return f"{self.file}, line {self.line}, {self.column}{value}: {self.reason}"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0


@dataclass
class Report:
    source: str
    dry_run: bool = False
    skip_invalid: bool = False
    prune: bool = False
    rows: dict[str, int] = field(default_factory=dict)  # data file -> rows read
    taxa: Counts = field(default_factory=Counts)
    names: Counts = field(default_factory=Counts)
    organisms: Counts = field(default_factory=Counts)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    refused: str = ""  # the whole file was refused (hostile, or not a checklist)
    applied: bool = False  # the changes were committed

    def reject(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)

    @property
    def outcome(self) -> str:
        if self.refused:
            return "refused"
        if self.problem_count and not self.skip_invalid:
            return "rejected"
        if self.dry_run:
            return "dry run"
        return "imported" if self.applied else "not imported"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [{**asdict(problem), "text": str(problem)} for problem in self.problems]
        data["outcome"] = self.outcome
        return data

    def lines(self) -> list[str]:
        """The report as a curator reads it, in the command's output and on the admin page."""
        if self.refused:
            return [f"{self.source}: refused. {self.refused}"]
        verb = "would be" if self.dry_run or self.outcome == "rejected" else "were"
        lines = [f"{self.source}: {self.outcome}."]
        lines += [f"  read {count:,} rows from {name}" for name, count in self.rows.items()]
        for kind, counts in (("taxa", self.taxa), ("vernacular names", self.names), ("organisms", self.organisms)):
            withdrawn = f", {counts.withdrawn:,} withdrawn" if kind == "organisms" and self.prune else ""
            lines.append(
                f"  {kind}: {counts.created:,} created, {counts.updated:,} updated, {counts.unchanged:,} unchanged"
                f"{withdrawn} ({verb})"
                if self.outcome != "rejected"
                else f"  {kind}: nothing written"
            )
        if self.problem_count:
            skipped = "skipped" if self.skip_invalid else "rejected the import"
            rows = "row" if self.problem_count == 1 else "rows"
            lines.append(f"  {self.problem_count:,} {rows} {skipped}:")
            lines += [f"    {problem}" for problem in self.problems]
            if self.problem_count > len(self.problems):
                lines.append(f"    ... and {self.problem_count - len(self.problems):,} more")
        return lines
