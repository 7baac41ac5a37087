"""The visual timeline and the charts in a real Chromium, against a real `timeline serve`:
drawn by the site's own copy of Vega-Lite under the site's Content-Security-Policy, with no
console errors or warnings, the marks where the dates put them, clicks that lead somewhere.

The charts are drawn as SVG whose marks carry aria-labels; the tests find marks by label and
compare their size with the chart's own x scale (the Vega view, kept on the container).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browsing import ARTIFACTS, checked_page, open_page, served
from support import SMALL, contrast, timeline_of, write_yaml

from timeline import charts

pytestmark = pytest.mark.browser

TIMELINE = "#visual-timeline"
MONTH_EVENT = "Claim that the drone fleet was destroyed"  # "2022-02~": a month, approximate
YEAR_EVENT = "Baykar and Ukrspecexport sign a cooperation agreement"  # "2019": a year
DAY_EVENT = "Russia suspends flights to Turkey"  # "2021-04-15": a day
EVAL_PROBE = (
    "window.evalProbe = (() => { try { new Function('return 1')(); return 'allowed'; }"
    " catch (error) { return error.name; } })();"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory, SMALL)


@pytest.fixture
def phone(browser):
    yield from checked_page(browser, width=390)


# An actor whose name is wider than the room a phone's heatmap gives its labels.
LONG_NAME = "Naval Forces of the Armed Forces of Ukraine"


@pytest.fixture(scope="module")
def long_name_server(tmp_path_factory):
    navy = {"id": "navy", "name": LONG_NAME, "kind": "armed-forces", "country": "UA"}
    drill = {"id": "drill", "date": "2021-05-01", "type": "meeting", "status": "confirmed",
             "actors": [{"actor": "navy", "role": "participant"}]}  # fmt: skip
    data = timeline_of([drill], [navy])
    path = write_yaml(data, tmp_path_factory.mktemp("long-name") / "events.yaml")
    yield from served(tmp_path_factory, path)


def drawn(page, chart: str) -> None:
    page.wait_for_selector(f"{chart} .chart-view[data-chart-state]")
    assert page.get_attribute(f"{chart} .chart-view", "data-chart-state") == "drawn"


def mark(page, chart: str, label: str):
    """The one SVG mark whose aria-label starts with ``label``."""
    marks = page.locator(f'{chart} svg [role="graphics-symbol"][aria-label^="{label}"]')
    assert marks.count() == 1, label
    return marks.first


def extent(element) -> tuple[float, float]:
    """Left edge and width of a mark, in the chart's coordinates (getBBox, plus the mark's
    own translation, which Vega uses for points; Chromium's client rectangle would add a
    margin for the stroke's miter joins)."""
    return tuple(
        element.evaluate("""e => {
        const box = e.getBBox(), moved = e.transform.baseVal.consolidate();
        return [box.x + (moved ? moved.matrix.e : 0), box.width];
    }""")
    )


def x_at(page, chart: str, day: str) -> float:
    """Where a day (ISO, UTC midnight) lies on the chart's own x scale."""
    return page.evaluate(
        """([chart, day]) => document.querySelector(chart + " .chart-view").vegaView
            .scale("x")(new Date(day))""",
        [chart, day],
    )


def assert_spans(page, element, first_day: str, day_after: str) -> None:
    """The mark covers first_day to the end of the day before day_after, to half a pixel
    (a day is ~1.8 pixels when the chart shows one year across 1280)."""
    left, width = extent(element)
    start, end = x_at(page, TIMELINE, first_day), x_at(page, TIMELINE, day_after)
    assert (left, width) == (pytest.approx(start, abs=0.5), pytest.approx(end - start, abs=0.5))


def choose_years(page, server: str, first: int, last: int) -> None:
    """Open the timeline on these years, as its address keeps them (?view=)."""
    page.goto(f"{server}/timeline?view={first}-01-01..{last}-12-31")
    page.wait_for_selector(f"{TIMELINE}[data-overview-state=drawn]")
    domain = page.evaluate(
        """chart => document.querySelector(chart + " .chart-view").vegaView.scale("x")
            .domain().map(d => d.toISOString().slice(0, 10))""",
        TIMELINE,
    )
    assert domain == [f"{first}-01-01", f"{last + 1}-01-01"]


def shot(page, selector: str, name: str) -> None:
    page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_the_visual_timeline_draws_days_as_points_and_months_and_years_as_bars(page, server):
    choose_years(page, server, 2022, 2022)
    month = mark(page, TIMELINE, MONTH_EVENT)
    assert month.get_attribute("aria-roledescription") == "bar"
    assert_spans(page, month, "2022-02-01", "2022-03-01")  # all of February
    shot(page, TIMELINE, "20-visual-timeline-2022")
    choose_years(page, server, 2019, 2019)
    year = mark(page, TIMELINE, YEAR_EVENT)
    assert year.get_attribute("aria-roledescription") == "bar"
    assert_spans(page, year, "2019-01-01", "2020-01-01")  # all of 2019
    choose_years(page, server, 2021, 2021)
    day = mark(page, TIMELINE, DAY_EVENT)
    assert day.get_attribute("aria-roledescription") == "point"
    left, width = extent(day)
    assert left + width / 2 == pytest.approx(x_at(page, TIMELINE, "2021-04-15"), abs=0.5)
    choose_years(page, server, 2019, 2022)
    shot(page, TIMELINE, "20-visual-timeline")


def test_an_approximate_date_is_hollow_and_dashed_and_says_so(page, server):
    page.goto(f"{server}/timeline")
    drawn(page, TIMELINE)
    month = mark(page, TIMELINE, MONTH_EVENT)
    assert "approximate or uncertain date" in month.get_attribute("aria-label")
    assert month.get_attribute("stroke-dasharray") == "4,2"
    assert float(month.get_attribute("fill-opacity")) < 0.2
    exact = mark(page, TIMELINE, DAY_EVENT)
    assert "exact date" in exact.get_attribute("aria-label")
    assert exact.get_attribute("stroke-dasharray") in (None, "1,0")
    assert float(exact.get_attribute("fill-opacity")) > 0.5
    legends = page.locator(f"{TIMELINE} svg g[aria-roledescription=legend]")
    labels = " ".join(legends.nth(i).get_attribute("aria-label") for i in range(legends.count()))
    for word in ("confirmed", "reported", "disputed", "refuted", "approximate or uncertain"):
        assert word in labels


def test_clicking_a_mark_opens_its_event(page, server):
    choose_years(page, server, 2022, 2022)
    mark(page, TIMELINE, MONTH_EVENT).click()
    page.wait_for_url("**/record/events/fleet-destroyed-claim")
    assert page.locator("h1").inner_text() == MONTH_EVENT


def test_the_visual_timeline_fits_a_phone(phone, server):
    phone.goto(f"{server}/timeline")
    drawn(phone, TIMELINE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.locator(f"{TIMELINE} .overview-view svg").bounding_box()["width"] <= 390
    shot(phone, TIMELINE, "21-visual-timeline-phone")


def test_the_charts_draw_under_a_policy_that_forbids_eval(browser, server):
    """Vega would compile expressions with new Function; the page's policy forbids it, and
    the charts still draw (the interpreter). A script of the site's origin proves the ban."""
    context, page, problems = open_page(browser)
    try:
        page.route("**/static/eval-probe.js", lambda route: route.fulfill(
            body=EVAL_PROBE, content_type="text/javascript"))  # fmt: skip
        page.goto(f"{server}/timeline")
        drawn(page, TIMELINE)
        assert problems == []  # drawn without the policy blocking anything
        page.add_script_tag(url="/static/eval-probe.js")
        assert page.evaluate("window.evalProbe") == "EvalError"
    finally:
        context.close()


def marks(page, chart: str) -> int:
    """How many data marks (not axes, legends or the grey bands of gaps) the chart drew."""
    drawn = f'{chart} svg .role-mark:not(.gaps_marks) path[role="graphics-symbol"]'
    return page.locator(drawn).count()


def values(page, spec_id: str) -> list[dict]:
    return page.evaluate(
        "id => JSON.parse(document.getElementById(id).textContent).data.values", spec_id
    )


def test_the_home_page_charts(page, server):
    page.goto(f"{server}/")
    drawn(page, "#events-per-year")
    drawn(page, "#actor-years")
    # one bar segment per year and type, one cell per actor and year
    assert marks(page, "#events-per-year") == len(values(page, "events-per-year-spec")) > 0
    assert marks(page, "#actor-years") == len(values(page, "actor-years-spec")) > 0
    shot(page, "#events-per-year", "22-home-events-per-year")
    shot(page, "#actor-years", "23-home-actors-per-year")
    mark(page, "#actor-years", "Russia, 2021").click()
    page.wait_for_url("**/record/actors/russia")


def test_the_actor_page_chart(page, server):
    page.goto(f"{server}/record/actors/baykar")
    drawn(page, "#entity-per-year")
    assert marks(page, "#entity-per-year") == len(values(page, "entity-per-year-spec")) == 1
    shot(page, "#entity-per-year", "24-actor-per-year")
    mark(page, "#entity-per-year", "2019: 1 agreement").click()
    page.wait_for_url("**/timeline?actor=baykar&type=agreement&from=2019&to=2019")
    assert page.locator("li.event h3").all_inner_texts() == [YEAR_EVENT]


def rgb_hex(css: str) -> str:
    """#rrggbb of a computed CSS colour, "rgb(r, g, b)"."""
    red, green, blue = (int(part) for part in css[css.index("(") + 1 : -1].split(","))
    return f"#{red:02x}{green:02x}{blue:02x}"


def x_labels(page, chart: str) -> list[str]:
    """The labels the chart's x axis shows (Vega names its axis groups by their channel)."""
    return page.evaluate(
        """chart => [...document.querySelectorAll(chart + ' svg g.role-axis')]
            .filter(g => (g.getAttribute("aria-label") || "").startsWith("X-axis"))
            .flatMap(g => [...g.querySelectorAll(".role-axis-label text")])
            .filter(t => t.getAttribute("opacity") !== "0").map(t => t.textContent)""",
        chart,
    )


def y_labels(page, chart: str) -> list[str]:
    """The labels the chart's y axis shows."""
    return page.evaluate(
        """chart => [...document.querySelectorAll(chart + ' svg g.role-axis')]
            .filter(g => (g.getAttribute("aria-label") || "").startsWith("Y-axis"))
            .flatMap(g => [...g.querySelectorAll(".role-axis-label text")])
            .map(t => t.textContent)""",
        chart,
    )


def test_the_heatmap_names_an_actor_whole_on_a_wide_page_and_shortened_on_a_phone(
    page, phone, long_name_server
):
    for reader, whole in ((page, True), (phone, False)):
        reader.goto(f"{long_name_server}/")
        drawn(reader, "#actor-years")
        [label] = y_labels(reader, "#actor-years")
        if whole:
            assert label == LONG_NAME
        else:
            assert label.endswith("…") and LONG_NAME.startswith(label[:-1]), label
        assert reader.evaluate("document.documentElement.scrollWidth") <= (1280 if whole else 390)


def test_a_year_axis_shows_empty_years_and_marks_a_long_gap(page, server):
    """The small record has events in 1936, 2019, 2021 and 2022: 2020 is drawn as an empty
    year, 1937-2018 as one grey band saying so, in date order along the axis."""
    page.goto(f"{server}/")
    drawn(page, "#events-per-year")
    labels = x_labels(page, "#events-per-year")
    assert labels == ["1936", "1937–2018", "2019", "2020", "2021", "2022"]
    gap = mark(page, "#events-per-year", "No events from 1937 to 2018")
    left, width = extent(gap)
    years = {
        year: extent(mark(page, "#events-per-year", f"{year}: "))
        for year in (1936, 2019)  # one type each year in the small record
    }
    assert years[1936][0] < left and left + width <= years[2019][0]
    assert "no events" in page.locator("#events-per-year svg").text_content()
    shot(page, "#events-per-year", "25-home-events-per-year-gap")
    drawn(page, "#actor-years")  # the heatmap's columns are the same years
    assert x_labels(page, "#actor-years") == labels


def test_chart_colours_have_3_to_1_contrast_and_labels_are_12_px(page, server):
    page.goto(f"{server}/")
    for chart in ("#events-per-year", "#actor-years"):
        drawn(page, chart)
    background = rgb_hex(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    assert background == charts.BACKGROUND
    fills = page.evaluate("""() => [...document.querySelectorAll(
        '#events-per-year svg .role-mark:not(.gaps_marks) path[role="graphics-symbol"]')]
        .map(e => getComputedStyle(e).fill)""")
    group_colours = {colour for colour, _ in charts.TYPE_GROUPS.values()}
    assert fills and {rgb_hex(fill) for fill in fills} <= group_colours
    for fill in fills:
        assert contrast(rgb_hex(fill), background) >= 3, fill
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        '#events-per-year svg text, #actor-years svg text')]
        .filter(t => t.textContent.trim()).map(t => parseFloat(getComputedStyle(t).fontSize))""")
    assert sizes and min(sizes) >= 12
    legend = page.locator("#events-per-year svg g[aria-roledescription=legend]")
    assert "Agreements and treaties" in legend.get_attribute("aria-label")


def test_the_visual_timelines_labels_are_12_px(page, server):
    page.goto(f"{server}/timeline")
    page.wait_for_selector(f"{TIMELINE}[data-overview-state=drawn]")
    sizes = page.evaluate("""chart => [...document.querySelectorAll(chart + ' svg text')]
        .filter(t => t.textContent.trim()).map(t => parseFloat(getComputedStyle(t).fontSize))""",
        TIMELINE)  # fmt: skip
    assert sizes and min(sizes) >= 12
