"""A checklist imported the way a curator does it, every part real: signed in to the admin in a headless
Chromium, the file uploaded through the form to gunicorn, checked and then imported by a Celery worker on a
real broker, the page following the job, and the result read back through the public API."""

from pathlib import Path

import pytest

from .processes import JobStack, manage, prepared_database, wait_until
from .test_frontend_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

CHECKLIST = Path(__file__).resolve().parents[1] / "data" / "dwca" / "demo-checklist.zip"
PASSWORD = "a long curator passphrase for the import"
SETUP = f"""
from django.contrib.auth.models import Group, User
from django.core.management import call_command

call_command("ensure_curator", "--username", "first-curator")
curator = User.objects.create_user("importer", password={PASSWORD!r}, is_staff=True)
curator.groups.add(Group.objects.get(name="Curators"))
print(curator.pk)
"""


@pytest.fixture
def stack(tmp_path_factory, tmp_path):
    database, _ = prepared_database(tmp_path_factory.mktemp("checklist-db"), SETUP)
    stack = JobStack(tmp_path, database)
    manage(stack.env, "collectstatic", "--noinput", "-v0")  # the admin's own assets, as make run has them
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_a_curator_imports_a_checklist_through_the_admin_and_a_worker(stack, browser):  # noqa: F811
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def following(timeout: float) -> WebDriverWait:
        """A wait across the page's own reloads (an element may go with the page it was found on)."""
        return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,
                                                                    NoSuchElementException))  # fmt: skip

    status, _, _ = stack.api("GET", "/api/v1/organisms/strigops-habroptilus/")
    assert status == 404  # nothing yet

    browser.get(stack.web.url + "/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("importer")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda driver: "login" not in driver.current_url)

    browser.get(stack.web.url + "/admin/organisms/checklistimport/add/")
    browser.find_element(By.NAME, "file").send_keys(str(CHECKLIST))
    browser.find_element(By.NAME, "_save").click()

    def field(name: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f".field-{name}").text

    # The page reloads itself until each job is done.
    following(90).until(lambda driver: driver.find_elements(By.ID, "checklist-confirm"))
    preview = field("preview_report")
    assert "dry run" in preview and "404 created" in preview and "581 created" in preview, preview
    status, _, _ = stack.api("GET", "/api/v1/organisms/strigops-habroptilus/")
    assert status == 404  # the check wrote nothing

    browser.find_element(By.CSS_SELECTOR, "#checklist-confirm input[type=submit]").click()
    following(90).until(lambda driver: "imported" in field("import_report"))
    report = field("import_report")
    assert "404 created" in report and "82 created" in report, report
    assert not browser.find_elements(By.ID, "checklist-confirm")  # imported once

    wait_until(lambda: stack.api("GET", "/api/v1/organisms/strigops-habroptilus/")[0] == 200, timeout=10,
               what="the imported organism public")  # fmt: skip
    _, _, organism = stack.api("GET", "/api/v1/organisms/strigops-habroptilus/?lang=mi")
    assert organism["scientific_name"] == "Strigops habroptilus"
    assert organism["common_name"] == "Kākāpō"
