"""The charts' data: every count a chart shows against the same count straight from the
events and link tables. (The visual timeline's: test_timeline_overview.py.)"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from test_site_support import REAL, build, site

from timeline import charts

pytestmark = pytest.mark.asyncio

SPEC_BLOCK = re.compile(
    r'<script type="application/json" id="(?P<id>[^"]+)-spec">(?P<json>.*?)</script>', re.S
)


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    return build(REAL, tmp_path_factory.mktemp("charts"))


@pytest.fixture(scope="module")
async def ds(real_db):
    return await site(real_db)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def specs(ds, path: str) -> dict[str, dict]:
    """The chart specs embedded in a page, by chart id."""
    response = await ds.client.get(path)
    assert response.status_code == 200, path
    return {m["id"]: json.loads(m["json"]) for m in SPEC_BLOCK.finditer(response.text)}


async def test_no_events_no_chart():
    assert charts.per_year_spec([], "x") == {}
    assert charts.actor_years_spec([], "x") == {}


# -- the pages' charts against SQL ------------------------------------------------------------


async def test_home_chart_of_events_per_year_matches_sql(ds, real_db):
    values = (await specs(ds, "/"))["events-per-year"]["data"]["values"]
    got = {(v["year"], v["type"]): v["events"] for v in values}
    sql = "select year, type, count(*) from events group by year, type"
    expected = {(year, kind): n for year, kind, n in query(real_db, sql)}
    assert got == expected
    assert [v["year"] for v in values] == sorted(v["year"] for v in values)
    first = values[0]
    assert first["url"] == f"/timeline?type={first['type']}&from={first['year']}&to={first['year']}"


TOP_ACTORS_SQL = """
select a.name, count(distinct ea.event_id) as n from event_actors ea
join actors a on a.id = ea.actor_id group by a.id order by n desc, a.name limit 12
"""
ACTOR_YEARS_SQL = """
select a.name, e.year, count(distinct e.id) from event_actors ea
join actors a on a.id = ea.actor_id join events e on e.id = ea.event_id
group by a.id, e.year
"""


async def test_home_heatmap_of_the_busiest_actors_matches_sql(ds, real_db):
    spec = (await specs(ds, "/"))["actor-years"]
    values = spec["data"]["values"]
    top = [name for name, _ in query(real_db, TOP_ACTORS_SQL)]
    assert spec["encoding"]["y"]["sort"] == top  # most events first
    expected = {(name, year): n for name, year, n in query(real_db, ACTOR_YEARS_SQL)
                if name in top}  # fmt: skip
    assert {(v["name"], v["year"]): v["events"] for v in values} == expected
    baykar = next(v for v in values if v["name"] == "Baykar")
    assert baykar["url"] == "/timeline/actors/baykar"


ENTITY_SQL = {
    "actors": """select e.year, e.type, count(distinct e.id) from event_actors l
                 join events e on e.id = l.event_id where l.actor_id = ? group by 1, 2""",
    "systems": """select e.year, e.type, count(distinct e.id) from event_systems l
                  join events e on e.id = l.event_id where l.system_id = ? group by 1, 2""",
}


@pytest.mark.parametrize("table", ["actors", "systems"])
async def test_entity_charts_match_sql(ds, real_db, table):
    busiest = query(real_db, f"select id from {table} order by event_count desc limit 3")
    for (entity_id,) in busiest:
        values = (await specs(ds, f"/timeline/{table}/{entity_id}"))["entity-per-year"]
        got = {(v["year"], v["type"]): v["events"] for v in values["data"]["values"]}
        expected = {(y, t): n for y, t, n in query(real_db, ENTITY_SQL[table], (entity_id,))}
        assert got == expected and expected, entity_id


async def test_a_chart_segment_leads_to_a_timeline_holding_its_events(ds):
    values = (await specs(ds, "/timeline/actors/baykar"))["entity-per-year"]["data"]["values"]
    segment = max(values, key=lambda v: v["events"])
    assert segment["url"].startswith("/timeline?actor=baykar&type=")
    html = (await ds.client.get(segment["url"])).text
    # the page lists the events whose dates overlap the year: at least those starting in it
    assert html.count('<li class="event ') >= segment["events"] > 0


@pytest.mark.parametrize(
    ("path", "sql_name", "chart_id"),
    [("/", "PER_YEAR_SQL", "events-per-year"),
     ("/timeline/actors/baykar", "PER_YEAR_SQL", "entity-per-year")],
)  # fmt: skip
async def test_a_chart_out_of_time_leaves_the_page_without_it_not_an_error(
    real_db, monkeypatch, path, sql_name, chart_id
):
    from datasette.plugins import pm

    ds = await site(real_db)
    loaded = {str(getattr(plugin, "__file__", "")): plugin for plugin in pm.get_plugins()}
    chart_plugin = next(plugin for name, plugin in loaded.items() if name.endswith("/charts.py"))
    assert f'id="{chart_id}-spec"' in (await ds.client.get(path)).text
    # a query that runs past the 1 s time limit, in place of the chart's
    slow = "with recursive n(i) as (select 1 union all select i + 1 from n) select max(i) from n"
    monkeypatch.setattr(chart_plugin, sql_name, slow)
    response = await ds.client.get(path)
    assert response.status_code == 200
    assert f'id="{chart_id}-spec"' not in response.text
    assert "The chart took too long to prepare just now" in response.text
