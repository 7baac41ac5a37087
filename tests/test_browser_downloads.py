"""Chromium on the data and downloads page: a click saves the file and the page stays; the
footer leads to the page; nothing scrolls sideways on a phone. Screenshots in test-artifacts/."""

from __future__ import annotations

import csv
import io

import pytest
from browsing import PHONE_WIDTH, open_page, served, shot
from support import SMALL, load_yaml

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory, SMALL)


def test_clicking_the_csv_saves_a_file_and_stays_on_the_page(browser, server, tmp_path):
    context, page, errors = open_page(browser)
    try:
        page.goto(f"{server}/")
        page.locator("footer a.data-link").click()
        page.wait_for_url(f"{server}/data")
        shot(page, "data-page")
        with page.expect_download() as saving:
            page.get_by_role("link", name="Events (CSV)").click()
        download = saving.value
        assert download.suggested_filename == "turkey-ukraine-timeline-events.csv"
        assert page.url == f"{server}/data"  # saved, not opened in the tab
        assert page.get_by_role("heading", name="Data and downloads").is_visible()
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
        assert {r["id"] for r in rows} == {e["id"] for e in load_yaml(SMALL)["events"]}
        assert "sort_key" not in rows[0]
    finally:
        context.close()
    # a download leaves the tab, so Chromium reports the file's request as aborted there
    assert errors == [f"request failed: {server}/data/events.csv"], errors


def test_the_page_fits_a_phone(browser, server):
    context, page, errors = open_page(browser, PHONE_WIDTH)
    try:
        page.goto(f"{server}/data")
        shot(page, "data-page-phone")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls {overflow} px sideways"
        links = page.locator("a.download")
        assert links.count() >= 6
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box and box["height"] >= 16, links.nth(i).inner_text()
    finally:
        context.close()
    assert not errors, errors
