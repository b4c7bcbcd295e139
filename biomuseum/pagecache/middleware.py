"""The page cache's side inside Django."""


class PrivateAPIResponsesMiddleware:
    """Answers to authenticated API requests are `private, no-store`: no shared cache may keep them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path_info.startswith("/api/") and user is not None and user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        return response
