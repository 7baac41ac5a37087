"""Exports copy curated text into other languages: each format escapes it with one function,
and a real reader of the format finds the text, never markup, links or blocks made from it."""

from __future__ import annotations

import copy
import re
import urllib.parse
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from test_site_support import IMG, SCRIPT, SMALL, build, load_yaml, write_yaml

from timeline.export import export_events
from timeline.formats import markdown_link, markdown_text, render

# Markup that Markdown dialects read: raw HTML, entities, links, images, autolinks,
# footnotes, emphasis, code, strikethrough, tables, attributes, and a blank line that would
# end the paragraph and let the rest open a block of its own.
MARKDOWN_PAYLOADS = (
    SCRIPT,
    IMG,
    "[click](javascript:alert(1)) ![x](https://evil.example/x.png) <https://evil.example>",
    "&lt;script&gt; &#60;b&#62; <!-- hidden",
    "`code` **bold** _em_ ~~gone~~ | a | b | {onclick=alert(1)} ==mark== $x$ [^1] \\",
)
BLANK_LINE = "first\n\n[^1]: a forged footnote <script>alert(2)</script>\n\n<div>block</div>"
HOSTILE_URL = 'https://example.org/a><script>alert(3)</script>"<img/src=x/onerror=alert(4)>'
# Every element the chronology itself writes (headings, the list, emphasis, footnotes).
ALLOWED_TAGS = {"h1", "h2", "ul", "li", "strong", "em", "p", "a", "hr", "section", "ol", "sup"}


def renderer() -> MarkdownIt:
    """A common reader: CommonMark with raw HTML on, footnotes, tables and strikethrough."""
    return MarkdownIt("commonmark").use(footnote_plugin).enable(["table", "strikethrough"])


class Page(HTMLParser):
    """Tags, link targets and text of rendered HTML."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]

    def handle_data(self, data):
        self.text.append(data)


def one_line(text: str) -> str:
    return re.sub(r"[ \t\n\r\v\f]+", " ", text).strip(" ")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-md")
    data = copy.deepcopy(load_yaml(SMALL))
    every = " ".join(MARKDOWN_PAYLOADS)
    source = data["sources"][0]
    source.update(title=f"Title {every}", publisher=f"Publisher {every}", url=HOSTILE_URL)
    event = next(e for e in data["events"] if e["id"] == "flight-suspension")
    event.update(title=f"Flights {every}", summary=f"Summary {BLANK_LINE} {every}")
    event["citations"][0]["quote"] = f"Quote {BLANK_LINE} {every}"
    claim = next(e for e in data["events"] if e["id"] == "fleet-destroyed-claim")
    claim["citations"][1].update(stance="contradicts", note=f"Note {BLANK_LINE} {every}")
    return build(write_yaml(data, tmp / "events.yaml"), tmp)


def test_markdown_of_hostile_text_renders_no_element_link_or_footnote_of_its_own(hostile_db):
    text = render("markdown", hostile_db)["timeline.md"]
    md = renderer()
    tokens = md.parse(text)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"html_block", "html_inline", "image", "code_inline", "s_open", "table_open"}
    page = Page(md.render(text))
    assert set(page.tags) <= ALLOWED_TAGS, set(page.tags) - ALLOWED_TAGS
    citations = sum(len(e["citations"]) for e in export_events(hostile_db))
    assert page.tags.count("sup") == citations  # one reference per citation, none forged
    assert len(re.findall(r'<li id="fn\d+"', md.render(text))) == citations
    outside = [h for h in page.hrefs if not h.startswith("#")]
    assert outside and all(h.startswith("https://example.org/") for h in outside)
    assert all(not re.search(r"[<>\"'\s]", h) for h in outside)
    assert urllib.parse.quote(HOSTILE_URL, safe=":/?#[]@!$&()*+,;=%-._~") in outside
    # the hostile values are there, as text, whole
    shown = "".join(page.text)
    every = " ".join(MARKDOWN_PAYLOADS)
    for value in (f"Flights {every}", one_line(f"Quote {BLANK_LINE} {every}"),
                  one_line(f"Note {BLANK_LINE} {every}"), f"Publisher {every}"):  # fmt: skip
        assert value in shown


# Text as a curator could write it (no control characters: the loader refuses them), heavy
# in Markdown's punctuation and line breaks.
TEXT = st.lists(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
    | st.sampled_from([*"\\`*_{}[]()<>#+-.!|~&^=$:;\"' \n\t\r", "\n\n", "&lt;", "[^1]: "])
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_markdown_text_renders_as_exactly_the_text(value):
    html = renderer().render(f"- **d**: {markdown_text(value)}[^1]\n\n[^1]: note\n")
    page = Page(html)
    assert page.tags == ["ul", "li", "strong", "sup", "a", "hr", "section", "ol", "li", "p", "a"]
    item = re.search(r"<li>(.*?)<sup", html, re.DOTALL)[1]
    assert "".join(Page(item).text) == f"d: {one_line(value)}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_a_markdown_link_cannot_break_out_of_its_autolink(tail):
    url = f"https://example.org/{tail}"
    page = Page(renderer().render(f"See {markdown_link(url)} and more.\n"))
    assert page.tags == ["p", "a"]
    (href,) = page.hrefs
    assert href.startswith("https://example.org/") and not re.search(r"[<>\"'\s]", href)
    assert page.text[0] == "See " and page.text[2:] == [" and more.", "\n"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>", "//x.example"])
def test_a_markdown_link_that_is_not_http_is_text(url):
    page = Page(renderer().render(f"See {markdown_link(url)}.\n"))
    assert page.tags == ["p"] and "".join(page.text) == f"See {url}.\n"
