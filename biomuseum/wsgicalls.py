"""A WSGI application called in-process, its whole answer collected (the page cache rendering a page to
store it, the cache warmer)."""


def collect(application, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body); the application's iterable is closed, as a server would."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return captured["status"], captured["headers"], body
