"""The event map's data: the located events grouped by place, and the areas the map shows.

A place is what the timeline filters by (``/timeline?place=``): a location name with its
coordinates. SQLite groups the events by place (``PLACES_SQL``, down ``idx_events_located``),
so the page carries one row per place, never one per event: its number of events and the
latest ``LISTED`` of them, each with its page. The browser (``static/map.js``) only merges
the places that would overlap at the zoom a reader chooses.

Places far from the rest (New York and Washington beside Kyiv and Ankara) would stretch one
map over an empty ocean; ``regions`` splits the places into areas separated by more than
``REGION_GAP`` degrees. The map opens on the area with the most events; each other area is
a small inset map beside it, whose markers lead the main map there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# A located event: both coordinates given (the condition of the partial index
# idx_events_located, which a query must state as it is for SQLite to use the index).
LOCATED = "latitude is not null and longitude is not null"


def event_place(event: dict) -> tuple[str, float, float] | None:
    """An event's place as the map and the place filter take it, from its record: its name
    and point (None without both)."""
    location = event.get("location")
    if not isinstance(location, dict):
        return None
    name, lat, lon = (location.get(k) for k in ("name", "latitude", "longitude"))
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
    return (name, float(lat), float(lon)) if isinstance(name, str) and numbers else None


def points_by_name(
    places: Iterable[tuple[str, float, float] | None],
) -> dict[str, list[tuple[float, float]]]:
    """The points each place name is given, each name's sorted, once each."""
    points: dict[str, set[tuple[float, float]]] = {}
    for place in places:
        if place is not None:
            points.setdefault(place[0], set()).add(place[1:])
    return {name: sorted(at) for name, at in points.items()}


# The events listed under a place on the map, the latest first chosen; a place with more
# links the timeline of all its events.
LISTED = 50
# The most places the map draws (the busiest first); the page says when there are more.
MAX_PLACES = 500
# Areas farther apart than this (degrees of latitude or longitude) get maps of their own.
REGION_GAP = 30.0
# An area's map spans at least this many degrees each way: one city alone is not a street map.
MIN_SPAN = 6.0

# One row per place (location, latitude, longitude): its number of events and its latest
# LISTED events as a JSON array of [id, date_label, title, sort_key]. The window numbers
# the events of a place in the index's own order (location, latitude, longitude, sort_key).
PLACES_SQL = f"""
select place, latitude, longitude, count(*) as events,
  json_group_array(json_array(id, date_label, title, sort_key))
    filter (where latest <= :listed) as listed
from (select e.location as place, e.latitude, e.longitude, e.id, e.date_label, e.title,
        e.sort_key, row_number() over (partition by e.location, e.latitude, e.longitude
                                       order by e.sort_key desc, e.id desc) as latest
      from events e where {LOCATED})
group by place, latitude, longitude
order by events desc, place
limit :limit
"""


def place_entry(
    row: Mapping[str, Any], event_url: Callable[[str], str], place_url: Callable[[str], str]
) -> dict[str, Any]:
    """A place as the map script reads it: name, coordinates, number of events, the
    listed events in date order as [page, date, title], and the timeline of the place."""
    listed = sorted(json.loads(row["listed"]), key=lambda e: (e[3], e[0]))
    return {
        "name": row["place"],
        "lat": row["latitude"],
        "lon": row["longitude"],
        "events": row["events"],
        "listed": [[event_url(id_), date, title] for id_, date, title, _ in listed],
        "timeline": place_url(row["place"]) if row["place"] else None,
    }


def regions(places: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The places split into areas no closer than REGION_GAP degrees to each other (single
    linkage), the area with the most events first; each area's bounds
    ([[south, west], [north, east]], at least MIN_SPAN each way) and its places (indexes).

    >>> far = [{"lat": 50.4, "lon": 30.5, "events": 9}, {"lat": 39.9, "lon": 32.9,
    ...        "events": 5}, {"lat": 40.7, "lon": -74.0, "events": 1}]
    >>> [(r["places"], r["bounds"]) for r in regions(far)]
    [([0, 1], [[39.9, 28.7], [50.4, 34.7]]), ([2], [[37.7, -77.0], [43.7, -71.0]])]
    """
    parent = list(range(len(places)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(places):
        for j in range(i):
            b = places[j]
            if max(abs(a["lat"] - b["lat"]), abs(a["lon"] - b["lon"])) <= REGION_GAP:
                parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(len(places)):
        members.setdefault(root(i), []).append(i)
    areas = sorted(members.values(), key=lambda m: (-sum(places[i]["events"] for i in m), m[0]))
    return [{"places": m, "bounds": _bounds([places[i] for i in m])} for m in areas]


def _bounds(places: Sequence[Mapping[str, Any]]) -> list[list[float]]:
    """[[south, west], [north, east]] around the places, widened to MIN_SPAN each way
    about their middle and kept within Mercator's ±85° of latitude."""
    sides = []
    for key in ("lat", "lon"):
        low, high = min(p[key] for p in places), max(p[key] for p in places)
        widen = max(0.0, MIN_SPAN - (high - low)) / 2
        sides.append((round(low - widen, 4), round(high + widen, 4)))
    (south, north), (west, east) = sides
    return [[max(south, -85.0), west], [min(north, 85.0), east]]
