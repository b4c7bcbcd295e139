"""A curator's day in the admin, in a real headless Chromium against a real gunicorn and Celery worker, with
the public API checked after each step the way the frontend reads it (anonymously, through the page cache).

On the embedded defaults the stack is SQLite with the filesystem broker, as `make run` starts it; when the
suite runs against PostgreSQL (CI's second pass) it is a PostgreSQL database of its own and a Redis server
of its own for the cache and the broker. The catalogue holds 100,000 organisms, as the museum's does.

On failure the browser's screenshot and page are kept under `TEST_ARTIFACTS` (default var/test-artifacts/).
With `DOCS_SCREENSHOTS=docs/screenshots` the journey also saves the README's screenshots there.
"""

import json
import os
import re
import secrets
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import ThrowawayRedis

from .processes import ROOT, CeleryWorker, Gunicorn, http, manage, project_env, wait_until
from .test_frontend_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "var" / "test-artifacts")
SCREENSHOTS = os.environ.get("DOCS_SCREENSHOTS")
WIDTHS = (1280, 1440)
NEW_PASSWORD = "a curator's own passphrase, long enough"
CATALOGUE = 100_000

BULK_ORGANISMS = f"""
from organisms.models import Organism
from tests.integration.test_taxa_migration import insert_rows
insert_rows({CATALOGUE} - Organism.objects.count())
print(Organism.objects.count())
"""


@contextmanager
def services_for(tmp_path: Path):
    """The environment the stack runs on: the embedded defaults, or PostgreSQL and Redis of its own."""
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        yield project_env(tmp_path, CELERY_EMBEDDED_BROKER="1")
        return
    import psycopg

    name = f"biomuseum_journey_{secrets.token_hex(4)}"
    server = database_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    redis = ThrowawayRedis()
    redis.start()
    try:
        yield project_env(tmp_path, DATABASE_URL=f"{server}/{name}", REDIS_URL=redis.url)
    finally:
        redis.stop()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Journey:
    """The browser and the public API side by side, and a record of the step being taken."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url
        self.step = "start"

    # --- the frontend's view ---

    def public(self, path: str) -> tuple[int, dict]:
        status, headers, body = http("GET", self.base_url + path, headers={"Accept": "application/json"})
        return status, (json.loads(body) if body and "json" in headers.get("Content-Type", "") else {})

    def public_until(self, path: str, condition, what: str) -> dict:
        """The public answer once `condition(status, body)` holds (a job may still be running)."""
        found = {}

        def check():
            status, body = self.public(path)
            found.update(status=status, body=body)
            return condition(status, body)

        try:
            wait_until(check, timeout=30, what=what, interval=0.3)
        except AssertionError as error:
            raise AssertionError(f"{error}; last answer {found}") from None
        return found["body"]

    # --- the curator's view ---

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.ready()

    def ready(self) -> None:
        wait_until(
            lambda: self.driver.execute_script("return document.readyState") == "complete",
            timeout=20,
            what="the page to load",
        )

    def find(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def find_all(self, selector: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def type(self, selector: str, text: str, *, clear: bool = True) -> None:
        field = self.find(selector)
        if clear:
            field.clear()
        field.send_keys(text)

    def click(self, selector: str, *, navigates: bool = True) -> None:
        element = self.find(selector)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        with self.navigation(navigates):
            element.click()

    @contextmanager
    def navigation(self, expected: bool = True):
        """Wait, after what the block does, for the next page to have replaced this one and loaded."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.find("html")
        yield
        if expected:
            WebDriverWait(self.driver, 20).until(expected_conditions.staleness_of(page))
        self.ready()

    def text(self) -> str:
        return self.find("body").text

    def messages(self) -> str:
        return " ".join(element.text for element in self.find_all("ul.messagelist li"))

    def errors(self) -> str:
        return " ".join(element.text for element in self.find_all(".errornote, .errorlist"))

    def search(self, changelist: str, term: str) -> list[str]:
        """The row links a changelist search lists."""
        self.open(changelist)
        with self.navigation():
            self.type("#searchbar", term + "\n")
        return [link.text for link in self.find_all("#result_list tbody tr th a, #result_list tbody tr td a")]

    def screenshot(self, name: str) -> None:
        if SCREENSHOTS:
            folder = ROOT / SCREENSHOTS
            folder.mkdir(parents=True, exist_ok=True)
            self.driver.set_window_size(1280, 900)
            self.driver.save_screenshot(str(folder / f"{name}.png"))

    def keep_evidence(self, test_name: str) -> Path:
        folder = ARTIFACTS / test_name
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", self.step.lower()).strip("-")
        self.driver.save_screenshot(str(folder / f"{slug}.png"))
        (folder / f"{slug}.html").write_text(self.driver.page_source)
        return folder

    def overflowing(self) -> list[str]:
        """What scrolls sideways on this page: the page itself, or a box inside it (a changelist's table)."""
        return self.driver.execute_script(
            """
            const found = [];
            const page = document.documentElement;
            if (page.scrollWidth > page.clientWidth + 1) found.push(`page ${page.scrollWidth}>${page.clientWidth}`);
            for (const element of document.querySelectorAll('#content *')) {
              if (['INPUT', 'SELECT', 'TEXTAREA', 'OPTION'].includes(element.tagName)) continue;
              const style = getComputedStyle(element);
              if (!['auto', 'scroll'].includes(style.overflowX) || element.clientWidth <= 1) continue;
              if (element.scrollWidth > element.clientWidth + 1) {
                const name = `${element.tagName.toLowerCase()}.${element.className}`;
                found.push(`${name} ${element.scrollWidth}>${element.clientWidth}`);
              }
            }
            return found;
            """
        )


@pytest.fixture
def stack(tmp_path):
    with services_for(tmp_path) as env:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "collectstatic", "--noinput", "-v0")
        assert manage(env, "shell", "-c", BULK_ORGANISMS).strip().splitlines()[-1] == str(CATALOGUE)
        web = Gunicorn(env, tmp_path / "gunicorn.log")
        env = {**env, "PUBLIC_BASE_URL": web.url}
        web.env["PUBLIC_BASE_URL"] = web.url
        created = manage(env, "ensure_curator", "--base-url", web.url)
        password = re.search(r"one-time password: (\S+)", created).group(1)
        worker = CeleryWorker(env, tmp_path / "worker.log", pool="solo")
        web.start()
        worker.start()
        try:
            yield web, password
        finally:
            worker.stop()
            web.stop()


def test_a_curators_journey(stack, browser, request, tmp_path):  # noqa: F811
    web, one_time_password = stack
    journey = Journey(browser, web.url)
    browser.set_window_size(1280, 900)
    try:
        walk(journey, one_time_password, tmp_path)
    except BaseException:
        folder = journey.keep_evidence(request.node.name)
        print(f"the browser at the failing step ({journey.step}) is kept in {folder}")
        raise


def walk(journey: Journey, one_time_password: str, tmp_path: Path) -> None:
    j = journey

    j.step = "first sign-in replaces the one-time password"
    j.open("/admin/")
    j.type("#id_username", "curator")
    j.type("#id_password", one_time_password)
    j.click("input[type=submit]")
    assert "/password_change/" in j.driver.current_url, j.driver.current_url
    j.open("/admin/organisms/organism/")
    assert "/password_change/" in j.driver.current_url  # nothing else opens before the change
    j.type("#id_old_password", one_time_password)
    j.type("#id_new_password1", NEW_PASSWORD)
    j.type("#id_new_password2", NEW_PASSWORD)
    j.click("input[type=submit]")
    j.open("/admin/")
    assert "Collection and blog" in j.text(), j.text()[:500]

    j.step = "find one organism among 100,000"
    for term in ("Snow leopard", "Panthera uncia", "=panthera-uncia"):
        assert "Snow leopard" in j.search("/admin/organisms/organism/", term), term
    assert len(j.find_all("#result_list tbody tr")) == 1  # the slug names one record
    j.screenshot("organism-search")

    j.step = "edit and save"
    status, before = j.public("/api/v1/organisms/panthera-uncia/")
    assert status == 200 and "Rocky slopes of the Altai" not in before["habitat"]
    original_habitat = before["habitat"]
    j.click("#result_list tbody tr th a")
    j.type("#id_habitat", "Rocky slopes of the Altai, up to 5,500 m.")
    j.click("input[name=_save]")
    assert "was changed successfully" in j.messages(), j.errors()
    body = j.public("/api/v1/organisms/panthera-uncia/")[1]
    assert body["habitat"] == "Rocky slopes of the Altai, up to 5,500 m."  # at once, the cache notwithstanding

    j.step = "add an organism with a photograph"
    j.open("/admin/organisms/organism/add/")
    j.type("#id_common_name", "Himalayan monal")
    j.type("#id_scientific_name", "Lophophorus impejanus")
    j.type("#id_kingdom", "Animalia")
    j.click("#id_is_published", navigates=False)
    j.click("#images-group .add-row a", navigates=False)
    photo = tmp_path / "monal.jpg"
    make_photo(photo)
    j.find("input[name='images-0-original']").send_keys(str(photo))
    j.type("#id_images-0-alt_text", "A Himalayan monal on a snowy ridge")
    j.click("input[name=_continue]")
    assert "was added successfully" in j.messages(), j.errors()

    def processed() -> bool:
        j.driver.refresh()
        j.ready()
        group = j.find("#images-group").text
        return "ready" in group and bool(j.find_all("#images-group img"))

    wait_until(processed, timeout=60, what="the photograph's processing to show ready, with its preview")
    for width in WIDTHS:
        j.driver.set_window_size(width, 900)
        assert j.overflowing() == [], (width, j.overflowing())
    j.driver.set_window_size(1280, 900)
    j.screenshot("organism-photographs")
    body = j.public_until(
        "/api/v1/organisms/lophophorus-impejanus/",
        lambda status, body: status == 200 and body.get("images"),
        "the new organism to be public with its photograph",
    )
    assert body["images"][0]["alt_text"] == "A Himalayan monal on a snowy ridge"
    assert body["images"][0]["srcset"]["webp"]

    j.step = "write a post that links to an organism, and schedule it"
    j.open("/admin/blogs/post/add/")
    j.type("#id_title", "The snow leopard's winter")
    j.type("#id_excerpt", "How the ghost of the mountains gets through the cold months.")
    j.type("#id_body", "# Winter\n\nThe [[Panthera uncia|snow leopard]] follows its prey downhill.")
    from selenium.webdriver.support.ui import Select

    Select(j.find("#id_status")).select_by_value("published")
    tomorrow = date.today() + timedelta(days=2)
    j.type("#id_published_at_0", tomorrow.strftime("%d/%m/%Y"))
    j.type("#id_published_at_1", "09:00:00")
    j.screenshot("post-form")
    j.click("input[name=_save]")
    assert "was added successfully" in j.messages(), j.errors()
    assert "scheduled" in j.text().lower()
    slug = "the-snow-leopards-winter"
    assert j.public(f"/api/v1/posts/{slug}/")[0] == 404  # scheduled: not public before its time

    j.step = "preview the scheduled post"
    j.search("/admin/blogs/post/", "The snow leopard's winter")
    j.click("#result_list tbody tr th a")
    j.screenshot("post-change")  # Preview beside History
    preview_url = preview(j)
    assert "?preview=" in preview_url and f"/api/v1/posts/{slug}/" in preview_url
    status, headers, _ = http("GET", preview_url)
    assert status == 200 and headers["Cache-Control"] == "private, no-store", headers
    for _ in range(2):  # after the preview, through the page cache: never the post
        assert j.public(f"/api/v1/posts/{slug}/")[0] == 404
        assert slug not in [item["slug"] for item in j.public("/api/v1/posts/")[1]["results"]]

    j.step = "bulk publish and unpublish"
    changelist_action(j, "/admin/blogs/post/", "The snow leopard's winter", "publish")
    assert "Published 1 post(s)" in j.messages()
    status, post = j.public(f"/api/v1/posts/{slug}/")
    assert status == 200, post
    assert 'data-organism="panthera-uncia"' in post["body_html"] and "<h2>Winter</h2>" in post["body_html"]
    assert slug in [item["slug"] for item in j.public("/api/v1/posts/")[1]["results"]]
    changelist_action(j, "/admin/blogs/post/", "The snow leopard's winter", "unpublish")
    assert "Unpublished 1 post(s)" in j.messages()
    assert j.public(f"/api/v1/posts/{slug}/")[0] == 404
    assert slug not in [item["slug"] for item in j.public("/api/v1/posts/")[1]["results"]]

    j.step = "read the history and revert"
    j.search("/admin/organisms/organism/", "=panthera-uncia")
    j.click("#result_list tbody tr th a")
    j.click("a.historylink")
    history = j.text()
    assert "Rocky slopes of the Altai" in history and "admin" in history  # the change, and through what
    j.screenshot("organism-history")
    revisions = j.find_all("#change-history tbody tr a[href*='/history/']")
    assert len(revisions) >= 2, history[:1000]
    j.click(f"a[href='{revisions[-1].get_attribute('href').removeprefix(j.base_url)}']")  # the earliest
    assert j.find("#id_habitat").get_attribute("value") == original_habitat
    j.screenshot("organism-revert")
    j.click("input[name=_save]")
    assert "was changed successfully" in j.messages(), j.errors()
    assert j.public("/api/v1/organisms/panthera-uncia/")[1]["habitat"] == original_habitat

    j.step = "the cache panel: the last bump, Warm now and Purge"
    j.open("/admin/")
    j.click("a[href='/admin/ops/cachewarmup/']")
    organisms = j.find("tr.family[data-family=organisms] td.last-bump").text
    assert "a change by curator through admin" in organisms, organisms  # the revert
    j.click("input.warm-now")
    assert "Warm-up started" in j.messages(), j.text()[:500]

    def warmed() -> bool:
        j.driver.refresh()
        j.ready()
        return bool(j.find_all("tr.warmup[data-status=done]"))

    wait_until(warmed, timeout=180, what="the warm-up's report")
    assert int(j.find("tr.warmup[data-status=done] td.pages").text) > 200, j.find("tr.warmup").text
    assert cache_state(j, "/api/v1/organisms/?kingdom=Plantae") == "HIT"  # warmed, never asked for before
    j.screenshot("cache-panel")
    j.click("tr.family[data-family=organisms] input.purge")
    assert "Purged organisms" in j.messages()
    assert "a purge by curator through admin" in j.find("tr.family[data-family=organisms] td.last-bump").text
    assert cache_state(j, "/api/v1/organisms/?kingdom=Plantae") == "MISS"

    j.step = "every changelist and form fits at 1280 and 1440 px"
    fits_the_screen(j)


def preview(j: Journey) -> str:
    """Click Preview (it opens a tab), read the record there as the frontend would, and come back."""
    own = j.driver.current_window_handle
    j.click("a.previewlink", navigates=False)
    wait_until(lambda: len(j.driver.window_handles) == 2, timeout=10, what="the preview's tab")
    j.driver.switch_to.window(next(handle for handle in j.driver.window_handles if handle != own))
    try:
        j.ready()
        body = json.loads(j.find("body").text)
        assert body["title"] == "The snow leopard's winter" and 'data-organism="panthera-uncia"' in body["body_html"]
        return j.driver.current_url
    finally:
        j.driver.close()
        j.driver.switch_to.window(own)


def cache_state(j: Journey, path: str) -> str:
    """What the page cache did for an anonymous request (X-Cache)."""
    status, headers, _ = http("GET", j.base_url + path, headers={"Accept": "application/json"})
    assert status == 200, (path, status)
    return headers.get("X-Cache", "none")


def changelist_action(j: Journey, changelist: str, row_text: str, action: str) -> None:
    from selenium.webdriver.support.ui import Select

    j.open(changelist)
    rows = [row for row in j.find_all("#result_list tbody tr") if row_text in row.text]
    assert len(rows) == 1, [row.text for row in j.find_all("#result_list tbody tr")]
    rows[0].find_element("css selector", "input[name=_selected_action]").click()  # on this page
    Select(j.find("select[name=action]")).select_by_value(action)
    j.click("button[name=index]")


def fits_the_screen(j: Journey) -> None:
    """Every changelist the curator can open, its first record's form and its add form, at each width."""
    j.open("/admin/")
    changelists = sorted(
        {link.get_attribute("href").removeprefix(j.base_url) for link in j.find_all("#content-main tr th a")}
    )
    assert "/admin/organisms/organism/" in changelists and "/admin/blogs/post/" in changelists, changelists
    pages = []
    for changelist in changelists:
        j.open(changelist)
        pages.append(changelist)
        first = j.find_all("#result_list tbody tr th a, #result_list tbody tr td.field-preview a")
        if first:
            pages.append(first[0].get_attribute("href").removeprefix(j.base_url))
        if j.find_all(".object-tools a.addlink"):
            pages.append(j.find(".object-tools a.addlink").get_attribute("href").removeprefix(j.base_url))
    too_wide = {}
    for width in WIDTHS:
        j.driver.set_window_size(width, 900)
        for page in pages:
            j.open(page)
            time.sleep(0.05)  # the admin's scripts (autocomplete widgets) lay out after load
            if found := j.overflowing():
                too_wide[f"{width} {page}"] = found
    j.driver.set_window_size(1280, 900)
    assert too_wide == {}


def make_photo(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (1600, 1067), (90, 120, 40)).save(path, "JPEG", quality=85)
