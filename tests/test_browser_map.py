"""The event map in a real Chromium, against a real `timeline serve` of the real events.yaml:
one marker per place (or per group of places that would overlap), whose events are listed
and linked; zoom by buttons, wheel and pinch; the first view fitted to the places, not to
the ocean between them; usable on a 375 px touch screen. What each test expects comes from
the same file built apart (SQL over the events), never from the page itself. Some tests serve
small files made for cases the record may not always hold (very long lists of merged places).

Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browsing import ARTIFACTS, open_popup, served
from support import REAL, build, timeline_of, write_yaml

from timeline import places

pytestmark = pytest.mark.browser

MAP = "#event-map .map-view"
MID_ATLANTIC = (35.0, -40.0)  # open ocean between the Americas and Europe
# The markers a reader sees: inside the map's box and not fading out; [x, y, radius] each.
SHOWN_MARKERS = """(map) => {
    const frame = document.querySelector(map).getBoundingClientRect();
    return [...document.querySelectorAll(map + " .map-marker")]
        .filter(e => getComputedStyle(e).opacity === "1")
        .map(e => e.getBoundingClientRect())
        .map(r => [r.x + r.width / 2, r.y + r.height / 2, r.width / 2])
        .filter(([x, y]) => x >= frame.left && x <= frame.right
                            && y >= frame.top && y <= frame.bottom);
}"""


@pytest.fixture(scope="module")
def events_yaml(tmp_path_factory) -> Path:
    """One copy of the real file, for the server and for the expectations alike."""
    path = tmp_path_factory.mktemp("map-yaml") / "events.yaml"
    shutil.copy(REAL, path)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, events_yaml):
    yield from served(tmp_path_factory, events_yaml)


@pytest.fixture(scope="module")
def db(tmp_path_factory, events_yaml) -> sqlite3.Connection:
    conn = sqlite3.connect(build(events_yaml, tmp_path_factory.mktemp("map-db")))
    yield conn
    conn.close()


def open_map(page, server: str) -> None:
    page.goto(f"{server}/record/event_map")
    page.wait_for_selector(f"{MAP}[data-map-state]")
    assert page.get_attribute(MAP, "data-map-state") == "drawn"


def zoom(page) -> float:
    return page.evaluate(f"document.querySelector('{MAP}').leafletMap.getZoom()")


def settled(page) -> None:
    """Wait until the map has stopped moving and markercluster has finished redrawing its
    groups for the zoom (no group animation, every marker fully shown or gone), twice over
    a short pause, so a test never reads markers halfway through a fade."""
    still = f"""() => {{
        const view = document.querySelector('{MAP}');
        return !view.leafletMap._animatingZoom && !view.querySelector('.leaflet-cluster-anim')
            && [...view.querySelectorAll('.map-marker')]
                .every(e => ['0', '1'].includes(getComputedStyle(e).opacity));
    }}"""
    for _ in range(2):
        page.wait_for_function(still)
        page.wait_for_timeout(150)


def only_one(locator) -> None:
    """Wait until the locator finds exactly one element (markercluster fades the markers of
    the zoom before out)."""
    from playwright.sync_api import expect  # imported here: the module skips without it

    expect(locator).to_have_count(1)


def map_data(page) -> dict:
    return json.loads(page.locator("#event-map-data").text_content())


def busiest_place(db) -> tuple[str, list[str]]:
    place, lat, lon = db.execute(
        "select location, latitude, longitude from events where latitude is not null "
        "group by 1, 2, 3 order by count(*) desc, location limit 1"
    ).fetchone()
    ids = [r[0] for r in db.execute(
        "select id from events where location = ? and latitude = ? and longitude = ?"
        " order by sort_key desc, id desc", (place, lat, lon))]  # fmt: skip
    return place, ids  # the latest first


def test_the_busiest_place_lists_all_its_events_each_linking_its_page(page, server, db):
    place, ids = busiest_place(db)
    open_map(page, server)
    marker = page.locator(f'{MAP} .map-marker[aria-label*="{place}"]')
    only_one(marker)  # one marker, whether alone or merged with neighbours
    open_popup(page, marker)  # clicked at its centre
    popup = page.locator(".leaflet-popup .map-popup")
    section = popup.locator("section", has=page.locator("h3", has_text=place)).filter(
        has=page.locator(f'h3:text-is("{place}")')
    )
    links = section.locator("ol a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    # every event of the place (past places.LISTED, the latest and a link to all of them)
    assert sorted(hrefs) == sorted(f"/record/events/{i}" for i in ids[: places.LISTED])
    assert section.locator("p").first.inner_text().startswith(f"{len(ids)} events")
    everything = section.get_by_role("link", name="all on the timeline")
    assert everything.get_attribute("href") == f"/timeline?{urlencode({'place': place})}"
    page.wait_for_timeout(300)  # the popup's fade-in
    page.locator("#event-map").screenshot(path=str(ARTIFACTS / "map-busiest-place.png"))
    title = links.first.inner_text()
    links.first.click()
    page.wait_for_url(f"**{hrefs[0]}")
    assert title in page.locator("h1").inner_text()


def test_no_marker_sits_inside_another_at_any_zoom(page, server):
    open_map(page, server)
    for _ in range(4):
        boxes = page.evaluate(SHOWN_MARKERS, MAP)
        assert len(boxes) > 1
        for i, (x1, y1, r1) in enumerate(boxes):
            for x2, y2, r2 in boxes[:i]:
                distance = ((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5
                assert distance >= max(r1, r2), (zoom(page), (x1, y1, r1), (x2, y2, r2))
        page.locator(".leaflet-control-zoom-in").click()
        settled(page)


def test_zoom_in_and_out_by_buttons_and_wheel_and_back_to_all_places(page, server):
    open_map(page, server)
    start = zoom(page)
    page.locator(".leaflet-control-zoom-in").click()
    settled(page)
    assert zoom(page) == start + 1
    box = page.locator(MAP).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    settled(page)
    assert zoom(page) > start + 1
    page.locator(".leaflet-control-zoom-out").click()
    settled(page)
    page.mouse.wheel(0, 600)
    settled(page)
    assert zoom(page) < start + 1
    page.get_by_role("button", name="All places").click()
    settled(page)
    assert zoom(page) == start


def test_the_first_view_holds_every_marker_and_not_the_atlantic(page, server, db):
    open_map(page, server)
    data = map_data(page)
    located = db.execute(
        "select count(distinct location || latitude || longitude) from events "
        "where latitude is not null"
    ).fetchone()[0]
    assert len(data["places"]) == located
    main, *insets = data["regions"]
    inside = page.evaluate(
        f"""(points) => {{ const bounds = document.querySelector('{MAP}').leafletMap.getBounds();
                          return points.map(p => bounds.contains(p)); }}""",
        [[p["lat"], p["lon"]] for p in data["places"]] + [list(MID_ATLANTIC)],
    )
    assert all(inside[i] for i in main["places"])
    assert inside[-1] is False  # the ocean is not on the first view
    # every place away from the main area is on a small map of its own area
    elsewhere = page.locator("#event-map .map-inset-view")
    assert elsewhere.count() == len(insets)
    for i, inset in enumerate(insets):
        label = elsewhere.nth(i).get_attribute("aria-label")
        assert all(data["places"][p]["name"] in label for p in inset["places"])
    page.locator("#event-map").screenshot(path=str(ARTIFACTS / "map-first-view.png"))


def test_an_inset_marker_leads_the_main_map_to_its_events(page, server):
    open_map(page, server)
    data = map_data(page)
    if len(data["regions"]) < 2:
        pytest.skip("every place is in one area: no inset map")
    inset = data["regions"][1]
    place = data["places"][inset["places"][0]]
    marker = page.locator(f'#event-map .map-inset .map-marker[aria-label*="{place["name"]}"]')
    only_one(marker)  # alone, or merged with the places near it
    marker.click()
    popup = page.locator(".leaflet-popup .map-popup")
    popup.wait_for()
    assert page.evaluate(
        f"document.querySelector('{MAP}').leafletMap.getBounds()"
        f".contains([{place['lat']}, {place['lon']}])"
    )
    assert place["name"] in popup.locator("h3").all_inner_texts()
    assert popup.locator("ol a").count() >= 1


def test_no_marker_of_an_inset_sits_inside_another(page, server):
    """An inset drew every place as a marker of its own: at New York, three places a few
    hundred metres apart were drawn one over another, and the one on top took the clicks."""
    open_map(page, server)
    insets = page.locator("#event-map .map-inset-view")
    assert insets.count() >= 1
    for i in range(insets.count()):
        boxes = insets.nth(i).evaluate(
            "view => [...view.querySelectorAll('.map-marker')]"
            ".filter(e => getComputedStyle(e).opacity === '1')"
            ".map(e => e.getBoundingClientRect())"
            ".map(r => [r.x + r.width / 2, r.y + r.height / 2, r.width / 2])"
        )
        assert boxes
        for j, (x1, y1, r1) in enumerate(boxes):
            for x2, y2, r2 in boxes[j + 1 :]:
                assert (x1 - x2) ** 2 + (y1 - y2) ** 2 >= max(r1, r2) ** 2, (i, boxes)


def test_merged_places_of_an_inset_list_every_event_on_the_main_map(page, server):
    merged_inset_opens_on_the_main_map(page, server)


# Places for the next test: a main area (Ankara, Kyiv) and, far from it, two places close
# enough to merge in their inset, with more events than the main map's height can list.
# (The map opens on the area with the most events: the main one here.)
TALL_LIST_PLACES = [("Ankara", 39.93, 32.86, 28), ("Kyiv", 50.45, 30.52, 28),
                    ("New York", 40.71, -74.01, 25), ("Washington", 38.89, -77.01, 15)]  # fmt: skip


def tall_list_timeline() -> dict:
    return timeline_of([
        {"id": f"{name.lower().replace(' ', '-')}-{i}",
         "date": f"2020-{i // 28 + 1:02d}-{i % 28 + 1:02d}", "type": "meeting",
         "status": "confirmed", "location": {"name": name, "latitude": lat, "longitude": lon}}
        for name, lat, lon, count in TALL_LIST_PLACES for i in range(count)
    ])  # fmt: skip


@pytest.fixture(scope="module")
def tall_list_server(tmp_path_factory):
    path = write_yaml(tall_list_timeline(), tmp_path_factory.mktemp("tall-list") / "events.yaml")
    yield from served(tmp_path_factory, path)


def test_an_inset_group_too_long_for_the_map_keeps_its_places_in_view(page, tall_list_server):
    """Its list scrolls above the places instead of panning the map off them."""
    merged_inset_opens_on_the_main_map(page, tall_list_server)


# Places for the next tests: two places of the main area close enough to merge on the first
# view (Kyiv and Bila Tserkva, some 80 km apart), with more events than the map can list,
# and Ankara, far enough away to set the first view's zoom.
TALL_MAIN_PLACES = [("Ankara", 39.93, 32.86, 10), ("Kyiv", 50.45, 30.52, 40),
                    ("Bila Tserkva", 49.80, 30.11, 30)]  # fmt: skip


@pytest.fixture(scope="module")
def tall_main_server(tmp_path_factory):
    timeline = timeline_of([
        {"id": f"{name.lower().replace(' ', '-')}-{i}",
         "date": f"2021-{i // 28 + 1:02d}-{i % 28 + 1:02d}", "type": "meeting",
         "status": "confirmed", "location": {"name": name, "latitude": lat, "longitude": lon}}
        for name, lat, lon, count in TALL_MAIN_PLACES for i in range(count)
    ])  # fmt: skip
    path = write_yaml(timeline, tmp_path_factory.mktemp("tall-main") / "events.yaml")
    yield from served(tmp_path_factory, path)


def test_a_main_map_group_too_long_for_the_map_keeps_its_places_in_view(page, tall_main_server):
    """Its list opens above the places, scrolling, instead of panning the map off them."""
    open_map(page, tall_main_server)
    lists_a_group_with_its_places_in_view(page, f"{MAP} .map-marker.map-group")


def test_a_main_map_group_too_long_for_a_phone_keeps_its_places_in_view(phone, tall_main_server):
    open_map(phone, tall_main_server)
    lists_a_group_with_its_places_in_view(phone, f"{MAP} .map-marker.map-group")


@pytest.fixture
def short_screen(browser):
    """A phone on its side, 812 by 375 px: the map at its smallest (its CSS minimum height)."""
    from browsing import checked_page

    yield from checked_page(browser, 812, 375)


def test_merged_places_keep_in_view_on_the_smallest_map(short_screen, tall_main_server,
                                                        tall_list_server):  # fmt: skip
    open_map(short_screen, tall_main_server)
    assert short_screen.locator(MAP).bounding_box()["height"] == 288  # 18rem, the minimum
    lists_a_group_with_its_places_in_view(short_screen, f"{MAP} .map-marker.map-group")
    merged_inset_opens_on_the_main_map(short_screen, tall_list_server)


def merged_inset_opens_on_the_main_map(page, server) -> None:
    open_map(page, server)
    # (the real record has three places in New York)
    lists_a_group_with_its_places_in_view(page, "#event-map .map-inset .map-marker.map-group")


def lists_a_group_with_its_places_in_view(page, groups: str) -> None:
    """The first marker merging places (``groups``, a selector) lists all their events, and
    the main map shows every one of the places once the list is open."""
    data = map_data(page)
    groups = page.locator(groups)
    assert groups.count() >= 1
    group = groups.first
    # its label: the places' names, the busiest first, then how many events there are
    names = group.get_attribute("aria-label").rsplit(": ", 1)[0].split("; ")
    assert len(names) > 1 and set(names) <= {p["name"] for p in data["places"]}
    events = sum(p["events"] for p in data["places"] if p["name"] in names)
    assert int(group.inner_text()) == events
    group.click()
    popup = page.locator(".leaflet-popup .map-popup")
    popup.wait_for()
    assert sorted(popup.locator("h3").all_inner_texts()) == sorted(names)
    assert popup.locator("ol a").count() == events
    page.wait_for_timeout(400)  # any pan that brings the popup into view
    # every place on the map and none under the list (the box with the list, page pixels)
    shown = page.evaluate(
        """([map, places]) => {
            const view = document.querySelector(map), m = view.leafletMap;
            const frame = view.getBoundingClientRect();
            const list = document.querySelector('.leaflet-popup-content-wrapper')
                .getBoundingClientRect();
            return places.map(([name, lat, lon]) => {
                const p = m.latLngToContainerPoint([lat, lon]);
                const [x, y] = [frame.left + p.x, frame.top + p.y];
                const under = x >= list.left && x <= list.right && y >= list.top
                    && y <= list.bottom;
                return [name, m.getBounds().contains([lat, lon]), under];
            });
        }""",
        [MAP, [[p["name"], p["lat"], p["lon"]] for p in data["places"] if p["name"] in names]],
    )
    assert all(inside and not under for _, inside, under in shown), shown


def test_the_map_on_a_375_px_touch_screen(phone, server, db):
    place, ids = busiest_place(db)
    open_map(phone, server)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    box = phone.locator(MAP).bounding_box()
    assert box["width"] <= 375 and box["height"] >= 250
    # markers big enough for a finger
    sizes = phone.eval_on_selector_all(
        f"{MAP} .map-marker",
        "els => els.map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.x >= 0"
        " && r.x < innerWidth).map(r => Math.min(r.width, r.height))",
    )
    assert sizes and min(sizes) >= 30
    # a pinch zooms in
    start = zoom(phone)
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Input.synthesizePinchGesture", {
        "x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2,
        "scaleFactor": 2.5, "gestureSourceType": "touch"})  # fmt: skip
    settled(phone)
    assert zoom(phone) > start
    phone.locator(".map-reset").tap()
    settled(phone)
    # a tap on the busiest place lists its events in a popup that fits the screen
    marker = phone.locator(f'{MAP} .map-marker[aria-label*="{place}"]')
    only_one(marker)
    marker.tap()
    popup = phone.locator(".leaflet-popup")
    popup.wait_for()
    phone.wait_for_timeout(400)  # the popup's fade-in and the pan that brings it into view
    card = popup.bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= 375
    section = popup.locator("section").filter(has=phone.locator(f'h3:text-is("{place}")'))
    assert section.locator("ol a").count() == min(len(ids), places.LISTED)
    phone.screenshot(path=str(ARTIFACTS / "map-phone-popup.png"))


def test_an_inset_group_too_long_for_a_phone_keeps_its_places_in_view(phone, tall_list_server):
    merged_inset_opens_on_the_main_map(phone, tall_list_server)
