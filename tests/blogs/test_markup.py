import cProfile
import pstats
import re

import pytest

from blogs.markup import render_markdown

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


def test_render_markdown_level_one_heading_keeps_its_text_but_not_the_h1():
    # The page's own <h1> is the post title, so a body never adds a second one.
    html = render_markdown("# Field notes")

    assert "Field notes" in html
    assert "<h1" not in html


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
