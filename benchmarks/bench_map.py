"""What the event map costs a reader: bytes shipped and time to draw, in headless Chromium.

Run with ``python benchmarks/bench_map.py [RUNS]`` (default 5; needs /usr/bin/chromium,
Playwright and ``make setup``). Each run is a fresh browser context (nothing cached), a
1280 × 900 window, against a real ``timeline serve``; on the real ``events.yaml`` and on
10,000 generated events (``generate.py``). Figures, medians over the runs:

* the page's HTML (its map data inline) and every script, style and data file it loads
  (bytes as served; the site does not compress them, a CDN in front may);
* the time the map measures for itself (``performance.measure``: read the data, draw the
  borders and the markers) and the time from navigation to the map drawn;
* the time one zoom step takes to settle (zoom in, then out: ``zoomend`` after the
  animation) — on the real file only.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import support  # noqa: E402
from browsing import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from generate import write_realistic  # noqa: E402
from support import REAL, serving  # noqa: E402

# `timeline serve` builds 10,000 events before it answers: longer than the tests allow.
support.STARTUP_TIMEOUT = 600

MAP = "/record/event_map"
DRAWN = '#event-map [data-map-state="drawn"], #event-map [data-chart-state="drawn"]'
FIGURES = """() => {
    const measure = performance.getEntriesByType("measure")
        .find(m => m.name.startsWith("map ") || m.name.startsWith("chart event-map"));
    const resources = performance.getEntriesByType("resource");
    const [navigation] = performance.getEntriesByType("navigation");
    return {
        html: navigation.decodedBodySize,
        assets: resources.reduce((sum, r) => sum + r.decodedBodySize, 0),
        outside: resources.filter(r => new URL(r.name).origin !== location.origin).length,
        draw: measure.duration,
        drawn: measure.startTime + measure.duration,
    };
}"""
ZOOM = """async () => {
    const map = document.querySelector("#event-map .map-view").leafletMap;
    const step = (change) => new Promise(done => {
        const start = performance.now();
        map.once("zoomend", () => done(performance.now() - start));
        change();
    });
    return [await step(() => map.zoomIn()), await step(() => map.zoomOut())];
}"""


def measured(browser, base: str, runs: int, zoom: bool) -> dict:
    results = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(base + MAP, timeout=120_000)
        page.wait_for_selector(DRAWN, timeout=120_000)
        figures = page.evaluate(FIGURES)
        if zoom and page.locator("#event-map .map-view").count():
            figures["zoom"] = max(page.evaluate(ZOOM))
        results.append(figures)
        context.close()
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def report(label: str, f: dict) -> None:
    zoom = f", zoom step {f['zoom']:.0f} ms" if "zoom" in f else ""
    sizes = (f"HTML {f['html'] / 1024:6.1f} KiB, scripts/styles/data {f['assets'] / 1024:7.1f}"
             f" KiB, from other servers {f['outside']:.0f}")  # fmt: skip
    times = f"draw {f['draw']:4.0f} ms, drawn {f['drawn']:5.0f} ms after navigation{zoom}"
    print(f"  {label:22} {sizes}; {times}")


def main(runs: int = 5) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            print(f"the event map ({MAP}), median of {runs} fresh contexts at 1280 px:")
            for label, n in (("real events.yaml", None), ("10,000 events", 10_000)):
                site = Path(tmp) / str(n)
                site.mkdir()
                if n is None:
                    shutil.copy(REAL, site / "events.yaml")
                else:
                    write_realistic(n, site / "events.yaml")
                with serving(site) as base:
                    report(label, measured(browser, base, runs, zoom=n is None))
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
