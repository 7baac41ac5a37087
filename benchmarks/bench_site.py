"""Latency of the main pages, and of pages that are not there (404), served by `timeline
serve` in development and production mode, then in-process through ``datasette.client``
(no HTTP: what the page itself costs).

Run with ``python benchmarks/bench_site.py [REQUESTS_PER_PAGE]`` (default 30). Loopback only,
bounded in requests and time; prints figures and asserts nothing but each page's status.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import build, serving, site  # noqa: E402

PAGES = [
    "/",
    "/timeline",
    "/timeline?actor=baykar&from=2019&to=2022",
    "/record/events",
    "/record/events?actors__arraycontains=Baykar",
    "/record/events?_search=engine",
    "/record/events/2019-01-12-ukrspecexport-baykar-tb2-contract",
    "/record/disputed_claims",
    "/record/atom_feed.atom",
    "/record/calendar.ics",
]
# A reader who mistypes an address, or follows an old link, waits no longer than for a page.
NOT_FOUND = ["/no/such/page", "/record/events/nope", "/record/actors/nope", "/record/nope"]
DEADLINE_SECONDS = 180


def http_get(base: str, path: str) -> int:
    """The page's status, its body read."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def measure(base: str, path: str, requests: int, deadline: float) -> list[float]:
    async def get() -> int:
        return http_get(base, path)

    return asyncio.run(timed(get, path, requests, deadline))


async def timed(
    get: Callable[[], Awaitable[int]], path: str, requests: int, deadline: float
) -> list[float]:
    """Milliseconds per request, each answered with the status the page should have."""
    expected = 404 if path in NOT_FOUND else 200
    timings = []
    for _ in range(requests):
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        status = await get()
        timings.append((time.perf_counter() - start) * 1000)
        assert status == expected, (path, status)
    return timings


def report(path: str, timings: list[float]) -> None:
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1] if timings else float("nan")
    median = statistics.median(timings) if timings else float("nan")
    print(f"  median {median:7.1f} ms   p95 {p95:7.1f} ms   {path}")


async def in_process(requests: int, deadline: float) -> None:
    """The same pages through datasette.client: the server's own cost, no HTTP."""
    with tempfile.TemporaryDirectory() as tmp:
        ds = await site(build(ROOT / "events.yaml", Path(tmp)), immutable=True)
        print(f"\nin-process (datasette.client), {requests} requests/page")
        for path in PAGES + NOT_FOUND:

            async def get(path: str = path) -> int:
                return (await ds.client.get(path)).status_code

            await get()  # the first request compiles templates and warms caches
            report(path, await timed(get, path, requests, deadline))


def main(requests: int) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    for mode in ([], ["--production"]):
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp)
            shutil.copy(ROOT / "events.yaml", site / "events.yaml")
            with serving(site, *mode) as base:
                print(f"\n{'production' if mode else 'development'} mode, {requests} requests/page")
                for path in PAGES + NOT_FOUND:
                    report(path, measure(base, path, requests, deadline))
    asyncio.run(in_process(requests, deadline))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
