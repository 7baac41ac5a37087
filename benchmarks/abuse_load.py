"""Normal readers while an attacker hammers the production site: do their pages keep answering?

Run with ``python benchmarks/abuse_load.py [SECONDS] [ABUSERS]`` (defaults 20 s, 8 threads).
Serves the real events.yaml with ``timeline serve --production`` on 127.0.0.1, sends the
abusive requests of the hardening work from ABUSERS threads, and times normal page
requests from two reader threads for SECONDS; prints p50/p99 per kind and the status
codes the abusive requests got. Loopback only; bounded in time; stops what it started.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_site_support import REAL, serving  # noqa: E402

NORMAL = [
    "/",
    "/timeline",
    "/timeline?actor=baykar",
    "/timeline/events",
    "/timeline/events?_search=drone",
    "/timeline/events/2019-01-12-ukrspecexport-baykar-tb2-contract",
    "/timeline/search?q=engine",
    "/timeline/atom_feed.atom",
]


def _sql(sql: str) -> str:
    return "/timeline.json?" + urllib.parse.urlencode({"sql": sql})


ABUSIVE = [
    _sql("select zeroblob(150000000)"),
    _sql("select instr(printf('%.*c',7000000,'a'), printf('%.*c',3000000,'a')||'b')"),
    _sql("select hex(fts3_tokenizer('simple'))"),
    _sql("select * from pragma_database_list"),
    _sql("with recursive r(i) as (select 1 union all select i+1 from r) select count(*) from r"),
    "/timeline/search?" + urllib.parse.urlencode({"q": "a " * 3000}),
    "/timeline/events?" + urllib.parse.urlencode({"_search": "a " * 3000}),
    "/timeline/events?_sort=nope",
    "/timeline/events?_through=nope",
    "/timeline/events?_facet=title&_facet=summary&_facet=notes&_facet=quotes&_facet_size=max",
    "/timeline/events.csv?_stream=on&_size=max",
    "/timeline/events?" + urllib.parse.urlencode({"title__like": "%a" * 400}),
    "/timeline/events?_where=1",
]


@dataclass
class Tally:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def fetch(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def reader(base: str, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        for path in NORMAL:
            start = time.perf_counter()
            try:
                status = fetch(base + path, timeout=30)
            except OSError as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - start
            with tally.lock:
                tally.timings.setdefault(path, []).append(elapsed)
                if status != 200:
                    tally.errors[(path, status)] += 1


def abuser(base: str, deadline: float, tally: Tally, offset: int) -> None:
    i = offset
    while time.monotonic() < deadline:
        path = ABUSIVE[i % len(ABUSIVE)]
        i += 1
        try:
            status = fetch(base + path, timeout=30)
        except OSError as exc:
            status = type(exc).__name__
        with tally.lock:
            tally.statuses[(path[:60], status)] += 1


def run(seconds: float = 20, abusers: int = 8) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(REAL, Path(tmp) / "events.yaml")
        with serving(Path(tmp), "--production") as base:
            deadline = time.monotonic() + seconds
            threads = [threading.Thread(target=reader, args=(base, deadline, tally))
                       for _ in range(2)]  # fmt: skip
            threads += [
                threading.Thread(target=abuser, args=(base, deadline, tally, n))
                for n in range(abusers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=seconds + 60)
    return tally


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(tally: Tally) -> None:
    print(f"{'normal page':62} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
    everything = []
    for path, values in tally.timings.items():
        everything += values
        print(f"{path[:62]:62} {len(values):5d} {statistics.median(values) * 1000:8.1f} "
              f"{percentile(values, 0.99) * 1000:8.1f}")  # fmt: skip
    if everything:
        print(f"{'all normal pages':62} {len(everything):5d} "
              f"{statistics.median(everything) * 1000:8.1f} "
              f"{percentile(everything, 0.99) * 1000:8.1f}")  # fmt: skip
    print(f"normal requests that failed: {sum(tally.errors.values())} {dict(tally.errors)}")
    print(f"abusive requests sent: {sum(tally.statuses.values())}")
    for (path, status), n in sorted(tally.statuses.items(), key=str):
        print(f"  {status} x{n:<5} {path}")


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20
    abusers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    report(run(seconds, abusers))
