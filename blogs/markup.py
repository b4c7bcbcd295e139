"""Markdown to HTML that is safe to put in a page: no scripts, no handlers, no javascript: links.

Two additions to CommonMark: `# Heading` is a section like `## Heading` (the post's title is the page's one
top heading), and a species of the catalogue is linked by its scientific name, `[[Panthera uncia]]` or
`[[Panthera uncia|snow leopard]]`, or by its slug as a link target, `[snow leopard](organism:panthera-uncia)`.
"""

import re
from html import unescape
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.urls import reverse
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
    "hr", "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "data-organism"},
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
EXTERNAL_LINK_REL = "noopener noreferrer nofollow"

# --- links to species: [[Scientific name]], [[Scientific name|label]], [label](organism:slug) ---

ORGANISM_SCHEME = "organism:"
MAX_REFERENCE = 200  # characters between [[ and ]]: the scan for ]] is bounded, so `[[[[...` stays linear
MAX_REFERENCES = 500  # distinct species looked up for one body; more stay plain text, marked
# What a name or slug not in the catalogue becomes: its label, followed by a mark a curator sees in the preview.
UNKNOWN_ORGANISM_MARK = "<sup>?</sup>"


def _organism_reference(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if not state.src.startswith("[[", start):
        return False
    end = state.src.find("]]", start + 2, start + 4 + MAX_REFERENCE)
    inner = state.src[start + 2 : end] if end >= 0 else ""
    if not inner.strip() or any(char in inner for char in "[]\n"):
        return False
    name, _, label = inner.partition("|")
    if not name.strip():
        return False
    if not silent:
        token = state.push("organism_reference", "", 0)
        token.meta = {"name": " ".join(name.split()), "label": label.strip() or name.strip()}
    state.pos = end + 2
    return True


_markdown.inline.ruler.before("link", "organism_reference", _organism_reference)


def _organism_target(token: Token) -> str | None:
    href = str(token.attrs.get("href", ""))
    return href[len(ORGANISM_SCHEME) :].strip().lower() if href.lower().startswith(ORGANISM_SCHEME) else None


def _known_organisms(names: set[str], slugs: set[str]) -> tuple[dict[str, str], set[str]]:
    """Slugs by lower-cased scientific name, and the slugs that exist: one query, and none without references."""
    if not names and not slugs:
        return {}, set()
    from django.db.models import Q
    from django.db.models.functions import Lower

    from organisms.models import Organism

    rows = (
        Organism.objects.annotate(lowered=Lower("scientific_name"))
        .filter(Q(lowered__in=names) | Q(slug__in=slugs))
        .values_list("lowered", "slug")
    )
    by_name, existing = {}, set()
    for lowered, slug in rows:
        by_name.setdefault(lowered, slug)
        existing.add(slug)
    return by_name, existing


def _link_organisms(tokens: list[Token]) -> None:
    """Species references become links the frontend knows (`data-organism` is the slug; the href is the API
    record); a name or slug the catalogue does not have stays as its label, marked, never a broken link. The
    lookup happens at save, so the stored HTML depends on the body alone until the post is saved again."""
    inlines = [token for token in tokens if token.type == "inline" and token.children]
    names, slugs = set(), set()
    for token in inlines:
        for child in token.children:
            if child.type == "organism_reference":
                names.add(child.meta["name"].lower())
            elif child.type == "link_open" and (slug := _organism_target(child)) is not None:
                slugs.add(slug)
    if len(names) + len(slugs) > MAX_REFERENCES:
        names, slugs = set(sorted(names)[:MAX_REFERENCES]), set()
    by_name, existing = _known_organisms(names, slugs)
    for token in inlines:
        token.children = list(_linked_children(token.children, by_name, existing))


def _linked_children(children: list[Token], by_name: dict[str, str], existing: set[str]):
    unknown_link_open = False
    for child in children:
        if child.type == "organism_reference":
            slug = by_name.get(child.meta["name"].lower())
            text = Token("text", "", 0, content=child.meta["label"])
            if slug is None:
                yield from (text, Token("html_inline", "", 0, content=UNKNOWN_ORGANISM_MARK))
            else:
                yield from (_organism_link_open(slug), text, Token("link_close", "a", -1))
        elif child.type == "link_open" and (slug := _organism_target(child)) is not None:
            if slug in existing:
                yield _organism_link_open(slug, title=child.attrs.get("title"))
            else:
                unknown_link_open = True  # its text stays; its close becomes the mark
        elif child.type == "link_close" and unknown_link_open:
            unknown_link_open = False
            yield Token("html_inline", "", 0, content=UNKNOWN_ORGANISM_MARK)
        else:
            yield child


def _organism_link_open(slug: str, title=None) -> Token:
    token = Token("link_open", "a", 1)
    token.attrs = {"href": reverse("organism-detail", kwargs={"slug": slug}), "data-organism": slug}
    if title:
        token.attrs["title"] = title
    return token


# --- headings and links ---


def _shift_top_headings(tokens: list[Token]) -> None:
    # The page's <h1> is the post's title: a `#` heading is a section, as `##` is.
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"


_ANCHOR = re.compile(r"<a\b[^>]*>")  # the cleaner escapes > inside attribute values
_HREF = re.compile(r'\shref="([^"]*)"')
_EXTERNAL_REL = f' rel="{EXTERNAL_LINK_REL}"'


def own_hosts() -> frozenset[str]:
    """The museum's own sites: its public base URL and, when set, its frontend's."""
    urls = (settings.PUBLIC_BASE_URL, getattr(settings, "FRONTEND_URL", ""))
    return frozenset(host.lower() for url in urls if "//" in url and (host := urlsplit(url).hostname))


def _follow_own_links(html: str) -> str:
    """nofollow tells search engines not to vouch for a link: right for the wider web, wrong for the museum's
    own pages (a path, or a link to the museum's own hosts), which lose it."""
    hosts = None

    def anchor(match: re.Match) -> str:
        nonlocal hosts
        tag = match.group(0)
        href = _HREF.search(tag)
        if href is None:
            return tag.replace(_EXTERNAL_REL, "")  # no target at all
        parts = urlsplit(unescape(href.group(1)).strip())
        if parts.scheme or parts.netloc:
            hosts = own_hosts() if hosts is None else hosts
            internal = parts.scheme in ("http", "https", "") and (parts.hostname or "").lower() in hosts
        else:
            internal = True  # a path or a fragment on this site
        return tag.replace(_EXTERNAL_REL, "") if internal else tag

    return _ANCHOR.sub(anchor, html)


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
    _shift_top_headings(tokens)
    _link_organisms(tokens)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=EXTERNAL_LINK_REL,
        attribute_filter=_image_source,
        strip_comments=True,
    )
    return _follow_own_links(cleaned).rstrip("\n")
