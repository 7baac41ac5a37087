"""Latency of the main pages, served by `timeline serve`, in development and production mode.

Run with ``python benchmarks/bench_site.py [REQUESTS_PER_PAGE]`` (default 30). Loopback only,
bounded in requests and time; prints figures and asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_site_support import serving  # noqa: E402

PAGES = [
    "/",
    "/timeline",
    "/timeline?actor=baykar&from=2019&to=2022",
    "/timeline/events",
    "/timeline/events?actors__arraycontains=Baykar",
    "/timeline/events?_search=engine",
    "/timeline/events/2019-01-12-ukrspecexport-baykar-tb2-contract",
    "/timeline/disputed_claims",
    "/timeline/atom_feed.atom",
    "/timeline/calendar.ics",
]
DEADLINE_SECONDS = 120


def measure(base: str, path: str, requests: int, deadline: float) -> list[float]:
    timings = []
    for _ in range(requests):
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=10) as response:
            response.read()
            assert response.status == 200, path
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main(requests: int) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    for mode in ([], ["--production"]):
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp)
            shutil.copy(ROOT / "events.yaml", site / "events.yaml")
            with serving(site, *mode) as base:
                print(f"\n{'production' if mode else 'development'} mode, {requests} requests/page")
                for path in PAGES:
                    timings = measure(base, path, requests, deadline)
                    timings.sort()
                    p95 = timings[int(len(timings) * 0.95) - 1] if timings else float("nan")
                    median = statistics.median(timings)
                    print(f"  median {median:7.1f} ms   p95 {p95:7.1f} ms   {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
