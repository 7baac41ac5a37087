"""The charts' data: every count a chart shows against the same count straight from the
events and link tables. (The visual timeline's: test_timeline_overview.py.)"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from support import REAL, build, contrast, site

from timeline import charts
from timeline.schema import EVENT_TYPES

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
    assert chart_layer(spec)["encoding"]["y"]["sort"] == top  # most events first
    expected = {(name, year): n for name, year, n in query(real_db, ACTOR_YEARS_SQL)
                if name in top}  # fmt: skip
    assert {(v["name"], v["year"]): v["events"] for v in values} == expected
    baykar = next(v for v in values if v["name"] == "Baykar")
    assert baykar["url"] == "/record/actors/baykar"


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
        values = (await specs(ds, f"/record/{table}/{entity_id}"))["entity-per-year"]
        got = {(v["year"], v["type"]): v["events"] for v in values["data"]["values"]}
        expected = {(y, t): n for y, t, n in query(real_db, ENTITY_SQL[table], (entity_id,))}
        assert got == expected and expected, entity_id


async def test_a_chart_segment_leads_to_a_timeline_holding_its_events(ds):
    values = (await specs(ds, "/record/actors/baykar"))["entity-per-year"]["data"]["values"]
    segment = max(values, key=lambda v: v["events"])
    assert segment["url"].startswith("/timeline?actor=baykar&type=")
    html = (await ds.client.get(segment["url"])).text
    # the page lists the events whose dates overlap the year: at least those starting in it
    assert html.count('<li class="event ') >= segment["events"] > 0


@pytest.mark.parametrize(
    ("path", "sql_name", "chart_id"),
    [("/", "PER_YEAR_SQL", "events-per-year"),
     ("/record/actors/baykar", "PER_YEAR_SQL", "entity-per-year")],
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


# -- the year axis: every year, or a marked gap ---------------------------------------------


def chart_layer(spec: dict) -> dict:
    """The layer drawing the spec's own data (the others mark the gaps of its year axis)."""
    if "layer" not in spec:
        return spec
    return next(layer for layer in spec["layer"] if "data" not in layer)


def axis_bands(spec: dict) -> list[str]:
    return chart_layer(spec)["encoding"]["x"]["scale"]["domain"]


def gaps_of(spec: dict) -> list[str]:
    """The gaps the chart marks, as the grey bands say them."""
    return [value["label"] for layer in spec.get("layer", []) if layer.get("name") == "gaps"
            for value in layer["data"]["values"]]  # fmt: skip


def expected_bands(years: set[int]) -> list[str]:
    """Every year from the first to the last; a longer run of empty years than the
    charts' MAX_EMPTY_YEARS is one band named by its ends."""
    bands, run = [], []
    for year in range(min(years), max(years) + 1):
        if year not in years:
            run.append(year)
            continue
        if len(run) > charts.MAX_EMPTY_YEARS:
            bands.append(f"{run[0]}–{run[-1]}")
        else:
            bands.extend(map(str, run))
        bands.append(str(year))
        run = []
    return bands


@pytest.mark.parametrize(
    ("years", "bands"),
    [([2022], ["2022"]),
     ([2014, 2016], ["2014", "2015", "2016"]),
     ([1936, 2014, 2016], ["1936", "1937–2013", "2014", "2015", "2016"]),
     ([2000, 2005], ["2000", "2001", "2002", "2003", "2004", "2005"]),
     ([2000, 2006], ["2000", "2001–2005", "2006"]),
     ([2016, 2014, 2014], ["2014", "2015", "2016"])],
)  # fmt: skip
async def test_year_bands_keep_empty_years_and_fold_long_gaps(years, bands):
    assert charts.MAX_EMPTY_YEARS == 4  # the cases above are written for it
    assert charts.year_bands(years) == bands


async def test_home_charts_span_every_year_of_the_record_with_its_gaps_marked(ds, real_db):
    years = {year for (year,) in query(real_db, "select distinct year from events")}
    page = await specs(ds, "/")
    bands = expected_bands(years)
    gaps = [band for band in bands if "–" in band]  # long runs of empty years, one band each
    assert gaps, "the record has no long run of empty years to fold"
    for chart_id in ("events-per-year", "actor-years"):  # both, so their columns line up
        spec = page[chart_id]
        assert axis_bands(spec) == bands, chart_id
        assert gaps_of(spec) == [f"No events from {g.replace('–', ' to ')}" for g in gaps], chart_id
        assert {v["band"] for v in spec["data"]["values"]} <= set(bands) - set(gaps)
        assert all(v["band"] == str(v["year"]) for v in spec["data"]["values"])


async def test_an_entity_chart_spans_its_own_years(ds, real_db):
    # the busiest actor with an empty year among its own (the record's years change as it grows)
    sql = """select s.scope_id, group_concat(distinct e.year) from scope_events s
             join events e on e.id = s.event_id where s.scope = 'actor'
             group by s.scope_id order by count(*) desc, s.scope_id"""
    found = next(
        ((actor, years, empty) for actor, listed in query(real_db, sql)
         for years in [{int(y) for y in listed.split(",")}]
         for empty in [sorted(set(range(min(years), max(years))) - years)]
         if 0 < len(empty) <= charts.MAX_EMPTY_YEARS),
        None,
    )  # fmt: skip
    assert found, "no actor of the record has a short run of empty years"
    actor, years, empty = found
    spec = (await specs(ds, f"/record/actors/{actor}"))["entity-per-year"]
    assert axis_bands(spec) == expected_bands(years)
    assert str(empty[0]) in axis_bands(spec)  # an empty year, shown


# -- colours and labels -----------------------------------------------------------------------


async def test_contrast_follows_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == 1


async def test_every_event_type_is_in_one_of_at_most_8_colour_groups():
    listed = [kind for _, kinds in charts.TYPE_GROUPS.values() for kind in kinds]
    assert sorted(listed) == sorted(EVENT_TYPES)  # each type once
    assert len(charts.TYPE_GROUPS) <= 8
    colours = [colour for colour, _ in charts.TYPE_GROUPS.values()]
    assert len(set(colours)) == len(colours)


async def test_a_type_missing_from_the_groups_is_an_error_naming_it(monkeypatch):
    groups = dict(charts.TYPE_GROUPS)
    colour, _ = groups.pop("Sanctions")
    monkeypatch.setattr(charts, "TYPE_GROUPS", groups)
    with pytest.raises(ValueError, match=r"missing \['sanction'\]"):
        charts._group_of_type()
    monkeypatch.setattr(charts, "TYPE_GROUPS", groups | {"Sanctions": (colour, ("ban",))})
    with pytest.raises(ValueError, match=r"unknown \['ban'\]"):
        charts._group_of_type()


@pytest.mark.parametrize("group", list(charts.TYPE_GROUPS))
async def test_every_group_colour_has_3_to_1_contrast_with_the_page(group):
    colour, _ = charts.TYPE_GROUPS[group]
    assert contrast(colour, charts.BACKGROUND) >= 3, (group, colour)
    assert contrast(colour, "#ffffff") >= 3, (group, colour)


async def test_the_charts_colour_each_type_by_its_group_with_12_px_labels(ds):
    page = await specs(ds, "/")
    spec = page["events-per-year"]
    scale = chart_layer(spec)["encoding"]["color"]["scale"]
    colour_of = dict(zip(scale["domain"], scale["range"], strict=True))
    for value in spec["data"]["values"]:
        colour, kinds = charts.TYPE_GROUPS[value["group"]]
        assert value["type"] in kinds and colour_of[value["group"]] == colour
    for chart_id, chart in (page | await specs(ds, "/record/actors/baykar")).items():
        config = chart["config"]
        sizes = [config[part][key] for part in ("axis", "legend")
                 for key in ("labelFontSize", "titleFontSize")]  # fmt: skip
        sizes.append(config["text"]["fontSize"])
        assert min(sizes) >= 12, chart_id
        assert config["background"] == charts.BACKGROUND
