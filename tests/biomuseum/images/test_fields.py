"""What every processed image stores (biomuseum/images/fields.py)."""

import re

from biomuseum.images import ImageStatus, generated_upload_name
from blogs.models import CoverImage
from organisms.models import OrganismImage


def test_generated_upload_name_keeps_nothing_of_the_uploaded_name():
    first = generated_upload_name(OrganismImage(), "../../Home of J. Smith.JPG")
    assert re.fullmatch(r"originals/organismimage/[0-9a-f]{32}\.jpg", first)
    assert generated_upload_name(OrganismImage(), "../../Home of J. Smith.JPG") != first
    assert generated_upload_name(CoverImage(), "cover.exe").startswith("originals/coverimage/")
    assert generated_upload_name(CoverImage(), "cover.exe").endswith(".img")


def test_processed_image_is_public_only_when_ready_and_links_its_smallest_rendition():
    renditions = [
        {"url": "/a-640.webp", "width": 640, "format": "webp"},
        {"url": "/a-320.jpg", "width": 320, "format": "jpeg"},
        {"url": "/a-320.webp", "width": 320, "format": "webp"},
        {"url": "/a-160.avif", "width": 160, "format": "avif"},
    ]
    image = OrganismImage(status=ImageStatus.PROCESSING, renditions=renditions, alt_text="A kea")
    assert not image.shows_publicly()
    image.status = ImageStatus.READY
    assert image.shows_publicly()
    image.alt_text = ""
    assert not image.shows_publicly()  # nobody has described it
    assert image.smallest_url() == "/a-320.webp"  # JPEG and WebP only, WebP first at a width
    assert OrganismImage(renditions=[]).smallest_url() == ""
