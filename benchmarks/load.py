"""Latency of every kind of page of the production site on a generated timeline, under load.

Run ``python benchmarks/load.py [N] [--requests 200] [--seconds 10] [--concurrency 1 8 32]``
(default N 10,000). It generates an N-event timeline (``benchmarks/generate.py``), commits
it to a fresh git repository and builds it there (as a published site is built), starts
``timeline serve --production`` on 127.0.0.1 and a free port, and for each page sends
requests from 1, 8 and 32 concurrent connections (httpx, asyncio; one client per
concurrency, its pool as large as the concurrency). Each page is requested once first to
warm it up (not counted; its response size is reported); before it and each measurement
the script waits until the server answers a one-row page within a second again (requests the
client gave up on go on running in the server and would slow down the next page). Per page
and concurrency it reports p50, p99, the error count (any status but 200, no answer, or a
table page whose facets timed out) and the requests per second. Pages that name a record
name one that exists in the generated data: the actor, source and system with most events
or citations, the middle event, a word of its title.

Bounded: at most ``--requests`` requests per page and concurrency and ``--seconds`` seconds
per page and concurrency, ``--max-seconds`` for the whole measurement. Loopback only. The
server runs in its own process group and is stopped at the end, also on Ctrl-C or SIGTERM
(the signal is passed on to it, then SIGKILL if it does not stop). Prints figures and
asserts nothing about them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from generate import write_realistic
from support import stop

ROOT = Path(__file__).resolve().parent.parent
TIMELINE = Path(sys.executable).parent / "timeline"
HOST = "127.0.0.1"  # never another address: the load stays on this machine


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived; carries the signal to pass on to the server."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# -- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Records of the generated data that pages name."""

    actor: str
    event: str
    source: str
    system: str
    word: str
    year: int
    month_day: str
    type: str
    tag: str


def targets(db_path: Path) -> Targets:
    """The busiest actor, source and system, the middle event and a word of its title."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        one = lambda sql: (conn.execute(sql).fetchone() or ("",))[0]  # noqa: E731
        count = one("select count(*) from events")
        event, title, year = conn.execute(
            "select id, title, year from events order by sort_key, id limit 1 offset ?",
            (count // 2,),
        ).fetchone()
        words = sorted(re.findall(r"[A-Za-z]{5,}", title), key=lambda w: (-len(w), w))
        return Targets(
            actor=one("select id from actors order by event_count desc, id limit 1"),
            event=event,
            source=one("select id from sources order by citation_count desc, id limit 1"),
            system=one("select id from systems order by event_count desc, id limit 1"),
            word=words[0] if words else "drone",
            year=year,
            month_day=one("select substr(date_start, 6, 5) from events where precision = 'day'"
                          " order by sort_key limit 1 offset " + str(count // 2)) or "01-01",
            type=one("select type from events group by type order by count(*) desc limit 1"),
            tag=one("select value from events, json_each(events.tags) group by value "
                    "order by count(*) desc limit 1"),
        )  # fmt: skip
    finally:
        conn.close()


FACET_PAIR = ("events table, default facets", "events table, no facets")


def pages(t: Targets) -> list[tuple[str, str]]:
    """(label, path) of every page measured; canned queries come from the site's metadata."""
    out = [
        ("home", "/"),
        ("/timeline", "/timeline"),
        ("/timeline, one actor", "/timeline?" + urlencode({"actor": t.actor})),
        ("/timeline, disputed and refuted", "/timeline?status=disputed,refuted"),
        ("events table, default facets", "/record/events"),
        ("events table, no facets", "/record/events?_nofacet=1"),
        ("events table, full-text search", "/record/events?" + urlencode({"_search": t.word})),
        ("event page", f"/record/events/{t.event}"),
        ("actor page", f"/record/actors/{t.actor}"),
        ("source page", f"/record/sources/{t.source}"),
        ("system page", f"/record/systems/{t.system}"),
        ("/claims", "/claims"),
    ]
    values = {"actor": t.actor, "system": t.system, "q": t.word, "from": str(t.year),
              "to": str(t.year), "month_day": t.month_day, "status": "disputed",
              "type": t.type, "tag": t.tag}  # fmt: skip
    metadata = json.loads((ROOT / "datasette-metadata.json").read_text(encoding="utf-8"))
    for name, query in metadata["databases"]["record"]["queries"].items():
        params = {p: values.get(p, "") for p in query.get("params", [])}
        # a feed's filters are optional: the whole feed is the page people subscribe to
        if name in ("atom_feed", "calendar"):
            params = {}
        path = f"/record/{name}" + ("?" + urlencode(params) if params else "")
        out.append((f"canned query {name}", path))
    out += [("Atom feed", "/record/atom_feed.atom"), ("calendar", "/record/calendar.ics")]
    return out


# -- the server -------------------------------------------------------------------------------


def commit(yaml_path: Path) -> None:
    """Commit the file to a fresh git repository, as a published site is built from a
    checkout (first_added and last_changed, the recently added feed)."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    for args in (["init", "-q"], ["add", yaml_path.name],
                 ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-q",
                  "-m", "generated events"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=yaml_path.parent, env=env, check=True,
                       capture_output=True)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(yaml_path: Path, port: int, log: Path) -> subprocess.Popen:
    """`timeline serve --production` in a session of its own (so it can be stopped whole)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(TIMELINE), "serve", str(yaml_path), "--production", "--host", HOST,
             "--port", str(port)],
            cwd=yaml_path.parent, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_until_serving(process: subprocess.Popen, base: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"timeline serve exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-2000:]}")  # fmt: skip
        try:
            with urllib.request.urlopen(f"{base}/-/versions.json", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"timeline serve did not answer within {timeout:g} s")


# -- the load ---------------------------------------------------------------------------------


# Datasette's table page names the facets that ran out of time instead of counting them.
# Such a page is incomplete, however fast: it counts as an error, not as an answer.
FACETS_TIMED_OUT = b'class="facets-timed-out"'


def failure(status: int, body: bytes) -> str | None:
    """What is wrong with an answer, if anything: its status, or facets that timed out."""
    if status != 200:
        return f"HTTP {status}"
    if FACETS_TIMED_OUT in body:
        return "facets timed out"
    return None


@dataclass
class Cell:
    """One page at one concurrency."""

    timings: list[float] = field(default_factory=list)  # seconds, of successful requests
    errors: Counter = field(default_factory=Counter)  # what went wrong → how often
    requests: int = 0
    seconds: float = 0.0
    skipped: str = ""

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the successful requests, in seconds."""
        if not self.timings:
            return None
        ordered = sorted(self.timings)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def load_page(base: str, path: str, concurrency: int, requests: int, seconds: float,
                    request_timeout: float) -> Cell:  # fmt: skip
    """Send at most ``requests`` requests to ``path`` from ``concurrency`` connections for
    at most ``seconds`` seconds."""
    cell = Cell()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while cell.requests < requests and time.perf_counter() < deadline:
            cell.requests += 1
            sent = time.perf_counter()
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                cell.errors[type(exc).__name__] += 1
                continue
            failed = failure(response.status_code, response.content)
            if failed:
                cell.errors[failed] += 1
            else:
                cell.timings.append(time.perf_counter() - sent)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=request_timeout) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    cell.seconds = time.perf_counter() - started
    return cell


async def warm_up(base: str, path: str, timeout: float) -> tuple[int | None, int, str]:
    """One request: status, size of the body in bytes, error."""
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        try:
            response = await client.get(path)
        except httpx.HTTPError as exc:
            return None, 0, type(exc).__name__
    return response.status_code, len(response.content), ""


async def settle(base: str, probe: str, timeout: float) -> float:
    """Wait until ``probe`` (a one-row page: it needs one of the SQL threads) answers within
    a second: requests the client gave up on may still be running in the server, and they
    would be counted against the next page. Returns the seconds waited."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        while time.perf_counter() - started < timeout:
            sent = time.perf_counter()
            try:
                response = await client.get(probe)
            except httpx.HTTPError:
                continue
            if response.status_code == 200 and time.perf_counter() - sent < 1:
                break
    return time.perf_counter() - started


async def measure(base: str, page_list: list[tuple[str, str]], levels: list[int],
                  args: argparse.Namespace, probe: str) -> dict:  # fmt: skip
    results: dict[tuple[str, int], Cell] = {}
    sizes: dict[str, tuple[int | None, int, str]] = {}
    stop_at = time.monotonic() + args.max_seconds

    async def settled() -> None:
        waited = await settle(base, probe, args.request_timeout * 4)
        if waited > 5:
            print(f"  (waited {waited:.0f} s for the server to finish earlier requests)",
                  file=sys.stderr)  # fmt: skip

    for label, path in page_list:
        await settled()
        sizes[label] = await warm_up(base, path, args.request_timeout)
        for level in levels:
            if time.monotonic() > stop_at:
                results[(label, level)] = Cell(skipped=f"not run: {args.max_seconds:g} s limit")
                continue
            await settled()
            cell = await load_page(base, path, level, args.requests, args.seconds,
                                   args.request_timeout)  # fmt: skip
            results[(label, level)] = cell
            p50 = cell.percentile(0.5)
            shown = f"{p50 * 1000:.0f} ms" if p50 is not None else "no answer"
            print(f"  {label:<40} c={level:<3} p50 {shown}, {sum(cell.errors.values())} errors",
                  file=sys.stderr)  # fmt: skip
    return {"cells": results, "sizes": sizes}


# -- the report -------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


def _bytes(n: int) -> str:
    return f"{n / 1024:,.1f} KiB" if n < 2**20 else f"{n / 2**20:,.1f} MiB"


def table(page_list: list[tuple[str, str]], levels: list[int], measured: dict) -> str:
    head = "| page | path | size |"
    rule = "|---|---|---:|"
    for level in levels:
        head += f" c={level} p50 ms | c={level} p99 ms | c={level} errors | c={level} req/s |"
        rule += "---:|---:|---:|---:|"
    lines = [head, rule]
    notes = []
    for label, path in page_list:
        status, size, error = measured["sizes"][label]
        shown_size = _bytes(size) if status == 200 else f"{error or f'HTTP {status}'}"
        row = f"| {label} | `{path}` | {shown_size} |"
        for level in levels:
            cell: Cell = measured["cells"][(label, level)]
            if cell.skipped:
                row += f" {cell.skipped} | — | — | — |"
                continue
            errors = sum(cell.errors.values())
            rate = cell.requests / cell.seconds if cell.seconds else 0
            row += (f" {_ms(cell.percentile(0.5))} | {_ms(cell.percentile(0.99))} "
                    f"| {errors}/{cell.requests} | {rate:,.1f} |")  # fmt: skip
            if cell.errors:
                kinds = ", ".join(f"{n}× {kind}" for kind, n in cell.errors.most_common())
                notes.append(f"- {label}, c={level}: {kinds}")
        lines.append(row)
    if notes:
        lines += ["", "Errors:", *notes]
    return "\n".join(lines)


def facet_throughput(levels: list[int], measured: dict) -> str:
    """The faceted events table's requests per second against the same page without
    facets, at each concurrency (the cost of the facets, as a reader meets it)."""
    parts = []
    for level in levels:
        faceted, bare = (measured["cells"][(label, level)] for label in FACET_PAIR)
        if faceted.skipped or bare.skipped or not faceted.seconds or not bare.seconds:
            continue
        with_facets, without = (c.requests / c.seconds for c in (faceted, bare))
        if without:
            parts.append(f"{with_facets / without:.0%} at c={level}")
    return "The events table with its default facets answers " + (
        ", ".join(parts) + " of the requests per second of the same page without facets."
        if parts
        else "no figure (a page was not measured)."
    )


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def run_interruptibly(coroutine) -> object:
    """Run ``coroutine`` in an event loop that turns SIGTERM and SIGINT into Interrupted.

    A Python signal handler that raises cannot stop an event loop reliably: when the
    signal lands inside one of the loop's callbacks, asyncio logs the exception and goes
    on measuring (a SIGTERM was once ignored for over a minute). Inside the loop the
    signals cancel the measuring task instead; outside it, ``_interrupt`` is back.
    """
    received: list[int] = []
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        task = loop.create_task(coroutine)

        def stop(signum: int) -> None:
            received.append(signum)
            task.cancel()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop, signum)
        try:
            return runner.run(_awaited(task))
        except asyncio.CancelledError:
            if received:
                raise Interrupted(received[0]) from None
            raise
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
                signal.signal(signum, _interrupt)


async def _awaited(task: asyncio.Task) -> object:
    return await task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000, help="events (default 10000)")
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="most requests per page and concurrency (default 200)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10,
        help="most seconds per page and concurrency (default 10)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 8, 32],
        help="concurrent connections (default 1 8 32)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=1800, help="most seconds of load in all (default 1800)"
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30,
        help="seconds one request may take (default 30)",
    )
    parser.add_argument(
        "--build-timeout",
        type=float,
        default=1800,
        help="seconds the build may take (default 1800)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=120,
        help="seconds the server may take to answer (default 120)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated file")
    parser.add_argument(
        "--yaml", type=Path, help="measure this timeline (e.g. events.yaml) instead of generating N"
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.yaml is not None and not args.yaml.is_file():
        parser.error(f"--yaml {args.yaml}: no such file")
    if args.requests < 1 or min(args.concurrency) < 1:
        parser.error("--requests and --concurrency must be at least 1")
    if not TIMELINE.exists():
        parser.error(f"{TIMELINE} is missing: run with the project's virtualenv python")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    server: subprocess.Popen | None = None
    passed_on = signal.SIGINT
    with tempfile.TemporaryDirectory(prefix="timeline-load-") as tmp:
        try:
            site = Path(tmp)
            yaml_path = site / "events.yaml"
            if args.yaml is not None:
                yaml_path.write_bytes(args.yaml.read_bytes())
            else:
                write_realistic(args.n, yaml_path, seed=args.seed)
            commit(yaml_path)
            started = time.perf_counter()
            subprocess.run([str(TIMELINE), "build", str(yaml_path)], cwd=site, check=True,
                           capture_output=True, timeout=args.build_timeout)  # fmt: skip
            built = time.perf_counter() - started
            found = targets(site / "record.db")
            page_list = pages(found)
            port = free_port()
            base = f"http://{HOST}:{port}"
            server = start_server(yaml_path, port, site / "serve.log")
            described = str(args.yaml) if args.yaml else f"{args.n:,} events"
            print(f"server pid {server.pid} on {base} ({described}, built in "
                  f"{built:.1f} s)", file=sys.stderr)  # fmt: skip
            wait_until_serving(server, base, args.startup_timeout, site / "serve.log")
            probe = f"/record/events/{found.event}.json"
            measured = run_interruptibly(measure(base, page_list, args.concurrency, args, probe))
        except Interrupted as exc:
            passed_on = exc.signum
            print(f"interrupted by {exc}; the server is stopped", file=sys.stderr)
            return 128 + exc.signum
        finally:
            if server is not None:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # leave the server running
                stop(server, passed_on)
                print(f"server pid {server.pid} stopped (exit {server.returncode})",
                      file=sys.stderr)  # fmt: skip
    print(
        f"{args.yaml or f'{args.n:,} events'}, `timeline serve --production` on loopback; at most "
        f"{args.requests} requests and {args.seconds:g} s per page and concurrency; one "
        f"warm-up request per page first (not counted). Machine: {os.cpu_count()} cores, "
        f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} at the end.\n"
    )
    print(table(page_list, args.concurrency, measured))
    print("\n" + facet_throughput(args.concurrency, measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
