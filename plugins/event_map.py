"""The event map (``/record/event_map``): its data, and the scripts and styles that draw it.

The page carries the located events grouped by place (``timeline.places``) as a JSON block;
``static/map.js`` draws them with Leaflet over the country borders the site serves itself
(no tiles from another server). Only this page loads Leaflet; each file is linked by its
content hash, so a CDN may keep it for a year (``cache_headers.py``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import tilde_encode

from timeline import places, vendor
from timeline.site import DATABASE, static_url

MAP_TEMPLATE = f"query-{DATABASE}-event_map.html"
SCRIPTS = [f"vendor/{name}" for name in vendor.MAP_SCRIPTS] + ["map.js"]
STYLES = [f"vendor/{name}" for name in vendor.MAP_STYLES] + ["map.css"]
BORDERS = "vendor/countries-110m.json"


@hookimpl
def extra_js_urls(template, datasette):
    if template != MAP_TEMPLATE:
        return []
    # type=module: deferred and run in order once the page is parsed; the libraries' UMD
    # builds attach L and topojson to globalThis.
    return [{"url": static_url(datasette.urls, name), "module": True} for name in SCRIPTS]


@hookimpl
def extra_css_urls(template, datasette):
    if template != MAP_TEMPLATE:
        return []
    return [static_url(datasette.urls, name) for name in STYLES]


async def map_data(datasette) -> dict:
    """What map.js draws: the places, the areas to show, and the borders' address."""
    db = datasette.get_database(DATABASE)
    params = {"listed": places.LISTED, "limit": places.MAX_PLACES}
    rows = (await db.execute(places.PLACES_SQL, params)).rows

    def event_url(event_id: str) -> str:
        return datasette.urls.row(DATABASE, "events", tilde_encode(event_id))

    def place_url(name: str) -> str:
        return datasette.urls.path("/timeline?" + urlencode({"place": name}))

    entries = [places.place_entry(row, event_url, place_url) for row in rows]
    return {
        "places": entries,
        "regions": places.regions(entries),
        "borders": static_url(datasette.urls, BORDERS),
        "more_places": len(entries) == places.MAX_PLACES,
    }


async def _map_or_late(datasette) -> dict:
    """The map's data, or the page without the map (and a note) when its SQL ran out of
    time: under heavy load a quick query can wait past the time limit, and that is no
    reason for an error page."""
    try:
        return {"event_map": await map_data(datasette)}
    except QueryInterrupted:
        return {"event_map": None, "map_unavailable": True}


@hookimpl
def extra_template_vars(template, datasette):
    if template == MAP_TEMPLATE:
        return _map_or_late(datasette)
    return None
