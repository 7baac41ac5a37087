"""Which indexes and precomputed tables the site's pages use, and what each one costs.

    python benchmarks/index_use.py record.db

Serves the database as the site (``timeline.serve.datasette_command``, development mode, on
127.0.0.1) with one more plugin, which records every SQL statement Datasette's connections
run (the ``prepare_connection`` hook and SQLite's trace callback, with the bound values
written in). It asks once for each page ``benchmarks/load.py`` measures, for each table
page filtered by each declared facet or indexed column and for ``/timeline`` filtered by
each of its filters (``filter_pages``), stops the server,
then asks SQLite for the plan of each statement the pages ran (``explain query plan``,
with the project's SQL functions) and names the indexes the plans read. For each index
and each table the build precomputes it prints its size in the file (SQLite's ``dbstat``)
and the pages whose statements read it. An index no measured page reads may still serve
a page or filter not measured (a facet of another column, a sort a reader chooses): the
table says what was measured, not what is needed. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasette.utils import escape_fts
from load import HOST, free_port, pages, stop, targets, wait_until_serving

from timeline import schema
from timeline.filters import FILTERS
from timeline.serve import datasette_command

ROOT = Path(__file__).resolve().parent.parent
SITE_PARTS = ("datasette-metadata.json", "templates", "static")
# The tables the build derives from the records' rows (``timeline.derive``).
DERIVED = ("actor_pairs", "event_counts", "scope_events", "event_list_values",
           "event_list_counts", "record_names", "events_fts", "citations_fts")  # fmt: skip
TRACER = """
import os
from datasette import hookimpl

LOG = {log!r}


@hookimpl
def prepare_connection(conn):
    def record(statement):
        with open(LOG, "a", encoding="utf-8") as out:
            out.write(statement.replace("\\x00", "") + "\\x00" + str(os.getpid()) + "\\x01")

    conn.set_trace_callback(record)
"""
PAGE_MARK = "-- index_use page: "
_INDEX_IN_PLAN = re.compile(r"\bUSING (?:COVERING )?INDEX (\w+)")


def site_with_tracer(work: Path, log: Path) -> Path:
    """A site directory: the project's files, and its plugins with the tracer beside them."""
    site = work / "site"
    site.mkdir()
    for name in SITE_PARTS:
        (site / name).symlink_to(ROOT / name)
    plugins = site / "plugins"
    plugins.mkdir()
    for plugin in (ROOT / "plugins").glob("*.py"):
        (plugins / plugin.name).symlink_to(plugin)
    (plugins / "zz_index_use_tracer.py").write_text(TRACER.format(log=str(log)), "utf-8")
    return site


def filter_pages(db_path: Path) -> list[tuple[str, str]]:
    """Beside ``load.pages``: each table page filtered by each facet and indexed column the
    declarations name (``schema``), on the value most rows hold (the events' lists by the
    list facets' own parameter, as their links filter), and ``/timeline`` filtered by each
    of its filters (``timeline.filters.FILTERS``)."""
    tables = {**{t: schema.table_columns(t) for t in schema.SECTION_TABLE.values()},
              **{t: schema.link_columns(t) for t in schema.LINK_TABLES}}  # fmt: skip
    lists = _plugin("list_facets")
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    commonest = lambda sql: (conn.execute(sql).fetchone() or (None,))[0]  # noqa: E731
    out = []
    try:
        for table, columns in tables.items():
            for column in (c for c in columns if c.facet or c.index):
                if column.facet == "array":
                    value = commonest(
                        f"select j.value from [{table}], json_each([{table}]."
                        f"[{column.name}]) j group by 1 order by count(*) desc"
                    )
                    name = lists.parameter(column.name)
                else:
                    value = commonest(f"select [{column.name}] from [{table}] where"
                                      f" [{column.name}] is not null group by 1"
                                      " order by count(*) desc")  # fmt: skip
                    name = column.name
                if value is not None:
                    query = urlencode({name: value})
                    out.append((f"{table} filtered by {column.name}", f"/record/{table}?{query}"))
        t = targets(db_path)
        values = {"actor": t.actor, "system": t.system, "type": t.type, "tag": t.tag,
                  "source": t.source, "status": "disputed", "from": str(t.year),
                  "to": str(t.year),
                  "country": commonest("select j.value from events, json_each(countries) j"
                                       " group by 1 order by count(*) desc"),
                  "place": commonest("select location from events where location is not"
                                     " null group by 1 order by count(*) desc")}  # fmt: skip
        for name in FILTERS:
            if values.get(name) is not None:
                out.append((f"/timeline by {name}", "/timeline?" + urlencode({name: values[name]})))
    finally:
        conn.close()
    return out


def record_pages(db_path: Path, work: Path) -> dict[str, list[str]]:
    """Every page of ``load.pages`` and ``filter_pages`` asked for once: the statements each
    one ran."""
    log = work / "statements.log"
    log.write_text("", encoding="utf-8")
    port = free_port()
    served = work / "record.db"  # the site's pages name the database by this file's name
    served.symlink_to(db_path)
    command = datasette_command(served, site_with_tracer(work, log), HOST, port)
    server_log = work / "server.log"
    with server_log.open("wb") as out:
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://{HOST}:{port}"
    found: dict[str, list[str]] = {}
    try:
        wait_until_serving(server, base, 60, server_log)
        for label, path in pages(targets(db_path)) + filter_pages(db_path):
            start = log.stat().st_size
            try:
                with urllib.request.urlopen(base + path, timeout=60) as response:
                    response.read()
            except urllib.error.HTTPError as exc:
                raise RuntimeError(
                    f"{label} ({path}) answered HTTP {exc.code}:\n"
                    f"{server_log.read_text(errors='replace')[-2000:]}"
                ) from None
            with log.open("rb") as statements:
                statements.seek(start)
                ran = statements.read().decode("utf-8", errors="replace")
            found[label] = [s.split("\x00")[0] for s in ran.split("\x01") if s.strip()]
    finally:
        stop(server)
    return found


def plans(db_path: Path, statements: dict[str, list[str]]) -> tuple[dict, int]:
    """For each index, the pages whose statements' plans read it; and how many distinct
    statements could not be planned here (a function only the server has)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    _plugin("sql_functions").prepare_connection(conn)  # the site's SQL functions
    conn.create_function("escape_fts", 1, escape_fts)  # Datasette's own, for its searches
    used: dict[str, set[str]] = defaultdict(set)
    unplanned = set()
    for label, ran in statements.items():
        for statement in ran:
            if not statement.lstrip().lower().startswith(("select", "with")):
                continue  # the full-text tables' own statements start with a comment
            for table in DERIVED:
                if re.search(rf"\b{table}\b", statement):
                    used[table].add(label)
            try:
                plan = conn.execute("explain query plan " + statement).fetchall()
            except sqlite3.Error as exc:
                if statement not in unplanned:
                    print(f"not planned ({exc}): {' '.join(statement.split())[:160]}",
                          file=sys.stderr)  # fmt: skip
                unplanned.add(statement)
                continue
            for row in plan:
                for index in _INDEX_IN_PLAN.findall(row[-1]):
                    used[index].add(label)
    conn.close()
    return used, len(unplanned)


def _plugin(name: str):
    """One of the site's plugins (``plugins/<name>.py``), as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "plugins" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sizes(db_path: Path) -> dict[str, int]:
    """Bytes of each table and index in the file (a full-text table: its shadow tables)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        found = dict(conn.execute("select name, sum(pgsize) from dbstat group by name"))
    finally:
        conn.close()
    for table in ("events_fts", "citations_fts"):
        found[table] = sum(v for k, v in found.items() if k.startswith(table + "_"))
    return found


def report(db_path: Path, used: dict[str, set[str]], unplanned: int, pages_asked: int) -> str:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    indexes = conn.execute("select name, tbl_name from sqlite_master where type = 'index'"
                           " order by tbl_name, name").fetchall()  # fmt: skip
    conn.close()
    size = sizes(db_path)
    mib = lambda n: f"{n / 2**20:,.1f} MiB"  # noqa: E731
    lines = [f"{pages_asked} pages asked once; {unplanned} distinct statements not planned here.",
             "", "| precomputed table | size | pages that read it |", "|---|---:|---|"]  # fmt: skip
    for table in DERIVED:
        readers = sorted(used.get(table, ()))
        lines.append(f"| `{table}` | {mib(size.get(table, 0))} | "
                     f"{len(readers)}: {', '.join(readers) or '—'} |")  # fmt: skip
    lines += ["", "| index | table | size | pages whose plans read it |", "|---|---|---:|---|"]
    unused = 0
    for name, table in indexes:
        readers = sorted(used.get(name, ()))
        unused += not readers
        shown = f"{len(readers)}: {', '.join(readers)}" if readers else "none measured"
        lines.append(f"| `{name}` | `{table}` | {mib(size.get(name, 0))} | {shown} |")
    total = sum(size.get(name, 0) for name, _ in indexes)
    spare = sum(size.get(name, 0) for name, _ in indexes if not used.get(name))
    lines += ["", f"{len(indexes)} indexes, {mib(total)}; read by no measured page: {unused}, "
              f"{mib(spare)}; the file: {mib(db_path.stat().st_size)}."]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path, help="a database built by `timeline build`")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="index-use-") as work:
        statements = record_pages(args.db.resolve(), Path(work))
    used, unplanned = plans(args.db, statements)
    print(report(args.db, used, unplanned, len(statements)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
