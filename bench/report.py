"""The Markdown table and the JSON results file."""

import json
from pathlib import Path

from .scenarios import BEFORE, BIOMUSEUM, NGINX, TYPICAL, UNCACHED_CONNECTIONS, WSGI

DASH = "—"
COLUMNS = ["scenario", "BioMuseum req/s", "p50", "p99", "typical DRF req/s", "bare WSGI req/s", "nginx req/s",
           "vs typical DRF", "vs WSGI", "vs nginx"]  # fmt: skip
BEFORE_COLUMNS = ["before req/s", "vs before"]


def markdown_table(scenarios: list[dict]) -> str:
    before = any(BEFORE in scenario["summary"] for scenario in scenarios)
    columns = [*COLUMNS, *(BEFORE_COLUMNS if before else []), "target", "result"]
    header = "| " + " | ".join(columns) + " |\n|---|" + "--:|" * (len(columns) - 3) + "---|---|"
    return "\n".join([header, *(_row(scenario, before) for scenario in scenarios)])


def _row(scenario: dict, before: bool = False) -> str:
    summary = scenario["summary"]
    app = summary[BIOMUSEUM]
    measured = scenario["kind"] in ("throughput", "latency")
    cells = [
        scenario["title"],
        _rate(app.get("requests_per_second")) if measured else DASH,
        _ms(app.get("p50_ms")) if measured else DASH,
        _ms(app.get("p99_ms")) if measured else DASH,
        _rate(summary.get(TYPICAL, {}).get("requests_per_second")),
        _rate(summary.get(WSGI, {}).get("requests_per_second")),
        _rate(summary.get(NGINX, {}).get("requests_per_second")),
        _ratio(app.get(f"ratio_{TYPICAL}")),
        _ratio(app.get(f"ratio_{WSGI}")),
        _ratio(app.get(f"ratio_{NGINX}")),
        *(
            [_rate(summary.get(BEFORE, {}).get("requests_per_second")), _ratio(app.get(f"ratio_{BEFORE}"))]
            if before
            else []
        ),
        scenario["target"] or DASH,
        _result(scenario),
    ]
    return "| " + " | ".join(cells) + " |"


NOISY_CPU = 0.25  # other processes using more than a quarter of a CPU during a run: say so next to its figure


def _result(scenario: dict) -> str:
    figure = scenario["figure"] or ""
    other = max((summary.get("other_cpu", 0.0) for summary in scenario["summary"].values()), default=0.0)
    if other > NOISY_CPU:
        figure = f"{figure} (other processes used up to {other:.2f} CPU)".lstrip()
    if scenario["met"] is None:
        return figure or DASH
    return f"met: {figure}" if scenario["met"] else f"**missed**: {figure}"


def _rate(value: float | None) -> str:
    return f"{value:,.0f}" if value else DASH


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value else DASH


def _ms(value: float | None) -> str:
    if value is None:
        return DASH
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def context_lines(results: dict) -> list[str]:
    machine, gunicorn = results["machine"], results["gunicorn"]
    lines = [
        f"- machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB RAM, "
        f"{machine['os']}, Python {machine['python']}; wrk {machine['wrk']} and nginx {machine['nginx']} "
        "on the same machine",
        f"- database: {results['backends']['database']}; cache: {results['backends']['cache']}",
        f"- data: {results['data']['organisms']:,} organisms, {results['data']['posts']:,} posts",
        f"- gunicorn.conf.py, for BioMuseum, typical DRF and bare WSGI alike: {gunicorn.get('workers')} "
        f"{gunicorn.get('worker_class')} workers x {gunicorn.get('threads')} threads, keep-alive "
        f"{gunicorn.get('keepalive')} s, max_requests {gunicorn.get('max_requests')} "
        f"(+ up to {gunicorn.get('max_requests_jitter')})",
        f"- command: `{results['command']}` ({results['profile']} profile), {results['started_at']}, "
        f"commit {(results['commit'] or 'unknown')[:12]}",
    ]
    if results.get("against"):
        against = results["against"]
        lines.append(
            f"- before: commit {against['commit'][:12]} ({against['rev']}), the same configuration, database and "
            "cache, taking turns with BioMuseum in every throughput scenario but the crowd"
        )
    lines.append(
        "- uncached rows: BioMuseum with PAGE_CACHE_ENABLED=0 beside bench/typical_drf (ModelViewSet, "
        "ModelSerializer with every field, PageNumberPagination, default middleware, no cache) on the same "
        f"database and pool, wrk with {UNCACHED_CONNECTIONS} connections"
    )
    if not results["nginx"]:
        lines.append("- nginx could not be installed: no machine-limit reference")
    return lines


def write_results(results: dict, run_dir: Path) -> tuple[Path, Path]:
    json_path = run_dir / "results.json"
    json_path.write_text(json.dumps(results, indent=1, default=str))
    table_path = run_dir / "table.md"
    table_path.write_text("\n".join([*context_lines(results), "", markdown_table(results["scenarios"]), ""]))
    return json_path, table_path
