"""Response headers Django's own middleware does not send: a Content-Security-Policy on every HTML page (the
admin, the API docs, the subscription page), and `Cache-Control: no-store` on error answers that say
nothing about caching (no shared cache may keep a 4xx meant for one client). The page cache answers some
requests itself (hits, 304, 429); `HEADERS` is what SecurityMiddleware and XFrameOptionsMiddleware would
have added to those."""

from django.conf import settings

# No inline script anywhere (the API docs load their set-up script from a URL: SpectacularSwaggerSplitView);
# inline styles stay allowed, as the admin's widgets and Swagger UI set style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def headers() -> tuple[tuple[str, str], ...]:
    """What Django's SecurityMiddleware and XFrameOptionsMiddleware add, for answers Django never sees."""
    found = [("X-Frame-Options", settings.X_FRAME_OPTIONS)]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        found.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        found.append(("Referrer-Policy", settings.SECURE_REFERRER_POLICY))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        found.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return tuple(found)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if response.status_code >= 400 and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response
