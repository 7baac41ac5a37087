"""List facets and filters (actors, countries, tags, systems) read from the build's
index agree with Datasette's own JSON-array facet and filter on every page."""

from __future__ import annotations

import pytest
from support import REAL, build, column_facets_side_by_side, site

LISTS = ("actors", "countries", "tags", "systems", "system_kinds")
PAGES = [
    "",
    "type=delivery",
    "_search=Bayraktar",
    "year__gte=2022&status=confirmed",
    "_tags=bayraktar-tb2",
    "_countries=UA&_countries=TR",
    "_actors=Baykar&type=contract",
]


@pytest.fixture(scope="module")
async def ds(tmp_path_factory):
    return await site(build(REAL, tmp_path_factory.mktemp("real")))


def stock(query: str) -> str:
    """The same page written with Datasette's own array filters."""
    parts = []
    for part in filter(None, query.split("&")):
        name, value = part.split("=", 1)
        if name.lstrip("_") in LISTS and name.startswith("_"):
            parts.append(f"{name[1:]}__arraycontains={value}")
        else:
            parts.append(part)
    return "&".join(parts)


async def counts(ds, query: str, kind: str) -> dict[str, dict[str, int]]:
    facets = "&".join(f"_facet_{kind}={c}" for c in LISTS)
    url = f"/record/events.json?{query}&{facets}&_facet_size=max&_size=0"
    data = (await ds.client.get(url)).json()
    assert not data.get("facets_timed_out"), data.get("facets_timed_out")
    return {
        name: {r["value"]: r["count"] for r in data["facet_results"][name]["results"]}
        for name in LISTS
    }


async def event_ids(ds, query: str) -> list[str]:
    url = f"/record/events.json?{query}&_shape=array&_size=max&_col=id"
    return [row["id"] for row in (await ds.client.get(url)).json()]


@pytest.mark.parametrize("query", PAGES)
async def test_list_facets_equal_datasettes_array_facets(ds, query):
    ours = await counts(ds, query, "list")
    theirs = await counts(ds, stock(query), "array")
    assert ours == theirs and any(ours.values())


@pytest.mark.parametrize("query", [p for p in PAGES if "_" in p.split("=")[0]])
async def test_list_filters_keep_the_same_events_as_array_filters(ds, query):
    ours = await event_ids(ds, query)
    assert ours == await event_ids(ds, stock(query)) and ours


async def test_facet_links_select_and_unselect_a_value(ds):
    data = (await ds.client.get("/record/events.json?_facet_list=countries")).json()
    turkey = next(r for r in data["facet_results"]["countries"]["results"] if r["value"] == "TR")
    assert turkey["label"] == "Türkiye (TR)"  # a country by its name
    assert turkey["toggle_url"].endswith("_countries=TR")
    chosen = (await ds.client.get(turkey["toggle_url"].replace("http://localhost", ""))).json()
    again = next(r for r in chosen["facet_results"]["countries"]["results"] if r["value"] == "TR")
    assert again["selected"] and again["count"] == turkey["count"]
    assert len(await event_ids(ds, "_countries=TR")) == turkey["count"]
    assert "_countries=TR" not in again["toggle_url"]


async def test_the_events_table_shows_list_facets_by_default(ds):
    data = (await ds.client.get("/record/events.json?_size=0")).json()
    assert {"actors", "countries", "tags", "systems"} <= set(data["facet_results"])
    html = (await ds.client.get("/record/events?_tags=bayraktar-tb2")).text
    assert "tags include &#34;bayraktar-tb2&#34;" in html


async def test_an_events_list_holds_each_value_once(ds):
    """What the filtered list facets count on: one value once per event, so counting an
    event's values counts events."""
    db = ds.get_database("record")
    for column in LISTS:
        repeats = await db.execute(
            f"select e.id, j.value from events e, json_each(e.[{column}]) j "
            "group by e.id, j.value having count(*) > 1"
        )
        assert repeats.rows == [], column
        assert (await db.execute(f"select count(*) from events where {column} != '[]'")).first()[0]


@pytest.mark.parametrize("query", [p for p in PAGES if p])
async def test_column_facets_of_a_filtered_page_equal_datasettes_own(ds, query):
    """On a filtered page the four column facets are counted in one pass (see
    ColumnCountFacet.count_columns); they must give Datasette's own column facets."""
    facets = await column_facets_side_by_side(ds, query)
    for column, (ours, datasettes) in facets.items():
        assert ours["results"] == datasettes["results"], (column, query)
        assert ours["truncated"] == datasettes["truncated"]
    # values that several combinations of the four columns add up to
    assert max(r["count"] for r in facets["status"][0]["results"]) > 1


@pytest.mark.parametrize(
    ("query", "every"),
    [
        ("", True),
        ("_facet=type&_size=10&_sort_desc=year&_facet_list=tags", True),
        ("_next=100&_labels=on", True),
        ("type=visit", False),
        ("_search=drones", False),
        ("_tags=drones", False),
        ("_where=year>2020", False),
        ("_unknown_param=1", False),  # not known to show every event: counted as filtered
    ],
)
def test_a_page_shows_every_event_only_with_presentation_parameters(query, every):
    import sys

    from datasette.utils.asgi import Request

    sys.path.insert(0, str(REAL.parent / "plugins"))
    from list_facets import shows_every_event

    assert shows_every_event(Request.fake(f"/record/events?{query}")) is every
