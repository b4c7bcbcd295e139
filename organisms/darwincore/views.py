"""GET /api/v1/exports/dwca.zip: the published catalogue as a Darwin Core Archive, for anyone."""

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from biomuseum.queryparams import QueryParamsSerializer
from biomuseum.renderers import FastJSONRenderer
from biomuseum.throttles import PublicReadThrottle, RateLimitHeadersMixin

from .published import current_archive

FILENAME = "dwca.zip"


class ErrorsInJSON(BaseContentNegotiation):
    """The archive is a file response whatever the client accepts; an error is the JSON envelope."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class NoParams(QueryParamsSerializer):
    """The archive takes no parameters: any but a tracking one is a 400, as on every public endpoint."""

    allow_pagination = False

    def get_fields(self) -> dict:
        return {}  # not even `fields`: the archive is whole


class DarwinCoreArchiveView(RateLimitHeadersMixin, APIView):
    """The same archive for every caller, so no credentials are read (a bad token is simply anonymous)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicReadThrottle]
    renderer_classes = [FastJSONRenderer]
    content_negotiation_class = ErrorsInJSON

    @extend_schema(
        operation_id="exports_dwca_retrieve",
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="A Darwin Core Archive (docs/DARWIN_CORE.md): taxon.txt with vernacular names, "
                "distribution (IUCN threat status), descriptions and identifiers, meta.xml and eml.xml.",
            ),
            304: OpenApiResponse(description="Not modified: the If-None-Match sent names the current archive's ETag."),
        },
        tags=["exports"],
    )
    def get(self, request):
        """The published catalogue: taxa, ancestors and synonyms, with every extension; built once per edit."""
        NoParams.parse(request.query_params)
        archive = current_archive()
        headers = {
            "ETag": archive.etag,
            "Cache-Control": f"public, max-age={settings.PAGE_CACHE_MAX_AGE}, "
            f"stale-while-revalidate={settings.PAGE_CACHE_STALE_WHILE_REVALIDATE}",
        }
        sent = [tag.removeprefix("W/") for tag in parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))]
        if archive.etag in sent or "*" in sent:
            archive.file.close()
            return HttpResponseNotModified(headers=headers)
        if request.method == "HEAD":
            archive.file.close()
            response = HttpResponse(content_type="application/zip", headers=headers)
            response["Content-Length"] = str(archive.size)
        else:
            response = FileResponse(archive.file, content_type="application/zip", headers=headers)
        response["Content-Disposition"] = f'attachment; filename="{FILENAME}"'
        return response
