"""Smoke test: the built database served by Datasette with the project's metadata."""

from __future__ import annotations

import json

from datasette.app import Datasette

from conftest import ROOT


async def test_configured_facets_appear_in_the_events_json(fresh_db):
    metadata = json.loads((ROOT / "datasette-metadata.json").read_text())
    # The list facets (actors, countries, tags) are the project's plugin's.
    ds = Datasette([str(fresh_db)], metadata=metadata, plugins_dir=str(ROOT / "plugins"))
    await ds.invoke_startup()
    response = await ds.client.get("/record/events.json")
    assert response.status_code == 200
    facets = response.json()["facet_results"]
    assert {"type", "year", "status", "actors", "countries", "tags"} <= set(facets)
    russia = next(r for r in facets["actors"]["results"] if r["value"] == "Russia")
    assert russia["count"] == 2
    assert {r["value"]: r["count"] for r in facets["status"]["results"]} == {
        "confirmed": 3,
        "refuted": 1,
    }
    search = await ds.client.get("/record/events.json?_search=suspend&_shape=array")
    assert [row["id"] for row in search.json()] == ["flight-suspension"]
