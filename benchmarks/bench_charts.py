"""What the charts cost a reader: bytes shipped, and time to draw in headless Chromium.

Run with ``python benchmarks/bench_charts.py [RUNS]`` (default 5; needs /usr/bin/chromium,
Playwright and ``make setup``). Each run is a fresh browser context (nothing cached). Figures:

* the chart libraries' sizes, raw and gzipped (what a compressing CDN would send);
* on the real ``events.yaml``: the time charts.js measures for each chart (parse the spec,
  compile Vega-Lite, build the view, draw the SVG; ``performance.measure("chart …")``) and
  the time from navigation to the last chart drawn;
* on 10,000 realistic events (``generate.py``, modelled on ``events.yaml``): the same for
  the home page and for /timeline;
* the visual timeline of the whole record (static/timeline.js): the bytes of its data
  (``/-/timeline-overview.json``, raw and as the site's gzip sends it) and the time it
  takes to lay out and draw the events in view (``performance.measure("timeline layout
  and draw")``), with how many marks it drew and how many it counted instead, opened as
  a reader first sees it (the years that hold most events), on the whole record and on
  February 2022, for the real file, for the 10,000 events, and for those 10,000 each ten
  times over in the data the browser receives (the script at 100,000 events).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import gzip
import shutil
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from browsing import CHROMIUM, CHROMIUM_ARGS, OVERVIEW_DATA, enlarged_overview  # noqa: E402
from generate import realistic_yaml  # noqa: E402
from support import serving  # noqa: E402

from timeline import vendor  # noqa: E402
from timeline.build import build_file  # noqa: E402

DRAWN = """() => [...document.querySelectorAll('[data-chart-spec]')]
        .every(c => c.dataset.chartState)
    && [...document.querySelectorAll('figure.overview')].every(f =>
        ["drawn", "empty", "failed"].includes(f.dataset.overviewState))"""
TIMINGS = """() => ({
    charts: Object.fromEntries(performance.getEntriesByType("measure")
        .filter(m => m.name.startsWith("chart ") || m.name === "timeline layout and draw")
        .map(m => [m.name.replace(/^chart /, ""), m.duration])),
    ready: performance.now(),
    failed: document.querySelectorAll('[data-chart-state=failed], [data-overview-state=failed]')
        .length,
    // what the visual timeline drew and what it counted instead (the same on every load)
    laid: [...document.querySelectorAll('figure.overview')]
        .map(f => [Number(f.dataset.marks), Number(f.dataset.hidden)]),
})"""
SPEC_PAGE = """<!doctype html><html><head><meta charset="utf-8">{scripts}</head><body>
<div class="chart-view" data-chart-spec="bench-spec" style="width: 1200px"></div>
<script type="application/json" id="bench-spec">{spec}</script></body></html>"""


def sizes() -> None:
    print("bytes shipped (static/): raw, gzip -9")
    total_raw = total_gz = 0
    for name in [f"vendor/{n}" for n in vendor.SCRIPTS] + ["charts.js", "timeline.js"]:
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
    return {"charts": medians, "ready": statistics.median(r["ready"] for r in results),
            "laid": results[0]["laid"]}  # fmt: skip


def report(label: str, figures: dict) -> None:
    parts = ", ".join(f"{name.removesuffix('-spec')} {ms:.0f} ms"
                      for name, ms in figures["charts"].items())  # fmt: skip
    laid = "".join(f"; {marks:,} marks drawn, {hidden:,} counted"
                   for marks, hidden in figures["laid"])  # fmt: skip
    print(f"  {label:34} {parts}; all drawn {figures['ready']:.0f} ms after navigation{laid}")


def overview_bytes(base: str) -> str:
    """The visual timeline's data: bytes raw, and as the site sends it gzipped."""
    url = base + "/-/timeline-overview.json"
    with urllib.request.urlopen(url) as response:
        raw = len(response.read())
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:
        sent = len(response.read())
    return f"timeline data {raw / 1024:.1f} KiB, {sent / 1024:.1f} KiB gzipped"


def timeline_figures(browser, base: str, runs: int, routes=()) -> None:
    if not routes:  # (enlarged in the browser, the data's bytes are not the server's)
        print(f"  {overview_bytes(base)}")
    for label, path in (
        ("/timeline, as it opens", "/timeline"),
        # (a range wider than the record's is the whole record)
        ("/timeline, whole record", "/timeline?view=1900-01-01..2099-12-31"),
        ("/timeline, February 2022", "/timeline?view=2022-02-01..2022-02-28"),
    ):
        report(label, timed(browser, base + path, runs, routes))  # fmt: skip


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
        (synthetic / "events.yaml").write_text(realistic_yaml(10_000), encoding="utf-8")
        print(f"\nreal events.yaml, median of {runs} fresh page loads (1280 px wide)")
        with serving(real) as base:
            for path in ("/", "/record/actors/baykar"):
                report(path, timed(browser, base + path, runs))
            timeline_figures(browser, base, runs)
        print(f"\n10,000 realistic events (generate.py), median of {runs} fresh page loads")
        build_file(synthetic / "events.yaml")
        with serving(synthetic) as base:
            report("/", timed(browser, base + "/", runs))
            timeline_figures(browser, base, runs)
            print(
                f"\n100,000 events: the 10,000 above, each ten times in the timeline's data "
                f"(the script's cost; load.py times the server's), median of {runs}"
            )
            timeline_figures(browser, base, runs, [(OVERVIEW_DATA, enlarged_overview(10))])
        browser.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
