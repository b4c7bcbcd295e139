"""A frontend on another origin, in a real headless Chromium (Debian's chromium and chromium-driver, through
Selenium): a page served from another port fetches the organisms list, follows `next`, and shows and draws a
photograph from its `srcset`, with one setting (CORS_ALLOWED_ORIGINS)."""

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port, require_service

from .processes import Gunicorn, manage, project_env

pytestmark = pytest.mark.integration

ADD_PHOTO = """
import io
from PIL import Image
from django.core.files.uploadedfile import SimpleUploadedFile
from organisms import services
from organisms.models import Organism
buffer = io.BytesIO()
Image.new("RGB", (1200, 800), (40, 120, 60)).save(buffer, "JPEG")
organism = Organism.objects.get(slug="panthera-uncia")
services.organism_image_add(organism=organism, user=None, alt_text="A snow leopard",
    upload=SimpleUploadedFile("leopard.jpg", buffer.getvalue(), content_type="image/jpeg"))
print(organism.images.get().status)
"""

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>frontend</title></head><body>
<p id="status">loading</p><img id="photo" alt="">
<script>
const api = new URLSearchParams(location.search).get("api");
const report = (text) => { document.getElementById("status").textContent = text; };
(async () => {
  try {
    const first = await (await fetch(api + "/api/v1/organisms/?page_size=5")).json();
    const second = await (await fetch(first.next)).json();
    const detail = await (await fetch(api + "/api/v1/organisms/panthera-uncia/")).json();
    const image = document.getElementById("photo");
    image.crossOrigin = "anonymous";
    image.sizes = "320px";
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      const pixel = context.getImageData(1, 1, 1, 1).data;  // throws if the image is not CORS-clean
      report(`ok pages=${first.results.length}+${second.results.length} width=${image.naturalWidth} g=${pixel[1]}`);
    };
    image.onerror = () => report("image failed: " + image.currentSrc);
    image.srcset = detail.images[0].srcset.webp;
  } catch (error) { report("error: " + error); }
})();
</script></body></html>"""


@pytest.fixture
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        require_service("Chromium", "install Debian's chromium and chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, CSP reports included
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def test_frontend_on_another_origin_lists_pages_and_draws_a_photograph(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    front_port = free_port()
    front_origin = f"http://127.0.0.1:{front_port}"
    env = project_env(tmp_path, CORS_ALLOWED_ORIGINS=front_origin)  # the one setting a frontend needs
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    assert manage(env, "shell", "-c", ADD_PHOTO).strip().splitlines()[-1] == "ready"  # processed in-process
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    site = tmp_path / "frontend"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    frontend = ThreadingHTTPServer(("127.0.0.1", front_port), handler)
    threading.Thread(target=frontend.serve_forever, daemon=True).start()
    try:
        browser.get(f"{front_origin}/index.html?api={server.url}")
        WebDriverWait(browser, 30).until(lambda driver: driver.find_element(By.ID, "status").text != "loading")
        status = browser.find_element(By.ID, "status").text
        assert status.startswith("ok pages=5+5 width="), status
        width = int(status.split("width=")[1].split()[0])
        assert width in (320, 640, 1024, 2048)  # a rendition, chosen from the srcset
        assert int(status.split("g=")[1]) > 80  # the pixels were readable: the rendition is CORS-clean
        photo = browser.find_element(By.ID, "photo").get_attribute("currentSrc")
        assert photo.startswith(server.url + "/media/renditions/")  # absolute, from the API's origin
    finally:
        frontend.shutdown()
        server.stop()
