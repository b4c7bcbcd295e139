"""What the benchmark runs on: its tools, the file-descriptor limit, the database and cache, the seeded data."""

import json
import os
import platform
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS_DIR = ROOT / "bench" / "results"

ORGANISMS = 100_000
POSTS = 10_000
POSTGRES_SERVER = "host=127.0.0.1 port=5432 user=postgres connect_timeout=2"
POSTGRES_DATABASE = "biomuseum_bench"
REDIS_URL = "redis://127.0.0.1:6379/12"
SQLITE_PATH = ROOT / "var" / "bench.sqlite3"
UNREACHABLE_RATES = "1000000000/m,1000000000/h"  # as many windows as the default policy, never reached

# The harness owns the application's configuration: nothing from the caller's shell or `.env` leaks in
# (every variable .env.example lists, and these families), except the gunicorn sizing variables, which
# apply to BioMuseum and the reference alike.
ENV_EXAMPLE = ROOT / ".env.example"
APP_VARIABLE_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "SENTRY_", "EMAIL_", "RATELIMIT", "PAGE_CACHE_")
APP_VARIABLES = {"HOST", "PORT", "GUNICORN_BIND", "PROMETHEUS_MULTIPROC_DIR", "OPS_DRAIN_FILE", "OPS_OWN_METRICS_DIR"}
GUNICORN_VARIABLE_PREFIXES = ("GUNICORN_", "WEB_CONCURRENCY")


@dataclass(frozen=True)
class Backends:
    database_url: str
    redis_url: str | None
    database: str
    cache: str


def choose_backends(*, embedded: bool = False) -> Backends:
    """PostgreSQL and Redis when they answer on loopback (and `embedded` is off), otherwise the embedded defaults."""
    sqlite = (f"sqlite:///{SQLITE_PATH}", f"SQLite {SQLITE_PATH.relative_to(ROOT)}")
    if embedded:
        return Backends(sqlite[0], None, f"{sqlite[1]} (--embedded)", "in-process (LocMem; --embedded)")
    try:
        database_url = _ensure_postgres_database()
        database = f"PostgreSQL {_postgres_version()}, database {POSTGRES_DATABASE} on 127.0.0.1:5432"
    except psycopg.OperationalError as error:
        database_url = sqlite[0]
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        database = f"{sqlite[1]} (PostgreSQL not reachable on 127.0.0.1:5432: {first_line})"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        version = client.info("server")["redis_version"]
        # A fresh cache every run: pages cached by an earlier run hold cursors signed with its secret key.
        client.flushdb()
        redis_url = REDIS_URL
        cache = f"Redis {version}, db 12 on 127.0.0.1:6379 (emptied at start)"
    except redis.RedisError:
        redis_url = None
        cache = "in-process (LocMem; Redis not reachable on 127.0.0.1:6379)"
    return Backends(database_url=database_url, redis_url=redis_url, database=database, cache=cache)


def _ensure_postgres_database() -> str:
    with psycopg.connect(f"{POSTGRES_SERVER} dbname=postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [POSTGRES_DATABASE]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    return f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DATABASE}"


def _postgres_version() -> str:
    with psycopg.connect(f"{POSTGRES_SERVER} dbname=postgres") as connection:
        return connection.execute("SHOW server_version").fetchone()[0].split()[0]


def app_environment(backends: Backends, secret_key: str) -> dict[str, str]:
    """The production configuration: DEBUG off, a secret key, the chosen database and cache."""
    sizing = gunicorn_overrides()
    owned = APP_VARIABLES | _documented_variables()
    env = {
        name: value
        for name, value in os.environ.items()
        if name in sizing or not (name.startswith(APP_VARIABLE_PREFIXES) or name in owned)
    }
    env.update(
        DJANGO_ENV_FILE=os.devnull,  # not the developer's .env
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=backends.database_url,
        PYTHONUNBUFFERED="1",
        # All the load comes from one address: the public-read limit still counts every request (its cost is
        # part of the figures) but is set too high to answer 429.
        RATELIMIT_PUBLIC_READ=UNREACHABLE_RATES,
    )
    if backends.redis_url:
        env["REDIS_URL"] = backends.redis_url  # CELERY_BROKER_URL stays unset: it defaults to REDIS_URL
    return env


def _documented_variables() -> set[str]:
    text = ENV_EXAMPLE.read_text() if ENV_EXAMPLE.exists() else ""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))


def page_cache_emptier(redis_url: str):
    """A function after which every page is a plain miss, as after an edit: new generation tokens, announced
    to each server process (which drops its local copies: biomuseum/pagecache/local.py) and acknowledged, as a
    write's bump is; the stored pages are deleted too. (Deleting the tokens instead would make every request
    also pay for starting new generations; deleting only the pages would leave each process's own copies.)
    """
    from biomuseum.pagecache.local import announce

    client = redis.Redis.from_url(redis_url)
    script = client.register_script(
        """
        local n = 0
        for _, key in ipairs(redis.call('KEYS', '*')) do
            if string.find(key, ':pc:gen:', 1, true) then
                n = n + 1
                redis.call('SET', key, string.format('%d', tonumber(ARGV[1]) + n))
            else
                redis.call('DEL', key)
            end
        end
        """
    )

    def empty() -> None:
        script(args=[secrets.randbits(48)])
        announce(client, lambda key: f"bm:1:{key}")  # django-redis's keys under settings' KEY_PREFIX

    return empty


def bump_listeners(redis_url: str | None):
    """A function counting the processes that follow the page cache's bumps (None without Redis: the
    token file needs no listeners)."""
    if not redis_url:
        return lambda: None
    client = redis.Redis.from_url(redis_url)
    database = client.connection_pool.connection_kwargs.get("db", 0)
    return lambda: client.pubsub_numsub(f"bm:1:pc:bumps@{database}")[0][1]


GUNICORN_SETTINGS = (
    "worker_class",
    "workers",
    "threads",
    "keepalive",
    "backlog",
    "worker_connections",
    "max_requests",
    "max_requests_jitter",
    "preload_app",
)


def gunicorn_settings(env: dict[str, str]) -> dict:
    """What gunicorn.conf.py resolves to in the servers' environment, read in a throwaway process.

    The config file may create files at import (a metrics directory, a drain file): they go to a scratch
    directory that is removed afterwards.
    """
    script = (
        "import json, runpy; config = runpy.run_path('gunicorn.conf.py'); "
        f"print(json.dumps({{name: config.get(name) for name in {GUNICORN_SETTINGS!r}}}))"
    )
    with tempfile.TemporaryDirectory(prefix="biomuseum-bench-") as scratch:
        scratch_env = {**env, "PROMETHEUS_MULTIPROC_DIR": scratch, "OPS_DRAIN_FILE": f"{scratch}/drain"}
        completed = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=scratch_env, capture_output=True, text=True, timeout=60
        )
    if completed.returncode:
        return {"error": completed.stderr.strip().splitlines()[-1:], "overrides": gunicorn_overrides()}
    return json.loads(completed.stdout.strip().splitlines()[-1]) | {"overrides": gunicorn_overrides()}


def gunicorn_overrides() -> dict[str, str]:
    """The caller's gunicorn sizing variables (not the address: the harness picks the ports)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith(GUNICORN_VARIABLE_PREFIXES) and name not in APP_VARIABLES
    }


def manage(env: dict[str, str], *args: str) -> str:
    """Runs a management command quietly; its output is shown only when it fails."""
    completed = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=True, check=False
    )
    if completed.returncode:
        print(completed.stdout + completed.stderr, file=sys.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed ({completed.returncode})")
    return completed.stdout


def prepare_application(env: dict[str, str]) -> dict:
    """What `make run` does (migrate, collect static files, seed), with the benchmark's data volume."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    counts = _synthetic_counts(env)
    outdated = _seeded_with_an_earlier_shape(counts)
    seeded = counts["synthetic_organisms"] >= ORGANISMS and counts["synthetic_posts"] >= POSTS and not outdated
    if not seeded:
        replace = ["--replace-synthetic"] if outdated else []
        if outdated:
            print(
                f"  the {counts['synthetic_organisms']:,} synthetic organisms have {counts['synthetic_names']:,}"
                " vernacular names: an earlier shape, replaced",
                flush=True,
            )
        print(f"  seeding {ORGANISMS:,} organisms and {POSTS:,} posts (once; later runs reuse them)", flush=True)
        manage(env, "seed_demo", "--organisms", str(ORGANISMS), "--posts", str(POSTS), *replace, "-v0")
        counts = _synthetic_counts(env)
    manage(env, "shell", "-c", MAINTENANCE_SCRIPT)
    return {**counts, "already_seeded": seeded, "replaced_earlier_shape": outdated}


def _seeded_with_an_earlier_shape(counts: dict[str, int]) -> bool:
    """Synthetic species now have 2 to 4 vernacular names each; the records of an earlier version had only the
    English one (or no tree at all), and would be measured as a different catalogue."""
    return counts["synthetic_organisms"] > 0 and counts["synthetic_names"] < 2 * counts["synthetic_organisms"]


# The state a maintained database is in: fresh planner statistics and, on PostgreSQL, vacuumed tables. A bulk
# insert leaves rows in the trigram GIN indexes' pending lists, which every search then scans, until a vacuum
# merges them (autovacuum would, where it is on).
MAINTENANCE_SCRIPT = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
"""


COUNT_SCRIPT = """
import json
from blogs.models import Post
from organisms.models import Organism, VernacularName
print(json.dumps({
    "organisms": Organism.objects.count(),
    "synthetic_organisms": Organism.objects.filter(slug__startswith="synthetic-").count(),
    "synthetic_names": VernacularName.objects.filter(taxon__organisms__slug__startswith="synthetic-").count(),
    "posts": Post.objects.count(),
    "synthetic_posts": Post.objects.filter(slug__startswith="synthetic-post-").count(),
}))
"""


def _synthetic_counts(env: dict[str, str]) -> dict[str, int]:
    return json.loads(manage(env, "shell", "-c", COUNT_SCRIPT).strip().splitlines()[-1])


def ensure_tools() -> dict[str, str | None]:
    """wrk is required; nginx (the machine-limit reference) is optional. Installs them with apt when root."""
    missing = [tool for tool in ("wrk", "nginx") if not _which(tool)]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"  installing {', '.join(missing)} with apt-get", flush=True)
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=apt_env, check=False, timeout=600)
        for tool in missing:  # one at a time: nginx failing to install must not cost us wrk
            subprocess.run(["apt-get", "install", "-y", "-qq", tool], env=apt_env, check=False, timeout=600)
    if not _which("wrk"):
        raise SystemExit("wrk is required and could not be installed: apt-get install wrk (or build it from source).")
    return {"wrk": _which("wrk"), "nginx": _which("nginx")}


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def raise_fd_limit(wanted: int = 65536) -> int:
    """1000 client connections need about 3000 descriptors between wrk, gunicorn and nginx."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def describe_machine(tools: dict[str, str | None]) -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kib = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "memory_gib": round(int(mem_kib.group(1)) / 1024 / 1024, 1) if mem_kib else None,
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _tool_version([tools["wrk"], "--version"], r"wrk \S*?(\d+(?:\.\d+)+)"),
        "nginx": _tool_version([tools["nginx"], "-v"], r"nginx/(\S+)") if tools["nginx"] else None,
        "load_average": load_average(),
    }


def load_average() -> list[str] | None:
    loadavg = Path("/proc/loadavg")
    return loadavg.read_text().split()[:3] if loadavg.exists() else None


def _os_name() -> str:
    release = Path("/etc/os-release")
    if release.exists():
        match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', release.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    return platform.system()


def _tool_version(command: list[str], pattern: str) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=10)
    match = re.search(pattern, completed.stdout + completed.stderr)
    return match.group(1) if match else "unknown"


def describe_machine_line(machine: dict) -> str:
    line = f"{machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB RAM, {machine['os']}"
    return line + (f"; load average {' '.join(machine['load_average'])}" if machine["load_average"] else "")


def git_commit() -> str | None:
    """The checked-out commit, read from .git without running git (in a worktree too, where .git is a file
    naming the worktree's own directory, and branches live in the repository's)."""
    git = ROOT / ".git"
    if git.is_file():
        git = Path(git.read_text().strip().removeprefix("gitdir:").strip())
    head = (git / "HEAD").read_text().strip() if (git / "HEAD").exists() else ""
    if not head.startswith("ref: "):
        return head or None
    ref = head.removeprefix("ref: ")
    common = (git / (git / "commondir").read_text().strip()).resolve() if (git / "commondir").exists() else git
    for directory in dict.fromkeys([git, common]):
        if (directory / ref).exists():
            return (directory / ref).read_text().strip()
        packed = directory / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                if line.endswith(f" {ref}"):
                    return line.split()[0]
    return None


def checkout_worktree(rev: str) -> tuple[Path, str]:
    """A detached git worktree of `rev` under var/bench-against/ (made once, kept for later runs), with this
    tree's virtualenv: (its root, the full commit)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    root = ROOT / "var" / "bench-against" / commit[:12]
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(root), commit], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
    return root, commit
