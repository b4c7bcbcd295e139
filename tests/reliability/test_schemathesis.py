"""Schemathesis against our own OpenAPI schema, served by a real gunicorn on a seeded SQLite file.

Every operation in the schema is exercised twice by Schemathesis' engine (examples, coverage and fuzzing
phases): anonymously, where every write that the schema says needs credentials must be refused with 401
or 403, and as a staff superuser with a token, whose writes go through and change what later cases see.
Each run draws a new seed (SCHEMATHESIS_SEED replays one), so every CI run tries other cases; the seed is
printed at the start and named in every failure, so a failing run can be replayed exactly. Generation is
deterministic for a given seed and the example count bounded: a couple of minutes on two cores.

(Schemathesis' pytest integration, `schemathesis.pytest.from_fixture`, does not run under pytest 9; the
engine is what its command line runs, and gives every request and check result back to assert on.)
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.urls import resolve
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from biomuseum.errors import json_not_found
from tests.integration.processes import Gunicorn, manage, project_env

pytestmark = pytest.mark.integration

# A new seed per run (tests/conftest.py draws it and prints it in the session header), named in every
# failure: `SCHEMATHESIS_SEED=<seed> make test` replays one.
SEED = int(os.environ["SCHEMATHESIS_SEED"])
MAX_EXAMPLES = 20  # per operation in the fuzzing phase; the examples and coverage phases are finite anyway
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CREATE_TOKEN = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
user = User.objects.create_superuser("fuzzer", "fuzzer@example.org", None)
print(Token.objects.create(user=user).key)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(gunicorn, staff token): the demo catalogue, a superuser's token, rate limits off for the fuzzer."""
    directory = tmp_path_factory.mktemp("schemathesis")
    env = project_env(directory, RATELIMIT_ENABLE="0")
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "seed_demo")
    token = manage(env, "shell", "-c", CREATE_TOKEN).strip().splitlines()[-1]
    web = Gunicorn(env, directory / "gunicorn.log").start()
    try:
        yield web, token
    finally:
        web.stop()


@dataclass
class Run:
    """What one engine run did: every request and answer, and every failed check or error, described."""

    operations: set[str] = field(default_factory=set)
    exchanges: list[tuple[object, object, object]] = field(default_factory=list)  # (operation, request, response)
    failures: list[str] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def statuses(self) -> list[int]:
        return [response.status_code for _, _, response in self.exchanges if response is not None]


def fuzz(web: Gunicorn, headers: dict[str, str]) -> Run:
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": web.url,
            "headers": headers,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            # The stateful phase chains operations through links; it is not bounded by max-examples.
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "request-timeout": 30,
        }
    )
    schema = schemathesis.openapi.from_url(
        f"{web.url}/api/schema/", config=config, headers={"Accept": "application/vnd.oai.openapi+json"}, timeout=30
    )
    run = Run()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, interaction in recorder.interactions.items():
                operation = recorder.cases[case_id].value.operation
                run.operations.add(operation.label)
                run.exchanges.append((operation, interaction.request, interaction.response))
            for checks in recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE:
                        failure = check.failure_info.failure
                        run.failures.append(
                            f"seed {SEED}: {recorder.label} {check.name}: {failure.title} {failure.message}"
                        )
        elif isinstance(event, events.NonFatalError):
            run.failures.append(f"{event.label}: error {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            run.failures.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            run.stop_reason = event.stop_reason.value
    # The figures docs/RELIABILITY.md quotes (shown with `pytest -s` or `-rP`).
    statuses = sorted(Counter(run.statuses).items())
    print(f"seed {SEED}: {len(run.exchanges)} requests, {len(run.operations)} operations, statuses {statuses}")
    return run


def needs_credentials(operation) -> bool:
    """What the schema says: an operation open to anonymous callers lists the empty security requirement."""
    security = operation.definition.raw.get("security", operation.schema.raw_schema.get("security", []))
    return {} not in security


def reaches_a_view(url: str) -> bool:
    """False for a generated path value that no route takes (`/organisms/0.5/`): the JSON 404 catch-all answers."""
    return resolve(unquote(urlsplit(url).path)).func is not json_not_found


def operation_labels(web: Gunicorn) -> set[str]:
    schema = schemathesis.openapi.from_url(
        f"{web.url}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}, timeout=30
    )
    return {result.ok().label for result in schema.get_all_operations()}


def test_schemathesis_anonymous_calls_conform_and_writes_are_refused(server):
    web, _ = server
    run = fuzz(web, {})
    assert run.stop_reason == "completed", f"seed {SEED}"
    assert run.operations == operation_labels(web)  # every operation was called
    assert run.failures == [], f"seed {SEED}"
    assert 500 not in run.statuses, f"seed {SEED}"
    refused_writes = 0
    for operation, request, response in run.exchanges:
        if request.method not in WRITES or request.method != operation.method.upper():
            continue
        if not needs_credentials(operation):
            continue
        if response.status_code == 414 or not reaches_a_view(request.uri):
            # Refused before any view: a URL over gunicorn's 4 KB request line, or a path no route takes.
            assert response.status_code in (404, 414), (request.method, request.uri, response.status_code)
            continue
        assert response.status_code in (401, 403), (request.method, request.uri, response.status_code)
        refused_writes += 1
    assert refused_writes > 100


def test_schemathesis_staff_calls_conform(server):
    web, token = server
    run = fuzz(web, {"Authorization": f"Token {token}"})
    assert run.stop_reason == "completed", f"seed {SEED}"
    assert run.operations == operation_labels(web)
    assert run.failures == [], f"seed {SEED}"
    assert {201, 202, 204} <= set(run.statuses)  # creates, uploads and deletes went through, not only refusals
