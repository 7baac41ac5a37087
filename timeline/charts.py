"""Vega-Lite specifications for the site's visual timeline and charts.

The site's pages embed these specs as JSON (``templates/_visual_macros.html``) and
``static/charts.js`` draws them with vega-embed. They are built here, in Python, so that
the data, the encodings and the rules about dates (a month-only event spans its whole
month; an approximate date looks approximate) sit in one place the tests can read.

Every spec sizes itself to its container (``width: "container"``: Vega-Lite fits the
chart, axes and legends included, into it), so a chart is never wider than a phone's
screen, and carries no URL of its own: data is inline.

The visual timeline's spec holds no events: ``static/timeline.js`` reads the whole record
from ``/-/timeline-overview.json`` and places its marks at the zoom the reader chose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .schema import EVENT_TYPES, STATUSES

# The site's status colours (static/site.css), so a chart and a badge agree.
STATUS_COLOURS = {
    "confirmed": "#1f6b2e",
    "reported": "#b08800",
    "disputed": "#c46a00",
    "refuted": "#9b1c1c",
}
# The charts' colour groups of event types: a reader tells eight colours apart, not
# seventeen, so each group is one colour and its types are told apart by the tooltip and
# the link. The one place that says which type goes where; every type of
# schema.EVENT_TYPES is in exactly one group (checked below, at import).
TYPE_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Agreements and treaties": ("#1f5fa8", ("treaty", "agreement", "contract",
                                            "joint-venture", "ratification")),
    "Orders, deliveries and aid": ("#a14f00", ("purchase", "delivery", "aid")),
    "Production": ("#6a3d9a", ("production",)),
    "Visits, talks and mediation": ("#007373", ("visit", "meeting", "mediation")),
    "Statements": ("#5c6166", ("statement",)),
    "Fighting and war": ("#b2182b", ("military-action", "war")),
    "Sanctions": ("#4a7c12", ("sanction",)),
    "Political change": ("#c0136e", ("political-change",)),
}  # fmt: skip
# Datasette's page background (its app.css, body): the charts are drawn on it, and every
# group colour keeps at least 3:1 contrast against it (WCAG 2.1's minimum for graphics).
BACKGROUND = "#f8fafb"
FONT_SIZE = 12  # every label and title of a chart, in pixels
LABELS = {
    "axis": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
    "legend": {"labelFontSize": FONT_SIZE, "titleFontSize": FONT_SIZE},
    "text": {"fontSize": FONT_SIZE},
}
CONFIG = {"background": BACKGROUND, **LABELS}
# Years on a chart's axis: every year from the first to the last, empty ones included,
# except that more than MAX_EMPTY_YEARS empty years in a row are one band marked as a gap
# ("1937–2013"), so 1936 is neither drawn beside 2014 nor 77 empty bands away from it.
# The visual timeline opens on the run of years between such gaps that holds most events.
MAX_EMPTY_YEARS = 4
GAP_FILL = "#e3e6e8"


def _group_of_type() -> dict[str, str]:
    group_of = {kind: group for group, (_, kinds) in TYPE_GROUPS.items() for kind in kinds}
    listed = [kind for _, kinds in TYPE_GROUPS.values() for kind in kinds]
    if len(listed) != len(group_of) or set(group_of) != set(EVENT_TYPES):
        raise ValueError(
            "charts.TYPE_GROUPS must hold every event type of schema.EVENT_TYPES exactly once: "
            f"missing {sorted(set(EVENT_TYPES) - set(group_of))}, "
            f"unknown {sorted(set(group_of) - set(EVENT_TYPES))}"
        )
    return group_of


GROUP_OF_TYPE = _group_of_type()
# A stacked bar lists a group's types together, in the order TYPE_GROUPS gives them.
TYPE_ORDER = [kind for _, kinds in TYPE_GROUPS.values() for kind in kinds]
EXACT, APPROXIMATE = "exact date", "approximate or uncertain date"
OPACITY = (0.7, 0.12)  # fill of an exact and of an approximate date's mark: solid, hollow
# Rows of the timeline and of the heatmap, in pixels. (A height in steps would do, but
# Vega-Lite then warns about the container width it fits.)
ROW = 22
LEGEND = {"orient": "bottom", "direction": "vertical"}
LABEL = (
    "datum.title + '; ' + datum.date_label + '; ' + datum.status + '; '"
    " + (datum.shape === 'day' ? 'a single day' : 'a span of time') + '; ' + datum.certainty"
)

Spec = dict[str, Any]


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


# The visual timeline of the whole record (static/timeline.js lays the events out): rows
# of events whose places are pixels the script computes at each zoom, so that marks on the
# same dates are stacked, never drawn over each other, and claims take the top lanes.
def _overview_marks(shape: str, claims: bool) -> dict[str, Any]:
    """The events of one shape (day: a point; span: a bar over its days), claims or not;
    claims are layered last, so drawn on top."""
    pixels = {"type": "quantitative", "scale": None, "axis": None}
    encoding: dict[str, Any] = {
        "x": {"field": "start", "type": "temporal"},
        "fill": _status_channel(),
        "stroke": _status_channel(),
        **_certainty_channels(),
        "tooltip": [{"field": "title", "title": "Event"},
                    {"field": "date_label", "title": "Date"},
                    {"field": "status", "title": "Status"}],
        "href": {"field": "url"},
        "description": {"field": "label"},
    }  # fmt: skip
    common = {"clip": True, "cursor": "pointer", "strokeWidth": 1.5}
    if shape == "span":
        mark = common | {"type": "bar", "cornerRadius": 2}
        encoding |= {"x2": {"field": "end"}, "y": {"field": "top", **pixels},
                     "y2": {"field": "bottom"}}  # fmt: skip
    else:
        mark = common | {"type": "point", "filled": True, "size": 110}
        encoding |= {"y": {"field": "middle", **pixels}}
    test = f"datum.shape === '{shape}' && {'' if claims else '!'}datum.claim"
    certainty = f"datum.vague ? '{APPROXIMATE}' : '{EXACT}'"
    return {"data": {"name": "events"},
            "transform": [{"filter": test}, {"calculate": certainty, "as": "certainty"},
                          {"calculate": LABEL, "as": "label"}],
            "mark": mark, "encoding": encoding}  # fmt: skip


def overview_spec() -> Spec:
    """The visual timeline of the whole record: a row per type of event (its name on a
    band), time across; a day is a point, a month, a year or an interval a bar over its
    days (at least a few pixels wide), colour says the status, a hollow dashed mark an
    approximate or uncertain date; a click opens the event. ``x_from`` and ``x_to`` (ms)
    are the range in view, the data (``events``, ``rows``) is the script's."""
    pixels = {"type": "quantitative", "scale": None, "axis": None}
    rows = {"data": {"name": "rows"}}
    return {
        "description": "Timeline of the whole record: one row per type of event, time across.",
        "width": "container",
        "height": ROW,
        "config": LABELS,
        "params": [{"name": "x_from", "value": 0}, {"name": "x_to", "value": 1}],
        "encoding": {"x": {"type": "temporal", "title": None,
                           "scale": {"type": "utc", "domain": {"expr": "[x_from, x_to]"}},
                           "axis": {"labelOverlap": True, "grid": True, "labelFontSize": 12}}},
        "layer": [
            # the rows' bands and names: decoration, left out of the accessibility tree
            rows | {"mark": {"type": "rect", "fill": "#f3f4ef", "aria": False},
                    "encoding": {"x": {"value": 0}, "x2": {"value": "width"},
                                 "y": {"field": "top", **pixels}, "y2": {"field": "bottom"}}},
            rows | {"mark": {"type": "text", "align": "left", "baseline": "top", "dx": 4,
                             "dy": 2, "fontSize": 12, "fill": "#444", "aria": False},
                    "encoding": {"x": {"value": 0}, "y": {"field": "top", **pixels},
                                 "text": {"field": "label"}}},
            *(_overview_marks(shape, claims) for claims in (False, True)
              for shape in ("span", "day")),
        ],
    }  # fmt: skip


def brush_spec() -> Spec:
    """The whole record as events per year, with a brush: the range the timeline shows,
    to drag, resize or draw anew (``static/timeline.js`` keeps the two in step)."""
    return {
        "description": "Events per year over the whole record; the shaded range is in view.",
        "width": "container",
        "height": 44,
        "config": LABELS,
        "data": {"name": "years"},
        # the script sets the domains (an empty chart's extents would be infinite)
        "params": [{"name": "x_min", "value": 0}, {"name": "x_max", "value": 1},
                   {"name": "y_max", "value": 1},
                   {"name": "brush", "select": {"type": "interval", "encodings": ["x"],
                                                 "zoom": False}}],
        "mark": {"type": "bar", "color": "#7a8a8a"},
        "encoding": {
            "x": {"field": "start", "type": "temporal", "title": None,
                  "scale": {"type": "utc", "domain": {"expr": "[x_min, x_max]"}},
                  "axis": {"labelOverlap": True, "labelFontSize": 12, "tickCount": 8}},
            "x2": {"field": "end"},
            "y": {"field": "events", "type": "quantitative", "title": None, "stack": None,
                  "axis": None, "scale": {"type": "sqrt", "domain": {"expr": "[0, y_max]"}}},
            "tooltip": [{"field": "year", "title": "Year"},
                        {"field": "events", "title": "Events"}],
        },
    }  # fmt: skip


def year_bands(years: Iterable[int]) -> list[str]:
    """The bands of a year axis, in order: each year from the first to the last as its
    own band, but a run of more than MAX_EMPTY_YEARS years without events as one band
    named by its first and last year ("1937–2013")."""
    present = sorted(set(years))
    bands: list[str] = []
    for year, following in zip(present, [*present[1:], None], strict=True):
        bands.append(str(year))
        if following is None:
            break
        if following - year - 1 > MAX_EMPTY_YEARS:
            bands.append(f"{year + 1}–{following - 1}")
        else:
            bands.extend(str(empty) for empty in range(year + 1, following))
    return bands


def _year_axis(bands: list[str], padding: float) -> dict[str, Any]:
    # "band" holds the year as text: a gap's band is text too, and one scale takes both.
    # The padding is set, not left to each layer's mark (a rect's 0 would win over a bar's).
    scale = {"domain": bands, "paddingInner": padding}
    return {"field": "band", "type": "ordinal", "title": None, "scale": scale,
            "axis": {"labelAngle": 0, "labelOverlap": True}}  # fmt: skip


def _with_gaps(spec: Spec, bands: list[str]) -> Spec:
    """The chart, and over each gap of its year axis a grey band saying no event falls
    there: the gap is marked, not mistaken for a year."""
    gaps = [band for band in bands if "–" in band]
    if not gaps:
        return spec
    first_last = [band.split("–") for band in gaps]
    values = [{"band": band, "label": f"No events from {first} to {last}"}
              for band, (first, last) in zip(gaps, first_last, strict=True)]  # fmt: skip
    x = spec["encoding"]["x"]
    gap_layer = {
        "name": "gaps",
        "data": {"values": values},
        "mark": {"type": "rect", "fill": GAP_FILL},
        "encoding": {"x": x, "y": {"value": 0}, "y2": {"value": "height"},
                     "tooltip": {"field": "label"}, "description": {"field": "label"}},
    }  # fmt: skip
    text_layer = {
        "name": "gap_labels",
        "data": {"values": values},
        "mark": {"type": "text", "text": "no events", "angle": 270, "fill": "#444",
                 "y": {"expr": "height / 2"}, "aria": False},
        "encoding": {"x": x},
    }  # fmt: skip
    # the chart's own layer reads the spec's data; the gaps bring theirs
    chart = {key: spec.pop(key) for key in ("mark", "encoding")}
    return spec | {"layer": [gap_layer, text_layer, chart]}


def per_year_spec(
    rows: list[Mapping[str, Any]], description: str, years: Iterable[int] | None = None
) -> Spec:
    """Events per year, stacked by type, coloured by the type's group. ``rows``: year,
    type, events and, where a click should lead somewhere, url; ``years``: those the axis
    spans (by default the rows')."""
    if not rows:
        return {}
    bands = year_bands(row["year"] for row in rows) if years is None else year_bands(years)
    shown = {GROUP_OF_TYPE[row["type"]] for row in rows}
    encoding: dict[str, Any] = {
        "x": _year_axis(bands, padding=0.1),
        "y": {"field": "events", "type": "quantitative", "title": "Events",
              "axis": {"tickMinStep": 1}},
        # every group keeps its colour on every chart; the legend lists the ones shown
        "color": {"field": "group", "type": "nominal",
                  "scale": {"domain": list(TYPE_GROUPS),
                            "range": [colour for colour, _ in TYPE_GROUPS.values()]},
                  "legend": LEGEND | {"title": "Type", "columns": 2, "labelLimit": 260,
                                      "values": [g for g in TYPE_GROUPS if g in shown]}},
        "order": {"field": "type_order", "type": "quantitative"},
        "tooltip": [{"field": "year", "type": "ordinal", "title": "Year"},
                    {"field": "type", "title": "Type"},
                    {"field": "events", "type": "quantitative", "title": "Events"}],
        "description": {"field": "label"},
    }  # fmt: skip
    values = [_per_year_value(row) for row in rows]
    if any("url" in row for row in rows):
        encoding["href"] = {"field": "url"}
    # a white edge between segments: two types of one group stay two segments
    mark = {"type": "bar", "stroke": "white", "strokeWidth": 0.5,
            "cursor": "pointer" if "href" in encoding else "default"}  # fmt: skip
    spec = {"description": description, "width": "container", "height": 220, "config": CONFIG,
            "data": {"values": values}, "mark": mark, "encoding": encoding}  # fmt: skip
    return _with_gaps(spec, bands)


def _per_year_value(row: Mapping[str, Any]) -> dict[str, Any]:
    value = {key: row[key] for key in ("year", "type", "events", "url") if key in row}
    value |= {"band": str(row["year"]), "group": GROUP_OF_TYPE[row["type"]],
              "type_order": TYPE_ORDER.index(row["type"]),
              "label": f"{row['year']}: {row['events']} {row['type']}"}  # fmt: skip
    return value


# Room for an actor's name beside the heatmap: whole names ("Ministry of Foreign Affairs of
# Türkiye", "Naval Forces of the Armed Forces of Ukraine") where the page is wide enough, a
# shortened one on a phone. By the container's width, not the chart's: the chart's width is
# what is left beside the labels.
ACTOR_LABEL_LIMIT = "containerSize()[0] >= 640 ? 280 : 140"


def actor_years_spec(
    rows: list[Mapping[str, Any]], description: str, years: Iterable[int] | None = None
) -> Spec:
    """A heatmap of the most frequent actors' events per year. ``rows``: name, url, year,
    events, in the order the actors should be listed (most events first); ``years``: those
    the axis spans (by default the rows')."""
    if not rows:
        return {}
    bands = year_bands(row["year"] for row in rows) if years is None else year_bands(years)
    names = list(dict.fromkeys(row["name"] for row in rows))
    values = [
        {key: row[key] for key in ("name", "url", "year", "events")}
        | {"band": str(row["year"]),
           "label": f"{row['name']}, {row['year']}: {row['events']} events"}
        for row in rows
    ]  # fmt: skip
    spec = {
        "description": description,
        "width": "container",
        "height": ROW * len(names),
        "config": CONFIG,
        "data": {"values": values},
        "mark": {"type": "rect", "cursor": "pointer", "stroke": "white", "strokeWidth": 1},
        "encoding": {
            "x": _year_axis(bands, padding=0),
            "y": {"field": "name", "type": "nominal", "title": None, "sort": names,
                  "axis": {"labelLimit": {"expr": ACTOR_LABEL_LIMIT}}},
            "color": {"field": "events", "type": "quantitative", "scale": {"scheme": "blues"},
                      "legend": {"orient": "bottom", "title": "Events", "gradientLength": 120}},
            "tooltip": [{"field": "name", "title": "Actor"},
                        {"field": "year", "type": "ordinal", "title": "Year"},
                        {"field": "events", "type": "quantitative", "title": "Events"}],
            "href": {"field": "url"},
            "description": {"field": "label"},
        },
    }  # fmt: skip
    return _with_gaps(spec, bands)
