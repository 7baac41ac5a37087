"""What the charts cost a reader: bytes shipped, and time to draw in headless Chromium.

Run with ``python benchmarks/bench_charts.py [RUNS]`` (default 5; needs /usr/bin/chromium,
Playwright and ``make setup``). Each run is a fresh browser context (nothing cached). Figures:

* the chart libraries' sizes, raw and gzipped (what a compressing CDN would send);
* on the real ``events.yaml``: the time charts.js measures for each chart (parse the spec,
  compile Vega-Lite, build the view, draw the SVG; ``performance.measure("chart …")``) and
  the time from navigation to the last chart drawn;
* on 10,000 synthetic events (``bench_build.synthetic_yaml``): the same for the home page
  and for /timeline, whose list holds every event; and the visual timeline's spec for the
  10,000 events on a page of its own at the site's origin (so under its policy), drawn as
  SVG, as the site does, and as canvas for comparison.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_build import synthetic_yaml  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from test_site_support import serving  # noqa: E402

from timeline import charts, vendor  # noqa: E402
from timeline.build import build_file  # noqa: E402

DRAWN = "() => [...document.querySelectorAll('[data-chart-spec]')].every(c => c.dataset.chartState)"
TIMINGS = """() => ({
    charts: Object.fromEntries(performance.getEntriesByType("measure")
        .filter(m => m.name.startsWith("chart ")).map(m => [m.name.slice(6), m.duration])),
    ready: performance.now(),
    failed: [...document.querySelectorAll('[data-chart-state=failed]')].length,
})"""
SPEC_PAGE = """<!doctype html><html><head><meta charset="utf-8">{scripts}</head><body>
<div class="chart-view" data-chart-spec="bench-spec" style="width: 1200px"></div>
<script type="application/json" id="bench-spec">{spec}</script></body></html>"""


def sizes() -> None:
    print("bytes shipped (static/): raw, gzip -9")
    total_raw = total_gz = 0
    for name in [f"vendor/{n}" for n in vendor.SCRIPTS] + ["charts.js"]:
        data = (ROOT / "static" / name).read_bytes()
        raw, gz = len(data), len(gzip.compress(data, 9))
        total_raw, total_gz = total_raw + raw, total_gz + gz
        print(f"  {name:28} {raw / 1024:8.1f} KiB {gz / 1024:8.1f} KiB")
    print(f"  {'total':28} {total_raw / 1024:8.1f} KiB {total_gz / 1024:8.1f} KiB")


def timed(browser, url: str, runs: int, routes=()) -> dict:
    """Median chart and page-ready times (ms) over ``runs`` fresh contexts."""
    results = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        for pattern, handler in routes:
            page.route(pattern, handler)
        page.goto(url, timeout=120_000)
        page.wait_for_function(DRAWN, timeout=120_000)
        results.append(page.evaluate(TIMINGS))
        context.close()
    assert not any(r["failed"] for r in results), url
    medians = {name: statistics.median(r["charts"][name] for r in results)
               for name in results[0]["charts"]}  # fmt: skip
    return {"charts": medians, "ready": statistics.median(r["ready"] for r in results)}


def report(label: str, figures: dict) -> None:
    parts = ", ".join(f"{name.removesuffix('-spec')} {ms:.0f} ms"
                      for name, ms in figures["charts"].items())  # fmt: skip
    print(f"  {label:34} {parts}; all drawn {figures['ready']:.0f} ms after navigation")


def timeline_rows(db: Path) -> list[dict]:
    import sqlite3

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) | {"url": f"/timeline/events/{r['id']}"} for r in conn.execute(
            "select id, title, date_label, date_start, date_end, precision, approximate, "
            "uncertain, status, type from events order by sort_key")]  # fmt: skip
    finally:
        conn.close()


def spec_page(base: str, db: Path, renderer: str) -> tuple[str, list, int]:
    """A page at the site's origin, with the site's policy, holding only the visual
    timeline's spec for every event of ``db``; its URL, routes and number of events."""
    rows = timeline_rows(db)
    spec = json.dumps(charts.timeline_spec(rows)).replace("<", "\\u003c")
    script = "/static/charts.js" if renderer == "svg" else f"/bench-charts-{renderer}.js"
    scripts = "".join(f'<script type="module" src="{src}"></script>' for src in
                      [*(f"/static/vendor/{n}" for n in vendor.SCRIPTS), script])  # fmt: skip
    html = SPEC_PAGE.format(scripts=scripts, spec=spec)
    with urllib.request.urlopen(base + "/") as response:
        policy = response.headers["content-security-policy"]
    headers = {"content-security-policy": policy}
    # the site's charts.js, drawing on a canvas instead of SVG
    canvas = (ROOT / "static" / "charts.js").read_text().replace('"svg"', f'"{renderer}"')
    routes = [
        ("**/bench-spec", lambda route: route.fulfill(
            body=html, content_type="text/html", headers=headers)),
        ("**/bench-charts-*.js", lambda route: route.fulfill(
            body=canvas, content_type="text/javascript", headers=headers)),
    ]  # fmt: skip
    return f"{base}/bench-spec", routes, len(rows)


def main(runs: int) -> None:
    from playwright.sync_api import sync_playwright

    sizes()
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        real, synthetic = Path(tmp) / "real", Path(tmp) / "synthetic"
        real.mkdir()
        synthetic.mkdir()
        shutil.copy(ROOT / "events.yaml", real / "events.yaml")
        (synthetic / "events.yaml").write_text(synthetic_yaml(10_000), encoding="utf-8")
        print(f"\nreal events.yaml, median of {runs} fresh page loads (1280 px wide)")
        with serving(real) as base:
            for path in ("/timeline", "/", "/timeline/actors/baykar"):
                report(path, timed(browser, base + path, runs))
        print(f"\n10,000 synthetic events, median of {runs} fresh page loads")
        db = build_file(synthetic / "events.yaml").db_path
        with serving(synthetic) as base:
            for path in ("/", "/timeline"):
                report(path, timed(browser, base + path, runs))
            for renderer in ("svg", "canvas"):
                url, routes, n = spec_page(base, db, renderer)
                report(f"timeline spec alone, {n} events, {renderer}",
                       timed(browser, url, runs, routes))  # fmt: skip
        browser.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
