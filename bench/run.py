"""`make bench` (or `.venv/bin/python bench/run.py [--quick]`): BioMuseum's benchmark suite, issue #3.

Sets up like `make run`, serves the production configuration, runs every scenario against BioMuseum and,
interleaved, against the bare WSGI and nginx references, prints a Markdown table and writes the raw
results under bench/results/. bench/README.md explains how to read them.
"""

import argparse
import secrets
import signal
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's own directory would head sys.path; the repository root must, for `bench.*`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import darwincore, environment, report, scenarios  # noqa: E402
from bench.catalogue import DEEP_ROWS, HEALTH, LIST, Catalogue, capture, discover  # noqa: E402
from bench.servers import Server, start_gunicorn, start_nginx, wait_for_workers, wait_until_ok  # noqa: E402

BUSY_LOAD = 1.0  # a one-minute load average above this before we start means someone else is using the CPUs


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under three minutes) for development")
    parser.add_argument(
        "--embedded", action="store_true", help="SQLite and the in-process cache even when PostgreSQL and Redis answer"
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also serve the commit REV (from a git worktree) and measure it beside this tree, turn by turn",
    )
    args = parser.parse_args(argv)
    profile = scenarios.QUICK if args.quick else scenarios.FULL
    command = "make bench QUICK=1" if args.quick else "make bench"
    if args.embedded or args.against:
        flags = [*(["--quick"] if args.quick else []), *(["--embedded"] if args.embedded else [])]
        flags += [f"--against {args.against}"] if args.against else []
        command = " ".join([".venv/bin/python bench/run.py", *flags])
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return run(profile, command=command, embedded=args.embedded, against=args.against)
    except KeyboardInterrupt:
        say("\nInterrupted: every process the benchmark started has been stopped.")
        return 130


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the `finally` blocks that stop the servers


def run(profile: scenarios.Profile, command: str, embedded: bool = False, against: str | None = None) -> int:
    started_at = datetime.now(UTC)
    run_dir = environment.RESULTS_DIR / started_at.strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True)
    say(f"BioMuseum benchmark, {profile.name} profile; results in {run_dir.relative_to(environment.ROOT)}/")

    say("Set-up")
    tools = environment.ensure_tools()
    say(f"  file descriptors: {environment.raise_fd_limit():,}")
    machine = environment.describe_machine(tools)
    say(f"  machine: {environment.describe_machine_line(machine)}")
    if machine["load_average"] and float(machine["load_average"][0]) > BUSY_LOAD:
        say(f"  WARNING: the machine is busy (load {machine['load_average'][0]}): figures will be noisy")
    backends = environment.choose_backends(embedded=embedded)
    say(f"  database: {backends.database}")
    say(f"  cache: {backends.cache}")
    env = environment.app_environment(backends, secret_key=secrets.token_urlsafe(50))
    data = environment.prepare_application(env)
    say(f"  data: {data['organisms']:,} organisms, {data['posts']:,} posts")
    results = {
        "command": command,
        "profile": profile.name,
        "started_at": started_at.isoformat(timespec="seconds"),
        "commit": environment.git_commit(),
        "page_cache_module": (environment.ROOT / "biomuseum" / "pagecache.py").exists(),
        "machine": machine,
        "backends": {"database": backends.database, "cache": backends.cache},
        "data": data,
        "gunicorn": environment.gunicorn_settings(env),
        "profile_settings": profile.__dict__,
        "nginx": bool(tools["nginx"]),
        "scenarios": [],
    }
    if against:
        results["against"] = {"rev": against, "commit": environment.checkout_worktree(against)[1]}

    catalogue = measure_with_references(results, env, backends, tools, profile, run_dir)
    say("Memory (a fresh BioMuseum)")
    workers = results["gunicorn"].get("workers")
    results["scenarios"].append(scenarios.run_memory(env, catalogue, profile, workers, run_dir, say))
    say("Cold start")
    results["scenarios"].append(scenarios.run_cold_start(env, catalogue, profile, run_dir, say))
    say("Darwin Core (a generated checklist into a database of its own)")
    results["scenarios"].extend(darwincore.run_darwin_core(env, run_dir, quick=profile is scenarios.QUICK, say=say))

    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["load_average_at_end"] = environment.load_average()
    results["seconds"] = round((datetime.now(UTC) - started_at).total_seconds(), 1)
    print_report(results, *report.write_results(results, run_dir))
    return 0


def measure_with_references(
    results: dict,
    env: dict[str, str],
    backends: environment.Backends,
    tools: dict,
    profile: scenarios.Profile,
    run_dir: Path,
) -> Catalogue:
    """BioMuseum, the bare WSGI reference and nginx up together; every scenario that compares them."""
    measured = results["scenarios"]
    servers: dict[str, Server] = {}
    with ExitStack() as running:  # stops every server it started, in reverse order, whatever happens
        app = servers[scenarios.BIOMUSEUM] = _started(
            running, start_gunicorn("biomuseum", "biomuseum.wsgi", env, run_dir / "biomuseum.log")
        )
        wait_until_ok(app, HEALTH)
        results["gunicorn"]["observed_workers"] = len(wait_for_workers(app, results["gunicorn"].get("workers")))
        say(f"  BioMuseum on 127.0.0.1:{app.port}; following the list's links {DEEP_ROWS:,} rows deep")
        catalogue = discover(app.port)
        results["catalogue"] = catalogue.as_dict()
        say(f"  walked in {catalogue.walk_seconds:.1f} s; cold start will wait for {catalogue.probe}")
        captured = run_dir / "captured.json"
        files, cache_status = capture(app.port, catalogue.replayed, captured)
        results["x_cache_on_repeat"] = cache_status
        say(f"  X-Cache of a repeated request: {_count_values(cache_status)}")
        reference_env = {**env, "BENCH_CAPTURED": str(captured)}
        servers[scenarios.WSGI] = _started(
            running, start_gunicorn("wsgi", "bench.reference_wsgi:application", reference_env, run_dir / "wsgi.log")
        )
        if tools["nginx"]:
            servers[scenarios.NGINX] = _started(running, start_nginx(tools["nginx"], files, run_dir / "nginx.log"))
        if results.get("against"):
            root, _ = environment.checkout_worktree(results["against"]["rev"])
            before = start_gunicorn("before", "biomuseum.wsgi", env, run_dir / "before.log", root=root)
            servers[scenarios.BEFORE] = _started(running, before)
        for server in servers.values():
            wait_until_ok(server, HEALTH)
        results["servers"] = {name: {"port": each.port, "pid": each.process.pid} for name, each in servers.items()}
        say(f"  servers: {', '.join(f'{name} on 127.0.0.1:{server.port}' for name, server in servers.items())}")

        say("Throughput (wrk, interleaved)")
        for scenario in scenarios.throughput_scenarios(catalogue):
            measured.append(scenarios.run_throughput(scenario, servers, profile, tools["wrk"], say))

        say("Uncached throughput (wrk, interleaved): BioMuseum without its page cache beside a typical DRF app")
        no_cache_env = {**env, "PAGE_CACHE_ENABLED": "0"}
        uncached = _started(running, start_gunicorn("uncached", "biomuseum.wsgi", no_cache_env, run_dir / "u.log"))
        typical_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.typical_drf.settings"}
        typical = _started(
            running, start_gunicorn("typical", "bench.typical_drf.wsgi:application", typical_env, run_dir / "t.log")
        )
        wait_until_ok(uncached, HEALTH)
        wait_until_ok(typical, LIST)
        compared = {scenarios.BIOMUSEUM: uncached, scenarios.TYPICAL: typical}
        compared.update({name: servers[name] for name in (scenarios.WSGI, scenarios.NGINX) if name in servers})
        for scenario in scenarios.uncached_scenarios(catalogue):
            measured.append(scenarios.run_throughput(scenario, compared, profile, tools["wrk"], say))
        typical.stop()

        say("Latency at concurrency 1, uncached")
        empty_cache = environment.page_cache_emptier(backends.redis_url) if backends.redis_url else None
        # An in-process cache cannot be emptied from outside: there, the BioMuseum without page cache.
        measured.extend(scenarios.run_latency(app if empty_cache else uncached, catalogue, profile, empty_cache, say))

        say("Many connections (wrk, interleaved)")
        crowd = scenarios.crowd_scenario(profile)
        crowded = {name: server for name, server in servers.items() if name != scenarios.BEFORE}
        measured.append(scenarios.run_throughput(crowd, crowded, profile, tools["wrk"], say))

        say("Reads while a curator edits (wrk, and a writer process, turn by turn)")
        measured.append(scenarios.run_reads_while_editing(app, env, catalogue, profile, tools["wrk"], say))

        say("Bulk write (a separate manage.py process, while the web processes follow bumps)")
        measured.append(scenarios.run_bulk_write(app, env, environment.bump_listeners(backends.redis_url), say))
    return catalogue


def _started(stack: ExitStack, server: Server) -> Server:
    stack.callback(server.stop)
    return server


def print_report(results: dict, json_path: Path, table_path: Path) -> None:
    say("")
    for line in report.context_lines(results):
        say(line)
    say("")
    say(report.markdown_table(results["scenarios"]))
    say("")
    missed = [scenario["title"] for scenario in results["scenarios"] if scenario["met"] is False]
    say(f"Targets missed: {len(missed)}" + (f" ({'; '.join(missed)})" if missed else ""))
    say(f"Raw results: {json_path.relative_to(environment.ROOT)}; table: {table_path.relative_to(environment.ROOT)}")
    say(f"Took {time.strftime('%M:%S', time.gmtime(results['seconds']))}.")


def _count_values(mapping: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for value in mapping.values():
        counts[value] = counts.get(value, 0) + 1
    return ", ".join(f"{value} x{count}" for value, count in sorted(counts.items()))


if __name__ == "__main__":
    sys.exit(main())
