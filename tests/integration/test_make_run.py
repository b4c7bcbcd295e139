"""What `make run` runs (manage.py serve on the embedded defaults: SQLite, the filesystem broker, mail as
.eml files): a real worker and scheduler beside the web server, started and stopped together."""

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import free_port

from .processes import ROOT, http, manage, project_env, wait_until

pytestmark = pytest.mark.integration

SCHEDULE_POST = """
from datetime import timedelta
from django.utils import timezone
from blogs import services
services.post_create(author=None, title="Owls return to the museum garden", body="They did.",
                     status="published", published_at=timezone.now() + timedelta(seconds=4))
"""


def _mail(folder, to: str, subject: str | None = None) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if to in message["To"] and (subject is None or message["Subject"] == subject):
            found.append(message)
    return found


def test_make_run_sends_a_scheduled_posts_notification_and_stops_cleanly(tmp_path):
    port = free_port()
    mail = tmp_path / "mail"
    env = project_env(
        tmp_path,
        CELERY_EMBEDDED_BROKER="1",
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
        EMAIL_FILE_PATH=str(mail),
        NOTIFY_DUE_EVERY="2",
        PORT=str(port),
        HOST="127.0.0.1",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ok(base + "/ops/health/"), timeout=30, what="the web server")
        reader = "reader@example.org"
        status, _, _ = http("POST", base + "/api/v1/subscriptions/", b'{"email": "reader@example.org"}',
                            {"Content-Type": "application/json"})  # fmt: skip
        assert status == 202
        [confirmation] = wait_until(lambda: _mail(mail, reader), timeout=60, what="the confirmation (from the worker)")
        text = confirmation.get_body(("plain",)).get_content()
        link = re.search(r"https?://\S+/api/v1/subscriptions/confirm/\?token=\S+", text).group(0)
        assert link.startswith(base)  # links follow the port the server is on
        assert http("POST", link)[0] == 200

        manage(env, "shell", "-c", SCHEDULE_POST)  # nobody touches the post again
        title = "Owls return to the museum garden"
        [notification] = wait_until(
            lambda: _mail(mail, reader, title), timeout=60, what="the scheduled post's notification (beat, worker)"
        )
        assert base in notification.get_body(("plain",)).get_content()
    finally:
        serve.send_signal(signal.SIGINT)  # Ctrl-C
        returncode = serve.wait(timeout=60)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert returncode == 0, output[-3000:]
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 2
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # nothing left running


def _ok(url: str) -> bool:
    try:
        return http("GET", url, timeout=2)[0] == 200
    except OSError:
        return False
