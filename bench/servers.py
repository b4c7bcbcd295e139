"""The processes under test: BioMuseum and the bare WSGI reference under gunicorn, nginx serving files.

Every process is started in its own session, so a Ctrl-C in the terminal reaches the harness only,
and the harness stops each one itself (see `stop`).
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .environment import ROOT, VENV_BIN
from .load import http_get

GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
LOG_KEEP_BYTES = 500_000  # from each end of a server's log


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    stop_signal: signal.Signals
    cleanup_dir: Path | None = None
    started_at: float = field(default_factory=time.perf_counter)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the session this harness created for it
                self.process.wait(timeout=timeout)
        _trim_log(self.log_path)
        if self.cleanup_dir:
            shutil.rmtree(self.cleanup_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(name: str, wsgi_app: str, env: dict[str, str], log_path: Path, root: Path = ROOT) -> Server:
    """gunicorn with the gunicorn.conf.py of the tree at `root` (this one, or an earlier commit's worktree),
    on a free loopback port."""
    port = free_port()
    server_env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    started_at = time.perf_counter()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), wsgi_app, "--config", str(root / GUNICORN_CONFIG.name)],
            cwd=root,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # SIGINT is gunicorn's quick shutdown: the benchmark has nothing in flight worth waiting for.
    return Server(name, port, process, log_path, signal.SIGINT, started_at=started_at)


def start_nginx(nginx: str, files: dict[str, tuple[str, bytes]], log_path: Path) -> Server:
    """nginx in the foreground serving `files` ({request target: (content type, body)}) as static files."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="biomuseum-bench-nginx-"))
    www = workdir / "www"
    www.mkdir()
    (workdir / "temp").mkdir()
    file_for_target = {}
    for number, (target, (content_type, body)) in enumerate(files.items()):
        name = f"/{number}.json" if "json" in content_type else f"/{number}.bin"
        (www / name.lstrip("/")).write_bytes(body)
        file_for_target[target] = name
    config = workdir / "nginx.conf"
    config.write_text(_nginx_config(workdir, port, file_for_target, log_path))
    # nginx's workers run as an unprivileged user when the master is root: they must be able to read the files.
    for path in (workdir, www, *www.iterdir()):
        path.chmod(path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    started_at = time.perf_counter()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [nginx, "-c", str(config), "-p", str(workdir), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server("nginx", port, process, log_path, signal.SIGTERM, cleanup_dir=workdir, started_at=started_at)


def _nginx_config(workdir: Path, port: int, file_for_target: dict[str, str], log_path: Path) -> str:
    longest = max((len(target) for target in file_for_target), default=0) + 64
    bucket = 64
    while bucket < longest:
        bucket *= 2
    entries = "\n".join(f'        "{target}" {name};' for target, name in file_for_target.items())
    temp = workdir / "temp"
    return f"""
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {log_path} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5s;
    keepalive_requests 1000000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ application/json json; }}
    default_type application/octet-stream;
    map_hash_bucket_size {bucket};
    map $request_uri $bench_file {{
        default /missing;
{entries}
    }}
    server {{
        listen 127.0.0.1:{port};
        root {workdir}/www;
        location / {{ try_files $bench_file =404; }}
    }}
}}
"""


def wait_until_ok(server: Server, target: str, timeout: float = 60.0, interval: float = 0.01) -> float:
    """Seconds from the process start to its first 200 on `target`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}: see {server.log_path}")
        try:
            if http_get(server.port, target, timeout=1.0).status == 200:
                return time.perf_counter() - server.started_at
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"{server.name} did not answer 200 on {target} within {timeout:.0f}s: see {server.log_path}")


def wait_for_workers(server: Server, expected: int | None, timeout: float = 30.0) -> list[int]:
    """The worker pids once all `expected` workers run (or, expected unknown, once their number is steady)."""
    deadline = time.monotonic() + timeout
    previous: list[int] = []
    while time.monotonic() < deadline:
        workers = server.worker_pids()
        if (expected and len(workers) >= expected) or (not expected and workers and workers == previous):
            return workers
        previous = workers
        time.sleep(0.5)
    return server.worker_pids()


def child_pids(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The second field (the command) may hold spaces and parentheses: split after its last ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            children.append(int(entry.name))
    return sorted(children)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _trim_log(path: Path) -> None:
    """Keep the start (boot) and the end of long logs: enough to debug, not a gigabyte of access lines."""
    if path.exists() and path.stat().st_size > LOG_KEEP_BYTES * 2:
        with path.open("rb") as log:
            head = log.read(LOG_KEEP_BYTES)
            log.seek(-LOG_KEEP_BYTES, os.SEEK_END)
            tail = log.read()
        path.write_bytes(head + b"\n[... lines trimmed by the benchmark ...]\n" + tail)
