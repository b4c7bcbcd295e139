"""How much CPU the rest of the machine took while a run measured: a benchmark on a shared box must say so.

CPU time is read from /proc before and after a run and split three ways: the benchmark's own processes
(the server under test, wrk, this harness), the services the application uses (PostgreSQL, Redis), and
everything else. "Everything else" is noise: another user's tests, a backup, a compiler.
"""

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = {"postgres", "redis-server"}


@dataclass(frozen=True)
class Sample:
    at: float
    busy: int  # jiffies all CPUs spent running processes (user, nice, system)
    steal: int  # jiffies the hypervisor gave to other machines
    processes: dict[int, tuple[str, int, int, int]]  # pid: (command, parent, own jiffies, reaped children's)
    harness: float  # seconds of CPU of this process and the children it waited for (wrk)


def sample() -> Sample:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, steal = (int(fields[index]) for index in (0, 1, 2, 7))
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            command = raw[raw.index("(") + 1 : raw.rindex(")")]
            rest = raw[raw.rindex(")") + 2 :].split()
            own, children = int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])
            processes[int(entry.name)] = (command, int(rest[1]), own, children)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    harness = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return Sample(time.monotonic(), user + nice + system, steal, processes, harness)


def cpu_split(before: Sample, after: Sample, server_pid: int) -> dict:
    """CPUs used on average during the run: the server tree, wrk and the harness, the services, the rest.

    A worker that exits during the run still counts: its parent's reaped-children time includes it.
    """
    seconds = after.at - before.at
    tree = _tree(after, server_pid) | _tree(before, server_pid)
    services = {pid for sample in (before, after) for pid, info in sample.processes.items() if info[0] in SERVICES}

    def used(pids: set[int]) -> float:
        return sum(_ticks(after, pid) - _ticks(before, pid) for pid in pids) / TICKS

    total = (after.busy - before.busy) / TICKS
    server, service = used(tree), used(services)
    harness = after.harness - before.harness
    split = {
        "total": total,
        "server": server,
        "wrk_and_harness": harness,
        "services": service,
        "other": max(0.0, total - server - service - harness),
        "steal": (after.steal - before.steal) / TICKS,
    }
    shares = {name: round(value / seconds, 2) for name, value in split.items()}
    return shares | {"busiest_others": _busiest(before, after, tree | services | {os.getpid()}, seconds)}


def _ticks(snapshot: Sample, pid: int) -> int:
    """A process's own CPU and that of the children it reaped (a recycled worker's, for gunicorn's master)."""
    _, _, own, children = snapshot.processes.get(pid, ("", 0, 0, 0))
    return own + children


def _busiest(before: Sample, after: Sample, ours: set[int], seconds: float, count: int = 3) -> list[str]:
    """The other processes that used the most CPU themselves (among those alive at the end), for the record."""
    usage = []
    for pid, (command, _, own, _) in after.processes.items():
        if pid not in ours:
            share = (own - before.processes.get(pid, (command, 0, 0, 0))[2]) / TICKS / seconds
            if share >= 0.05:
                usage.append((share, f"{command}[{pid}] {share:.2f}"))
    return [label for _, label in sorted(usage, reverse=True)[:count]]


def _tree(snapshot: Sample, root: int) -> set[int]:
    if root not in snapshot.processes:
        return set()
    return {root} | {pid for pid, (_, parent, _, _) in snapshot.processes.items() if parent == root}
