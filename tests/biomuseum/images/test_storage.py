"""Storage (biomuseum/images/storage.py): rendition names from the content hash, whole-file writes."""

import os
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from biomuseum.images import Rendition, StorageUnavailable, rendition_name
from biomuseum.images.storage import write_whole
from organisms.models import OrganismImage


def test_rendition_name_follows_the_content_hash_and_the_format():
    image = OrganismImage(content_hash="ab" + "0" * 62)
    assert rendition_name(image, Rendition(640, 480, "jpeg", b"")) == f"renditions/ab/{image.content_hash}/640.jpg"
    assert rendition_name(image, Rendition(320, 240, "webp", b"")).endswith("/320.webp")


def test_write_whole_replaces_a_file_in_place_and_leaves_no_temporary(tmp_path):
    storage = FileSystemStorage(location=tmp_path)
    write_whole(storage, "renditions/ab/x/320.webp", b"first")
    write_whole(storage, "renditions/ab/x/320.webp", b"second")  # a rerun: the same name, not 320_abc.webp
    folder = tmp_path / "renditions/ab/x"
    assert [p.name for p in folder.iterdir()] == ["320.webp"]
    assert (folder / "320.webp").read_bytes() == b"second"
    assert oct(os.stat(folder / "320.webp").st_mode & 0o777) == "0o644"  # readable by the web server


def test_write_whole_turns_a_storage_error_into_storage_unavailable(tmp_path):
    (tmp_path / "renditions").write_bytes(b"a file where the folder should be")
    with pytest.raises(StorageUnavailable, match="could not be written"):
        write_whole(FileSystemStorage(location=tmp_path), "renditions/ab/x/320.webp", b"data")
    assert Path(tmp_path / "renditions").read_bytes() == b"a file where the folder should be"
