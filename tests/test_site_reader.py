"""What a reader meets on the site's edges: canned-query pages, error pages, the
footer, sharing tags, facets and the database download."""

from __future__ import annotations

import json
import re
import sys
from html import unescape

import pytest
from markupsafe import escape
from support import METADATA, ROOT, SMALL, build, load_yaml, site, write_yaml

sys.path.insert(0, str(ROOT / "plugins"))
from cells import linked_titles
from feeds import FEEDS
from jinja_filters import facet_label
from on_this_day import NEXT_DAYS_SQL, day_label


def queries() -> dict[str, dict]:
    return json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["record"]["queries"]


def texts(html: str) -> str:
    """Visible-ish text of a page: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- 1. canned-query pages show the question, not the SQL ------------------------------------


async def test_every_query_has_a_title_and_a_plain_words_description():
    for name, query in queries().items():
        assert query["title"] and query["description"], name
        assert query.get("hide_sql") is True, name
        # Addresses and ?name=value examples aside, no file names or code identifiers.
        words = re.sub(r"[/?]\S+", "", query["description"])
        assert not re.search(r"\b[a-z]+_[a-z_]+\b|\.(ya?ml|py|json|db)\b|`", words), (name, words)


@pytest.mark.parametrize("name", list(queries()))
async def test_canned_query_pages_hide_their_sql(ds, name):
    query = queries()[name]
    html = (await ds.client.get(f"/record/{name}")).text
    assert 'id="sql-query"' not in html and 'id="sql-editor"' not in html
    assert str(escape(query["sql"])) not in html and query["sql"] not in html
    assert f"<title>{escape(query['title'])}</title>" in html
    # The toggle stays: one click shows the SQL.
    assert f'href="/record/{name}?_show_sql=1"' in html
    shown = (await ds.client.get(f"/record/{name}?_show_sql=1")).text
    assert 'id="sql-query"' in shown or 'id="sql-editor"' in shown


async def test_a_custom_sql_page_is_titled_without_its_sql(ds):
    html = (await ds.client.get("/record?sql=select+count(*)+from+events")).text
    assert "<title>SQL query</title>" in html
    assert "select count(*) from events" in html  # the SQL itself is still shown


# --- 2. query results link event titles ------------------------------------------------------


def event_link(event_id: str, title: str) -> str:
    return f'<a href="/record/events/{event_id}">{escape(title)}</a>'


async def test_query_results_link_the_event_title(ds):
    html = (await ds.client.get("/record/events_between?from=2019&to=2019")).text
    title = "Baykar and Ukrspecexport sign a cooperation agreement"
    assert f'<td class="col-title">{event_link("baykar-ukrspecexport-2019", title)}</td>' in html
    # CSV and JSON keep the plain id and title.
    rows = await ds.client.get("/record/events_between.json?from=2019&to=2019&_shape=array")
    assert [(r["event_id"], r["title"]) for r in rows.json()] == [
        ("baykar-ukrspecexport-2019", title)
    ]
    csv = (await ds.client.get("/record/events_between.csv?from=2019&to=2019")).text
    assert f"baykar-ukrspecexport-2019,2019,year,{title}," in csv


@pytest.mark.parametrize(
    ("name", "args"),
    [("actor_events", "actor=russia"), ("on_this_day", "month_day=07-20"),
     ("disputed_claims", ""), ("search", "q=drones"), ("event_map", ""),
     ("recently_added", "")],
)  # fmt: skip
async def test_every_query_with_event_ids_links_its_titles(ds, name, args):
    rows = (await ds.client.get(f"/record/{name}.json?_shape=array&{args}")).json()
    html = (await ds.client.get(f"/record/{name}?{args}")).text
    for row in rows:
        assert event_link(row["event_id"], row["title"]) in html, (name, row["event_id"])


async def test_event_ids_become_linked_titles_at_most_five(ds):
    html = str(await linked_titles(ds, "montreux,flight-suspension,x1,x2,x3,x4,x5"))
    assert html.startswith(event_link("montreux", "Montreux Convention signed") + "; ")
    assert html.endswith("; x1; x2; x3; and 2 more")
    page = (await ds.client.get("/record/actors_together?actor=baykar")).text
    link = event_link(
        "baykar-ukrspecexport-2019", "Baykar and Ukrspecexport sign a cooperation agreement"
    )
    assert f'<td class="col-event_ids">{link}</td>' in page


# --- 3. recently added: a page to read, a separate feed --------------------------------------


async def test_recently_added_reads_plainly_and_its_feed_is_a_separate_query(ds):
    import feedparser

    data = (await ds.client.get("/record/recently_added.json")).json()
    assert data["columns"] == ["added", "date", "title", "type", "status", "event_id"]
    assert data["rows"], "the small timeline has a git history"
    html = (await ds.client.get("/record/recently_added")).text
    assert "atom_" not in html
    assert (await ds.client.get("/record/recently_added.atom")).status_code != 200
    response = await ds.client.get("/record/recently_added_feed.atom")
    feed = feedparser.parse(response.text)
    assert response.status_code == 200 and not feed.bozo
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == [r[-1] for r in data["rows"]]


# --- 4. the home page: questions for readers, feeds under Feeds ------------------------------


def section(html: str, heading: str) -> str:
    """The part of a page from an <h2> heading to the next one."""
    return html.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


async def test_home_lists_questions_and_feeds_apart(ds):
    html = (await ds.client.get("/")).text
    questions, feeds = section(html, "Ready-made questions"), section(html, "Feeds")
    feed_queries = {feed.query for feed in FEEDS}
    assert feed_queries <= set(queries()), "every feed is a canned query"
    for name, query in queries().items():
        if name in feed_queries:
            assert f'href="/record/{name}"' not in questions, name
            assert f'href="/record/{name}"' in feeds, name  # "what it holds"
        else:
            assert f'<a href="/record/{name}">{escape(query["title"])}</a>' in questions, name
    for feed in FEEDS:
        url = f"/record/{feed.query}.{feed.format}"
        assert f'href="{url}">{feed.label}</a>' in feeds
        assert (await ds.client.get(url)).status_code == 200, url
    about = (await ds.client.get("/about")).text
    assert all(f'href="/record/{feed.query}.{feed.format}"' in about for feed in FEEDS)


async def test_a_question_links_the_feed_that_follows_it(ds):
    html = (await ds.client.get("/record/recently_added")).text
    assert 'href="/record/recently_added_feed.atom">Atom feed of newly added events</a>' in html
    assert "feed-link" not in (await ds.client.get("/record/search")).text


# --- 5. on this day: an empty result says what to type --------------------------------------


def prompt(html: str) -> str:
    assert '<div class="empty-prompt">' in html
    return texts(html.split('<div class="empty-prompt">', 1)[1].split("</div>", 1)[0])


async def test_on_this_day_without_events_says_which_day_and_offers_the_next_ones(ds):
    html = (await ds.client.get("/record/on_this_day?month_day=07-21")).text
    assert "No event in the timeline is dated to 21 July in any year." in prompt(html)
    # The year wraps round: the next days with events are 15 April and 20 July.
    next_days = re.findall(r'<li><a href="([^"]+)">([^<]+)</a> \((\d+) event', html)
    assert next_days == [
        ("/record/on_this_day?month_day=04-15", "15 April", "1"),
        ("/record/on_this_day?month_day=07-20", "20 July", "1"),
    ]
    followed = (await ds.client.get(next_days[1][0])).text
    assert "Montreux Convention signed" in followed and "empty-prompt" not in followed


async def test_on_this_day_explains_a_day_it_cannot_read(ds):
    html = (await ds.client.get("/record/on_this_day?month_day=02-30")).text
    assert "“02-30” is not a day of the year. Type the day as month-day" in prompt(html)


async def test_on_this_day_with_no_day_looks_at_today(ds):
    from datetime import UTC, datetime

    today = datetime.now(UTC).strftime("%m-%d")
    html = (await ds.client.get("/record/on_this_day")).text
    rows = (await ds.client.get("/record/on_this_day.json?_shape=array")).json()
    if rows:  # the small timeline has events on 04-15 and 07-20
        assert today in ("04-15", "07-20") and "empty-prompt" not in html
    else:
        assert f"dated to {day_label(today)} (today) in any year" in prompt(html)


async def test_day_labels():
    assert day_label("07-20") == "20 July"
    assert day_label("02-29") == "29 February"
    assert day_label("02-30") is None and day_label("13-01") is None and day_label("x") is None


async def test_on_this_day_seeks_the_day_of_year_index(ds):
    """At any size, a day's events and the next days with events are index seeks."""
    db = ds.get_database("record")
    plans = {
        "on_this_day": (queries()["on_this_day"]["sql"], {"month_day": "07-20"}),
        "next days": (NEXT_DAYS_SQL, {"day": "07-21", "limit": 5}),
    }
    for name, (sql, params) in plans.items():
        steps = [row["detail"] for row in (await db.execute(f"explain query plan {sql}", params))]
        on_events = [s for s in steps if " events " in f"{s} " or " e " in f"{s} "]
        assert on_events and all("USING INDEX idx_events_month_day" in s for s in on_events), (
            name,
            steps,
        )


# --- 6, 7. the map: tested in test_event_map.py and test_browser_map.py ------------------


# --- 8. error pages: the site's navigation and style, a plain message, ways back -------------


def assert_site_page(html: str) -> None:
    """The site's stylesheet, navigation and footer are on the page."""
    assert re.search(r'<link rel="stylesheet" href="/static/site\.css\?h=[0-9a-f]{12}">', html)
    assert '<p class="site-links">' in html and 'href="/claims"' in html
    assert "CC BY 4.0" in html and "Apache-2.0" in html


@pytest.mark.parametrize("path", ["/no/such/page", "/record/events/no-such-event", "/nodb"])
async def test_a_missing_page_is_a_styled_404_with_ways_back(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 404
    html = response.text
    assert_site_page(html)
    assert "<title>Page not found</title>" in html and "<h1>Page not found</h1>" in html
    assert "There is no page at this address." in texts(html)
    ways_back = section(html, "Where to go from here")
    for link in ('href="/"', 'href="/timeline"', 'action="/record/search"', 'name="q"'):
        assert link in ways_back
    assert 'class="crumbs"' not in html


async def test_other_errors_keep_their_message_on_a_styled_page(ds):
    response = await ds.client.get("/record/events?_sort=nope")
    assert response.status_code == 400
    assert_site_page(response.text)
    assert "Cannot sort by &#39;nope&#39;" in response.text
    json_404 = await ds.client.get("/record/events/no-such-event.json")
    assert json_404.status_code == 404 and json_404.json()["ok"] is False


# --- 9. the footer reads naturally -----------------------------------------------------------

FOOTER = (
    "Data licence: CC BY 4.0 · Code licence: Apache-2.0 · Data source: cited news reports, "
    "statements and treaty texts · About: how this timeline is made · Data and downloads · "
    "Powered by Datasette"
)


@pytest.mark.parametrize(
    "path",
    ["/", "/about", "/timeline", "/record/events", "/record/events/montreux",
     "/record/search?q=drones", "/claims", "/record/citations", "/no/such/page"],
)  # fmt: skip
async def test_footer_reads_naturally_on_every_page(ds, path):
    html = (await ds.client.get(path)).text
    footer = html.split('<footer class="ft">', 1)[1].split("</footer>", 1)[0]
    assert texts(footer).strip() == FOOTER
    assert 'href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>' in footer
    assert "Data: CC BY 4.0" not in texts(html)


# --- 10. no breadcrumb on the home page ------------------------------------------------------


async def test_home_has_no_breadcrumb_to_itself(ds):
    assert 'class="crumbs"' not in (await ds.client.get("/")).text
    events = (await ds.client.get("/record/events")).text
    assert '<p class="crumbs">' in events and 'href="/">home</a>' in events


# --- 11. sharing: a description and a card on every page; titles that describe the page ------


def meta_tags(html: str) -> dict[str, list[str]]:
    """``<meta name|property=… content=…>`` of a page: name → every content given."""
    found: dict[str, list[str]] = {}
    for name, content in re.findall(r'<meta (?:name|property)="([^"]+)" content="([^"]*)">', html):
        found.setdefault(name, []).append(unescape(content))
    return found


def title_of(html: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()


SHARED_PAGES = [
    ("/", "Turkey–Ukraine defence cooperation: a sourced timeline"),
    ("/about", "About this timeline"),
    ("/claims", "Claims and the evidence on each side"),
    ("/timeline", "Timeline"),
    ("/record/events", "Events: 4 rows in date order"),
    ("/record/citations", "Citations: 6 rows sorted by id"),
    ("/record/claims", "Claims (view): 2 rows"),
    ("/record/actors/baykar", "Baykar"),
    ("/record/sources/record", "Official record"),
    ("/record/citations/montreux~2F1", "Citations: montreux/1"),
    ("/record/search?q=drones", "Search events"),
    ("/record/events/montreux", "20 July 1936: Montreux Convention signed"),
]


@pytest.mark.parametrize(("path", "title"), SHARED_PAGES)
async def test_every_page_has_a_title_description_and_sharing_card(ds, path, title):
    html = (await ds.client.get(path)).text
    tags = meta_tags(html)
    assert title_of(html) == title
    for name in ("description", "og:title", "og:description", "og:type", "og:url",
                 "og:site_name", "twitter:card"):  # fmt: skip
        assert len(tags.get(name, [])) == 1 and tags[name][0].strip(), (path, name)
    assert tags["og:description"] == tags["description"]
    assert tags["og:url"] == [f"http://localhost{path}"]
    assert tags["twitter:card"] == ["summary"]
    assert len(tags["description"][0]) <= 300


async def test_an_event_is_shared_with_its_title_and_summary(ds):
    html = (await ds.client.get("/record/events/flight-suspension")).text
    tags = meta_tags(html)
    assert tags["og:title"] == ["Russia suspends flights to Turkey"]
    summary = next(e for e in load_yaml(SMALL)["events"] if e["id"] == "flight-suspension")
    assert tags["description"] == [f"15 April 2021: {summary['summary']}"]
    assert tags["og:type"] == ["article"]
    home = meta_tags((await ds.client.get("/")).text)
    assert home["og:type"] == ["website"] and "(/timeline)" not in home["description"][0]


async def test_error_pages_have_a_description_but_no_address(ds):
    tags = meta_tags((await ds.client.get("/no/such/page")).text)
    assert tags["og:title"] == ["Page not found"] and tags["description"][0]
    assert "og:url" not in tags


# --- 12. facets: configured order, years in date order, countries by name -------------------


@pytest.fixture(scope="module")
async def busy_2022(tmp_path_factory):
    """The small timeline with two more events in 2022: the busiest year is the last one."""
    tmp = tmp_path_factory.mktemp("busy")
    data = load_yaml(SMALL)
    claim = next(e for e in data["events"] if e["id"] == "fleet-destroyed-claim")
    for n in (1, 2):
        data["events"].append({**claim, "id": f"claim-{n}", "title": f"Another claim {n}"})
    return await site(build(write_yaml(data, tmp / "events.yaml"), tmp))


def facet_items(html: str, facet: str) -> list[str]:
    """The labels of one facet's values, top to bottom."""
    block = html.split(f'id="facet-{facet}"', 1)[1].split('<div class="facet-info', 1)[0]
    return [texts(label).strip() for label in re.findall(r"<li>(?:<a [^>]+>)?(.*?)</", block)]


async def test_facets_follow_the_configured_order(busy_2022):
    html = (await busy_2022.client.get("/record/events")).text
    shown = re.findall(r'<div class="facet-info [^"]+" id="facet-([^"]+)"', html)
    configured = [
        f if isinstance(f, str) else next(iter(f.values())) for f in metadata_facets("events")
    ]
    assert shown == [name for name in configured if name in shown]
    assert shown[:4] == ["precision", "year", "type", "status"]
    # A facet asked for in the address comes after the configured ones.
    asked = (await busy_2022.client.get("/record/events?_facet=month")).text
    assert re.findall(r'id="facet-([^"]+)"', asked)[-1] == "month"


async def test_year_facet_is_in_date_order_not_by_count(busy_2022):
    data = (await busy_2022.client.get("/record/events.json?_facet=year")).json()
    by_count = [str(r["value"]) for r in data["facet_results"]["year"]["results"]]
    assert by_count[0] == "2022"  # Datasette's own order: the busiest year first
    html = (await busy_2022.client.get("/record/events")).text
    assert facet_items(html, "year") == ["1936", "2019", "2021", "2022"]
    assert facet_items(html, "type")[0] == "military-action"  # other facets stay by count


async def test_country_facets_name_the_country(ds):
    html = (await ds.client.get("/record/events")).text
    assert facet_items(html, "countries") == [
        "Türkiye (TR)", "Ukraine (UA)", "Russian Federation (RU)",
    ]  # fmt: skip
    assert '_countries=TR">Türkiye (TR)</a>' in html
    actors = (await ds.client.get("/record/actors")).text
    assert "Greece (GR)" in facet_items(actors, "country")
    chosen = (await ds.client.get("/record/events?_countries=RU")).text
    assert "<li>Russian Federation (RU) &middot; 1" in chosen
    # The event page names countries from the same code list.
    event = (await ds.client.get("/record/events/flight-suspension")).text
    assert ">Russian Federation</a>" in event and ">Türkiye</a>" in event


def metadata_facets(table: str) -> list:
    meta = json.loads(METADATA.read_text(encoding="utf-8"))
    return meta["databases"]["record"]["tables"][table]["facets"]


async def test_facet_labels_name_only_coded_columns():
    assert facet_label("TR", "events", "countries") == "Türkiye (TR)"
    assert facet_label("uk", "sources", "language") == "Ukrainian (uk)"
    assert facet_label("XX", "events", "countries") == "XX"  # unknown code: as it is
    assert facet_label("TR", "events", "tags") == "TR"  # not a coded column
    assert facet_label(None, "events", "countries") == ""


# --- 13. the database download: linked where it works --------------------------------------


@pytest.fixture(scope="module")
async def production(small_db):
    """The site as `timeline serve --production` runs it: immutable, arbitrary SQL off."""
    metadata = json.loads(METADATA.read_text(encoding="utf-8")) | {"allow_sql": False}
    return await site(small_db, metadata, immutable=True)


async def test_production_links_the_download_and_it_works(production):
    response = await production.client.get("/record.db")
    assert response.status_code == 200 and response.content[:16] == b"SQLite format 3\x00"
    home = (await production.client.get("/")).text
    assert '<a href="/record.db">downloaded</a> as SQLite' in home
    assert "?sql=" not in home  # arbitrary SQL is off: no link to a refusal
    assert (await production.client.get("/record?sql=select+1")).status_code == 403
    about = (await production.client.get("/about")).text
    assert '<a href="/record.db">downloaded</a>' in about


async def test_development_does_not_link_a_download_datasette_refuses(ds):
    assert (await ds.client.get("/record.db")).status_code == 403  # served mutable
    for path in ("/", "/about"):
        assert "/record.db" not in (await ds.client.get(path)).text, path
    home = (await ds.client.get("/")).text
    assert 'href="/record?sql=select+count(*)+from+events">Write your own SQL</a>' in home
