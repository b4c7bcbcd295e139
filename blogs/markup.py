"""Markdown to HTML that is safe to put in a page: no scripts, no handlers, no javascript: links."""

from urllib.parse import urlsplit

import nh3
from django.conf import settings
from markdown_it import MarkdownIt
from markdown_it.token import Token

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
    "hr", "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# The longest body the API accepts. Rendering is linear, about 15 µs a character for the worst input found
# (`![` repeated): some 3 s for a body this long; prose renders several times faster.
MAX_SOURCE_LENGTH = 200_000

# CommonMark plus tables, with markdown-it-py because its time is linear in the input (docs/RELIABILITY.md).
# maxNesting bounds the work per bracket and the depth of quotes and lists: deeper brackets stay text, deeper
# blocks are dropped.
_markdown = MarkdownIt("commonmark", {"maxNesting": 20}).enable("table")
# The cleaner's scheme allowlist is the one judge of URLs: markdown-it's own check would leave a refused link as
# its source text rather than a link without an href.
_markdown.validateLink = lambda url: True
_CELL_OPENERS = {"th_open", "td_open"}


def _align_cells(tokens: list[Token]) -> None:
    # Tables align columns with the `align` attribute: the `style` markdown-it writes is stripped by the cleaner.
    for token in tokens:
        if token.type in _CELL_OPENERS and (style := token.attrs.pop("style", None)):
            token.attrs["align"] = str(style).removeprefix("text-align:")


def _image_source(tag: str, attribute: str, value: str) -> str | None:
    """Images in a post come from the museum (a path, or a host in POST_IMAGE_HOSTS): an image from anywhere
    else is a tracking pixel that tells a third party who read the post, and when."""
    if tag != "img" or attribute != "src":
        return value
    parts = urlsplit(value.strip())
    if not parts.scheme and not parts.netloc:
        return value  # a path on this site
    host = (parts.hostname or "").lower()
    return value if host and host in allowed_image_hosts() else None


def allowed_image_hosts() -> frozenset[str]:
    hosts = {urlsplit(url).hostname for url in (settings.PUBLIC_BASE_URL, settings.MEDIA_URL) if "//" in url}
    return frozenset(host.lower() for host in {*hosts, *settings.POST_IMAGE_HOSTS} if host)


def render_markdown(source: str) -> str:
    tokens = _markdown.parse(source or "")
    _align_cells(tokens)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_image_source,
        strip_comments=True,
    ).rstrip("\n")
