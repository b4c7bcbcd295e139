"""Image jobs with every part real: uploads through gunicorn, a Celery worker on a throwaway Redis broker,
renditions served over HTTP. Workers are killed, the broker goes away, uploads are hostile; nothing is lost,
nothing is made twice, and the worker keeps going."""

import io
import os
import time
import uuid
from pathlib import Path

import pytest
import redis
from PIL import Image, features

from tests import imagefiles

from .processes import VISIBILITY_TIMEOUT, JobStack, prepared_database, wait_until

pytestmark = pytest.mark.integration

SLUG = "panthera-uncia"
UPLOAD = f"/api/v1/organisms/{SLUG}/images/"
FORMATS = {"webp", "jpeg", "avif"} if features.check("avif") else {"webp", "jpeg"}
SETUP = f"""
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from organisms.models import Organism

Organism.objects.create(slug="{SLUG}", common_name="Snow leopard", scientific_name="Panthera uncia", kingdom="Animalia")
curator = User.objects.create_user("curator", is_staff=True)
curator.user_permissions.add(*Permission.objects.filter(codename__in=["add_organismimage", "view_organismimage"]))
print(Token.objects.create(user=curator).key)
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> tuple[Path, str]:
    return prepared_database(tmp_path_factory.mktemp("image-jobs-db"), SETUP)


@pytest.fixture
def stack(tmp_path, database):
    stack = JobStack(tmp_path, database[0])
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def solo_stack(tmp_path, database):
    """With `--pool solo` the worker is one process: SIGKILL takes the job down with it, nothing else."""
    stack = JobStack(tmp_path, database[0])
    try:
        yield stack.start(pool="solo")
    finally:
        stack.stop()


@pytest.fixture
def token(database) -> str:
    return database[1]


def multipart(name: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="alt_text"\r\n\r\nA snow leopard\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return body + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(stack: JobStack, token: str, name: str, content: bytes, content_type: str = "image/jpeg"):
    body, content_type = multipart(name, content, content_type)
    return stack.api("POST", UPLOAD, token=token, body=body, **{"Content-Type": content_type})


def settled(stack: JobStack, token: str, location: str, timeout: float = 60) -> dict:
    """The status resource once the job is over (ready or failed)."""

    def finished():
        status, _, body = stack.api("GET", location, token=token)
        assert status == 200, body
        return body if body["status"] in ("ready", "failed") else None

    return wait_until(finished, timeout=timeout, what=f"{location} to be ready or failed")


def rotated_photo_with_gps() -> bytes:
    """1500×1000 as stored, 1000×1500 upright (EXIF orientation 6); a blue band along the stored top edge."""
    image = Image.new("RGB", (1500, 1000), (200, 30, 30))
    image.paste((20, 40, 200), (0, 0, 1500, 150))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=imagefiles.exif_with_gps_and_rotation())
    return buffer.getvalue()


def noisy_jpeg(width: int, height: int) -> bytes:
    """Random pixels: slow to decode, resize and encode, so a job is still running when the test acts."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "JPEG", quality=40)
    return buffer.getvalue()


def rendition_files(stack: JobStack) -> set[str]:
    root = stack.media / "renditions"
    return {path.relative_to(stack.media).as_posix() for path in root.rglob("*") if path.is_file()}


def test_upload_is_processed_into_upright_renditions_without_metadata(stack, token):
    status, headers, body = upload(stack, token, "IMG_0042.JPG", rotated_photo_with_gps())
    assert status == 202, body
    assert body["status"] == "pending"
    assert headers["Location"] == body["url"]

    image = settled(stack, token, headers["Location"])
    assert image["status"] == "ready", image["error"]
    assert (image["width"], image["height"]) == (1000, 1500)  # as displayed, like its renditions
    renditions = image["renditions"]
    # Upright the photograph is 1000 pixels wide: 320 and 640, never upscaled to 1280 or 2048.
    assert sorted((r["width"], r["format"]) for r in renditions) == sorted(
        (width, fmt) for width in (320, 640) for fmt in FORMATS
    )
    assert all(r["height"] == round(r["width"] * 1.5) for r in renditions)  # portrait: orientation applied
    assert set(image["srcset"]) == FORMATS
    for fmt in FORMATS:
        assert [entry.split()[-1] for entry in image["srcset"][fmt].split(", ")] == ["320w", "640w"]
    assert image["placeholder"].startswith("data:image/")
    assert len(image["placeholder"]) < 1024
    red, green, blue = (int(image["dominant_color"][i : i + 2], 16) for i in (1, 3, 5))
    assert red > 150 and green < 90 and blue < 90  # the red of most of the picture

    for fmt in ("jpeg", "webp"):
        rendition = next(r for r in renditions if r["width"] == 640 and r["format"] == fmt)
        status, headers, content = stack.api("GET", rendition["url"])
        assert status == 200
        assert headers["Content-Type"] == f"image/{fmt}"
        with Image.open(io.BytesIO(content)) as served:
            assert served.size == (640, 960)  # the stored pixels are landscape; the served ones upright
            assert not served.getexif()  # no orientation, camera or GPS left
            assert "exif" not in served.info
            served = served.convert("RGB")
            assert served.getpixel((630, 480))[2] > 150  # the stored top edge is now on the right
            assert served.getpixel((10, 480))[0] > 150

    [original] = (stack.media / "originals").rglob("*.jpg")
    with Image.open(original) as kept:
        assert kept.getexif().get_ifd(0x8825)  # the original still knows where it was taken...
    status, _, _ = stack.api("GET", f"/media/{original.relative_to(stack.media).as_posix()}")
    assert status == 404  # ...so it is never served


def test_worker_killed_mid_job_the_job_is_redelivered_and_made_once(solo_stack, token):
    stack = solo_stack
    status, headers, body = upload(stack, token, "big.jpg", noisy_jpeg(7000, 5000))
    assert status == 202, body
    location = headers["Location"]

    def processing():
        return stack.api("GET", location, token=token)[2]["status"] == "processing"

    wait_until(processing, timeout=30, what="the worker to start on the image", interval=0.05)
    stack.worker.kill()
    assert stack.api("GET", location, token=token)[2]["status"] == "processing"  # killed, not finished
    with redis.Redis.from_url(stack.broker.url) as broker:
        [(_, delivered_at)] = broker.zrange("unacked_index", 0, -1, withscores=True)
    # acks_late: the task is still unacknowledged in the broker. kombu hands such a task out again once the
    # visibility timeout has passed, when a worker starts (and then only every ~100s): start the
    # replacement as a supervisor would, after the timeout.
    time.sleep(max(0.0, delivered_at + VISIBILITY_TIMEOUT + 0.5 - time.time()))
    stack.start_worker()
    image = settled(stack, token, location, timeout=90)
    assert image["status"] == "ready", image["error"]
    assert image["attempts"] == 2  # the killed run and the redelivered one
    manifest = image["renditions"]
    pairs = [(r["width"], r["format"]) for r in manifest]
    assert sorted(pairs) == sorted((width, fmt) for width in (320, 640, 1280, 2048) for fmt in FORMATS)
    assert rendition_files(stack) == {r["path"] for r in manifest}  # one set, no temporary files left behind


def test_upload_while_broker_is_down_waits_pending_and_the_sweeper_recovers_it(stack, token):
    status, headers, _ = upload(stack, token, "before.jpg", imagefiles.jpeg())
    assert status == 202
    assert settled(stack, token, headers["Location"])["status"] == "ready"  # connections to the broker exist

    stack.broker.stop()
    status, headers, body = upload(stack, token, "during.jpg", imagefiles.jpeg(colour=(10, 20, 200)))
    assert status == 202, body
    location = headers["Location"]
    assert stack.api("GET", location, token=token)[2]["status"] == "pending"

    stack.broker.start()  # same port, empty: the upload's task was never queued
    if not stack.worker.alive:
        stack.start_worker()
    assert stack.shell("from organisms.tasks import sweep_organism_images; print(sweep_organism_images())") == "1"
    image = settled(stack, token, location)
    assert image["status"] == "ready", image["error"]
    assert image["attempts"] == 1


def test_hostile_uploads_are_refused_or_fail_and_the_worker_keeps_going(stack, token):
    refused = {  # name: (content, declared type, what the message says)
        "bomb.png": (imagefiles.png_claiming(20000, 20000), "image/png", "megapixels"),  # 400 MP in a few bytes
        "huge.png": (
            imagefiles.blank_png(8000, 8000),
            "image/png",
            "megapixels",
        ),  # a real 64 MP image of a few kilobytes
        "long.png": (imagefiles.blank_png(40000, 1), "image/png", "no side may exceed"),  # few pixels, one absurd side
        "page.jpg": (b"<!doctype html><html><script>alert(1)</script></html>", "image/jpeg", "not a valid JPEG"),
    }
    for name, (content, content_type, explanation) in refused.items():
        status, _, body = upload(stack, token, name, content, content_type)
        assert status == 400, (name, body)
        assert body["error"]["status"] == 400
        [message] = body["error"]["fields"]["file"]
        assert explanation in message, (name, message)

    status, headers, body = upload(stack, token, "photo.jpg", imagefiles.png(), "image/jpeg")
    assert status == 202, body  # a PNG by content: accepted as what it is
    assert settled(stack, token, headers["Location"])["status"] == "ready"
    assert [path.suffix for path in (stack.media / "originals").rglob("*.*")] == [".png"]

    whole = noisy_jpeg(600, 400)
    status, headers, body = upload(stack, token, "cut.jpg", whole[: len(whole) // 2])
    if status == 202:  # the header reads fine; decoding the pixels fails in the worker
        truncated = settled(stack, token, headers["Location"])
        assert truncated["status"] == "failed"
        assert truncated["error"]
    else:
        assert status == 400, body
        assert body["error"]["fields"]["file"]

    assert stack.worker.alive
    status, headers, _ = upload(stack, token, "fine.jpg", imagefiles.jpeg())
    assert status == 202
    assert settled(stack, token, headers["Location"])["status"] == "ready"
