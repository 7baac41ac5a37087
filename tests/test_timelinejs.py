"""The TimelineJS export, rendered by the real TimelineJS library (installed from the npm
registry by the project's set-up) in headless Chromium: one slide per event, no errors."""

from __future__ import annotations

import json

import pytest
from browsing import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_browser
from support import REAL, ROOT, build

from conftest import skip_or_fail
from timeline.formats import render

pytestmark = pytest.mark.browser

LIBRARY = ROOT / "node_modules" / "@knight-lab" / "timelinejs" / "dist"
# The library's files from node_modules (its script_path would otherwise point at its CDN, and
# its default font stylesheet loads web fonts: font null keeps the page's own fonts), so the
# page works offline.
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{css}"><script src="{js}"></script></head>
<body><div id="timeline-embed" style="width: 100%; height: 600px"></div>
<script>window.timeline = new TL.Timeline("timeline-embed", {data},
  {{script_path: "{script_path}", font: null}});</script></body></html>"""


def test_timelinejs_renders_one_slide_per_event(tmp_path):
    sync_playwright = require_browser()
    if not (LIBRARY / "js" / "timeline.js").exists():
        skip_or_fail("TimelineJS is not installed (npm ci)")
    db = build(REAL, tmp_path)
    data = json.loads(render("timelinejs", db)["timeline.json"])
    page_file = tmp_path / "timeline.html"
    page_file.write_text(PAGE.format(css=(LIBRARY / "css" / "timeline.css").as_uri(),
                                     js=(LIBRARY / "js" / "timeline.js").as_uri(),
                                     data=json.dumps(data),
                                     script_path=(LIBRARY / "js").as_uri() + "/"),
                         encoding="utf-8")  # fmt: skip
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            page.goto(page_file.as_uri())
            page.wait_for_selector(".tl-slide", state="attached", timeout=20_000)
            slides = page.locator(".tl-slide-content-container").count()
            markers = page.locator(".tl-timemarker").count()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "timelinejs.png"))
        finally:
            browser.close()
    assert errors == []
    assert markers == len(data["events"])
    assert slides == len(data["events"]) + 1  # and the title slide
