"""The curators' admin in a real headless Chromium under the Content-Security-Policy the site sends: signing
in works, the admin's own scripts run (the slug fills in from the title as it is typed), and the browser
reports no policy violation on the pages curators use."""

import pytest

from .processes import Gunicorn, manage, project_env
from .test_frontend_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

PASSWORD = "a long curator passphrase for the browser"


def test_admin_works_under_the_content_security_policy(tmp_path, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    env = project_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    manage(env, "collectstatic", "--noinput", "-v0")  # as make run does: the admin's own assets
    manage(env, "shell", "-c", "from django.contrib.auth.models import User; "
           f"User.objects.create_superuser('curator', 'c@example.org', {PASSWORD!r})")  # fmt: skip
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        browser.get(server.url + "/admin/login/")
        browser.find_element(By.NAME, "username").send_keys("curator")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        WebDriverWait(browser, 10).until(
            lambda driver: "/admin/" in driver.current_url and "login" not in driver.current_url
        )

        browser.get(server.url + "/admin/blogs/post/add/")
        browser.find_element(By.NAME, "title").send_keys("Owls at Dusk")
        slug = browser.find_element(By.NAME, "slug")
        WebDriverWait(browser, 5).until(lambda driver: slug.get_attribute("value"))
        assert slug.get_attribute("value") == "owls-at-dusk"  # prepopulated fields: the admin's JS ran

        for path in ("/admin/organisms/organism/", "/admin/organisms/organism/?q=panthera", "/api/docs/"):
            browser.get(server.url + path)
            WebDriverWait(browser, 10).until(
                lambda driver: driver.execute_script("return document.readyState") == "complete"
            )
        browser.get(server.url + "/admin/organisms/organism/?q=snow+leopard")  # the curator's search box
        browser.find_element(By.CSS_SELECTOR, "#result_list tbody th a").click()
        assert "Snow leopard" in browser.find_element(By.NAME, "common_name").get_attribute("value")
        violations = [
            entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]
        ]
        assert violations == []
    finally:
        server.stop()
