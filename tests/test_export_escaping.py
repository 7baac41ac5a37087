"""Exports copy curated text into other languages: each format escapes it with one function,
and a real reader of the format finds the text, never markup, links or blocks made from it."""

from __future__ import annotations

import copy
import html
import json
import re
import urllib.parse
from html.parser import HTMLParser

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from support import IMG, SCRIPT, SMALL, build, examples, load_yaml, write_yaml
from typer.testing import CliRunner

from timeline.cli import app
from timeline.export import export_events
from timeline.formats import (
    FORMATS,
    BadBaseUrl,
    check_base_url,
    citation_file,
    ics_calendar,
    markdown_link,
    markdown_text,
    render,
)

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


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_markdown_text_renders_as_exactly_the_text(value):
    html = renderer().render(f"- **d**: {markdown_text(value)}[^1]\n\n[^1]: note\n")
    page = Page(html)
    assert page.tags == ["ul", "li", "strong", "sup", "a", "hr", "section", "ol", "li", "p", "a"]
    item = re.search(r"<li>(.*?)<sup", html, re.DOTALL)[1]
    assert "".join(Page(item).text) == f"d: {one_line(value)}"


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


# --base-url is copied into CITATION.cff (YAML), TimelineJS links (HTML), the calendar and the
# data package: each of these would break out of one of them, or link to another site.
HOSTILE_BASE_URLS = ['https://example.org/"', "javascript:alert(1)", "JavaScript:alert(1)//",
                     "data:text/html,<script>alert(1)</script>", "//evil.example", "/\\evil",
                     " https://example.org", "https://example.org/a b", "https://exa mple.org",
                     "https://example.org/<script>", "https://example.org/'", "ftp://x.org",
                     "https://", "", "https://example.org/?q=1", "https://example.org/#x",
                     "https://example.org\n", "timeline.example.org"]  # fmt: skip
GOOD_BASE_URLS = ["https://example.org", "http://127.0.0.1:8001", "https://example.org/sub/",
                  "http://[::1]:8001/x", "/", "/timeline"]  # fmt: skip


def test_a_hostile_base_url_is_refused_before_any_file_is_written(small_db, tmp_path):
    for url in HOSTILE_BASE_URLS:
        for fmt in FORMATS:
            with pytest.raises(BadBaseUrl):
                render(fmt, small_db, base_url=url)
        for fmt, out in (("cff", tmp_path / "CITATION.cff"), ("csv", tmp_path / "csv")):
            result = CliRunner().invoke(app, ["export", "--db", str(small_db), "--format", fmt,
                                              "--output", str(out), "--base-url", url])  # fmt: skip
            assert result.exit_code == 1, (url, result.output)
            assert "--base-url" in result.output and "is not a base URL" in result.output
            assert result.exception is None or isinstance(result.exception, SystemExit)
        with pytest.raises(BadBaseUrl):
            citation_file(1, "2024-01-01", url)
        with pytest.raises(BadBaseUrl):
            ics_calendar([], url)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", GOOD_BASE_URLS)
def test_a_good_base_url_reaches_every_format_as_given(small_db, url):
    cff = yaml.safe_load(render("cff", small_db, base_url=url)["CITATION.cff"])
    assert cff["url"] == url
    slides = json.loads(render("timelinejs", small_db, base_url=url)["timeline.json"])["events"]
    links = [re.search(r'href="([^"]*)"', s["text"]["text"])[1] for s in slides]
    assert all(link.startswith(url.rstrip("/") + "/record/events/") for link in links)


@given(st.text(max_size=40))
def test_an_accepted_base_url_is_http_or_a_root_path_and_needs_no_escaping(url):
    try:
        check_base_url(url)
    except BadBaseUrl:
        return
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    assert scheme in ("http", "https") or (url.startswith("/") and not url.startswith("//"))
    assert html.escape(url) == url and json.dumps(url) == f'"{url}"'
    assert not re.search(r"[\s?#\\]", url)
