"""Opening a checklist: a Darwin Core Archive (a zip with meta.xml) or one CSV/TSV file with Darwin Core terms
in its header row, read with python-dwca-reader once it has been found safe.

The reader extracts a zip with `extractall` and parses meta.xml with ElementTree, so nothing reaches it before
the checks here: the zip's members are counted, named, typed and copied out by us with every byte counted
(a member's declared size can lie), each line's length is bounded while it is copied, and every XML file is
parsed first with defusedxml, which refuses DTDs and entities. A refusal is `ArchiveRefused`, with a message
for the curator; nothing has been read into the database by then.
"""

import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from dwca.exceptions import InvalidArchive
from dwca.read import DwCAReader

from . import terms

MAX_MEMBERS = 50  # a checklist is a handful of files: meta.xml, eml.xml, the core and its extensions
MAX_BYTES = 2 * 1024**3  # all members together, uncompressed, as counted while copying them out
MAX_RATIO = 200  # uncompressed to compressed, per member over 1 MiB: text compresses 5 to 20 times, zeros 1,000
MAX_LINE_BYTES = 1024**2  # one row of a data file
MAX_FIELD_CHARS = 65_536  # one value: a long description is a few thousand
CHUNK = 1024**2
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
BOM = b"\xef\xbb\xbf"


class ArchiveRefused(Exception):
    """The file as a whole cannot be read (hostile, malformed, or not a checklist): the message says why."""


@dataclass(frozen=True)
class Row:
    """One data row: where it is (for reports) and its values by short Darwin Core name."""

    file: str
    line: int
    values: dict[str, str]


class DataFile:
    """One data file of the checklist (the core, or an extension), rows read on demand, as often as asked."""

    def __init__(self, csv_file, key: str):
        descriptor = csv_file.file_descriptor
        self._file = csv_file
        self._key = key  # "id" for the core, "coreid" for an extension
        self.name = descriptor.file_location
        self.row_type = descriptor.type or terms.TAXON  # a file without meta.xml holds taxa
        self.encoding = descriptor.file_encoding
        self.header_lines = csv_file.lines_to_ignore
        self.uris = [uri for uri in descriptor.terms if _short_name(uri)]
        self.has_key = descriptor.id_index is not None or descriptor.coreid_index is not None

    @property
    def names(self) -> set[str]:
        """The short names of the Darwin Core terms this file has."""
        return {_short_name(uri) for uri in self.uris}

    def rows(self) -> Iterator[Row]:
        """Every data row with the terms BioMuseum reads; `_key` (the row's id or core id) when meta.xml names
        one. Values are stripped; a value that did not decode comes with U+FFFD in it (the reader replaces
        what it cannot decode), which the importer reports as bad encoding."""
        names = [_short_name(uri) for uri in self.uris]
        wanted = [*self.uris, *([self._key] if self.has_key else [])]
        try:
            for position, values in enumerate(self._file.iter_terms(wanted)):
                line = self.header_lines + position + 1
                _refuse_oversized(self.name, line, wanted, values)
                row = {name: value.strip() for name, value in zip(names, values, strict=False)}
                if self.has_key:
                    row["_key"] = values[-1].strip()
                yield Row(self.name, line, row)
        except (ValueError, IndexError, UnicodeError) as error:  # csv.Error is a ValueError's sibling: below
            raise ArchiveRefused(f"{self.name} cannot be read: {error}") from error
        except Exception as error:
            if type(error).__module__ == "_csv":
                raise ArchiveRefused(f"{self.name} cannot be read: {error}") from error
            raise


def _refuse_oversized(file: str, line: int, uris: list[str], values: tuple[str, ...]) -> None:
    for uri, value in zip(uris, values, strict=False):
        if len(value) > MAX_FIELD_CHARS:
            column = _short_name(uri) or uri
            raise ArchiveRefused(
                f"{file}, line {line}, {column}: a field of {len(value):,} characters, over the limit of "
                f"{MAX_FIELD_CHARS:,}: refused."
            )


def _short_name(uri: str) -> str | None:
    if uri in terms.SHORT_NAMES:
        return terms.SHORT_NAMES[uri]
    return uri if uri in terms.TERMS else None  # a CSV header names terms by their short names


@dataclass
class Checklist:
    """An opened checklist: its core data file (taxa) and its extensions by row type."""

    core: DataFile
    extensions: dict[str, DataFile]
    source: str

    def extension(self, row_type: str) -> DataFile | None:
        return self.extensions.get(row_type)


@contextmanager
def open_checklist(path: str | Path, *, name: str | None = None) -> Iterator[Checklist]:
    """The checklist at `path` (a zip, or one delimited text file), checked and opened; its extracted files are
    removed on leaving. `name` is what reports call it (an upload's original name)."""
    path = Path(path)
    shown = name or path.name
    if not path.is_file():
        raise ArchiveRefused(f"{shown} is not a file.")
    work = Path(tempfile.mkdtemp(prefix="dwca-"))
    try:
        if zipfile.is_zipfile(path):
            root = _extract(path, work)
        elif path.suffix.lower() in TEXT_SUFFIXES or not shown.lower().endswith(".zip"):
            root = _copy_text(path, work, shown)
        else:
            raise ArchiveRefused(f"{shown} is not a zip archive.")
        yield _open(root, shown)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _open(root: Path, shown: str) -> Checklist:
    for xml in root.rglob("*.xml"):
        _check_xml(xml, root)
    if (root / "meta.xml").is_file():
        _check_locations(root)
    try:
        reader = DwCAReader(str(root), skip_metadata=True)
    except (InvalidArchive, OSError, ValueError, KeyError) as error:
        raise ArchiveRefused(f"{shown} is not a Darwin Core Archive: {error}") from error
    core = DataFile(reader.core_file, "id")
    if reader.descriptor is None:  # one delimited file: reports name it as the curator does
        core.name = shown
    if core.row_type != terms.TAXON:
        raise ArchiveRefused(f"{shown}'s core is {core.row_type}: a checklist's core is {terms.TAXON}.")
    if "scientificName" not in core.names:
        found = ", ".join(sorted(core.names)) or "none"
        raise ArchiveRefused(f"{core.name} has no scientificName column (Darwin Core terms found: {found}).")
    extensions = {}
    for csv_file in reader.extension_files:
        extension = DataFile(csv_file, "coreid")
        if extension.row_type in (terms.VERNACULAR_NAME, terms.DISTRIBUTION, terms.DESCRIPTION, terms.IDENTIFIER):
            if not extension.has_key:
                raise ArchiveRefused(f"meta.xml gives {extension.name} no <coreid>: its rows name no taxon.")
            extensions[extension.row_type] = extension
    return Checklist(core=core, extensions=extensions, source=shown)


def _extract(path: Path, work: Path) -> Path:
    """Copy the zip's members into `work` after checking them: how many, their names and types, and (while
    copying) their real sizes and line lengths. Returns the archive's root (a single top-level folder, if the
    zip wraps everything in one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise ArchiveRefused(
                    f"The archive has {len(members):,} members; a checklist has at most {MAX_MEMBERS}."
                )
            total = 0
            for member in members:
                target = _member_target(member, work)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                total += _copy_member(archive, member, target, MAX_BYTES - total)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise ArchiveRefused(f"The archive cannot be read: {error}") from error
    entries = list(work.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else work


def _member_target(member: zipfile.ZipInfo, work: Path) -> Path:
    """Where a member goes, or a refusal: names that climb out (`..`), start at the root, use a drive or
    backslashes, and members that are links or devices rather than files."""
    name = member.filename
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or "\\" in name or ".." in parts or (parts and ":" in parts[0]) or "\0" in name:
        raise ArchiveRefused(f"The archive's member {name!r} points outside the archive.")
    mode = member.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: the zip says nothing of the type
        raise ArchiveRefused(f"The archive's member {name!r} is not a regular file (a link or a device).")
    target = (work / name).resolve()
    if not target.is_relative_to(work.resolve()):
        raise ArchiveRefused(f"The archive's member {name!r} points outside the archive.")
    return target


def _copy_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, allowance: int) -> int:
    """Copy one member out in chunks, refusing it as soon as it passes its declared size, the archive's
    allowance, the compression ratio a text file can have, or the length of a row."""
    written, line = 0, 0
    ratio_limit = max(member.compress_size, 1) * MAX_RATIO
    with archive.open(member) as source, target.open("wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > allowance:
                raise ArchiveRefused(f"The archive unpacks to more than {MAX_BYTES // 1024**2:,} MiB: refused.")
            if written > CHUNK and written > ratio_limit:
                raise ArchiveRefused(
                    f"{member.filename} unpacks to more than {MAX_RATIO} times its compressed size: refused as a "
                    "zip bomb."
                )
            line = _longest_line(chunk, line, member.filename)
            out.write(chunk)
    return written


def _longest_line(chunk: bytes, carried: int, name: str) -> int:
    """The length of the line still open at the end of `chunk` (`carried` bytes of it came before), refusing a
    line longer than MAX_LINE_BYTES."""
    start = 0
    while (end := chunk.find(b"\n", start)) >= 0:
        if carried + end - start > MAX_LINE_BYTES:
            break
        carried, start = 0, end + 1
    else:
        carried += len(chunk) - start
        if carried <= MAX_LINE_BYTES:
            return carried
    raise ArchiveRefused(f"{name} has a line over {MAX_LINE_BYTES // 1024:,} KiB (a field over the size limit).")


def _copy_text(path: Path, work: Path, shown: str) -> Path:
    """One delimited file: copied into a folder of its own (the reader then treats it as an archive without
    meta.xml, sniffing the delimiter from the header row), with the same size and line limits as a zip."""
    suffix = Path(shown).suffix.lower() if Path(shown).suffix.lower() in TEXT_SUFFIXES else ".txt"
    target = work / f"taxa{suffix}"
    written, line = 0, 0
    with path.open("rb") as source, target.open("wb") as out:
        if source.read(len(BOM)) != BOM:  # a spreadsheet's "CSV UTF-8" starts with one: not part of the header
            source.seek(0)
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > MAX_BYTES:
                raise ArchiveRefused(f"{shown} is larger than {MAX_BYTES // 1024**2:,} MiB: refused.")
            line = _longest_line(chunk, line, shown)
            out.write(chunk)
    with target.open("rb") as copied:
        header = copied.readline()
    try:
        header.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ArchiveRefused(f"{shown}'s header row is not UTF-8 text: is it a spreadsheet saved as CSV?") from error
    return work


def _check_xml(xml: Path, root: Path) -> None:
    """An XML file of the archive parses without a DTD, entities or external references."""
    try:
        SafeElementTree.parse(xml, forbid_dtd=True)
    except DefusedXmlException as error:
        raise ArchiveRefused(
            f"{xml.relative_to(root)} declares a DTD or entities ({type(error).__name__}): refused."
        ) from error
    except SafeElementTree.ParseError as error:
        raise ArchiveRefused(f"{xml.relative_to(root)} is not well-formed XML: {error}") from error


def _check_locations(root: Path) -> None:
    """Every data file meta.xml names is a file of the archive, not a path leading out of it."""
    meta = SafeElementTree.parse(root / "meta.xml", forbid_dtd=True).getroot()
    for location in meta.iter():
        if not location.tag.endswith("location"):
            continue
        named = (location.text or "").strip()
        target = (root / named).resolve()
        if not named or not target.is_relative_to(root.resolve()) or not target.is_file():
            raise ArchiveRefused(f"meta.xml names a data file that is not in the archive: {named!r}.")
