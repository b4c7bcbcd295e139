"""The README's API examples, extracted from the README itself and run in order with curl against a fresh
server with the demo data, as a newcomer would after `make run`: every one must succeed."""

import re
import shutil
import subprocess

import pytest

from .processes import ROOT, Gunicorn, manage, project_env

pytestmark = pytest.mark.integration

PASSWORD = "a long curator passphrase for the readme"


def readme_api_examples() -> str:
    text = (ROOT / "README.md").read_text()
    api = text[text.index("## API") :]
    return re.search(r"```sh\n(.*?)```", api, re.DOTALL).group(1)


def test_readme_api_examples_run_in_order_on_a_fresh_server(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    env = project_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--if-empty")
    manage(env, "shell", "-c", "from django.contrib.auth.models import User; "
           f"User.objects.create_user('curator', password={PASSWORD!r}, is_staff=True, is_superuser=True)")  # fmt: skip
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    script = readme_api_examples()
    assert "curl" in script and "password=..." in script
    script = script.replace("http://127.0.0.1:8000", server.url).replace("password=...", f"password='{PASSWORD}'")
    script = script.replace("$(curl -s ", "$(READ ")  # a value read by the next commands: its output is kept
    script = script.replace("curl ", "curl -sS --fail-with-body -o /dev/stderr -w '%{http_code}\\n' ")
    script = script.replace("$(READ ", "$(curl -sS --fail-with-body ")
    try:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    statuses = result.stdout.split()
    names_and_languages = ["200"] * 4 + ["301", "200"]  # the synonym's slug redirects
    assert statuses == ["200"] * 5 + names_and_languages + ["200"] * 3 + ["201", "200"], result.stdout
    # What the prose around the examples says they show, on the demo data.
    assert '"matched_name":{"name":"Uncia uncia","kind":"synonym","language":null}' in result.stderr
    assert "Location: /api/v1/organisms/panthera-uncia/" in result.stderr
    assert '"common_name":"Schneeleopard"' in result.stderr  # Accept-Language: de-CH, de
    assert '"scientific_name":"Strigops habroptilus"' in result.stderr  # kakapo finds Kākāpō
