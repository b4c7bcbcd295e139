"""Serving renditions when no web server or CDN does (SERVE_MEDIA): the renditions folder and nothing else.

Originals keep their metadata (GPS positions, cameras) and are never served. The document root is the
renditions folder itself, and a path with an empty, `.` or `..` segment (`../originals/...` however it
is spelled: the server decodes `%2e%2e` before routing) is a 404 before any file is looked at.
"""

from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.views.static import serve


def rendition(request, path: str):
    parts = path.replace("\\", "/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise Http404("No such rendition.")
    return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "renditions")
