"""/timeline: paging, jump-to-year links, linked cards, descriptive titles and filters
carried into the table and feed links."""

from __future__ import annotations

import json
import re
import sys
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from datasette.utils import MultiParams
from support import METADATA, ROOT, SMALL, build, site, statements_of, write_yaml

sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "plugins"))
from bench_build import synthetic_yaml
from timeline_page import EVERY_EVENT, ONE_ACTORS_EVENTS, PAGE_SIZE, plan_query, read_filters


def ids(html: str) -> list[str]:
    return re.findall(r'<li class="event [^"]*" id="event-([^"]+)"', html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture(scope="module")
async def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small")
    return await site(build(SMALL, tmp))


@pytest.fixture(scope="module")
async def big(tmp_path_factory):
    """450 synthetic events: several pages."""
    tmp = tmp_path_factory.mktemp("big")
    data = yaml.safe_load(synthetic_yaml(450))
    return await site(build(write_yaml(data, tmp / "events.yaml"), tmp))


async def every_page(ds, url: str) -> list[list[str]]:
    pages = []
    while url:
        html = (await ds.client.get(url)).text
        pages.append(ids(html))
        url = link(html, "next")
    return pages


async def test_pages_cover_every_event_once_in_order(big):
    pages = await every_page(big, "/timeline")
    full, rest = divmod(450, PAGE_SIZE)
    assert full >= 2 and [len(p) for p in pages] == [PAGE_SIZE] * full + ([rest] if rest else [])
    everything = [i for p in pages for i in p]
    assert len(set(everything)) == 450
    db = big.get_database("record")
    ordered = [r[0] for r in (await db.execute("select id from events order by sort_key, id"))]
    assert everything == ordered


async def test_earlier_link_goes_back_one_page(big):
    first = (await big.client.get("/timeline")).text
    assert link(first, "prev") is None
    second = (await big.client.get(link(first, "next"))).text
    back = (await big.client.get(link(second, "prev"))).text
    assert ids(back) == ids(first)


async def test_paging_keeps_the_filters(big):
    pages = await every_page(big, "/timeline?from=2000")
    db = big.get_database("record")
    sql = "select id from events where date_end >= '2000-01-01' order by sort_key, id"
    expected = [r[0] for r in await db.execute(sql)]
    assert len(expected) > PAGE_SIZE and len(pages) == -(-len(expected) // PAGE_SIZE)
    assert [i for p in pages for i in p] == expected


@pytest.mark.parametrize(
    ("query", "said"),
    [("year=abc", "year 'abc'"), ("year=¹", "year '¹'"), ("year=-1", "year '-1'"),
     ("start=no-such-event", "start 'no-such-event'"), ("before=no-such", "before 'no-such'"),
     ("around=no-such", "around 'no-such'")],
)  # fmt: skip
async def test_a_position_that_cannot_be_honoured_is_said_on_the_first_page(big, query, said):
    """A year that is no number or an event id that names no event was ignored in silence:
    the reader saw the first page as if it were the one asked for."""
    first = ids((await big.client.get("/timeline")).text)
    html = (await big.client.get(f"/timeline?{query}")).text
    assert ids(html) == first
    assert f"Ignored {said}:" in unescape(html) and "starts at the first event" in html


async def test_a_position_that_names_an_event_says_nothing(big):
    html = (await big.client.get("/timeline")).text
    for name in ("start", "before", "around"):
        assert "Ignored" not in (await big.client.get(f"/timeline?{name}={ids(html)[3]}")).text
    assert "Ignored" not in (await big.client.get("/timeline?year=2019")).text


async def test_jump_to_year_links_reach_each_years_page(big):
    html = (await big.client.get("/timeline")).text
    links = dict(re.findall(r'<a href="([^"]+)" title="\d+ events?">(\d{4})</a>', html))
    years = {year: url.replace("&amp;", "&") for url, year in links.items()}
    db = big.get_database("record")
    all_years = [r[0] for r in await db.execute("select distinct year from events order by year")]
    assert [int(y) for y in years] == all_years
    first_on_page = ids(html)
    for year, url in years.items():
        if url.startswith("#"):
            assert f'id="y{year}"' in html
            continue
        page = (await big.client.get(url)).text
        assert f'<section class="year" id="y{year}">' in page
        assert ids(page)[0] not in first_on_page
        assert parse_qs(urlsplit(url).query)["year"] == [year]


async def test_the_pages_links_keep_the_sites_base_url(big):
    prefixed = await site(Path(big.databases["record"].path), settings={"base_url": "/pre/"})
    html = (await prefixed.client.get("/timeline")).text  # the client adds the prefix
    years = re.findall(r'<a href="([^"#][^"]*)" title="\d+ events?">(\d{4})</a>', html)
    assert years and link(html, "next").startswith("/pre/timeline?")
    for url, year in years:
        assert url.startswith("/pre/timeline?"), url
        address = url.replace("&amp;", "&").removeprefix("/pre").split("#")[0]
        page = (await prefixed.client.get(address)).text
        assert f'<section class="year" id="y{year}">' in page


def year_titles(html: str) -> dict[int, int]:
    found = re.findall(r'<a href="[^"]+" title="(\d+) events?">(\d{4})</a>', html)
    return {int(year): int(n) for n, year in found}


async def test_year_counts_agree_with_the_events_whichever_way_they_are_counted(big):
    db = big.get_database("record")
    busiest = (
        await db.execute("select a.id, a.name from actors a order by a.event_count desc limit 1")
    ).first()
    sql = """select e.year, count(*) from events e where :actor = '' or e.id in (
               select event_id from event_actors where actor_id = :actor) group by e.year"""
    for query, actor in [("", ""), (f"actor={busiest[0]}", busiest[0]),
                         (f"actor={busiest[1].upper()}", busiest[0])]:  # fmt: skip
        html = (await big.client.get(f"/timeline?{query}")).text
        expected = dict(list(await db.execute(sql, {"actor": actor})))
        assert year_titles(html) == expected and len(expected) > 1
    # with another filter the page counts the matching events itself
    kind = (
        await db.execute("select type from events group by type order by count(*) desc")
    ).first()[0]
    html = (await big.client.get(f"/timeline?actor={busiest[0]}&type={kind}")).text
    sql = """select year, count(*) from events where type = :type and id in (
               select event_id from event_actors where actor_id = :actor) group by year"""
    assert year_titles(html) == dict(
        list(await db.execute(sql, {"type": kind, "actor": busiest[0]}))
    )


async def test_cards_link_actors_type_place_and_tags(small):
    html = (await small.client.get("/timeline")).text
    card = html[html.index('id="event-flight-suspension"') :]
    card = card[: card.index("</li>")]
    assert '<a href="/record/actors/russia">' in card
    assert 'href="/timeline?type=sanction"' in card
    assert 'href="/timeline?tag=tourism"' in card
    montreux = html[html.index('id="event-montreux"') :]
    place = re.search(r'href="(/timeline\?place=[^"]+)"', montreux[: montreux.index("</li>")])
    assert place.group(1) == "/timeline?place=Montreux"
    assert ids((await small.client.get(place.group(1))).text) == ["montreux"]


async def test_title_says_what_is_filtered(small):
    html = (await small.client.get("/timeline?actor=russia&status=disputed,refuted&from=2021")).text
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "Russia," in title and "disputed or refuted" in title and "from 2021" in title
    plain = (await small.client.get("/timeline")).text
    assert re.search(r"<title>(.*?)</title>", plain, re.S).group(1).strip() == "Timeline"


@pytest.mark.parametrize(
    "query",
    [
        "actor=russia&tag=tourism&from=2021",
        "status=disputed,refuted",
        "type=sanction&to=2021-04",
        "place=Montreux",
        "from=April+2021&to=2022",
    ],
)
async def test_filters_are_carried_into_the_table_and_feeds(small, query):
    html = (await small.client.get(f"/timeline?{query}")).text
    expected = ids(html)
    assert expected
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]
    table = next(h for h in hrefs if h.startswith("/record/events?"))
    atom = next(h for h in hrefs if h.startswith("/record/atom_feed.atom"))
    calendar = next(h for h in hrefs if h.startswith("/record/calendar.ics"))
    rows = await small.client.get(table.replace("/events?", "/events.json?") + "&_shape=array")
    assert [row["id"] for row in rows.json()] == expected
    feed = (await small.client.get(atom)).text
    assert re.findall(r"event/([^<]+)</id>", feed) == expected[::-1]
    ics = (await small.client.get(calendar)).text
    assert ics.count("BEGIN:VEVENT") == len(expected)


async def test_sql_queries_go_to_the_databases_own_address(small):
    """When the database had this page's address, its SQL was /timeline?sql=; it moved."""
    response = await small.client.get("/timeline?sql=select+count(*)+as+n+from+events")
    assert response.status_code == 301
    assert response.headers["location"] == "/record?sql=select+count(*)+as+n+from+events"
    response = await small.client.get(response.headers["location"])
    assert response.status_code == 200 and "Custom SQL query" in response.text
    assert 'class="event' not in response.text


async def test_the_page_runs_its_own_queries_only(small, monkeypatch):
    """Datasette's database view would count, list and check every table and view first
    (over a hundred statements); the page's route runs the timeline's queries only."""
    statements = statements_of(small, monkeypatch)
    response = await small.client.get("/timeline?status=confirmed")
    assert response.status_code == 200 and ids(response.text)
    assert len(statements) <= 10, statements
    assert not any("sqlite_master" in sql for sql in statements)
    # the reader's address, not the route's, is what the page says it is
    assert '<meta property="og:url" content="http://localhost/timeline?status=confirmed">' in (
        response.text
    )


async def test_a_blank_sql_parameter_is_the_page_and_post_stays_datasettes(small):
    assert ids((await small.client.get("/timeline?sql=")).text)
    assert (await small.client.post("/timeline")).status_code != 200


async def test_the_page_keeps_the_databases_permissions(tmp_path):
    meta = json.loads(METADATA.read_text(encoding="utf-8"))
    meta["databases"]["record"]["allow"] = {"id": "curator"}
    ds = await site(build(SMALL, tmp_path), meta)
    assert (await ds.client.get("/timeline")).status_code == 403
    cookies = {"ds_actor": ds.sign({"a": {"id": "curator"}}, "actor")}
    assert ids((await ds.client.get("/timeline", cookies=cookies)).text)


async def test_back_link_from_an_event_lands_on_its_page(big):
    db = big.get_database("record")
    late = [r[0] for r in await db.execute("select id from events order by sort_key, id")][-10]
    event_page = (await big.client.get(f"/record/events/{late}")).text
    back = re.search(r'href="([^"]+)">Back to the timeline', event_page).group(1)
    assert back == f"/timeline?around={late}#event-{late}"
    page = ids((await big.client.get(back)).text)
    # the last page, as reached by paging from the first
    assert late in page and page == (await every_page(big, "/timeline"))[-1]


async def test_event_record_is_nested_with_citations(small):
    html = (await small.client.get("/record/events/flight-suspension")).text
    url = re.search(r'href="([^"]+)">this event as JSON', html).group(1)
    record = (await small.client.get(url)).json()
    assert record["id"] == "flight-suspension"
    assert record["citations"] and all(c["quote"] for c in record["citations"])
    assert {a["id"] for a in record["actors"]} >= {"russia"}
    assert record["related"] == [{"event": "baykar-ukrspecexport-2019", "type": "responds_to"}]
    assert (await small.client.get("/event/no-such-event.json")).status_code == 404


async def test_an_uncertain_date_says_so_once(small):
    html = (await small.client.get("/timeline")).text
    card = html[html.index('id="event-fleet-destroyed-claim"') :]
    when = card[: card.index("</p>")]
    assert "c. February 2022" in when
    assert when.count("approximate") == 0 and when.count("c. ") == 1


async def test_shared_timeline_says_what_it_shows(small):
    html = (await small.client.get("/timeline?actor=russia")).text
    description = re.search(r'<meta name="description" content="([^"]*)"', html).group(1)
    assert description.startswith("2 events of Turkey–Ukraine defence cooperation (actor russia)")
    og = re.search(r'<meta property="og:title" content="([^"]*)"', html).group(1)
    assert og == "Timeline: Russia"
    assert ".yaml" not in description


async def test_filter_form_offers_the_busiest_actors_and_the_chosen_one(tmp_path):
    """A select of every actor would grow with the data: the form offers the 100 actors
    with most events, in name order, plus the one chosen."""
    from support import load_yaml

    data = load_yaml(SMALL)
    for i in range(130):
        data["actors"].append({"id": f"extra-{i:03d}", "name": f"Extra {i:03d}", "kind": "person"})
        data["events"][i % 4].setdefault("actors", []).append(
            {"actor": f"extra-{i:03d}", "role": "participant"}
        )
    ds = await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))
    html = (await ds.client.get("/timeline")).text
    form = html[html.index('<select name="actor">') : html.index("</select>")]
    offered = re.findall(r'<option value="([^"]+)"', form)
    assert len(offered) == 100
    labels = re.findall(r'<option value="[^"]+"[^>]*>([^<]+) \(\d+\)</option>', form)
    assert len(labels) == 100 and labels == sorted(labels)
    assert {"baykar", "russia"} <= set(offered)  # in two events each: among the busiest
    chosen = (await ds.client.get("/timeline?actor=extra-129")).text
    form = chosen[chosen.index('<select name="actor">') : chosen.index("</select>")]
    assert '<option value="extra-129" selected>' in form and form.count("<option value=") == 102


@pytest.mark.parametrize("named", ["baykar", "Baykar", "baykar makina", "BAYKAR MAKINA"])
async def test_the_form_selects_the_actor_named_by_id_name_or_alias(small, named):
    html = (await small.client.get("/timeline", params={"actor": named})).text
    form = html[html.index('<select name="actor">') : html.index("</select>")]
    assert re.findall(r'<option value="([^"]*)" selected>', form) == ["baykar"]
    assert "<title>Timeline: Baykar</title>" in html


async def test_an_actor_named_by_no_record_selects_nothing(small):
    html = (await small.client.get("/timeline", params={"actor": "Nobody"})).text
    form = html[html.index('<select name="actor">') : html.index("</select>")]
    assert " selected>" not in form


@pytest.fixture(scope="module")
async def skewed(tmp_path_factory):
    """450 synthetic events, actor-0 in every one of them (a busy actor), and actor-1
    named "actor-0" (words that name two actors)."""
    tmp = tmp_path_factory.mktemp("skewed")
    data = yaml.safe_load(synthetic_yaml(450))
    for event in data["events"]:
        if all(entry["actor"] != "actor-0" for entry in event["actors"]):
            event["actors"].append({"actor": "actor-0", "role": "supplier"})
    next(a for a in data["actors"] if a["id"] == "actor-1")["name"] = "actor-0"
    return await site(build(write_yaml(data, tmp / "events.yaml"), tmp))


async def test_any_actor_pages_the_same_events_whichever_source_is_read(skewed):
    db = skewed.get_database("record")
    counts = list(await db.execute("select id, event_count from actors where event_count > 0"
                                   " order by event_count desc, id"))  # fmt: skip
    sql = """select e.id from events e where e.id in (select event_id from event_actors
             where actor_id in (select id from actors where id = :actor or name = :actor))
             order by e.sort_key, e.id"""
    sources = []
    for actor in ("actor-0", counts[1][0], counts[-1][0], "Nobody"):
        filters = read_filters(MultiParams({"actor": [actor]}))
        sources.append((await plan_query(db, filters)).source)
        expected = [r[0] for r in await db.execute(sql, {"actor": actor})]
        pages = await every_page(skewed, f"/timeline?actor={actor}")
        assert [i for p in pages for i in p] == expected
        html = (await skewed.client.get(f"/timeline?actor={actor}")).text
        assert sum(year_titles(html).values()) in (len(expected), 0)  # no links for one year
    # two actors named: any of them; one: its own events in date order; none: nothing
    assert sources == [EVERY_EVENT, ONE_ACTORS_EVENTS, ONE_ACTORS_EVENTS, EVERY_EVENT]


async def test_the_filter_form_counts_each_type_and_status(big):
    """The counts beside each type and status are the events', read from the build's
    counts."""
    html = (await big.client.get("/timeline")).text
    db = big.get_database("record")
    for name in ("type", "status"):
        select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
        shown = re.findall(r'<option value="([^"]+)"[^>]*>[^<]*\((\d+)\)</option>', select)
        rows = await db.execute(f"select {name}, count(*) from events group by 1")
        assert {value: int(n) for value, n in shown} == {r[0]: r[1] for r in rows}, name


async def test_a_place_after_every_event_says_where_the_events_are(big):
    """A year after the last event (or a page before the first) showed "No events match
    these filters" under the count of the events that did match."""
    first = ids((await big.client.get("/timeline")).text)
    for query in ("year=3000", f"before={first[0]}"):
        html = unescape((await big.client.get(f"/timeline?{query}")).text)
        assert ids(html) == [] and "No events match these filters" not in html
        said = re.search(
            r"No event at this place in the list: the ([\d,]+) events run from "
            r"(\d+) to (\d+)\. <a href=\"/timeline\">See the first of them</a>",
            html,
        )
        assert said, html[-2000:]
        count = int(re.search(r"([\d,]+) events?\.", html).group(1).replace(",", ""))
        assert int(said.group(1).replace(",", "")) == count
    html = unescape((await big.client.get("/timeline?status=confirmed&year=3000")).text)
    assert ids(html) == [] and "No events match these filters" not in html
    assert "events that match these filters" in html
    assert '<a href="/timeline?status=confirmed">See the first of them</a>' in html


async def test_a_year_is_read_as_a_number_of_four_digits_at_most(big):
    in_2019 = ids((await big.client.get("/timeline?year=2019")).text)
    assert in_2019 and ids((await big.client.get("/timeline?year=00002019")).text) == in_2019
    html = unescape((await big.client.get("/timeline?year=99999")).text)
    assert "Ignored year '99999': write a year of at most four digits" in html
    assert ids(html) == ids((await big.client.get("/timeline")).text)
