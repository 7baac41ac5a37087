"""Helpers for the site tests: build a fixture database and serve it in-process.

Not a test module itself (pytest collects test_*.py files only).
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette
from hypothesis import strategies as st

from timeline.build import build_file
from timeline.dates import parse_date
from timeline.store import STAMP_KEY

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small.yaml"
REAL = ROOT / "events.yaml"
METADATA = ROOT / "datasette-metadata.json"
SITE_PARTS = ("datasette-metadata.json", "templates", "plugins", "static")

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMG)
# What must never reach an HTML page unescaped.
RAW_MARKUP = ("<script>alert", "<img src=x", "onerror=alert(1)>")


def examples_share(environ: dict[str, str] = os.environ) -> float:
    """The share of each property test's examples this run draws: 1 (all of them) unless
    TIMELINE_EXAMPLES_SHARE says less, as `make test-fast`, the inner loop, does. Hypothesis's
    example database (.hypothesis/) replays there every failure an earlier run found, so a
    smaller draw still checks it again. Under CI=true every example is drawn: a smaller share
    is refused, not taken in silence."""
    given = environ.get("TIMELINE_EXAMPLES_SHARE", "").strip()
    if not given:
        return 1.0
    try:
        share = float(given)
    except ValueError:
        share = 0.0
    if not 0 < share <= 1:
        raise ValueError(
            f"TIMELINE_EXAMPLES_SHARE={given!r}: give a number above 0 and at most 1 "
            "(0.25 draws a quarter of each property test's examples)"
        )
    if share < 1 and environ.get("CI", "").lower() == "true":
        raise ValueError(
            f"TIMELINE_EXAMPLES_SHARE={given!r} under CI=true: CI draws every example; unset it"
        )
    return share


def examples(full: int, share: float | None = None) -> int:
    """How many examples a property test whose full count is `full` draws in this run (at
    least 10, or all of them when the test has fewer). The share is read when asked, not when
    this module is imported: conftest.py checks it first, to refuse a bad one in a line."""
    share = examples_share() if share is None else share
    return max(min(full, 10), round(full * share))


PLACE = re.compile(r"location: \{name: ([^,{}]+), latitude: (-?[\d.]+),")


def moved_place(text: str) -> str:
    """The text with one event's place moved to another point, while the other events of
    that place name stay where they are: each gets validate's "other point" warning."""
    name, _ = Counter(m[1] for m in PLACE.finditer(text)).most_common(1)[0]
    first = next(m for m in PLACE.finditer(text) if m[1] == name)
    moved = f"{float(first[2]) + 0.5:.4f}"
    return text[: first.start(2)] + moved + text[first.end(2) :]


def load_yaml(path: Path) -> dict:
    """A fixture's data as PyYAML's safe loader reads it (its C parser: the same data,
    several times quicker on the real file, which many tests read)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}


def write_yaml(data: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def timeline_of(events: list[dict], actors: list[dict] | None = None) -> dict:
    """A valid timeline of just these events (each with its id, date, type, status and any
    other fields), each given a title, a summary and a citation of the one source."""
    source = {"id": "src", "title": "A page", "publisher": "P", "published": "2020",
              "kind": "news", "language": "en"}  # fmt: skip
    citation = {"source": "src", "quote": "A sentence."}
    return {"sources": [source], "actors": actors or [], "events": [
        {"title": f"Event {e['id']}", "summary": "An event of a test.", **e,
         "citations": [citation]}
        for e in events
    ]}  # fmt: skip


def hostile_timeline() -> dict:
    """The small timeline with markup in an event's title, summary, quote and location."""
    data = copy.deepcopy(load_yaml(SMALL))
    event = next(e for e in data["events"] if e["id"] == "flight-suspension")
    event["title"] = f"Flights {SCRIPT} suspended {IMG}"
    event["summary"] = f"Summary with {IMG} and {SCRIPT} inside."
    event["location"] = {"name": f"Moscow {SCRIPT}", "latitude": 55.75, "longitude": 37.62}
    event["citations"][0]["quote"] = f"Russia suspended all flights {SCRIPT} {IMG}"
    return data


def query_rows(db: Path, sql: str, params=()) -> list[dict]:
    """The rows of a read-only query on a built database, as mappings."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


# Databases this test process has built, by file and content: most test modules serve the
# same file (the real record, the small one), and a copy costs milliseconds where a build of
# the real record costs seconds. Deleted when the process ends.
_BUILT = tempfile.TemporaryDirectory(prefix="timeline-tests-built-")
atexit.register(_BUILT.cleanup)


def build(yaml_path: Path, tmp_path: Path) -> Path:
    """``yaml_path`` built into tmp_path/db/record.db (database name: record): a copy of
    this process's build of the same file with the same bytes, when there is one (a test
    that patches the build calls ``build_file`` itself)."""
    yaml_path = Path(yaml_path).resolve()
    target = tmp_path / "db"
    target.mkdir(exist_ok=True)
    key = hashlib.sha256(str(yaml_path).encode() + b"\0" + yaml_path.read_bytes()).hexdigest()
    built = Path(_BUILT.name) / key / "record.db"
    if not built.exists():
        built.parent.mkdir(exist_ok=True)
        build_file(yaml_path, built, force=True)
    shutil.copyfile(built, target / "record.db")
    return target / "record.db"


async def site(
    db_path: Path,
    metadata: dict | None = None,
    settings: dict | None = None,
    *,
    immutable: bool = False,
) -> Datasette:
    """The published site over ``db_path``, as `timeline serve` configures it (``settings``:
    Datasette settings that differ; ``immutable``: the database served as production does)."""
    ds = Datasette(
        [] if immutable else [str(db_path)],
        immutables=[str(db_path)] if immutable else [],
        metadata=metadata or json.loads(METADATA.read_text(encoding="utf-8")),
        settings=settings,
        template_dir=str(ROOT / "templates"),
        plugins_dir=str(ROOT / "plugins"),
        static_mounts=[("static", str(ROOT / "static"))],
    )
    await ds.invoke_startup()
    return ds


def statements_of(ds: Datasette, monkeypatch) -> list[str]:
    """The SQL the timeline database runs from now on, in order (for this test only)."""
    db = ds.get_database("record")
    statements: list[str] = []
    execute = db.execute

    async def counted(sql, *args, **kwargs):
        statements.append(sql)
        return await execute(sql, *args, **kwargs)

    monkeypatch.setattr(db, "execute", counted)
    return statements


def link_site_files(directory: Path) -> None:
    """Symlink the site files into ``directory``: `timeline serve` reads them next to the YAML."""
    for name in SITE_PARTS:
        (directory / name).symlink_to(ROOT / name)


def expected_facets(data: dict) -> dict[str, Counter]:
    """Facet counts computed straight from the YAML, for comparison with Datasette's."""
    names = {a["id"]: a["name"] for a in data.get("actors") or []}
    lists = ("actors", "countries", "tags")
    counts = {k: Counter() for k in ("type", "year", "status", "precision", *lists)}
    for event in data.get("events") or []:
        counts["type"][event["type"]] += 1
        counts["precision"][parse_date(event["date"]).precision] += 1
        counts["status"][event["status"]] += 1
        counts["year"][parse_date(event["date"]).year] += 1
        for name in {names[a["actor"]] for a in event.get("actors") or []}:
            counts["actors"][name] += 1
        for code in set(event.get("countries") or []):
            counts["countries"][code] += 1
        for tag in set(event.get("tags") or []):
            counts["tags"][tag] += 1
    return counts


async def assert_facets_match(ds: Datasette, expected: dict[str, Counter]) -> None:
    """The events table's facet counts (all values) equal ``expected``: the facets its
    metadata configures, as the page shows them."""
    data = (await ds.client.get("/record/events.json?_facet_size=max&_size=0")).json()
    for name, counts in expected.items():
        facet = data["facet_results"][name]
        assert not facet["truncated"], name
        got = {str(r["value"]): r["count"] for r in facet["results"]}
        assert got == {str(k): v for k, v in counts.items()}, name


def assert_no_raw_markup(text: str, where: str) -> None:
    for fragment in RAW_MARKUP:
        assert fragment not in text, f"unescaped {fragment!r} in {where}"


# -- a real `timeline serve` process ------------------------------------------------------

STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timeline_command() -> list[str]:
    script = Path(sys.executable).parent / "timeline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "timeline.cli"]


def wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"timeline serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"timeline serve did not answer within {STARTUP_TIMEOUT}s:\n{log.read_text()}")


def stop(process: subprocess.Popen, first: int = signal.SIGINT) -> None:
    """Stop the server and its datasette child (their own process group), bounded: ``first``
    (a signal to pass on), then SIGKILL if it is still there."""
    if process.poll() is not None:
        return
    for sig in (first, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def serving(site_dir: Path, *options: str) -> Iterator[str]:
    """Run `timeline serve` on site_dir/events.yaml on a free port; yields the base URL."""
    link_site_files(site_dir)
    with serving_bare(site_dir, *options) as base:
        yield base


@contextmanager
def serving_bare(site_dir: Path, *options: str) -> Iterator[str]:
    """Like serving(), with nothing but the YAML in site_dir."""
    port = free_port()
    log = site_dir / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*timeline_command(), "serve", str(site_dir / "events.yaml"),
             "--host", "127.0.0.1", "--port", str(port), *options],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=site_dir,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, f"{base}/-/versions.json", log)
        yield base
    finally:
        stop(process)
        assert process.poll() is not None, "timeline serve is still running"


async def column_facets_side_by_side(ds: Datasette, query: str) -> dict[str, tuple[dict, dict]]:
    """Each column facet of the events table on the page ``query``, as the site counts it
    and as Datasette's own column facet counts it: column -> (ours, Datasette's)."""
    columns = ("precision", "year", "type", "status")
    requested = "&".join(f"_facet={column}" for column in columns)
    data = (await ds.client.get(f"/record/events.json?{query}&{requested}")).json()
    facets = data["facet_results"]
    return {column: (facets[column], facets[f"{column}_2"]) for column in columns}


def luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# Fragments that change how YAML reads what follows: indentation, list dashes, comments,
# quotes, block scalars, flow brackets, anchors and aliases, keys, a new event.
SNIPPETS = ["\n", "  ", "    ", "- ", "  - ", "#", " # note", "'", '"', "|\n", ">-\n", ": ",
            "[", "]", "{", "}", "&a ", "*a", "\t", "x", " more words", "\n  - id: typed-in\n",
            "\n    notes: |\n      a note\n", "\n  # a comment line\n", "...\n",
            "---\n"]  # fmt: skip
EDITS = st.lists(
    st.tuples(
        st.floats(0, 1, allow_nan=False),  # where, as a share of the events' text
        st.one_of(st.sampled_from(SNIPPETS), st.integers(1, 60)),  # inserted, or deleted
    ),
    min_size=1,
    max_size=3,
)


def edited(text: str, edits: list, after: str = "\nevents:\n") -> str:
    """``text`` with EDITS applied after the line ``after`` (by default, inside its events
    list; ``"\nsources:\n"``: among every record)."""
    start = text.index(after) + len(after)
    for where, edit in edits:
        at = start + int(where * (len(text) - start))
        if isinstance(edit, str):
            text = text[:at] + edit + text[at:]
        else:
            text = text[:at] + text[at + edit :]
    return text


def contents(db: Path) -> dict[str, list]:
    """Every table's rows (in a fixed order), what the full-text indexes hold, and the
    schema: what two databases with the same rows agree on, whatever their file layout."""
    conn = sqlite3.connect(db)
    try:
        out: dict[str, list] = {
            "schema": sorted(conn.execute("select type, name, tbl_name, sql from sqlite_master"))
        }
        tables = conn.execute(
            "select name from sqlite_master where type = 'table' and name not like '%fts%'"
        )
        for (table,) in tables.fetchall():
            out[table] = sorted(conn.execute(f"select * from [{table}]"), key=repr)
        # The input's stamp says when the build read the file, not what it holds: "" within a
        # second of a write (files.SETTLED_NS), so two builds of the same bytes differ in it
        # whenever a loaded machine puts one of them past that second.
        out["build_info"] = [row for row in out["build_info"] if row[0] != STAMP_KEY]
        for table in ("events", "citations"):
            key = "id"
            conn.execute(f"insert into {table}_fts ({table}_fts) values ('integrity-check')")
            conn.execute(
                f"create virtual table temp.{table}_terms using fts5vocab(main, {table}_fts,"
                " 'instance')"
            )
            out[f"{table}_fts"] = sorted(
                conn.execute(
                    f"select v.term, t.{key}, v.col, v.offset from temp.{table}_terms v"
                    f" join {table} t on t.rowid = v.doc"
                ),
                key=repr,
            )
        return out
    finally:
        conn.close()


# Transfer steps for the register's tests (tests/test_register*.py).
SYSTEM = {"id": "bayraktar-tb2", "name": "Bayraktar TB2", "kind": "combat-drone",
          "maker": "baykar", "country": "TR"}  # fmt: skip


def step(
    n: int, action: str, quantity: int | None, qualifier: str = "exact",
    status: str = "confirmed", year: int = 2022, deal_id: str = "tb2-deal",
) -> dict:  # fmt: skip
    """One event holding one step of a deal, Baykar → Ukrspecexport."""
    entry: dict = {"system": "bayraktar-tb2", "action": action, "deal_id": deal_id,
                   "supplier": "baykar", "recipient": "ukrspecexport"}  # fmt: skip
    if quantity is not None:
        entry |= {"quantity": quantity, "quantity_qualifier": qualifier, "source": "seed-news"}
    if action == "running-total":
        entry["as_of"] = f"{year - 1}-02-24/{year}-06-28"
    event = {
        "id": f"step-{n}", "date": f"{year}-0{1 + n % 9}", "title": f"Step {n}",
        "summary": f"Step {n} of the deal.", "type": "contract", "status": status,
        "actors": [{"actor": "baykar", "role": "supplier"}], "countries": ["TR", "UA"],
        "systems": [entry], "notes": "Month only.",
        "citations": [{"source": "seed-news", "quote": f"Step {n}: {quantity} drones."}],
    }  # fmt: skip
    if status != "confirmed":
        event["actors"].append({"actor": "analyst", "role": "claimant"})
    return event


def with_steps(tmp_path: Path, steps: list[dict]) -> Path:
    data = load_yaml(SMALL)
    data["systems"] = [SYSTEM]
    data["events"] += steps
    return write_yaml(data, tmp_path / "events.yaml")


# Pieces that look like YAML syntax inside prose: comments, keys, list items, quotes,
# block indicators, and the line separators YAML 1.1 reads as line breaks.
TRICKY = st.sampled_from(
    [
        "#StandWithUkraine",
        "# not a comment",
        ": ",
        "key: value",
        "- item",
        "'",
        '"',
        "|",
        ">",
        "\u2028",
        "\u0085",
        "  ",
        "\t",
        "{a: b}",
        "[x]",
        "%",
        "@",
        "`",
        "ç",
        "ğ",
        "–",
        "!tag",
        "&a",
        "*a",
        "---",
        "...",
    ]
)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
PIECE = st.one_of(WORD, TRICKY, st.just(" "), st.just("\n"))
TEXT = st.lists(PIECE, min_size=1, max_size=40).map("".join).filter(lambda t: t.strip())


def event_spans(text: str, path: Path) -> tuple[list[dict], list[tuple[int, int]]]:
    """The file's events and each one's byte span (from the parser's marks)."""
    from timeline.load import load_text
    from timeline.spans import record_spans

    raw = text.encode()
    doc = load_text(text, path)
    spans = record_spans(doc, raw)
    assert spans is not None
    offsets = spans.offsets()
    return doc.data["events"], [(offsets[i], offsets[i + 1]) for i in range(1, len(offsets) - 2)]


def spliced(text: str, span: tuple[int, int], new: str) -> str:
    """``text`` with the bytes of ``span`` replaced by ``new``."""
    raw = text.encode()
    return (raw[: span[0]] + new.encode() + raw[span[1] :]).decode()


@contextmanager
def mapped(raw: bytes) -> Iterator[bytes]:
    """``raw`` as ``validate`` holds a large file's bytes (``load.mapped_copy``: a mapped
    copy), whatever its size."""
    from unittest import mock

    from timeline import load

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.yaml"
        path.write_bytes(raw)
        with mock.patch.object(load, "MAPPED_BYTES", 0), load.mapped_copy(path) as held:
            assert isinstance(held, load.MappedFile) or not raw  # (nothing to map)
            yield held


def spied_forks(monkeypatch) -> list[int]:
    """The processes this test forks (``os.fork`` spied on), as their numbers."""
    forked: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return forked


def reaped(pid: int) -> bool:
    """Whether a process this one forked has ended and been waited for (not a zombie, not
    left running)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def running_children(pid: int) -> list[int]:
    """The running children of ``pid`` (not those that ended and wait to be reaped)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split() if process_state(int(child)) not in (b"Z", None)]


def running_forks(pid: int) -> list[int]:
    """The running children of ``pid`` that it forked without running another program (its
    readers), not a program it runs (``git``, say): their command line is its own."""
    try:
        own = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    found = []
    for child in running_children(pid):
        try:
            if Path(f"/proc/{child}/cmdline").read_bytes() == own:
                found.append(child)
        except OSError:
            continue
    return found


def process_state(pid: int) -> bytes | None:
    """A process's state letter (b"Z": ended, not yet reaped), or None when it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return None


def calls_logged(
    monkeypatch, owner: object, name: str, log: Path, note: Callable[..., str] = lambda *a, **k: ""
) -> Callable[[], list[str]]:
    """``owner.name`` spied on here and in every process forked from here (``add`` checks
    in one): each call appends ``note(*args)`` as a line to ``log``. Returns what reads the
    lines logged so far."""
    real = getattr(owner, name)

    def spy(*args, **kwargs):
        with open(log, "a", encoding="utf-8") as lines:
            lines.write(note(*args, **kwargs) + "\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return lambda: log.read_text(encoding="utf-8").splitlines() if log.exists() else []
