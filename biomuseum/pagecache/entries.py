"""A stored page: its body (plain and gzipped), the generations it was rendered under, its HTTP answer."""

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.http import parse_etags

from .. import securityheaders

VARY = "Accept, Accept-Encoding, Origin"
# Response headers that belong to one request, never to the cached page.
PER_REQUEST_HEADERS = frozenset(
    {
        "set-cookie", "vary", "content-length", "content-encoding", "date", "server", "etag", "cache-control",
        "x-request-id", "x-cache", "x-response-time", "retry-after", "ratelimit-limit", "ratelimit-remaining",
        "ratelimit-reset", "access-control-allow-origin", "access-control-allow-credentials",
        "access-control-expose-headers",
    }
)  # fmt: skip


# --- entries ---


@dataclass(frozen=True)
class Entry:
    generations: tuple[int, ...]
    expires_at: float
    headers: tuple[tuple[str, str], ...]  # Content-Type and the page's own headers
    etag: str
    body: bytes
    gzip_body: bytes | None

    @classmethod
    def build(
        cls, headers: list[tuple[str, str]], body: bytes, tokens: tuple[int, ...], expires_at: float, compress=True
    ) -> "Entry":
        kept = tuple((name, value) for name, value in headers if name.lower() not in PER_REQUEST_HEADERS)
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        compress = compress and len(body) >= settings.GZIP_MIN_BYTES
        compressed = gzip.compress(body, compresslevel=6, mtime=0) if compress else None
        return cls(tokens, expires_at, kept, digest, body, compressed)

    def fresh(self, tokens: tuple[int, ...], now: float) -> bool:
        return self.generations == tokens and now < self.expires_at

    def respond(self, environ: dict, now: float) -> tuple[str, list[tuple[str, str]], bytes]:
        use_gzip = self.gzip_body is not None and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        etag = f'"{self.etag}-gz"' if use_gzip else f'"{self.etag}"'
        max_age = max(0, min(settings.PAGE_CACHE_MAX_AGE, int(self.expires_at - now)))
        headers = [
            ("ETag", etag),
            (
                "Cache-Control",
                f"public, max-age={max_age}, stale-while-revalidate={settings.PAGE_CACHE_STALE_WHILE_REVALIDATE}, "
                f"stale-if-error={settings.PAGE_CACHE_STALE_IF_ERROR}",
            ),
            ("Vary", VARY),
        ]
        if _matches(environ.get("HTTP_IF_NONE_MATCH"), etag):
            return "304 Not Modified", [*headers, *securityheaders.headers()], b""
        body = self.gzip_body if use_gzip else self.body
        headers += [*self.headers, ("Content-Length", str(len(body)))]
        if use_gzip:
            headers.append(("Content-Encoding", "gzip"))
        return "200 OK", headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else body


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.removeprefix("W/") for tag in parse_etags(if_none_match)]
    return "*" in tags or etag in tags


@lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether `Accept-Encoding` allows gzip: named (or `*`) with a quality above zero (`gzip;q=0` refuses)."""
    accept_encoding = accept_encoding.lower()
    if "gzip" not in accept_encoding and "*" not in accept_encoding:
        return False
    allowed: dict[str, bool] = {}
    for item in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[coding.lower()] = quality > 0
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))
