"""The visual timeline of the whole record (static/timeline.js) in a real Chromium, against a
real `timeline serve` of the real events.yaml: zoomed by wheel, drag, pinch, buttons and the
brush from the whole record to a single month, with every event of that month drawn apart
and clickable, claims on top at every zoom, the range in the address and the list following
it, on a desktop and on a 375 px phone. One test serves a small file laid out for a case the record
may not always hold (a day's point reaching left of an earlier span). Screenshots go to
test-artifacts/.

A mark is found by its aria-label (the event's title first); "visible and clickable" means
the mark lies inside the chart and is the element the browser finds at its centre.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from browsing import ARTIFACTS, OVERVIEW_DATA, enlarged_overview, served
from support import REAL, build, timeline_of, write_yaml

from timeline import charts
from timeline.schema import CLAIM_STATUSES

pytestmark = pytest.mark.browser

FIGURE = "#visual-timeline"
FEBRUARY = ("2022-02-01", "2022-02-28")
MIN_MARK = 10  # px: the smallest mark a finger can hit (static/timeline.js draws >= 12)
# Each drawn event mark: its label, its box, and whether it is what a click at its centre hits.
MARKS = """figure => {
    const view = figure.querySelector(".overview-view");
    const plot = view.querySelector("svg").getBoundingClientRect();  // (left: not scrolled)
    const origin = figure.overview.view.padding().left + figure.overview.view.origin()[0];
    const width = figure.overview.view.width();
    return [...view.querySelectorAll('svg [role="graphics-symbol"][aria-label*="; "]')]
        .map(mark => {
            mark.scrollIntoView({block: "center", inline: "center"});  // elementFromPoint needs it
            const r = mark.getBoundingClientRect();
            // the centre of the part in the chart (a span may run past its edges, clipped)
            const left = Math.max(r.left, plot.left + origin);
            const right = Math.min(r.right, plot.left + origin + width);
            const x = (left + right) / 2, y = r.top + r.height / 2;
            const hit = document.elementFromPoint(x, y);
            return {label: mark.getAttribute("aria-label"), left: r.left, right: r.right,
                    top: r.top + scrollY, bottom: r.bottom + scrollY,  // page coordinates
                    width: right - left, height: r.height,
                    inside: x >= plot.left + origin && x <= plot.left + origin + width,
                    onTop: hit === mark};
        });
}"""
STATE = """figure => ({from: figure.overview.from, to: figure.overview.to,
    hidden: Number(figure.dataset.hidden), marks: Number(figure.dataset.marks)})"""
# Where days lie on a chart's x scale, in the window's pixels (the .chart-view holding it).
X_AT = """(container, days) => { const view = container.vegaView;
    const svg = container.querySelector("svg").getBoundingClientRect();
    const left = svg.left + view.padding().left + view.origin()[0];
    return days.map(day => left + view.scale("x")(new Date(day))); }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory, REAL)


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> list[dict]:
    """The events of the served file, from a database built from it as the server does."""
    db = sqlite3.connect(build(REAL, tmp_path_factory.mktemp("events")))
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("select * from events order by sort_key, id")]
    finally:
        db.close()


# A row laid out at 0.2 px a day (a month is one 12 px mark), with the day D just after the
# span X starting 5 days earlier: D's point reaches 6 px left of its day, so D's mark starts
# left of X's. The claims take two lanes (A, B in the first; C, E in the second, E leaving
# room for D but not for X). Laid out in date order, X went first and moved the second
# lane past C, and D was then drawn on C. Positions from A's day, in px: A 0, C 6, B 18.4,
# X 20, D 21 (its point 15-27), E 30.
LANES_ORIGIN = "2006-11-01"
LANES_PX_PER_DAY = 0.2
LANES_EVENTS = [  # (id, date, claim)
    ("a", "2006-11", True),
    ("c", "2006-12", True),
    ("b", "2007-02", True),
    ("x", "2007-02-09/2007-02-20", False),
    ("d", "2007-02-14", False),
    ("e", "2007-03-31/2007-04-10", True),
]


# One day with more claims of a kind than a row has lanes for the others, and one event of
# that kind and day that is not a claim (as the record's 24 February 2022: four claims of
# military action and a ship hit off Odesa).
CROWDED_DAY = "2010-05-10"
CROWDED_EVENTS = [(f"claim-{n}", CROWDED_DAY, True) for n in range(5)] + [
    ("other", CROWDED_DAY, False)
]


def lanes_timeline(events: list[tuple[str, str, bool]] = LANES_EVENTS) -> dict:
    """The events given (by default those above) as statements, with two meetings far apart
    so that the range the test zooms to lies inside the whole record."""
    rows = [(f"far-{d[:4]}", d, "meeting", False) for d in ("2005-06-01", "2026-06-01")]
    rows += [(f"lane-{i}", d, "statement", claim) for i, d, claim in events]
    someone = {"id": "someone", "name": "Someone", "kind": "person", "country": "TR"}
    return timeline_of([
        {"id": event_id, "date": day, "title": f"Mark {event_id}", "type": kind,
         "status": "reported" if claim else "confirmed",
         "actors": [{"actor": "someone", "role": "claimant" if claim else "speaker"}]}
        for event_id, day, kind, claim in rows
    ], [someone])  # fmt: skip


@pytest.fixture(scope="module")
def lanes_server(tmp_path_factory):
    path = write_yaml(lanes_timeline(), tmp_path_factory.mktemp("lanes") / "events.yaml")
    yield from served(tmp_path_factory, path)


@pytest.fixture(scope="module")
def crowded_server(tmp_path_factory):
    path = write_yaml(
        lanes_timeline(CROWDED_EVENTS), tmp_path_factory.mktemp("crowded") / "events.yaml"
    )
    yield from served(tmp_path_factory, path)


def figure(page):
    return page.locator(FIGURE)


def wait_drawn(page) -> None:
    page.wait_for_selector(f"{FIGURE}[data-overview-state=drawn]")


def opened(page, url: str) -> None:
    page.goto(url)
    wait_drawn(page)


def state(page) -> dict:
    return figure(page).evaluate(STATE)


def days(page) -> float:
    s = state(page)
    return (s["to"] - s["from"]) / 86_400_000


def marks(page) -> dict[str, dict]:
    """Drawn event marks by the event title their label starts with."""
    page.mouse.move(1, 1)  # no tooltip over the marks
    return {m["label"]: m for m in figure(page).evaluate(MARKS)}


def mark_of(drawn: dict[str, dict], title: str) -> dict:
    found = [m for label, m in drawn.items() if label.startswith(title + "; ")]
    assert len(found) == 1, (title, len(found))
    return found[0]


def mark_element(page, title: str):
    found = page.locator(f'{FIGURE} svg [role="graphics-symbol"][aria-label^="{title}; "]')
    assert found.count() == 1, title
    return found


def x_of(page, day: str, chart: str = ".overview-view") -> float:
    return page.locator(f"{FIGURE} {chart}").evaluate(X_AT, [day])[0]


def chart_y(page) -> float:
    """A height just inside the chart's top, with the chart's top in the window."""
    chart = page.locator(f"{FIGURE} .overview-view")
    chart.evaluate("element => element.scrollIntoView({block: 'start'})")
    return chart.bounding_box()["y"] + 8


def overlapping(drawn: list[dict]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(drawn):
        for b in drawn[i + 1 :]:
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] \
                    and b["top"] < a["bottom"]:  # fmt: skip
                pairs.append((a["label"], b["label"]))
    return pairs


def overlaps(event: dict, first: str, last: str) -> bool:
    return event["date_start"] <= last and event["date_end"] >= first


def wheel_to(page, day: str, most_days: float, fewest_days: float) -> None:
    """Zoom with the mouse wheel at ``day`` until between fewest and most days show."""
    for _ in range(40):
        span = days(page)
        if fewest_days <= span <= most_days:
            return
        page.mouse.move(x_of(page, day), chart_y(page))
        page.mouse.wheel(0, -300 if span > most_days else 100)
        wait_drawn(page)
    pytest.fail(f"could not zoom to {fewest_days}-{most_days} days (at {days(page)})")


def drag_chart(page, from_x: float, to_x: float) -> None:
    y = chart_y(page)
    page.mouse.move(from_x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(from_x + (to_x - from_x) * step / 5, y)
    page.mouse.up()
    wait_drawn(page)


def to_february(page) -> None:
    """From the whole record to February 2022, by wheel and drag, as a reader would."""
    wheel_to(page, "2022-02-15", 45, 30)
    box = page.locator(f"{FIGURE} .overview-view").bounding_box()
    drag_chart(page, x_of(page, "2022-02-15"), box["x"] + box["width"] / 2)
    s = state(page)
    first, last = (day_of(s[k]) for k in ("from", "to"))
    assert first <= date(2022, 2, 1) and last >= date(2022, 3, 1), (first, last)


def day_of(ms: float) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def shot(page, name: str) -> None:
    figure(page).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def whole_record(page) -> None:
    page.click(f"{FIGURE} [data-zoom=all]")
    wait_drawn(page)


def main_run(events: list[dict]) -> tuple[list[dict], list[dict]]:
    """The events of the run of years the timeline opens on (where most events start,
    between gaps of more than charts.MAX_EMPTY_YEARS empty years), and the others."""
    years = sorted({int(e["date_start"][:4]) for e in events})
    runs = [[years[0]]]
    for year in years[1:]:
        if year - runs[-1][-1] - 1 > charts.MAX_EMPTY_YEARS:
            runs.append([])
        runs[-1].append(year)
    starts = [int(e["date_start"][:4]) for e in events]
    main = max(reversed(runs), key=lambda run: sum(run[0] <= y <= run[-1] for y in starts))
    inside = [e for e in events if main[0] <= int(e["date_start"][:4]) <= main[-1]]
    return inside, [e for e in events if e not in inside]


def test_the_timeline_opens_on_the_years_that_hold_most_events_and_says_what_it_leaves_out(
    page, server, events
):
    inside, outside = main_run(events)
    # the real record: one event (the Montreux treaty, 1936) long before the rest
    assert len(outside) == 1 and outside[0]["date_start"].startswith("1936")
    opened(page, f"{server}/timeline")
    assert page.url == f"{server}/timeline"  # the address changes once the reader zooms
    s = state(page)
    first, last = day_of(s["from"]), day_of(s["to"])
    assert first <= date.fromisoformat(inside[0]["date_start"])
    assert first > date.fromisoformat(outside[-1]["date_end"])
    assert last > max(date.fromisoformat(e["date_end"]) for e in inside)
    assert s["marks"] + s["hidden"] == len(inside)
    note = page.locator(f"{FIGURE} .overview-outside")
    assert note.inner_text() == (
        f"Opened on {inside[0]['date_start'][:4]}–{inside[-1]['date_start'][:4]}, the years "
        f"that hold most of these events; {len(outside)} event from 1936 is outside this "
        "range: “Whole record” shows every one."
    )
    assert all(label.split(";")[0] != outside[0]["title"] for label in marks(page))
    whole_record(page)
    assert note.is_hidden()  # said only of the range the page opened on
    assert state(page)["marks"] + state(page)["hidden"] == len(events)


def test_the_whole_record_is_drawn_and_nothing_is_lost_silently(page, server, events):
    opened(page, f"{server}/timeline")
    whole_record(page)
    s = state(page)
    assert day_of(s["from"]) <= date.fromisoformat(events[0]["date_start"])
    last_end = max(date.fromisoformat(e["date_end"]) for e in events)
    assert day_of(s["to"]) > last_end
    # every event is drawn, or counted on the page as too close to others at this zoom
    assert s["marks"] + s["hidden"] == len(events)
    note = page.locator(f"{FIGURE} .overview-crowded").inner_text()
    assert (f"{s['hidden']} events are too close" in note) == (s["hidden"] > 0)
    drawn = marks(page)
    mark_of(drawn, events[0]["title"])  # the 1936 treaty is on the axis
    assert overlapping(list(drawn.values())) == []
    shot(page, "30-timeline-whole-record")


# More events than a script can spread into one call's arguments (Chromium's stack holds
# about 125,000): the record's first and last dates must be found another way.
LARGE_RECORD = 130_000


def test_a_record_too_large_to_spread_into_one_call_is_drawn(page, server, events):
    copies = -(-LARGE_RECORD // len(events))
    page.route(OVERVIEW_DATA, enlarged_overview(copies, LARGE_RECORD))
    page.goto(f"{server}/timeline")
    done = page.wait_for_selector(
        ", ".join(f"{FIGURE}[data-overview-state={end}]" for end in ("drawn", "failed"))
    )
    assert done.get_attribute("data-overview-state") == "drawn"
    whole_record(page)
    s = state(page)
    assert s["marks"] + s["hidden"] == LARGE_RECORD


def test_zoom_to_february_2022_shows_every_event_of_the_month_clickable(page, server, events):
    opened(page, f"{server}/timeline")
    to_february(page)
    assert state(page)["hidden"] == 0
    # the brush under the chart marks where February lies in the whole record, visibly
    left, middle, right = page.locator(f"{FIGURE} .overview-brush").evaluate(
        """element => { const view = element.vegaView, brush = view.signal("brush_x");
            return [brush[0], view.scale("x")(new Date("2022-02-15")), brush[1]]; }"""
    )
    assert right - left >= 5 and left <= middle <= right
    drawn = marks(page)
    month = [e for e in events if overlaps(e, *FEBRUARY)]
    assert len(month) >= 10
    for event in month:
        m = mark_of(drawn, event["title"])
        assert m["inside"] and m["onTop"], event["id"]
        assert m["width"] >= MIN_MARK and m["height"] >= MIN_MARK, event["id"]
    shot(page, "31-timeline-february-2022")
    # a mark opens its event
    invasion_day = [e for e in month if e["date_start"] == "2022-02-24"]
    # (Playwright clicks only what is hit at the mark's centre: the mark itself)
    mark_element(page, invasion_day[0]["title"]).click()
    page.wait_for_url(f"**/record/events/{invasion_day[0]['id']}")


def test_marks_on_the_same_day_are_stacked_not_drawn_over_each_other(page, server, events):
    opened(page, f"{server}/timeline")
    to_february(page)
    same_day = [e for e in events if e["date_start"] == e["date_end"] == "2022-02-24"]
    assert len(same_day) >= 4
    drawn = marks(page)
    day = [mark_of(drawn, e["title"]) for e in same_day]
    assert overlapping(day) == []
    assert overlapping(list(drawn.values())) == []
    # same day, same place across: one above the other
    centres = {round((m["left"] + m["right"]) / 2) for m in day if m["width"] < 20}
    assert max(centres) - min(centres) <= 1


def test_claims_are_drawn_on_top_at_every_zoom(page, server, events):
    opened(page, f"{server}/timeline")
    claims = [e for e in events if e["status"] in CLAIM_STATUSES]
    assert len(claims) >= 5

    def check(label: str) -> None:
        s = state(page)
        first = day_of(s["from"]).isoformat()
        last = (day_of(s["to"]) - timedelta(days=1)).isoformat()
        drawn = marks(page)
        in_view = [e for e in claims if overlaps(e, first, last)]
        assert in_view, label
        for claim in in_view:
            m = mark_of(drawn, claim["title"])
            assert m["onTop"] and m["width"] >= MIN_MARK, (label, claim["id"])

    check("as the page opens")
    whole_record(page)
    check("whole record")
    wheel_to(page, "2022-06-01", 800, 300)
    check("about a year")
    to_february(page)
    check("February 2022")


def test_the_range_is_kept_in_the_address_and_the_list_follows_it(page, server, events):
    opened(page, f"{server}/timeline")
    to_february(page)
    view = parse_qs(urlparse(page.url).query)["view"][0]
    assert view == figure(page).get_attribute("data-range")
    # the shared address opens on the same range
    first = state(page)
    opened(page, page.url)
    again = state(page)
    assert abs(again["from"] - first["from"]) <= 86_400_000
    assert abs(again["to"] - first["to"]) <= 86_400_000
    # the list under the chart follows the range in view
    link = page.locator(f"{FIGURE} .overview-list-link")
    query = parse_qs(urlparse(link.get_attribute("href")).query)
    start, end = view.split("..")
    assert (query["from"], query["to"]) == ([start], [end])
    link.click()
    wait_drawn(page)
    listed = page.locator("li.event").evaluate_all("items => items.map(i => i.id.slice(6))")
    expected = [e["id"] for e in events if overlaps(e, start, end)]
    assert listed == expected and listed
    assert figure(page).get_attribute("data-range") == view


def test_the_buttons_and_the_brush_move_the_range(page, server, events):
    opened(page, f"{server}/timeline")
    whole_record(page)
    whole = days(page)
    page.click(f"{FIGURE} [data-zoom=in]")
    wait_drawn(page)
    assert days(page) == pytest.approx(whole / 2, rel=0.01)
    before = state(page)
    page.click(f"{FIGURE} [data-zoom=earlier]")
    wait_drawn(page)
    assert state(page)["from"] < before["from"]
    page.click(f"{FIGURE} [data-zoom=all]")
    wait_drawn(page)
    assert days(page) == pytest.approx(whole)
    # draw a brush over 2014-2023 on the strip under the chart
    brush = page.locator(f"{FIGURE} .overview-brush")
    brush.scroll_into_view_if_needed()
    at = [x_of(page, day, ".overview-brush") for day in ("2014-01-01", "2023-01-01")]
    y = brush.bounding_box()["y"] + 15
    page.mouse.move(at[0], y)
    page.mouse.down()
    page.mouse.move((at[0] + at[1]) / 2, y)
    page.mouse.move(at[1], y)
    page.mouse.up()
    wait_drawn(page)
    s = state(page)
    year = 366 * 86_400_000
    assert day_of(s["from"]).year in (2013, 2014)
    assert abs(s["to"] - s["from"] - 9 * year) < year


def test_on_a_375_px_phone_the_timeline_is_usable_by_touch(phone, server, events):
    opened(phone, f"{server}/timeline")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    drawn = marks(phone)  # every claim of the years it opens on, even on a phone
    inside, _ = main_run(events)
    for claim in (e for e in inside if e["status"] in CLAIM_STATUSES):
        assert mark_of(drawn, claim["title"])["onTop"], claim["id"]
    shot(phone, "35-timeline-phone-opening")
    # across the whole record a phone has no room for every claim: what is not drawn is
    # counted, and the page says so
    phone.tap(f"{FIGURE} [data-zoom=all]")
    wait_drawn(phone)
    s = state(phone)
    assert s["marks"] + s["hidden"] == len(events)
    note = phone.locator(f"{FIGURE} .overview-crowded").inner_text()
    assert (f"{s['hidden']} events are too close" in note) == (s["hidden"] > 0)
    shot(phone, "34-timeline-phone-whole-record")
    for button in phone.locator(f"{FIGURE} [data-zoom]").all():
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
    whole = days(phone)
    phone.tap(f"{FIGURE} [data-zoom=in]")
    wait_drawn(phone)
    assert days(phone) == pytest.approx(whole / 2, rel=0.01)
    pinch(phone, spread=3)
    wait_drawn(phone)
    assert days(phone) < whole / 4  # pinching apart zoomed in
    shot(phone, "32-timeline-phone-pinched")
    # a shared address of February 2022: every mark of the month is big enough to tap
    opened(phone, f"{server}/timeline?view=2022-02-01..2022-02-28")
    drawn = marks(phone)
    month = [e for e in events if overlaps(e, *FEBRUARY)]
    for event in month:
        m = mark_of(drawn, event["title"])
        assert m["onTop"] and m["width"] >= MIN_MARK and m["height"] >= MIN_MARK, event["id"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "33-timeline-phone-february-2022")
    mark_element(phone, month[0]["title"]).tap()
    phone.wait_for_url(f"**/record/events/{month[0]['id']}")


def pinch(page, spread: float) -> None:
    """Two fingers on the chart moving apart (spread > 1) or together, through Chromium's
    touch input (Playwright has no multi-touch gesture of its own)."""
    box = page.locator(f"{FIGURE} .overview-view").bounding_box()
    cx, y = box["x"] + box["width"] / 2, box["y"] + 20
    cdp = page.context.new_cdp_session(page)
    try:
        gap = 30.0

        def points(g: float) -> list[dict]:
            return [{"x": cx - g, "y": y, "id": 1}, {"x": cx + g, "y": y, "id": 2}]

        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(gap)})
        for step in range(1, 11):
            g = gap * (1 + (spread - 1) * step / 10)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(g)})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def test_filters_no_event_matches_leave_a_plain_note(page, server):
    page.goto(f"{server}/timeline?tag=no-such-tag")
    page.wait_for_selector(f"{FIGURE}[data-overview-state=empty]")
    assert page.locator(f"{FIGURE} .overview-view").inner_text() == "No event to draw."
    assert page.locator(f"{FIGURE} .overview-controls").is_hidden()


def test_a_day_drawn_left_of_an_earlier_span_stays_off_the_claims(page, lanes_server):
    opened(page, f"{lanes_server}/timeline")
    whole_record(page)  # (the note on the opening range goes: the chart keeps its width)
    origin = datetime.fromisoformat(LANES_ORIGIN).replace(tzinfo=UTC).timestamp() * 1000
    figure(page).evaluate(
        """(figure, [from, perDay]) => { const overview = figure.overview;
            overview.show(from, from + overview.view.width() / perDay * 86400000); }""",
        [origin - 30 * 86_400_000, LANES_PX_PER_DAY],
    )
    wait_drawn(page)
    assert days(page) == pytest.approx(figure(page).evaluate(
        "figure => figure.overview.view.width()") / LANES_PX_PER_DAY)  # fmt: skip
    drawn = marks(page)
    assert sorted(label.split(";")[0] for label in drawn) == [
        f"Mark lane-{i}" for i, *_ in sorted(LANES_EVENTS)
    ]
    assert state(page)["hidden"] == 0
    assert overlapping(list(drawn.values())) == []


def test_a_day_crowded_with_claims_still_shows_its_other_events_when_zoomed_in(
    page, crowded_server
):
    """The claims take more lanes than the others are given; the others still get lanes of
    their own, so the closest zoom draws every event of the day, none over another."""
    opened(page, f"{crowded_server}/timeline?view=2010-05-03..2010-05-16")
    assert days(page) == pytest.approx(14)
    drawn = marks(page)
    assert sorted(label.split(";")[0] for label in drawn) == sorted(
        f"Mark lane-{i}" for i, *_ in CROWDED_EVENTS
    )
    assert state(page)["hidden"] == 0
    assert all(m["onTop"] for m in drawn.values())
    assert overlapping(list(drawn.values())) == []
