"""Markdown to HTML that is safe to put in a page: no scripts, no handlers, no javascript: links."""

import markdown
import nh3

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
# Tables align columns with the `align` attribute: the default inline `style` is stripped by the cleaner.
MARKDOWN_CONFIG = {"extra": {"tables": {"use_align_attribute": True}}}


def render_markdown(source: str) -> str:
    html = markdown.markdown(
        source or "", extensions=["extra", "sane_lists"], extension_configs=MARKDOWN_CONFIG, output_format="html"
    )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
