"""The chart libraries come from the site itself: served from static/vendor/ (copied from
node_modules at set-up), linked by content hash, loaded only by pages with charts; no page
references a script or stylesheet elsewhere."""

from __future__ import annotations

import re

from support import ROOT

from timeline import vendor

SCRIPT_SRC = re.compile(r'<script\b[^>]*\bsrc="([^"]*)"')
# stylesheets and anything else a page loads (rel="alternate" only names the page's JSON)
LINK_HREF = re.compile(r'<link\b(?![^>]*rel="alternate")[^>]*\bhref="([^"]*)"')
CHART_PAGES = ("/", "/timeline", "/record/actors/baykar")
OTHER_PAGES = ("/record/events", "/about", "/claims", "/record/events/flight-suspension")


async def test_chart_pages_load_the_libraries_and_charts_js_from_the_site(ds):
    for path in CHART_PAGES:
        html = (await ds.client.get(path)).text
        scripts = SCRIPT_SRC.findall(html)
        ours = [s.split("?")[0] for s in scripts if "/vendor/" in s or "charts.js" in s]
        assert ours == [f"/static/vendor/{name}" for name in vendor.SCRIPTS] + [
            "/static/charts.js"
        ], path
        assert re.search(r'<script type="module" src="/static/charts\.js\?h=[0-9a-f]{12}"', html)


async def test_the_libraries_are_served_as_javascript_and_cached_for_a_year(ds):
    html = (await ds.client.get("/timeline")).text
    urls = [s for s in SCRIPT_SRC.findall(html) if s.startswith("/static/")]
    assert len(urls) == len(vendor.SCRIPTS) + 2  # charts.js, and the timeline's timeline.js
    for url in urls:
        response = await ds.client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] in (
            "text/javascript",
            "application/javascript",
        ), url
        assert "immutable" in response.headers["cache-control"], url
        name = url.split("?")[0].removeprefix("/static/")
        assert response.content == (ROOT / "static" / name).read_bytes()
        # the content hash in the URL is the file's: a new version gets a new URL
        assert url.endswith(f"?h={vendor.content_hash(ROOT / 'static' / name)}")
    for licence in vendor.LICENCES:
        response = await ds.client.get(f"/static/vendor/{licence}")
        assert response.status_code == 200 and b"Copyright" in response.content


async def test_no_page_references_scripts_or_stylesheets_elsewhere(ds):
    for path in (*CHART_PAGES, *OTHER_PAGES, "/record/systems/nope-404"):
        response = await ds.client.get(path)
        for url in SCRIPT_SRC.findall(response.text) + LINK_HREF.findall(response.text):
            assert not re.match(r"(https?:)?//", url), (path, url)
        assert "unsafe-eval" not in response.headers["content-security-policy"]


async def test_pages_without_charts_load_no_chart_scripts(ds):
    for path in OTHER_PAGES:
        html = (await ds.client.get(path)).text
        assert "/static/vendor/" not in html and "charts.js" not in html, path


async def test_the_specs_are_data_not_code(ds):
    """JSON blocks only: nothing for the browser to run, and markup inside stays escaped."""
    html = (await ds.client.get("/timeline")).text
    blocks = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    specs = [body for attrs, body in blocks if 'type="application/json"' in attrs]
    assert specs and all("<" not in body for body in specs)
