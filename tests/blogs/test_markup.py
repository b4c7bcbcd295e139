import cProfile
import pstats
import re

import pytest

from blogs.markup import MAX_REFERENCE, render_markdown
from tests.factories import OrganismFactory

EVENT_HANDLER = re.compile(r"\son\w+\s*=", re.IGNORECASE)


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert not EVENT_HANDLER.search(html)
    assert "javascript:" not in lowered
    assert "data:" not in lowered
    assert "<iframe" not in lowered
    assert "<style" not in lowered
    assert "style=" not in lowered


def test_render_markdown_renders_headings():
    html = render_markdown("## Habitat\n\n### Range\n\n###### Notes")

    assert "<h2>Habitat</h2>" in html
    assert "<h3>Range</h3>" in html
    assert "<h6>Notes</h6>" in html


def test_render_markdown_level_one_heading_is_a_section_heading():
    # The page's own <h1> is the post title, so a body never adds a second one: `#` is a section, as `##` is.
    html = render_markdown("# Field notes\n\nText\n\nSeen at dusk\n===")

    assert html == "<h2>Field notes</h2>\n<p>Text</p>\n<h2>Seen at dusk</h2>"


def test_render_markdown_renders_emphasis():
    html = render_markdown("*soft* and **loud** and `code`")

    assert "<em>soft</em>" in html
    assert "<strong>loud</strong>" in html
    assert "<code>code</code>" in html


def test_render_markdown_renders_lists():
    html = render_markdown("- beetle\n- moth\n\n1. egg\n2. larva")

    assert "<ul>\n<li>beetle</li>\n<li>moth</li>\n</ul>" in html
    assert "<ol>\n<li>egg</li>\n<li>larva</li>\n</ol>" in html


def test_render_markdown_renders_links_with_noopener():
    html = render_markdown('[the museum](https://example.org/visit "Visit us")')

    assert 'href="https://example.org/visit"' in html
    assert 'title="Visit us"' in html
    assert re.search(r'rel="[^"]*\bnoopener\b[^"]*"', html)
    assert ">the museum</a>" in html


def test_render_markdown_replaces_an_author_supplied_rel_and_drops_target():
    html = render_markdown('<a href="https://example.org" rel="opener" target="_blank">x</a>')

    assert 'rel="opener"' not in html
    assert "noopener" in html
    assert "target=" not in html


def test_render_markdown_keeps_mailto_and_autolinks():
    html = render_markdown("[write](mailto:curator@example.org) <https://example.org/a>")

    assert 'href="mailto:curator@example.org"' in html
    assert 'href="https://example.org/a"' in html


def test_render_markdown_keeps_images_from_allowed_hosts_only(settings):
    """An image from anywhere else is a tracking pixel: the third party learns who read the post, and when."""
    settings.POST_IMAGE_HOSTS = ["images.museum.example"]
    kept = render_markdown("![A fox](https://images.museum.example/fox.jpg) ![Own](/media/renditions/f.webp)")
    assert 'src="https://images.museum.example/fox.jpg"' in kept
    assert 'src="/media/renditions/f.webp"' in kept
    dropped = render_markdown("![A fox](https://tracker.example/pixel.gif?reader=1) ![B](//tracker.example/p.gif)")
    assert "tracker.example" not in dropped
    assert 'alt="A fox"' in dropped


def test_render_markdown_renders_fenced_code_escaped_and_without_a_class():
    html = render_markdown("```python\nif a < b:\n    pass\n```")

    assert html == "<pre><code>if a &lt; b:\n    pass\n</code></pre>"


def test_render_markdown_renders_tables():
    html = render_markdown("| a | b |\n|---|--:|\n| 1 | 2 |")

    assert "<table>" in html
    assert '<td align="right">2</td>' in html


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("<script>alert(1)</script>", id="script"),
        pytest.param("<SCRIPT SRC=https://evil.example/x.js></SCRIPT>", id="uppercase-script"),
        pytest.param("<scr<script>ipt>alert(1)</script>", id="split-script"),
        pytest.param('<img src=x onerror="alert(1)">', id="img-onerror"),
        pytest.param("<IMG SRC=x OnErRoR=alert(1)>", id="img-onerror-mixed-case"),
        pytest.param('<p onclick="steal()">hi</p>', id="p-onclick"),
        pytest.param("<svg onload=alert(1)>", id="svg-onload"),
        pytest.param('<a href="javascript:alert(1)">x</a>', id="a-javascript"),
        pytest.param('<a href="JaVaScRiPt:alert(1)">x</a>', id="a-javascript-mixed-case"),
        pytest.param('<a href="&#106;avascript:alert(1)">x</a>', id="a-javascript-entity"),
        pytest.param('<a href="jav&#x09;ascript:alert(1)">x</a>', id="a-javascript-tab-entity"),
        pytest.param("[x](javascript:alert(1))", id="md-javascript"),
        pytest.param("[x](JaVaScRiPt:alert(1))", id="md-javascript-mixed-case"),
        pytest.param("[x][1]\n\n[1]: javascript:alert(1)", id="md-reference-javascript"),
        pytest.param("[x](vbscript:msgbox(1))", id="md-vbscript"),
        pytest.param("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", id="md-data-link"),
        pytest.param('<a href="DATA:text/html,<script>alert(1)</script>">x</a>', id="a-data-uppercase"),
        pytest.param("![i](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", id="md-data-image"),
        pytest.param('<img src="data:image/png;base64,AAAA">', id="img-data"),
        pytest.param("![i](javascript:alert(1))", id="md-javascript-image"),
        pytest.param('<iframe src="https://evil.example"></iframe>', id="iframe"),
        pytest.param("<style>body { display: none }</style>", id="style"),
        pytest.param('<p style="background:url(javascript:alert(1))">s</p>', id="style-attribute"),
        pytest.param('<object data="x.swf"></object><embed src="x.swf">', id="object-embed"),
        pytest.param('<form action="https://evil.example"><input autofocus onfocus=alert(1)></form>', id="form"),
        pytest.param("<div><p><b>unclosed <script>alert(1)", id="unclosed"),
        pytest.param("<div><div><div><a href='javascript:alert(1)'><img src=x onerror=alert(1)>", id="nested-unclosed"),
        pytest.param('<noscript><p title="</noscript><img src=x onerror=alert(1)>">', id="noscript-mutation"),
        pytest.param("<svg><style><img src=x onerror=alert(1)></style></svg>", id="svg-style-mutation"),
        pytest.param('<math><mi xlink:href="javascript:alert(1)">x</mi></math>', id="math-xlink"),
        pytest.param("<!-- <script>alert(1)</script> -->", id="comment-with-script"),
    ],
)
def test_render_markdown_neutralizes_hostile_input(source):
    assert_inert(render_markdown(source))


def test_render_markdown_drops_a_javascript_href_but_keeps_the_link_text():
    html = render_markdown("Read [this](javascript:alert(1)) now.")

    assert "this</a>" in html
    assert "href" not in html


def test_render_markdown_javascript_autolink_is_text_without_a_target():
    # CommonMark reads it as an autolink: the cleaner drops the href, the words stay as text.
    html = render_markdown("<javascript:alert(1)>")

    assert "href" not in html
    assert ">javascript:alert(1)</a>" in html


def test_render_markdown_strips_html_comments():
    html = render_markdown("before <!-- secret editor note --> after\n\n<!-- block comment -->")

    assert "<!--" not in html
    assert "secret editor note" not in html
    assert "block comment" not in html
    assert "before" in html
    assert "after" in html


def test_render_markdown_escapes_html_inside_code():
    html = render_markdown("`<script>alert(1)</script>`\n\n    <img src=x onerror=alert(1)>")

    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img" in html


def test_render_markdown_closes_unclosed_tags():
    html = render_markdown("<blockquote><p>open <strong>bold")

    assert html.count("<blockquote>") == html.count("</blockquote>")
    assert html.count("<strong>") == html.count("</strong>") == 1


@pytest.mark.parametrize("source", ["", None])
def test_render_markdown_empty_input_is_empty(source):
    assert render_markdown(source) == ""


def test_render_markdown_100kb_of_unmatched_brackets_is_one_paragraph_of_text():
    # Python-Markdown took minutes over this (quadratic in unmatched `[`); markdown-it-py takes about a second.
    assert render_markdown("[" * 100_000) == "<p>" + "[" * 100_000 + "</p>"


def test_render_markdown_deeply_nested_list_markers_do_not_overflow_the_stack():
    # 600 `1. ` on one line raised RecursionError in Python-Markdown; nesting past maxNesting is dropped.
    html = render_markdown("1. " * 5000)

    assert html.startswith("<ol>\n<li>\n<ol>")
    assert html.count("<ol>") == html.count("</ol>") < 20


def python_calls(source: str) -> int:
    profile = cProfile.Profile()
    profile.runcall(render_markdown, source)
    return pstats.Stats(profile).total_calls


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param("[", id="unmatched-brackets"),
        pytest.param("[[a|", id="unclosed-species-references"),
        pytest.param("[[a]] ", id="species-references", marks=pytest.mark.django_db),
        pytest.param("![", id="unmatched-images"),
        pytest.param("[a](", id="unclosed-links"),
        pytest.param("*a", id="emphasis-stars"),
        pytest.param("_a ", id="emphasis-underscores"),
        pytest.param("`a", id="backticks"),
        pytest.param("<a ", id="unclosed-tags"),
        pytest.param(">\n", id="quote-lines"),
        pytest.param("- a\n ", id="list-lines"),
    ],
)
def test_render_markdown_work_grows_linearly_with_adversarial_input(unit):
    # Counted in Python function calls, not seconds: four times the input is about four times the calls
    # (Python-Markdown made 13 to 16 times as many for brackets).
    assert python_calls(unit * 2000) < 4.5 * python_calls(unit * 500)


# --- links: the museum's own, and the wider web ---


@pytest.mark.parametrize(
    "href",
    ["/api/v1/organisms/panthera-uncia/", "#range", "https://museum.example/visit", "https://www.museum.example/shop",
     "https://MUSEUM.example/a"],
)  # fmt: skip
def test_render_markdown_links_to_the_museums_own_sites_are_followed(settings, href):
    settings.PUBLIC_BASE_URL = "https://museum.example"
    settings.FRONTEND_URL = "https://www.museum.example"

    html = render_markdown(f"[ours]({href})")

    assert "nofollow" not in html and "rel=" not in html
    assert ">ours</a>" in html


@pytest.mark.parametrize(
    "href", ["https://example.org/", "//tracker.example/x", "https://museum.example.evil.org/", "mailto:a@b.org"]
)
def test_render_markdown_other_links_keep_nofollow(settings, href):
    settings.PUBLIC_BASE_URL = "https://museum.example"

    html = render_markdown(f"[theirs]({href}) <a href='{href}'>raw</a>")

    assert html.count('rel="noopener noreferrer nofollow"') == 2


def test_render_markdown_without_a_frontend_setting_uses_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "https://museum.example"
    if hasattr(settings, "FRONTEND_URL"):
        del settings.FRONTEND_URL

    assert "nofollow" not in render_markdown("[ours](https://museum.example/visit)")


# --- links to species ---

SNOW_LEOPARD = '<a href="/api/v1/organisms/panthera-uncia/" data-organism="panthera-uncia">'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("[[Panthera uncia]]", f"<p>{SNOW_LEOPARD}Panthera uncia</a></p>"),
        ("[[panthera  UNCIA|snow leopard]]", f"<p>{SNOW_LEOPARD}snow leopard</a></p>"),
        ("[snow *leopard*](organism:panthera-uncia)", f"<p>{SNOW_LEOPARD}snow <em>leopard</em></a></p>"),
        ("A [[Panthera uncia|cat]].", f"<p>A {SNOW_LEOPARD}cat</a>.</p>"),
    ],
)
def test_render_markdown_links_a_species_by_name_or_slug(source, html):
    OrganismFactory(scientific_name="Panthera uncia", slug="panthera-uncia", is_published=True)

    assert render_markdown(source) == html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("[[Panthera unica|snow leopard]]", "<p>snow leopard<sup>?</sup></p>"),
        ("[[Panthera unica]]", "<p>Panthera unica<sup>?</sup></p>"),
        ("[snow leopard](organism:panthera-unica) here", "<p>snow leopard<sup>?</sup> here</p>"),
    ],
)
def test_render_markdown_a_species_not_in_the_catalogue_is_marked_text_not_a_broken_link(source, html):
    OrganismFactory(scientific_name="Panthera uncia", slug="panthera-uncia")

    assert render_markdown(source) == html


@pytest.mark.django_db
def test_render_markdown_looks_up_every_species_of_a_body_in_one_query(django_assert_num_queries):
    for name in ("Panthera uncia", "Vulpes vulpes", "Tyto alba"):
        OrganismFactory(scientific_name=name, slug=name.lower().replace(" ", "-"))
    body = "[[Panthera uncia]] [[Vulpes vulpes]] [owl](organism:tyto-alba) [[Nope nope]] " * 20

    with django_assert_num_queries(1):
        html = render_markdown(body)

    assert html.count("data-organism=") == 60 and html.count("<sup>?</sup>") == 20


def test_render_markdown_without_species_references_asks_the_database_nothing():
    # No django_db mark: a query here would fail the test.
    assert render_markdown("[a](https://example.org) [b] [[ ]] [[]] `[[Panthera uncia]]`") == (
        '<p><a href="https://example.org" rel="noopener noreferrer nofollow">a</a> [b] [[ ]] [[]] '
        "<code>[[Panthera uncia]]</code></p>"
    )


def test_render_markdown_a_reference_longer_than_the_bound_is_text():
    source = "[[" + "a" * (MAX_REFERENCE + 1) + "]]"

    assert render_markdown(source) == f"<p>{source}</p>"


def test_render_markdown_organism_scheme_is_never_left_in_an_href():
    html = render_markdown('<a href="organism:panthera-uncia">raw</a>')

    assert "organism:" not in html


@pytest.mark.django_db
def test_post_save_renders_species_links_into_the_stored_html():
    from blogs.models import Post

    OrganismFactory(scientific_name="Panthera uncia", slug="panthera-uncia")

    post = Post.objects.create(slug="cats", title="Cats", body="# Cats\n\nThe [[Panthera uncia|snow leopard]].")

    assert post.body_html == f"<h2>Cats</h2>\n<p>The {SNOW_LEOPARD}snow leopard</a>.</p>"
