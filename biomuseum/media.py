"""Serving renditions when no web server or CDN does (SERVE_MEDIA): the renditions folder and nothing else.

Originals keep their metadata (GPS positions, cameras) and are never served. The document root is the
renditions folder itself, and a path with an empty, `.` or `..` segment (`../originals/...` however it
is spelled: the server decodes `%2e%2e` before routing) is a 404 before any file is looked at.
"""

from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.views.static import serve

IMMUTABLE = "public, max-age=31536000, immutable"


def rendition(request, path: str):
    parts = path.replace("\\", "/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise Http404("No such rendition.")
    response = serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "renditions")
    if response.status_code == 200:
        response["Cache-Control"] = IMMUTABLE  # a rendition's name changes with its content
    return response
