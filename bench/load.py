"""Load generators: wrk for throughput, a one-connection client for latency, a bounded client for request counts."""

import http.client
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
WRK_TIMEOUT_SECONDS = 10  # a request slower than this is a socket error, not a latency figure


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def http_get(port: int, target: str, timeout: float = 10.0) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return Response(response.status, response.reason, response.getheaders(), response.read())
    finally:
        connection.close()


def run_wrk(
    base_url: str,
    paths: list[str],
    *,
    connections: int,
    threads: int,
    duration: float,
    wrk: str | None = None,
    count_cache: bool = False,
) -> dict:
    """One wrk run. One path: wrk's static request. Several: wrk.lua cycles through them (mixed traffic).
    `count_cache`: also count the responses' X-Cache (`cache`: hits, misses, others)."""
    env = {name: value for name, value in os.environ.items() if name not in ("WRK_PATHS", "WRK_COUNT_CACHE")}
    if len(paths) > 1:
        env["WRK_PATHS"] = " ".join(paths)
    if count_cache:
        env["WRK_COUNT_CACHE"] = "1"
    url = base_url + (paths[0] if len(paths) == 1 else "/")
    command = [
        wrk or shutil.which("wrk") or "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={WRK_TIMEOUT_SECONDS}s",
        "--latency",
        f"--script={WRK_SCRIPT}",
        url,
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False)
    cache = None
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_CACHE "):
            cache = json.loads(line.removeprefix("BENCH_CACHE "))
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line.removeprefix("BENCH_JSON "))
            break
    else:
        raise RuntimeError(f"wrk printed no result ({completed.returncode}): {completed.stderr or completed.stdout}")
    seconds = raw["duration_us"] / 1e6
    socket_errors = sum(raw[kind] for kind in ("connect_errors", "read_errors", "write_errors", "timeout_errors"))
    return {
        "requests_per_second": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["latency_p50_us"] / 1000,
        "p90_ms": raw["latency_p90_us"] / 1000,
        "p99_ms": raw["latency_p99_us"] / 1000,
        "max_ms": raw["latency_max_us"] / 1000,
        "mean_ms": raw["latency_mean_us"] / 1000,
        "requests": raw["requests"],
        "seconds": seconds,
        "socket_errors": socket_errors,
        "http_errors": raw["http_errors"],  # wrk counts responses with a status of 400 or more
        "raw": raw,
        "command": " ".join(command),
        **({"cache": cache} if cache is not None else {}),
    }


class KeepAliveClient:
    """One persistent HTTP/1.1 connection; reconnects once when the server closed it (worker recycling)."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def fetch(self, target: str) -> tuple[Response, float]:
        """One GET, the body read to the end, and the seconds it took."""
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.connection.request("GET", target)
                response = self.connection.getresponse()
                body = response.read()
                seconds = time.perf_counter() - started
                return Response(response.status, response.reason, response.getheaders(), body), seconds
            except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, target: str) -> tuple[int, float]:
        response, seconds = self.fetch(target)
        return response.status, seconds

    def close(self) -> None:
        self.connection.close()


def measure_latency(
    port: int,
    groups: dict[str, list[str]],
    *,
    samples: int,
    before_each: Callable[[], object] | None,
    time_limit: float,
) -> dict[str, dict]:
    """Concurrency 1: the groups take turns request by request, so machine noise falls on all of them alike.

    `before_each` runs outside the timed part (the harness empties the page cache with it). Each group's
    result counts the answers' statuses and their X-Cache headers (HIT, MISS, or none).
    """
    client = KeepAliveClient(port)
    timings: dict[str, list[float]] = {name: [] for name in groups}
    by_target: dict[str, list[float]] = {target: [] for targets in groups.values() for target in targets}
    statuses: dict[str, Counter] = {name: Counter() for name in groups}
    cache: dict[str, Counter] = {name: Counter() for name in groups}
    deadline = time.monotonic() + time_limit
    try:
        for index in range(samples):
            if time.monotonic() > deadline:
                break
            for name, targets in groups.items():
                if before_each:
                    before_each()
                target = targets[index % len(targets)]
                response, seconds = client.fetch(target)
                timings[name].append(seconds)
                by_target[target].append(seconds)
                statuses[name][response.status] += 1
                cache[name][header(response, "X-Cache") or "none"] += 1
    finally:
        client.close()
    return {
        name: {
            **latency_summary(timings[name]),
            "statuses": dict(statuses[name]),
            "x_cache": dict(cache[name]),
            "p50_ms_by_target": {target: latency_summary(by_target[target])["p50_ms"] for target in groups[name]},
        }
        for name in groups
    }


def header(response: Response, name: str) -> str | None:
    return next((value for key, value in response.headers if key.lower() == name.lower()), None)


def latency_summary(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    return {
        "samples": len(ordered),
        "requests_per_second": 1 / mean if mean else 0.0,
        "p50_ms": percentile(ordered, 50) * 1000,
        "p90_ms": percentile(ordered, 90) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
        "mean_ms": mean * 1000,
    }


def percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def send_requests(port: int, targets: list[str], count: int, *, concurrency: int, time_limit: float) -> dict:
    """Exactly `count` GETs over `concurrency` keep-alive connections, cycling through `targets`."""
    tickets = itertools.count()
    statuses: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def worker() -> None:
        client = KeepAliveClient(port)
        local: Counter = Counter()
        try:
            while time.monotonic() < deadline:
                ticket = next(tickets)
                if ticket >= count:
                    break
                try:
                    status, _ = client.get(targets[ticket % len(targets)])
                    local[status] += 1
                except OSError as error:
                    local["error"] += 1
                    with lock:
                        failures.append(repr(error))
        finally:
            client.close()
            with lock:
                statuses.update(local)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 30)
    sent = sum(statuses.values())
    return {
        "sent": sent,
        "seconds": time.perf_counter() - started,
        "statuses": {str(key): value for key, value in statuses.items()},
        "non_2xx": sum(value for key, value in statuses.items() if not (isinstance(key, int) and key < 300)),
        "failures": failures[:5],
        "completed": sent >= count,
    }
