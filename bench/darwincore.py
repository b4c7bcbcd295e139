"""The Darwin Core rows of `make bench` (issue 16): a generated checklist imported into an empty database, the
same checklist imported again (nothing to change), and the catalogue exported. Each runs as the command a
curator runs (`manage.py import_dwca`, `export_dwca`), in its own process, timed from outside with its peak
memory; the database is a fresh one of its own, so the seeded catalogue of the other rows is not touched."""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from .darwincore_archive import write_checklist
from .environment import POSTGRES_SERVER, ROOT

DATABASE = "biomuseum_bench_dwc"
TARGETS = {"import": 120.0, "reimport": 60.0}  # seconds, for the full profile's 100,000 taxa


def run_darwin_core(env: dict[str, str], run_dir: Path, *, quick: bool, say) -> list[dict]:
    taxa, names = (10_000, 20_000) if quick else (100_000, 200_000)
    archive = run_dir / "checklist.zip"
    written = write_checklist(archive, taxa=taxa, names=names)
    say(f"  checklist: {written.taxa:,} taxa ({written.synonyms:,} synonyms), {written.names:,} names, "
        f"{archive.stat().st_size / 1024**2:.1f} MiB, written in {written.seconds:.1f} s")  # fmt: skip
    env = {**env, "DATABASE_URL": _fresh_database(env, run_dir)}
    _command(env, "migrate", "--noinput", "-v0")
    runs = {}
    for key in ("import", "reimport"):
        seconds, peak, output = _command(env, "import_dwca", str(archive), "--no-progress", "--json")
        report = json.loads(output)
        runs[key] = {"seconds": seconds, "peak_rss_mib": peak, "outcome": report["outcome"],
                     **{kind: report[kind] for kind in ("taxa", "names", "organisms")}}  # fmt: skip
        counts = report["taxa"], report["names"], report["organisms"]
        say(f"  {key}: {seconds:.1f} s, peak {peak:.0f} MiB; taxa {counts[0]['created']:,} created "
            f"{counts[0]['updated']:,} updated, names {counts[1]['created']:,} created, organisms "
            f"{counts[2]['created']:,} created ({report['outcome']})")  # fmt: skip
    exported = run_dir / "export.zip"
    seconds, peak, _ = _command(env, "export_dwca", str(exported))
    runs["export"] = {"seconds": seconds, "peak_rss_mib": peak, "bytes": exported.stat().st_size}
    say(f"  export: {seconds:.1f} s, peak {peak:.0f} MiB, {exported.stat().st_size / 1024**2:.1f} MiB")
    return [_import_row(runs, written, quick), _export_row(runs, written)]


def _import_row(runs: dict, written, quick: bool) -> dict:
    first, again = runs["import"], runs["reimport"]
    unchanged = all(again[kind]["created"] == again[kind]["updated"] == 0 for kind in ("taxa", "names", "organisms"))
    complete = first["outcome"] == again["outcome"] == "imported" and first["taxa"]["created"] == written.taxa
    met = None if quick else complete and unchanged and first["seconds"] < TARGETS["import"] and (
        again["seconds"] < TARGETS["reimport"]
    )  # fmt: skip
    return {
        "key": "darwin_core_import",
        "title": f"Darwin Core import of {written.taxa:,} taxa and {written.names:,} names, then again",
        "kind": "darwin_core",
        "setup": {"taxa": written.taxa, "names": written.names, "synonyms": written.synonyms},
        "runs": {"biomuseum": runs},
        "summary": {"biomuseum": {key: runs[key]["seconds"] for key in ("import", "reimport")}},
        "target": "< 2 min, and < 1 min again (0 created, 0 updated)",
        "met": met if complete and unchanged else False,
        "figure": f"import {first['seconds']:.1f} s (peak {first['peak_rss_mib']:.0f} MiB), again "
        f"{again['seconds']:.1f} s: {'nothing changed' if unchanged else 'CHANGED ROWS'}",
    }


def _export_row(runs: dict, written) -> dict:
    export = runs["export"]
    return {
        "key": "darwin_core_export",
        "title": f"Darwin Core export of that catalogue ({written.taxa:,} taxa)",
        "kind": "darwin_core",
        "setup": {},
        "runs": {"biomuseum": {"export": export}},
        "summary": {"biomuseum": {"export": export["seconds"]}},
        "target": None,
        "met": None,
        "figure": f"{export['seconds']:.1f} s, peak {export['peak_rss_mib']:.0f} MiB, "
        f"{export['bytes'] / 1024**2:.1f} MiB",
    }


def _fresh_database(env: dict[str, str], run_dir: Path) -> str:
    if not env["DATABASE_URL"].startswith("postgres"):
        return f"sqlite:///{run_dir / 'darwin-core.sqlite3'}"
    with psycopg.connect(f"{POSTGRES_SERVER} dbname=postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"postgres://postgres@127.0.0.1:5432/{DATABASE}"


def _command(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(seconds, peak resident MiB, standard output) of one manage.py command in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    with ThreadPoolExecutor(2) as pool:  # the pipes drain while this waits for the process and its usage
        output, errors = pool.submit(process.stdout.read), pool.submit(process.stderr.read)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        output, errors = output.result(), errors.result()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {errors[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, output
