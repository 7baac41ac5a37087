"""Vega-Lite specifications for the site's visual timeline and charts.

The site's pages embed these specs as JSON (``templates/_visual_macros.html``) and
``static/charts.js`` draws them with vega-embed. They are built here, in Python, so that
the data, the encodings and the rules about dates (a month-only event spans its whole
month; an approximate date looks approximate) sit in one place the tests can read.

Every spec sizes itself to its container (``width: "container"``: Vega-Lite fits the
chart, axes and legends included, into it), so a chart is never wider than a phone's
screen, and carries no URL of its own: data is inline.

Example:

>>> spec = timeline_spec([{"id": "a", "url": "/timeline/events/a", "title": "A",
...                        "date_label": "April 2021", "date_start": "2021-04-01",
...                        "date_end": "2021-04-30", "status": "confirmed",
...                        "type": "contract", "approximate": 0, "uncertain": 1}])
>>> [spec["data"]["values"][0][k] for k in ("start", "end", "shape", "certainty")]
['2021-04-01', '2021-05-01', 'span', 'approximate or uncertain date']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from .schema import EVENT_TYPES, STATUSES

# The site's status colours (static/site.css), so a chart and a badge agree.
STATUS_COLOURS = {
    "confirmed": "#1f6b2e",
    "reported": "#b08800",
    "disputed": "#c46a00",
    "refuted": "#9b1c1c",
}
EXACT, APPROXIMATE = "exact date", "approximate or uncertain date"
OPACITY = (0.7, 0.12)  # fill of an exact and of an approximate date's mark: solid, hollow
# The timeline opens on the years holding this share of the events: one treaty from
# 1936 would otherwise squeeze a decade of events into a tenth of a phone's width.
OPENING_SHARE = 0.98
# Rows of the timeline and of the heatmap, in pixels. (A height in steps would do, but
# Vega-Lite then warns about the container width it fits.)
ROW = 22
LEGEND = {"orient": "bottom", "direction": "vertical"}
LABEL = (
    "datum.title + '; ' + datum.date_label + '; ' + datum.status + '; '"
    " + (datum.shape === 'day' ? 'a single day' : 'a span of time') + '; ' + datum.certainty"
)

Spec = dict[str, Any]


def day_after(iso_day: str) -> str:
    """'2021-04-30' -> '2021-05-01': the exclusive end of a span that includes its last day."""
    return (date.fromisoformat(iso_day) + timedelta(days=1)).isoformat()


def timeline_item(event: Mapping[str, Any]) -> dict[str, Any]:
    """What the visual timeline needs of one event, and nothing more (it goes into the page)."""
    vague = bool(event.get("approximate") or event.get("uncertain"))
    single_day = event["date_start"] == event["date_end"]
    return {
        "id": event["id"],
        "url": event["url"],
        "title": event["title"],
        "date_label": event["date_label"],
        "status": event["status"],
        "type": event["type"],
        "start": event["date_start"],
        "end": day_after(event["date_end"]),
        "shape": "day" if single_day else "span",
        "certainty": APPROXIMATE if vague else EXACT,
    }


def opening_years(items: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(first year, last year, year the view opens on) of the items' dates."""
    starts = sorted(int(item["start"][:4]) for item in items)
    last = max(date.fromisoformat(item["end"]) - timedelta(days=1) for item in items).year
    skipped = int(len(starts) * (1 - OPENING_SHARE))
    return starts[0], last, starts[skipped]


def _year_sliders(first: int, last: int, opening: int) -> list[dict[str, Any]]:
    """Two range inputs under the chart choose the years shown (touch-friendly, no zoom
    gestures that would fight the page's scrolling)."""
    if first == last:
        return [{"name": "from_year", "value": first}, {"name": "to_year", "value": last}]
    slider = {"input": "range", "min": first, "max": last, "step": 1}
    return [
        {"name": "from_year", "value": opening, "bind": slider | {"name": "From "}},
        {"name": "to_year", "value": last, "bind": slider | {"name": "To "}},
    ]


def _status_channel() -> dict[str, Any]:
    """Fill and stroke both use this: same field, scale and legend, so one legend."""
    scale = {"domain": list(STATUSES), "range": [STATUS_COLOURS[s] for s in STATUSES]}
    legend = LEGEND | {"title": "Status"}
    return {"field": "status", "type": "nominal", "scale": scale, "legend": legend}


def _certainty_channels() -> dict[str, Any]:
    """Fill opacity and outline dash: an approximate date's mark is hollow and dashed."""
    # Vega-Lite's legend for the two shows only the dash; the fill is added to its symbols.
    hollow = f"datum.value === '{EXACT}' ? {OPACITY[0]} : {OPACITY[1]}"
    symbols = {"update": {"fillOpacity": {"signal": hollow}}}
    legend = LEGEND | {
        "title": "Date",
        "symbolType": "square",
        "symbolStrokeColor": "#444",
        "symbolFillColor": "#444",
        "symbolStrokeWidth": 1.5,
        "symbolOpacity": 1,
        "encode": {"symbols": symbols},
    }
    field = {"field": "certainty", "type": "ordinal", "sort": [EXACT, APPROXIMATE]}
    domain = [EXACT, APPROXIMATE]
    return {
        "fillOpacity": field | {"scale": {"domain": domain, "range": list(OPACITY)}},
        "strokeDash": field | {"scale": {"domain": domain, "range": [[1, 0], [4, 2]]},
                               "legend": legend},
    }  # fmt: skip


def _timeline_encoding() -> dict[str, Any]:
    x_domain = "[utc(min(from_year, to_year), 0, 1), utc(max(from_year, to_year) + 1, 0, 1)]"
    return {
        "x": {"field": "start", "type": "temporal", "title": None,
              "scale": {"type": "utc", "domain": {"expr": x_domain}},
              "axis": {"labelOverlap": True, "grid": True}},
        "y": {"field": "type", "type": "nominal", "title": None, "sort": list(EVENT_TYPES),
              "axis": {"labelLimit": 110}},
        "fill": _status_channel(),
        "stroke": _status_channel(),
        **_certainty_channels(),
        "tooltip": [{"field": "title", "title": "Event"},
                    {"field": "date_label", "title": "Date"},
                    {"field": "status", "title": "Status"}],
        "href": {"field": "url"},
        "description": {"field": "label"},
    }  # fmt: skip


def _timeline_layers() -> list[dict[str, Any]]:
    """Bars from the first to the last day of a span; points for single days."""
    common = {"clip": True, "cursor": "pointer", "strokeWidth": 1.5}
    return [
        {
            "transform": [{"filter": "datum.shape === 'span'"}],
            "mark": common | {"type": "bar", "height": {"band": 0.6}, "cornerRadius": 2},
            "encoding": {"x2": {"field": "end"}},
        },
        {
            "transform": [{"filter": "datum.shape === 'day'"}],
            "mark": common | {"type": "point", "filled": True, "size": 70},
        },
    ]


def timeline_spec(events: Iterable[Mapping[str, Any]]) -> Spec:
    """A horizontal timeline: one row per event type; a single day is a point, a month,
    a year or an interval a bar over all its days; colour says the status, a hollow
    mark with a dashed outline an approximate or uncertain date; a click opens the event.
    """
    items = [timeline_item(e) for e in events]
    if not items:
        return {}
    return {
        "description": "Timeline of the events: one row per type of event, time across.",
        "width": "container",
        "height": ROW * len({item["type"] for item in items}),
        "data": {"values": items},
        # each mark's aria-label, for screen readers (and the tests)
        "transform": [{"calculate": LABEL, "as": "label"}],
        "params": _year_sliders(*opening_years(items)),
        "encoding": _timeline_encoding(),
        "layer": _timeline_layers(),
    }


def _year_axis() -> dict[str, Any]:
    return {"field": "year", "type": "ordinal", "sort": "ascending", "title": None,
            "axis": {"labelAngle": 0, "labelOverlap": True}}  # fmt: skip


def per_year_spec(rows: list[Mapping[str, Any]], description: str) -> Spec:
    """Events per year, stacked by type. ``rows``: year, type, events and, where a
    click should lead somewhere, url."""
    if not rows:
        return {}
    present = {row["type"] for row in rows}
    encoding: dict[str, Any] = {
        "x": _year_axis(),
        "y": {"field": "events", "type": "quantitative", "title": "Events",
              "axis": {"tickMinStep": 1}},
        # every type keeps its colour on every chart; the legend lists the ones shown
        "color": {"field": "type", "type": "nominal",
                  "scale": {"domain": list(EVENT_TYPES), "scheme": "tableau20"},
                  "legend": LEGEND | {"title": "Type", "columns": 2,
                                      "values": [t for t in EVENT_TYPES if t in present]}},
        "order": {"field": "type_order", "type": "quantitative"},
        "tooltip": [{"field": "year", "type": "ordinal", "title": "Year"},
                    {"field": "type", "title": "Type"},
                    {"field": "events", "type": "quantitative", "title": "Events"}],
        "description": {"field": "label"},
    }  # fmt: skip
    values = [_per_year_value(row) for row in rows]
    if any("url" in row for row in rows):
        encoding["href"] = {"field": "url"}
    return {
        "description": description,
        "width": "container",
        "height": 220,
        "data": {"values": values},
        "mark": {"type": "bar", "cursor": "pointer" if "href" in encoding else "default"},
        "encoding": encoding,
    }


def _per_year_value(row: Mapping[str, Any]) -> dict[str, Any]:
    value = {key: row[key] for key in ("year", "type", "events", "url") if key in row}
    value["type_order"] = list(EVENT_TYPES).index(row["type"])
    value["label"] = f"{row['year']}: {row['events']} {row['type']}"
    return value


def actor_years_spec(rows: list[Mapping[str, Any]], description: str) -> Spec:
    """A heatmap of the most frequent actors' events per year. ``rows``: name, url, year,
    events, in the order the actors should be listed (most events first)."""
    if not rows:
        return {}
    names = list(dict.fromkeys(row["name"] for row in rows))
    values = [
        {key: row[key] for key in ("name", "url", "year", "events")}
        | {"label": f"{row['name']}, {row['year']}: {row['events']} events"}
        for row in rows
    ]
    return {
        "description": description,
        "width": "container",
        "height": ROW * len(names),
        "data": {"values": values},
        "mark": {"type": "rect", "cursor": "pointer", "stroke": "white", "strokeWidth": 1},
        "encoding": {
            "x": _year_axis(),
            "y": {"field": "name", "type": "nominal", "title": None, "sort": names,
                  "axis": {"labelLimit": 140}},
            "color": {"field": "events", "type": "quantitative", "scale": {"scheme": "blues"},
                      "legend": {"orient": "bottom", "title": "Events", "gradientLength": 120}},
            "tooltip": [{"field": "name", "title": "Actor"},
                        {"field": "year", "type": "ordinal", "title": "Year"},
                        {"field": "events", "type": "quantitative", "title": "Events"}],
            "href": {"field": "url"},
            "description": {"field": "label"},
        },
    }  # fmt: skip
