"""The published site: metadata, pages, canned queries, the event page and /timeline."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from datasette.utils import derive_named_parameters
from support import (
    METADATA,
    SMALL,
    assert_facets_match,
    build,
    column_facets_side_by_side,
    expected_facets,
    load_yaml,
    site,
    statements_of,
    write_yaml,
)

from timeline.views import VIEWS


def metadata() -> dict:
    return json.loads(METADATA.read_text(encoding="utf-8"))


def texts(html: str) -> str:
    """Visible-ish text of a page: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- metadata -------------------------------------------------------------------------------


async def test_metadata_describes_every_table_column_and_query(ds):
    meta = metadata()
    assert meta["license_url"].startswith("https://creativecommons.org/licenses/by/4.0")
    assert "Apache-2.0" in meta["description"]
    assert meta["about_url"] == "/about"
    db_meta = meta["databases"]["record"]
    db = ds.get_database("record")
    tables = await db.table_names()
    for table in [t for t in tables if not t.startswith(("events_fts", "citations_fts"))]:
        assert db_meta["tables"][table]["description"], table
    for view in VIEWS:
        assert db_meta["tables"][view]["description"], view
    for table, label in (("events", "title"), ("actors", "name"), ("sources", "title")):
        assert db_meta["tables"][table]["label_column"] == label
    columns = await db.table_columns("events")
    assert set(db_meta["tables"]["events"]["columns"]) == set(columns)
    assert all(db_meta["tables"]["events"]["columns"].values())
    # A canned query with a table's or view's name would hide it.
    assert not set(db_meta["queries"]) & (set(tables) | set(await db.view_names()))
    for name, query in db_meta["queries"].items():
        assert query["title"] and query["description"], name
        named = set(await derive_named_parameters(db, query["sql"]))
        # magic parameters (":_page_size") come from the site's plugins, not the form
        assert {n for n in named if not n.startswith("_")} == set(query.get("params", [])), name


async def test_the_home_page_runs_its_own_queries_only(ds, monkeypatch):
    """Datasette's index view would ask about each table (over a hundred statements);
    the home page's route runs the charts' queries and nothing else."""
    statements = statements_of(ds, monkeypatch)
    html = (await ds.client.get("/")).text
    assert "Start here" in html and "events-per-year" in html
    assert len(statements) <= 3, statements
    # the JSON index is still Datasette's own, with its list of tables
    index = (await ds.client.get("/.json")).json()
    assert index["record"]["tables_count"] > 0


async def test_events_table_defaults(ds):
    response = await ds.client.get("/record/events.json?_shape=objects")
    data = response.json()
    assert response.status_code == 200
    assert [r["id"] for r in data["rows"]] == [
        "montreux",
        "baykar-ukrspecexport-2019",
        "flight-suspension",
        "fleet-destroyed-claim",
    ]
    assert {"type", "year", "status", "actors", "countries", "tags"} <= set(data["facet_results"])
    html = (await ds.client.get("/record/events")).text
    assert "rows in date order" in html and "sort_key" not in html.split("</title>")[0]
    assert 'name="_search"' in html  # FTS is configured, so the search box shows
    assert "event-map-spec" not in html  # the map is on the event_map page only


async def test_events_table_reading_view_and_full_view(ds):
    html = (await ds.client.get("/record/events?status=refuted")).text
    rows = re.findall(r'<tr class="event-row" data-id="([^"]+)"', html)
    assert rows == ["fleet-destroyed-claim"]
    assert '<a href="/record/events/fleet-destroyed-claim">Claim that the drone' in html
    assert '<time datetime="2022-02-01">c. February 2022</time>' in html
    assert 'href="/record/events?_actors=An%20Analyst"' in html
    assert 'href="/record/events?status=refuted&amp;_full=1"' in html
    full = (await ds.client.get("/record/events?status=refuted&_full=1")).text
    assert '<td class="col-sort_key' in full and 'class="event-row"' not in full


async def test_facet_counts_match_the_yaml(ds):
    expected = expected_facets(load_yaml(SMALL))
    await assert_facets_match(ds, expected)


async def test_search_box_finds_events(ds):
    rows = (await ds.client.get("/record/events.json?_search=drone&_shape=array")).json()
    assert {r["id"] for r in rows} == {"baykar-ukrspecexport-2019", "fleet-destroyed-claim"}
    # Default (escaped) search mode: punctuation never becomes an FTS syntax error.
    response = await ds.client.get('/record/events.json?_search="unbalanced')
    assert response.status_code == 200


# --- pages ----------------------------------------------------------------------------------

PAGES = [
    ("/", "Start here"),
    ("/about", "What the statuses mean"),
    ("/timeline", "Montreux Convention signed"),
    ("/record/events", "Montreux Convention signed"),
    ("/record/actors", "Ukrspecexport"),
    ("/record/sources", "Official record"),
    ("/record/citations", "The drones kept flying."),
    ("/record/event_actors", "claimant"),
    ("/record/event_relations", "responds_to"),
    ("/record/build_info", "input_hash"),
    ("/record/actor_timeline", "Baykar"),
    ("/record/claims", "The drones kept flying."),
    ("/record/evidence", "Official record"),
    ("/record/events_per_year_type", "military-action"),
    ("/record/events/montreux", "20 July 1936"),
    ("/record/actors/baykar", "Baykar Makina"),
    ("/record/sources/record", "Ministry"),
    ("/record?sql=select+count(*)+as+n+from+events", "Custom SQL query"),
    ("/static/site.css", ".status-refuted"),
    ("/-/metadata.json", "events_between"),
]


@pytest.mark.parametrize(("path", "expected"), PAGES)
async def test_page_returns_200_with_content(ds, path, expected):
    response = await ds.client.get(path)
    assert response.status_code == 200, path
    assert expected in texts(response.text) or expected in response.text


@pytest.mark.parametrize(
    "path", ["/record/events", "/record/events/montreux", "/timeline", "/about"]
)
async def test_every_page_links_to_the_site_sections_and_licences(ds, path):
    html = (await ds.client.get(path)).text
    for href in ('href="/timeline"', 'href="/about"', 'href="/record/actors"'):
        assert href in html
    assert "Apache-2.0" in html and "CC BY 4.0" in html


async def test_index_lists_canned_queries_and_feeds(ds):
    html = (await ds.client.get("/")).text
    for name in metadata()["databases"]["record"]["queries"]:
        assert f'href="/record/{name}"' in html  # questions and feeds: test_site_reader
    assert 'href="/record/atom_feed.atom"' in html
    assert 'href="/record/calendar.ics"' in html
    assert 'href="/record/recently_added_feed.atom"' in html


async def test_about_page_explains_every_status(ds):
    from timeline.schema import STATUSES

    text = texts((await ds.client.get("/about")).text)
    for status, description in STATUSES.items():
        assert status in text and description in text
    assert "How to contribute" in text and "timeline validate" in text


# --- canned queries -------------------------------------------------------------------------


async def rows_of(ds, query, **params):
    args = "&".join(f"{k}={v}" for k, v in params.items())
    response = await ds.client.get(f"/record/{query}.json?_shape=array&{args}")
    assert response.status_code == 200, response.text
    return response.json()


QUERY_PAGES = [
    ("events_between", "from=2019&to=2021", "Baykar and Ukrspecexport"),
    ("actor_events", "actor=baykar", "signatory"),
    ("on_this_day", "month_day=07-20", "Montreux Convention signed"),
    ("disputed_claims", "", "Later combat footage shows the drones in use."),
    ("search", "q=drones", "Claim that the drone fleet was destroyed"),
    ("actors_together", "", "Ukrspecexport"),
    ("per_year_and_type", "", "military-action"),
    ("event_map", "", "Montreux"),
    ("atom_feed", "", "tag:turkey-ukraine-timeline"),
    ("calendar", "", "Montreux Convention signed"),
]


@pytest.mark.parametrize(("query", "args", "expected"), QUERY_PAGES)
async def test_canned_query_pages(ds, query, args, expected):
    response = await ds.client.get(f"/record/{query}?{args}")
    assert response.status_code == 200
    assert expected in texts(response.text)
    title = metadata()["databases"]["record"]["queries"][query]["title"]
    assert title in unescape(response.text)


@pytest.mark.parametrize(
    "query", ["", "status=confirmed", "_search=drones", "_tags=bayraktar-tb2", "year__gte=2020"]
)
async def test_column_facets_count_as_datasettes_own(ds, query):
    """The site's column facets (counted by the build for the whole table) give what
    Datasette's column facet gives, on every kind of page."""
    for column, (ours, datasettes) in (await column_facets_side_by_side(ds, query)).items():
        assert ours["type"] == datasettes["type"] == "column"
        assert ours["results"] == datasettes["results"], (column, query)
        assert ours["truncated"] == datasettes["truncated"]


async def test_canned_queries_work_with_empty_parameters(ds):
    for name in metadata()["databases"]["record"]["queries"]:
        response = await ds.client.get(f"/record/{name}.json")
        assert response.status_code == 200, name


async def test_events_between_uses_overlap_of_the_date_span(ds):
    async def ids(**params):
        return [r["event_id"] for r in await rows_of(ds, "events_between", **params)]

    # A year-only event overlaps any range touching its year, flagged as partly within.
    rows = await rows_of(ds, "events_between", **{"from": "2019-06", "to": "2019-07-15"})
    assert [r["event_id"] for r in rows] == ["baykar-ukrspecexport-2019"]
    assert rows[0]["entirely_within"].startswith("partly")
    assert await ids(**{"from": "2021-04-16"}) == ["fleet-destroyed-claim"]
    assert await ids(to="2022-01") == [
        "montreux",
        "baykar-ukrspecexport-2019",
        "flight-suspension",
    ]
    # A single day inside "c. February 2022" finds it; one in March does not.
    assert await ids(**{"from": "2022-02-15", "to": "2022-02-15"}) == ["fleet-destroyed-claim"]
    assert await ids(**{"from": "2022-03-01"}) == []
    assert len(await ids()) == 4


async def test_actor_timeline_matches_id_name_and_alias(ds):
    for actor in ("baykar", "Baykar", "baykar%20makina"):
        rows = await rows_of(ds, "actor_events", actor=actor)
        assert [(r["event_id"], r["role"], r["date"]) for r in rows] == [
            ("baykar-ukrspecexport-2019", "signatory", "2019")
        ]
    rows = await rows_of(ds, "actor_events", actor="russia")
    assert [(r["event_id"], r["role"]) for r in rows] == [
        ("flight-suspension", "speaker"),
        ("fleet-destroyed-claim", "attacker"),
    ]


async def test_disputed_claims_seek_their_page_of_events_in_the_index(ds):
    sql = json.loads(METADATA.read_text())["databases"]["record"]["queries"]["disputed_claims"]
    db = ds.get_database("record")
    params = {"status": "", "_page_after": "", "_page_size": 100}
    plan = [r[3] for r in await db.execute(f"explain query plan {sql['sql']}", params)]
    # each status's events are a range of the index, read from the page's first event on
    assert any(
        "INDEX idx_events_status_sort_key_id (status=? AND (sort_key,id)>(?,?))" in step
        for step in plan
    ), plan


async def test_actor_timeline_takes_an_id_before_a_name_before_an_alias(tmp_path):
    data = load_yaml(SMALL)
    baykar = next(a for a in data["actors"] if a["id"] == "baykar")
    baykar["aliases"] = [*baykar.get("aliases", []), "Russia"]  # Russia's name and id
    ds = await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))
    for words in ("russia", "RUSSIA"):
        rows = await rows_of(ds, "actor_events", actor=words)
        assert {r["event_id"] for r in rows} == {"flight-suspension", "fleet-destroyed-claim"}
    rows = await rows_of(ds, "actor_events", actor="baykar")
    assert [r["event_id"] for r in rows] == ["baykar-ukrspecexport-2019"]


async def test_on_this_day_only_uses_day_precision(ds):
    assert [r["event_id"] for r in await rows_of(ds, "on_this_day", month_day="04-15")] == [
        "flight-suspension"
    ]
    # date_start of "2019" is 2019-01-01 and of "c. February 2022" is 2022-02-01:
    # neither may be presented as happening on that day.
    assert await rows_of(ds, "on_this_day", month_day="01-01") == []
    assert await rows_of(ds, "on_this_day", month_day="02-01") == []


async def test_claims_show_evidence_for_and_against(ds):
    rows = await rows_of(ds, "disputed_claims")
    assert [(r["event_id"], r["stance"]) for r in rows] == [
        ("fleet-destroyed-claim", "supports"),
        ("fleet-destroyed-claim", "contradicts"),
    ]
    assert rows[0]["claimed_by"] == "An Analyst"
    assert rows[1]["note"] == "Later combat footage shows the drones in use."
    assert await rows_of(ds, "disputed_claims", status="disputed") == []


async def test_search_highlights_matches_safely(ds):
    rows = await rows_of(ds, "search", q="suspended")
    assert rows[0]["event_id"] == "flight-suspension"
    assert "\u27e6suspended\u27e7" in rows[0]["snippet"] or "\u27e6" in rows[0]["snippet"]
    html = (await ds.client.get("/record/search?q=suspended")).text
    assert "<mark>" in html
    assert 'href="/record/events/flight-suspension"' in html
    for q in ("", "%22", "AND", "NEAR(", "*"):
        response = await ds.client.get(f"/record/search.json?q={q}")
        assert response.status_code == 200, q


async def test_actors_together_and_per_year(ds):
    pairs = await rows_of(ds, "actors_together")
    assert {(p["actor"], p["appears_with"], p["events"]) for p in pairs} == {
        ("An Analyst", "Russia", 1),
        ("Baykar", "Ukrspecexport", 1),
    }
    assert [p["appears_with"] for p in await rows_of(ds, "actors_together", actor="Baykar")] == [
        "Ukrspecexport"
    ]
    per_year = await rows_of(ds, "per_year_and_type")
    assert sum(r["events"] for r in per_year) == 4
    row_2019 = next(r for r in per_year if r["year"] == 2019)
    assert (row_2019["events"], row_2019["known_to_the_year"]) == (1, 1)


async def test_event_map_query_has_the_map(ds):
    html = (await ds.client.get("/record/event_map")).text
    assert 'data-map="event-map-data"' in html
    rows = await rows_of(ds, "event_map")
    assert [r["event_id"] for r in rows] == ["montreux"]


# --- the event page -------------------------------------------------------------------------


async def test_event_page_shows_date_label_not_a_made_up_day(ds):
    html = (await ds.client.get("/record/events/baykar-ukrspecexport-2019")).text
    text = texts(html)
    assert '<time datetime="2019-01-01">2019</time>' in html
    assert "year only" in text
    assert "1 January 2019" not in text
    assert "Baykar and Ukrspecexport sign a cooperation agreement" in text


async def test_event_page_lists_actors_with_roles_and_links(ds):
    html = (await ds.client.get("/record/events/baykar-ukrspecexport-2019")).text
    assert 'href="/record/events?_actors=Baykar"' in html
    # The actors facet is on by default, so the filtered page shows it once.
    filtered = (await ds.client.get("/record/events?_actors=Baykar")).text
    assert filtered.count('id="facet-actors"') == 1
    assert "Baykar</a>\n    — signatory" in html
    assert 'href="/timeline?actor=ukrspecexport"' in html
    # Following the actor link gives that actor's events.
    rows = (await ds.client.get("/record/events.json?_actors=Russia&_shape=array")).json()
    assert [r["id"] for r in rows] == ["flight-suspension", "fleet-destroyed-claim"]


async def test_event_page_shows_citations_with_sources(ds):
    html = (await ds.client.get("/record/events/baykar-ukrspecexport-2019")).text
    text = texts(html)
    assert "Baykar and Ukrspecexport signed an agreement." in text
    assert "Cooperation on unmanned aircraft." in text
    assert 'href="https://example.org/article"' in html
    assert 'href="/record/sources/record"' in html
    assert "April 2021" in text  # the source's publication date at its precision


async def test_event_page_explains_a_refuted_status(ds):
    text = texts((await ds.client.get("/record/events/fleet-destroyed-claim")).text)
    assert "This event is refuted:" in text
    assert "a claim the public record shows to be false" in text
    assert "Contradicts the event" in text
    assert "Later combat footage shows the drones in use." in text
    assert "c. February 2022" in text
    confirmed = texts((await ds.client.get("/record/events/montreux")).text)
    assert "This event is" not in confirmed


async def test_event_page_shows_related_events_both_ways(ds):
    out = texts((await ds.client.get("/record/events/flight-suspension")).text)
    assert "Responds to: Baykar and Ukrspecexport sign a cooperation agreement (2019)" in out
    back = texts((await ds.client.get("/record/events/baykar-ukrspecexport-2019")).text)
    assert "Prompted: Russia suspends flights to Turkey (15 April 2021)" in back


async def test_missing_event_is_404(ds):
    assert (await ds.client.get("/record/events/no-such-event")).status_code == 404


# --- /timeline ------------------------------------------------------------------------------


async def timeline_ids(ds, query=""):
    response = await ds.client.get(f"/timeline?{query}")
    assert response.status_code == 200
    return re.findall(r'<li class="event [^"]*" id="event-([^"]+)"', response.text)


async def test_timeline_is_grouped_by_year_in_order(ds):
    html = (await ds.client.get("/timeline")).text
    assert re.findall(r"<h2>(\d{4})</h2>", html) == ["1936", "2019", "2021", "2022"]
    assert await timeline_ids(ds) == [
        "montreux",
        "baykar-ukrspecexport-2019",
        "flight-suspension",
        "fleet-destroyed-claim",
    ]
    assert 'href="/record/events/montreux"' in html
    assert '<time datetime="2019-01-01">2019</time>' in html
    assert "1 January 2019" not in texts(html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor=baykar", ["baykar-ukrspecexport-2019"]),
        ("actor=Russia", ["flight-suspension", "fleet-destroyed-claim"]),
        ("type=sanction", ["flight-suspension"]),
        ("tag=bayraktar-tb2", ["baykar-ukrspecexport-2019", "fleet-destroyed-claim"]),
        ("status=refuted", ["fleet-destroyed-claim"]),
        ("from=2019-06&to=2019-06", ["baykar-ukrspecexport-2019"]),
        ("from=2021-04-16", ["fleet-destroyed-claim"]),
        ("to=2021-04-14", ["montreux", "baykar-ukrspecexport-2019"]),
        ("from=2022-02-28&to=2022-02-28", ["fleet-destroyed-claim"]),
        ("actor=baykar&type=delivery&from=2019&to=2022-06", []),
        ("actor=russia&from=2019&to=2022-06", ["flight-suspension", "fleet-destroyed-claim"]),
        ("actor=x%27%20or%201=1%20--", []),
        ("type=", ["montreux", "baykar-ukrspecexport-2019", "flight-suspension",
                   "fleet-destroyed-claim"]),
    ],
)  # fmt: skip
async def test_timeline_filters(ds, query, expected):
    assert await timeline_ids(ds, query) == expected


async def test_timeline_reports_a_bad_date_and_ignores_it(ds):
    response = await ds.client.get("/timeline?from=last+spring&to=2019-02-30")
    assert response.status_code == 200
    text = texts(response.text)
    assert "Ignored from 'last spring' is not a date" in text
    assert "Ignored to '2019-02-30' is not a date" in text
    assert len(await timeline_ids(ds, "from=last+spring")) == 4


async def test_timeline_shows_active_filters_with_removal_links(ds):
    html = (await ds.client.get("/timeline?actor=russia&status=refuted")).text
    assert "1 event where" in texts(html)
    assert 'href="/timeline?status=refuted"' in html  # remove the actor filter
    assert 'href="/timeline?actor=russia"' in html  # remove the status filter
    assert '<option value="russia" selected>' in html


async def test_timeline_page_does_not_hide_the_sql_interface(ds):
    data = (await ds.client.get("/record.json")).json()
    assert "events" in {t["name"] for t in data["tables"]}
    response = await ds.client.get("/record.json?sql=select+count(*)+as+n+from+events")
    assert response.json()["rows"] == [[4]]


DATE_INPUTS = [
    ("2019", ""), ("", "2019"), ("April 2021", ""), ("15 April 2021", ""), ("2021-04~", ""),
    ("2019?", "2021"), ("2021-04", "2021-04"), ("", "15 April 2021"), ("2020-02", "2022"),
]  # fmt: skip


@pytest.mark.parametrize(("start", "end"), DATE_INPUTS)
async def test_events_between_agrees_with_the_timeline_page(ds, start, end):
    """Both read dates with timeline.dates: the same events for every input."""
    query = await ds.client.get(
        "/record/events_between.json", params={"from": start, "to": end, "_shape": "array"}
    )
    from_query = [row["event_id"] for row in query.json()]
    page = (await ds.client.get("/timeline", params={"from": start, "to": end})).text
    from_page = re.findall(r'id="event-([^"]+)"', page)
    assert from_query == from_page and from_query, (start, end)


async def test_timeline_status_takes_several_values(ds):
    def ids(html):
        return set(re.findall(r'id="event-([^"]+)"', html))

    disputed = ids((await ds.client.get("/timeline?status=disputed")).text)
    refuted = ids((await ds.client.get("/timeline?status=refuted")).text)
    both = ids((await ds.client.get("/timeline?status=disputed,refuted")).text)
    repeated = ids((await ds.client.get("/timeline?status=disputed&status=refuted")).text)
    assert refuted and both == repeated == disputed | refuted


async def test_event_page_shows_countries_tags_and_neighbours(ds):
    html = (await ds.client.get("/record/events/flight-suspension")).text
    assert ">Russian Federation</a>" in html and ">Türkiye</a>" in html
    assert 'href="/timeline?tag=tourism"' in html
    assert 'rel="prev" href="/record/events/baykar-ukrspecexport-2019"' in html
    assert 'rel="next" href="/record/events/fleet-destroyed-claim"' in html
    assert (
        'href="/timeline?around=flight-suspension#event-flight-suspension"' in html
    )  # back to the same place
    first = (await ds.client.get("/record/events/montreux")).text
    assert 'rel="prev"' not in first and 'rel="next"' in first
