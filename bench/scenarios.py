"""The scenarios of issue #3: how each is run, and whether it meets its target.

Every scenario returns a plain dict (`key`, `title`, `kind`, `summary` per target server, `runs`, `target`,
`met`, `figure`), which is what the JSON results hold and what the report prints.
"""

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import noise
from .catalogue import DEEP_ROWS, HEALTH, LIST, READY, Catalogue
from .load import measure_latency, run_wrk, send_requests
from .servers import Server, rss_kib, start_gunicorn, wait_for_workers, wait_until_ok

BIOMUSEUM, WSGI, NGINX = "biomuseum", "wsgi", "nginx"
TYPICAL = "typical"  # bench/typical_drf: the DRF app a team writes first, the miss path's reference
UNCACHED_CONNECTIONS = 20
BEFORE = "before"  # BioMuseum at an earlier commit (run.py --against), for a change's before and after


@dataclass(frozen=True)
class Profile:
    name: str
    duration: float  # seconds per wrk run
    repetitions: int  # runs per server and scenario, interleaved
    warmup: float
    connections: int
    crowd_connections: int
    crowd_duration: float
    latency_samples: int  # per latency group, at concurrency 1
    memory_checkpoints: tuple[int, int]
    memory_concurrency: int
    cold_starts: int


FULL = Profile("full", 10, 3, 2, 64, 1000, 60, 300, (10_000, 20_000), 8, 5)
QUICK = Profile("quick", 3, 1, 1, 64, 1000, 10, 40, (2_000, 4_000), 8, 2)


@dataclass(frozen=True)
class Throughput:
    key: str
    title: str
    paths: list[str]
    min_ratio: float | None = None  # BioMuseum req/s over bare WSGI req/s
    crowd: bool = False  # the 1000-connection run: judged on errors and p99 instead
    min_typical: float | None = None  # BioMuseum req/s over the typical DRF app's
    paths_for: dict[str, list[str]] | None = None  # a server's own spelling of the same request
    connections: int | None = None  # instead of the profile's


def uncached_scenarios(catalogue: Catalogue) -> list[Throughput]:
    """The miss path under load: BioMuseum with its page cache off beside the typical DRF app (issue 18)."""
    deep_page = DEEP_ROWS // 20 + 1  # PageNumberPagination's 20 a page: OFFSET 50,000
    return [
        Throughput("uncached_first", "uncached list, first page", [LIST], min_typical=3.0,
                   connections=UNCACHED_CONNECTIONS),
        Throughput("uncached_deep", f"uncached list, {DEEP_ROWS:,} rows deep", [catalogue.deep], min_typical=10.0,
                   paths_for={TYPICAL: [f"{LIST}?page={deep_page}"]}, connections=UNCACHED_CONNECTIONS),
        Throughput("uncached_detail", "uncached organism detail", [catalogue.detail], min_typical=2.0,
                   connections=UNCACHED_CONNECTIONS),
    ]  # fmt: skip


def throughput_scenarios(catalogue: Catalogue) -> list[Throughput]:
    return [
        Throughput("liveness", f"liveness `{HEALTH}`", [HEALTH], min_ratio=0.8),
        Throughput("cached_list", "cached organisms list, page 1", [LIST], min_ratio=0.6),
        Throughput("cached_detail", "cached organism detail", [catalogue.detail], min_ratio=0.6),
        Throughput("mixed", f"mixed reads ({len(catalogue.mixed)} URLs, wrk.lua)", catalogue.mixed),
    ]


def crowd_scenario(profile: Profile) -> Throughput:
    return Throughput(
        "crowd",
        f"{profile.crowd_connections} keep-alive connections, cached list, {profile.crowd_duration:.0f} s",
        [LIST],
        crowd=True,
    )


def run_throughput(scenario: Throughput, servers: dict[str, Server], profile: Profile, wrk: str, say) -> dict:
    """wrk against each server in turn, repetition after repetition, so noise falls on all of them alike."""
    connections = profile.crowd_connections if scenario.crowd else scenario.connections or profile.connections
    duration = profile.crowd_duration if scenario.crowd else profile.duration
    repetitions = 1 if scenario.crowd else profile.repetitions
    threads = min(2, connections)

    def paths(name: str) -> list[str]:
        return (scenario.paths_for or {}).get(name, scenario.paths)

    for name, server in servers.items():
        run_wrk(server.base_url, paths(name), connections=connections, threads=threads, duration=profile.warmup,
                wrk=wrk)  # fmt: skip
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    for repetition in range(1, repetitions + 1):
        for name, server in servers.items():
            workers_before, cpu_before = set(server.worker_pids()), noise.sample()
            result = run_wrk(
                server.base_url, paths(name), connections=connections, threads=threads, duration=duration, wrk=wrk
            )
            result["cpu"] = noise.cpu_split(cpu_before, noise.sample(), server.process.pid)
            # gunicorn recycles a worker after max_requests: that pause is part of the production figures.
            result["worker_restarts"] = len(set(server.worker_pids()) - workers_before)
            runs[name].append(result)
            say(
                f"  {scenario.key:<14} {name:<9} {repetition}/{repetitions}"
                f" {result['requests_per_second']:>9,.0f} req/s"
                f"  p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:8.2f} ms"
                f"  errors {result['socket_errors']}/{result['http_errors']}"
                f"  worker restarts {result['worker_restarts']}  other CPU {result['cpu']['other']:.2f}"
            )
    summary = {name: _median_run(server_runs) for name, server_runs in runs.items()}
    _add_ratios(summary)
    record = {
        "key": scenario.key,
        "title": scenario.title,
        "kind": "throughput",
        "setup": {
            "paths": {name: paths(name) for name in servers},
            "connections": connections,
            "threads": threads,
            "duration": duration,
        },  # fmt: skip
        "runs": runs,
        "summary": summary,
    }
    return record | (_judge_crowd(summary[BIOMUSEUM]) if scenario.crowd else _judge_ratio(scenario, summary))


def _median_run(runs: list[dict]) -> dict:
    return {
        "requests_per_second": statistics.median(run["requests_per_second"] for run in runs),
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p99_ms": statistics.median(run["p99_ms"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "http_errors": sum(run["http_errors"] for run in runs),
        "requests": sum(run["requests"] for run in runs),
        "worker_restarts": sum(run["worker_restarts"] for run in runs),
        "other_cpu": max(run["cpu"]["other"] for run in runs),
    }


def _add_ratios(summary: dict[str, dict]) -> None:
    app = summary[BIOMUSEUM]
    for name in (WSGI, NGINX, BEFORE, TYPICAL):
        if name in summary and summary[name]["requests_per_second"]:
            app[f"ratio_{name}"] = app["requests_per_second"] / summary[name]["requests_per_second"]


def _judge_ratio(scenario: Throughput, summary: dict[str, dict]) -> dict:
    app = summary[BIOMUSEUM]
    errors = app["socket_errors"] + app["http_errors"]
    if scenario.min_typical is not None:
        ratio = app.get(f"ratio_{TYPICAL}", 0.0)
        figure = f"{ratio:.2f}x typical DRF" + (f", {errors} errors" if errors else "")
        met = ratio >= scenario.min_typical and not errors
        return {"target": f">= {scenario.min_typical:g}x typical DRF", "met": met, "figure": figure}
    if scenario.min_ratio is None:
        return {"target": None, "met": None, "figure": None}
    ratio = app.get(f"ratio_{WSGI}", 0.0)
    figure = f"{ratio:.2f}x" + (f", {errors} errors" if errors else "")
    return {"target": f">= {scenario.min_ratio}x bare WSGI", "met": ratio >= scenario.min_ratio, "figure": figure}


def _judge_crowd(app: dict) -> dict:
    met = app["socket_errors"] == 0 and app["http_errors"] == 0 and app["p99_ms"] < 1000
    figure = f"{app['socket_errors']} socket errors, {app['http_errors']} non-2xx, p99 {app['p99_ms'] / 1000:.2f} s"
    return {"target": "0 socket errors, 0 non-2xx, p99 < 1 s", "met": met, "figure": figure}


TAXON_RANKS = ("kingdom", "family", "genus")


def run_latency(
    server: Server, catalogue: Catalogue, profile: Profile, empty_cache: Callable[[], object] | None, say
) -> list[dict]:
    """Concurrency 1, the page cache emptied before every request: what a miss costs.

    The groups take turns request by request, so the deep page and the first page, or a kingdom and a genus,
    share the same noise.
    """
    groups = {
        "first": [LIST],
        "deep": [catalogue.deep],
        "search": catalogue.searches,
        "autocomplete": catalogue.autocompletes,
        **{f"taxon_{rank}": [catalogue.taxon_filters[rank]] for rank in TAXON_RANKS},
        "taxon_detail": catalogue.taxon_details,
    }
    measure_latency(server.port, groups, samples=5, before_each=empty_cache, time_limit=60)  # warm-up
    cpu_before = noise.sample()
    measured = measure_latency(
        server.port, groups, samples=profile.latency_samples, before_each=empty_cache, time_limit=600
    )
    cpu = noise.cpu_split(cpu_before, noise.sample(), server.process.pid)
    for result in measured.values():
        result["cpu"], result["other_cpu"] = cpu, cpu["other"]
    for name, result in measured.items():
        say(
            f"  uncached {name:<13} {result['samples']:>4} requests  p50 {result['p50_ms']:7.2f} ms"
            f"  p99 {result['p99_ms']:8.2f} ms  statuses {result['statuses']}  X-Cache {result['x_cache']}"
        )
    cache = "page cache emptied before each request" if empty_cache else "page cache off (PAGE_CACHE_ENABLED=0)"
    setup = {"concurrency": 1, "cache": cache, "interleaved": list(groups)}
    first, deep = measured["first"]["p50_ms"], measured["deep"]["p50_ms"]
    depth_ratio = deep / first if first else float("inf")
    records = [
        _latency_record("first", "uncached list, first page, c1", measured, groups, setup),
        _latency_record(
            "deep",
            f"uncached list, cursor {DEEP_ROWS:,} deep, c1",
            measured,
            groups,
            setup,
            judged=("p50 <= 1.5x first page", depth_ratio <= 1.5, f"{depth_ratio:.2f}x the first page's p50"),
        ),
    ]
    for key in ("search", "autocomplete"):
        p50 = measured[key]["p50_ms"]
        title = f"uncached {key} on 100k organisms, c1"
        judged = ("p50 < 20 ms", p50 < 20, f"p50 {p50:.1f} ms")
        records.append(_latency_record(key, title, measured, groups, setup, judged=judged))
    records += _taxon_records(catalogue, measured, groups, setup)
    return records


def _taxon_records(catalogue: Catalogue, measured: dict[str, dict], groups: dict, setup: dict) -> list[dict]:
    """The organism list under a kingdom, a family and a genus (a kingdom's thousands of taxa should cost about
    what a genus's few do), and a taxon's page."""
    records = []
    genus_p50 = measured["taxon_genus"]["p50_ms"]
    for rank in TAXON_RANKS:
        key, taxon = f"taxon_{rank}", catalogue.taxa[rank]
        p50 = measured[key]["p50_ms"]
        title = f"uncached list `?taxon=` {rank} ({taxon['name']}, {taxon['organisms']:,} organisms), c1"
        judged = ("p50 < 20 ms", p50 < 20, f"p50 {p50:.1f} ms")
        if rank == "kingdom":
            ratio = p50 / genus_p50 if genus_p50 else float("inf")
            judged = ("p50 < 20 ms and <= 1.5x genus", p50 < 20 and ratio <= 1.5,
                      f"p50 {p50:.1f} ms, {ratio:.2f}x the genus's p50")  # fmt: skip
        records.append(_latency_record(key, title, measured, groups, setup, judged=judged))
    p50 = measured["taxon_detail"]["p50_ms"]
    title = f"uncached taxon detail (genus {catalogue.taxa['genus']['name']} and one of its species), c1"
    records.append(_latency_record("taxon_detail", title, measured, groups, setup,
                                   judged=("p50 < 20 ms", p50 < 20, f"p50 {p50:.1f} ms")))  # fmt: skip
    return records


def _latency_record(
    key: str,
    title: str,
    measured: dict[str, dict],
    groups: dict[str, list[str]],
    setup: dict,
    judged: tuple[str, bool, str] | None = None,
) -> dict:
    result = measured[key]
    target, met, figure = judged or (None, None, None)
    bad_statuses = {status: count for status, count in result["statuses"].items() if status != 200}
    if bad_statuses:
        met = False
        figure = f"{figure or ''}; non-200 answers: {bad_statuses}".lstrip("; ")
    return {
        "key": f"uncached_{key}",
        "title": title,
        "kind": "latency",
        "setup": {**setup, "targets": groups[key]},
        "runs": {BIOMUSEUM: [result]},
        "summary": {BIOMUSEUM: result},
        "target": target,
        "met": met,
        "figure": figure,
    }


def run_memory(
    env: dict[str, str], catalogue: Catalogue, profile: Profile, workers_expected: int | None, log_dir: Path, say
) -> dict:
    """A fresh BioMuseum, its workers' RSS after the first and the second batch of requests."""
    server = start_gunicorn("biomuseum-memory", "biomuseum.wsgi", env, log_dir / "biomuseum-memory.log")
    try:
        wait_until_ok(server, HEALTH)
        workers = wait_for_workers(server, workers_expected)
        checkpoints = [{"requests": 0, "rss_kib": {pid: rss_kib(pid) for pid in workers}}]
        sent = 0
        for checkpoint in profile.memory_checkpoints:
            burst = send_requests(
                server.port,
                catalogue.memory_mix,
                checkpoint - sent,
                concurrency=profile.memory_concurrency,
                time_limit=600,
            )
            sent += burst["sent"]
            now = server.worker_pids()
            checkpoints.append({"requests": sent, "rss_kib": {pid: rss_kib(pid) for pid in now}, "burst": burst})
            total = sum(checkpoints[-1]["rss_kib"].values())
            say(f"  memory after {sent:>6,} requests: workers {now}, RSS {total / 1024:.1f} MiB, {burst['statuses']}")
    finally:
        server.stop()
    first, second = (sum(point["rss_kib"].values()) for point in checkpoints[1:3])
    growth = (second - first) / first
    recycled = set(checkpoints[-1]["rss_kib"]) != set(workers)
    non_2xx = sum(point["burst"]["non_2xx"] for point in checkpoints[1:])
    complete = all(point["burst"]["completed"] for point in checkpoints[1:])
    one, two = profile.memory_checkpoints
    plural = "s" if len(workers) != 1 else ""
    figure = f"{first / 1024:.1f} -> {second / 1024:.1f} MiB ({growth:+.1%}) for {len(workers)} worker{plural}"
    if recycled:
        figure += "; a worker was recycled (max_requests) during the run: figure not comparable"
    if non_2xx:
        figure += f"; {non_2xx} non-2xx answers"
    if not complete:
        figure += f"; only {sent:,} requests within the time limit"
    return {
        "key": "memory",
        "title": f"memory: worker RSS after {one:,} then {two:,} requests",
        "kind": "memory",
        "setup": {"targets": catalogue.memory_mix, "concurrency": profile.memory_concurrency},
        "runs": {BIOMUSEUM: checkpoints},
        "summary": {BIOMUSEUM: {"rss_first_kib": first, "rss_second_kib": second, "growth": growth}},
        "target": "growth < 10%",
        "met": growth < 0.10 and not recycled and not non_2xx and complete,
        "figure": figure,
    }


def run_cold_start(env: dict[str, str], catalogue: Catalogue, profile: Profile, log_dir: Path, say) -> dict:
    """From spawning gunicorn to the first 200 of the probe, a fresh process each time."""
    seconds = []
    for attempt in range(1, profile.cold_starts + 1):
        server = start_gunicorn(f"biomuseum-cold-{attempt}", "biomuseum.wsgi", env, log_dir / "biomuseum-cold.log")
        try:
            seconds.append(wait_until_ok(server, catalogue.probe, timeout=60))
        finally:
            server.stop()
        say(f"  cold start {attempt}/{profile.cold_starts}: {seconds[-1]:.2f} s to the first 200 on {catalogue.probe}")
    median = statistics.median(seconds)
    figure = f"median {median:.2f} s, max {max(seconds):.2f} s"
    if catalogue.probe != READY:
        figure += f" (no {READY} yet: measured on {catalogue.probe})"
    return {
        "key": "cold_start",
        "title": f"cold start: process start to first 200 from `{catalogue.probe}`",
        "kind": "cold_start",
        "setup": {"probe": catalogue.probe, "attempts": profile.cold_starts},
        "runs": {BIOMUSEUM: seconds},
        "summary": {BIOMUSEUM: {"median_s": median, "max_s": max(seconds)}},
        "target": "< 2 s",
        "met": median < 2,
        "figure": figure,
    }


BULK_ROWS = 500
BULK_WRITE = """
import json, time
from django.db import transaction
from biomuseum.pagecache import bump_stats
from organisms import services
from organisms.models import Organism
ids = list(Organism.objects.filter(slug__startswith="synthetic-").order_by("pk").values_list("pk", flat=True)[:{rows}])
before = bump_stats()
started = time.perf_counter()
with transaction.atomic():
    changed = services.organism_set_published(
        organisms=Organism.objects.filter(pk__in=ids), published={published}, user=None
    )
seconds = time.perf_counter() - started
after = bump_stats()
print(json.dumps({{"changed": changed, "seconds": seconds, "bumps": after["bumps"] - before["bumps"],
                  "late_acks": after["late_acks"] - before["late_acks"]}}))
"""


def run_bulk_write(app: Server, env: dict[str, str], listeners: Callable[[], int | None], say) -> dict:
    """What the admin's bulk unpublish and publish cost, from a separate process, with every web process
    following bumps (each must acknowledge the one bump before the write returns)."""
    import json
    import subprocess
    import sys

    from .environment import ROOT

    send_requests(app.port, [LIST], 400, concurrency=16, time_limit=20)  # every worker serves pages: follows bumps
    subscribed = listeners()
    runs = {}
    for action, published in (("unpublish", False), ("publish", True)):
        completed = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", BULK_WRITE.format(rows=BULK_ROWS, published=published)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if completed.returncode:
            raise RuntimeError(f"bulk {action} failed: {completed.stderr[-2000:]}")
        runs[action] = json.loads(completed.stdout.strip().splitlines()[-1])
        run = runs[action]
        say(f"  bulk {action} of {run['changed']} rows: {run['seconds']:.2f} s, {run['bumps']} bump(s), "
            f"{run['late_acks']} late acknowledgement(s)")  # fmt: skip
    met = all(run["seconds"] < 1 and run["bumps"] == 1 and run["late_acks"] == 0 for run in runs.values())
    figure = "; ".join(
        f"{action} {run['seconds']:.2f} s, {run['bumps']} bump, {run['late_acks']} late" for action, run in runs.items()
    )
    if subscribed is not None:
        figure += f" ({subscribed} web processes following bumps)"
    return {
        "key": "bulk_write",
        "title": f"bulk write: {BULK_ROWS}-row unpublish, then publish, one transaction each",
        "kind": "bulk_write",
        "setup": {"rows": BULK_ROWS, "listeners": subscribed},
        "runs": {BIOMUSEUM: runs},
        "summary": {BIOMUSEUM: {action: run["seconds"] for action, run in runs.items()}},
        "target": "< 1 s each, 1 bump each, 0 late",
        "met": met,
        "figure": figure,
    }


EDIT_EVERY, IMAGE_EVERY = 1.0, 5.0
WRITER = """
import json, time
from django.utils import timezone
from organisms import services
from biomuseum.images.fields import ImageStatus
from organisms.models import Organism, OrganismImage
organisms = list(Organism.objects.published().order_by("pk")[1000:1060])
image = OrganismImage.objects.filter(status=ImageStatus.READY, organism__is_published=True).first()
if image is None:  # a photograph as a finished job leaves it (the bench database has none)
    image = OrganismImage.objects.create(organism=organisms[-1], original="bench/photograph.jpg", width=640,
                                         height=480, alt_text="A photograph", status=ImageStatus.READY,
                                         renditions=[], processed_at=timezone.now())  # sizes given: no file read
print("ready", flush=True)
started = time.monotonic()
edits = images = 0
while time.monotonic() - started < {seconds}:
    now = time.monotonic() - started
    if now >= edits * {edit_every}:  # a curator's edit, through the service
        organism = Organism.objects.get(pk=organisms[edits % len(organisms)].pk)
        services.organism_update(organism=organism, user=None, habitat=f"Edited {{edits}}")
        edits += 1
    if now >= images * {image_every}:  # the save an image job ends with (biomuseum/images/jobs.py)
        image.processed_at = timezone.now()
        image.save()
        images += 1
    time.sleep(0.01)
print(json.dumps({{"edits": edits, "images": images}}))
"""


def run_reads_while_editing(app: Server, env: dict[str, str], catalogue: Catalogue, profile: Profile, wrk: str,
                            say) -> dict:  # fmt: skip
    """The mixed reads and a long tail of organism details, with no writes, then while a writer edits one
    organism every second (through the service) and an image job finishes every 5 s, turn by turn (issue 18)."""
    import json
    import subprocess
    import sys

    from .environment import ROOT

    paths = [*catalogue.mixed, *catalogue.tail]
    connections, threads = profile.connections, 2
    run_wrk(app.base_url, paths, connections=connections, threads=threads, duration=profile.duration, wrk=wrk)  # warm
    runs: dict[str, list[dict]] = {"no writes": [], "writes": []}
    writes = []
    for repetition in range(1, profile.repetitions + 1):
        for name in runs:
            writer = None
            if name == "writes":
                script = WRITER.format(seconds=profile.duration + 1, edit_every=EDIT_EVERY, image_every=IMAGE_EVERY)
                command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", script]
                writer = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True)  # fmt: skip
                while (line := writer.stdout.readline()) and line.strip() != "ready":
                    pass
                if not line:
                    raise RuntimeError(f"the writer did not start: {writer.stderr.read()[-2000:]}")
            workers_before, cpu_before = set(app.worker_pids()), noise.sample()
            result = run_wrk(app.base_url, paths, connections=connections, threads=threads, duration=profile.duration,
                             wrk=wrk, count_cache=True)  # fmt: skip
            result["cpu"] = noise.cpu_split(cpu_before, noise.sample(), app.process.pid)
            result["worker_restarts"] = len(set(app.worker_pids()) - workers_before)
            if writer is not None:
                out, err = writer.communicate(timeout=60)
                if writer.returncode:
                    raise RuntimeError(f"the writer failed: {err[-2000:]}")
                writes.append(json.loads(out.strip().splitlines()[-1]))
            cache = result["cache"]
            result["hit_ratio"] = cache["hits"] / max(1, cache["hits"] + cache["misses"])
            runs[name].append(result)
            say(f"  reads {name:<9} {repetition}/{profile.repetitions} {result['requests_per_second']:>9,.0f} req/s"
                f"  p99 {result['p99_ms']:8.2f} ms  hit ratio {result['hit_ratio']:.1%}"
                + (f"  writes {writes[-1]}" if writer is not None else ""))  # fmt: skip
    summary = {
        name: {**_median_run(found), "hit_ratio": statistics.median(run["hit_ratio"] for run in found)}
        for name, found in runs.items()
    }  # fmt: skip
    quiet, busy = summary["no writes"], summary["writes"]
    ratio = busy["requests_per_second"] / quiet["requests_per_second"] if quiet["requests_per_second"] else 0.0
    met = busy["hit_ratio"] >= 0.9 and ratio >= 0.8
    figure = (f"{ratio:.2f}x the no-write throughput ({quiet['requests_per_second']:,.0f} req/s); hit ratio "
              f"{busy['hit_ratio']:.1%} ({quiet['hit_ratio']:.1%} without writes); p99 {busy['p99_ms']:.1f} ms "
              f"({quiet['p99_ms']:.1f} ms)")  # fmt: skip
    return {
        "key": "reads_while_editing",
        "title": f"reads while a curator edits ({len(paths)} URLs, an edit a second, an image job every 5 s)",
        "kind": "throughput",
        "setup": {"paths": len(paths), "connections": connections, "duration": profile.duration, "writes": writes},
        "runs": runs,
        "summary": {BIOMUSEUM: busy, "no_writes": quiet},
        "target": "hit ratio >= 90 % and >= 0.8x the no-write throughput",
        "met": met,
        "figure": figure,
    }
