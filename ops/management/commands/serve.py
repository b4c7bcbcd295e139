"""`manage.py serve`: the web server, a Celery worker and its scheduler, started and stopped together.

What `make run` runs: gunicorn (gunicorn.conf.py) and one Celery worker with an embedded beat, on whatever
broker is configured (`make run` sets kombu's filesystem transport: no server to install). Ctrl-C or
SIGTERM stops all of them (each gets SIGTERM and finishes what it is doing); if one of them dies, the
others are stopped too, and the command exits with an error: nothing is left running.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_WAIT = 25.0  # seconds for each process to finish after SIGTERM (gunicorn's graceful timeout is 20)


class Command(BaseCommand):
    help = "Serve the API with a Celery worker and scheduler, started and stopped together (make run)."

    def add_arguments(self, parser):
        parser.add_argument("--no-worker", action="store_true", help="Only the web server.")

    def handle(self, *args, no_worker: bool = False, **options):
        if not settings.CELERY_BROKER_URL and not no_worker:
            raise CommandError("No broker configured: set CELERY_BROKER_URL (filesystem:// needs no server).")
        bin_dir = Path(sys.executable).parent
        schedule = Path(settings.CELERY_BROKER_FOLDER) / "beat-schedule"
        commands = {"web": [str(bin_dir / "gunicorn"), "biomuseum.wsgi", "--config", "gunicorn.conf.py"]}
        if not no_worker:
            commands["worker"] = [
                str(bin_dir / "celery"), "-A", "biomuseum", "worker", "--beat", "--schedule", str(schedule),
                "--queues", "images,email,default", "--concurrency", "1", "--prefetch-multiplier", "1",
                "--without-mingle", "--without-gossip", "--loglevel", "INFO",
            ]  # fmt: skip
        stopping = {"signal": None}

        def stop(signum, frame):
            stopping["signal"] = signum

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        # Each child in a process group of its own: Ctrl-C in the terminal reaches this command only, which
        # then stops each one in order (a worker interrupted twice would abandon its task).
        processes = {
            name: subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)
            for name, command in commands.items()
        }
        self.stdout.write(f"Started {', '.join(f'{name} (pid {p.pid})' for name, p in processes.items())}")
        failed = None
        while stopping["signal"] is None and failed is None:
            for name, process in processes.items():
                if process.poll() is not None:
                    failed = name
            time.sleep(0.2)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for name, process in processes.items():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_WAIT:.0f}s: killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if failed is not None:
            raise CommandError(f"{failed} exited (status {processes[failed].returncode}); stopped the others")
        self.stdout.write("Stopped: web, worker and scheduler.")
