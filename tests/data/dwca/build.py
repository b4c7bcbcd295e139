"""Zips the Darwin Core test archives of tests/data/dwca/: `.venv/bin/python tests/data/dwca/build.py`.

Each directory here becomes `<name>.zip` beside it; the hostile archives, which cannot be plain text (a bomb,
odd member names, a symlink, random bytes), are built from code below. Every member gets the same timestamp
and mode, so building twice gives the same bytes and a rebuild shows in `git status` only when a source
changed. README.md says what each archive tests.
"""

import random
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMESTAMP = (2026, 1, 1, 0, 0, 0)
UNIX = 3  # ZipInfo.create_system: the external attributes hold a unix mode
FILE_MODE = 0o100644
SYMLINK_MODE = 0o120777

DIRECTORIES = (
    "demo-checklist",
    "unknown-rank",
    "missing-name",
    "missing-parent",
    "synonym-cycle",
    "parent-cycle",
    "bad-encoding",
    "mixed",
    "xxe-meta",
    "billion-laughs",
)
# The directory holds its text readable (UTF-8); the zip holds it in this encoding, while meta.xml says UTF-8.
RECODED = {("bad-encoding", "taxon.txt"): "latin-1"}

BOMB_SIZE = 1 << 30  # 1 GiB of zeros, about 1 MB deflated
BOMB_CHUNK = 1 << 20
MANY_MEMBERS = 5000
OVERSIZED_FIELD = 1_000_000
NOT_A_ZIP_SIZE = 4096
NOT_A_ZIP_SEED = 16


def _info(name: str, mode: int = FILE_MODE) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = UNIX
    info.external_attr = mode << 16
    return info


def directory_members(name: str) -> dict[str, bytes]:
    """What `<name>.zip` holds: the directory's files at the top level, sorted, recoded where RECODED says."""
    members = {}
    for path in sorted((HERE / name).iterdir()):
        data = path.read_bytes()
        if encoding := RECODED.get((name, path.name)):
            data = data.decode("utf-8").encode(encoding)
        members[path.name] = data
    return members


def _write(path: Path, members: dict[str, bytes], modes: dict[str, int] | None = None) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(_info(member, (modes or {}).get(member, FILE_MODE)), data)


def _demo() -> dict[str, bytes]:
    """The valid demo checklist: what the hostile archives hide their trap in."""
    return directory_members("demo-checklist")


def build_zip_bomb(path: Path) -> None:
    """The demo checklist with a taxon.txt of BOMB_SIZE zeros, deflated in chunks so building never holds it."""
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in _demo().items():
            if member != "taxon.txt":
                archive.writestr(_info(member), data)
        info = _info("taxon.txt")
        info.file_size = BOMB_SIZE
        with archive.open(info, "w") as member:
            chunk = bytes(BOMB_CHUNK)
            for _ in range(BOMB_SIZE // BOMB_CHUNK):
                member.write(chunk)


def build_too_many_members(path: Path) -> None:
    members = _demo() | {f"notes/{number:04d}.txt": b"x\n" for number in range(MANY_MEMBERS)}
    _write(path, members)


def build_path_traversal(path: Path) -> None:
    _write(path, _demo() | {"../evil.txt": b"written outside the extraction directory\n"})


def build_absolute_path(path: Path) -> None:
    _write(path, _demo() | {"/tmp/evil.txt": b"written at an absolute path\n"})


def build_oversized_field(path: Path) -> None:
    """Valid but for one scientificName of OVERSIZED_FIELD characters (line 11, Panthera tigris's row)."""
    members = _demo()
    long_name = "Panthera " + "t" * (OVERSIZED_FIELD - len("Panthera "))
    members["taxon.txt"] = members["taxon.txt"].replace(b"\tPanthera tigris\t", f"\t{long_name}\t".encode())
    _write(path, members)


def build_not_a_zip(path: Path) -> None:
    path.write_bytes(random.Random(NOT_A_ZIP_SEED).randbytes(NOT_A_ZIP_SIZE))


def build_symlink_member(path: Path) -> None:
    """taxon.txt is a symlink to /etc/passwd: an extractor that honours unix modes would follow it."""
    members = _demo() | {"taxon.txt": b"/etc/passwd"}
    _write(path, members, modes={"taxon.txt": SYMLINK_MODE})


HOSTILE: dict[str, Callable[[Path], None]] = {
    "zip-bomb.zip": build_zip_bomb,
    "too-many-members.zip": build_too_many_members,
    "path-traversal.zip": build_path_traversal,
    "absolute-path.zip": build_absolute_path,
    "oversized-field.zip": build_oversized_field,
    "not-a-zip.zip": build_not_a_zip,
    "symlink-member.zip": build_symlink_member,
}


def build(out: Path = HERE, *, skip: frozenset[str] = frozenset()) -> list[Path]:
    """Every archive into `out` but those named in `skip`; returns the paths written."""
    written = []
    for name in DIRECTORIES:
        if f"{name}.zip" not in skip:
            _write(out / f"{name}.zip", directory_members(name))
            written.append(out / f"{name}.zip")
    for name, builder in HOSTILE.items():
        if name not in skip:
            builder(out / name)
            written.append(out / name)
    return written


if __name__ == "__main__":
    for path in build(skip=frozenset(sys.argv[1:])):
        print(f"{path.relative_to(HERE)}: {path.stat().st_size:,} bytes")
