"""Run Datasette over the built database with the project's metadata, templates and plugins."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import NoReturn

from . import vendor
from .files import lock_for, replace_durably, write_atomically
from .store import INPUT_KEY, read_only, standalone, stored_build_info

METADATA = "datasette-metadata.json"
PRODUCTION_METADATA = "datasette-metadata.production.json"
INSPECT_FILE = "inspect-data.json"
# Where production serving keeps its immutable copy of the database (beside the database,
# under the same file name, which is the database's name in Datasette).
PRODUCTION_DIR = ".production"
SQL_TIME_LIMIT_MS = 1000
# Datasette's settings for the site, served or published. A facet may take as long as the
# page's own query: with Datasette's 200 ms, the actors and tags facets of a search that
# matches most of 100,000 events ran out of time, and the page showed the others only.
# Facet suggestions cost hundreds of ms a page on big tables, and Datasette would suggest
# again the column facets the site already shows (they are counted by its own facet class).
SETTINGS = {
    "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
    "facet_time_limit_ms": SQL_TIME_LIMIT_MS,
    "suggest_facets": "off",
}
# The site's files live beside the package, wherever the YAML being served is.
SITE_DIR = Path(__file__).resolve().parent.parent
SITE_FILES = (METADATA, "templates", "plugins", "static")


class SiteMissing(Exception):
    """The metadata, templates, plugins or static files of the site are not there."""


def check_site(site_dir: Path) -> None:
    """Refuse to serve a bare Datasette when the site's own files cannot be found, or a
    site without its charts when the chart libraries were never installed."""
    missing = [name for name in SITE_FILES if not (Path(site_dir) / name).exists()]
    if missing:
        raise SiteMissing(
            f"the site files {', '.join(missing)} are missing from {site_dir}; "
            "run timeline from a checkout of the project (pip install -e .)"
        )
    try:
        vendor.check(site_dir)
    except vendor.VendorMissing as exc:
        raise SiteMissing(str(exc)) from None


def default_workers() -> int:
    """One server process per core: a page's SQL holds its process's thread pool, so
    two cores need two processes to serve two pages at once."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def datasette_command(
    db_path: Path,
    site_dir: Path,
    host: str,
    port: int,
    *,
    production: bool = False,
    workers: int | None = None,
) -> list[str]:
    """The Datasette command line for this site.

    ``site_dir`` holds datasette-metadata.json, templates/, plugins/ and static/.
    In production the database is served immutable with a precomputed inspect
    file (kept next to the database), and Gunicorn runs ``workers`` Datasette processes
    (one per core by default, through the datasette-gunicorn plugin); development keeps
    ``datasette serve``'s single process. Both take the site's ``SETTINGS``.

    Example::

        datasette_command(Path("record.db"), SITE_DIR, "127.0.0.1", 8001)
    """
    site_dir = Path(site_dir)
    command = [sys.executable, "-m", "datasette", "gunicorn" if production else "serve"]
    metadata = site_dir / METADATA
    if production:
        command += ["--workers", str(workers or default_workers())]
        inspect_file = Path(db_path).parent / INSPECT_FILE
        command += ["--immutable", str(db_path), "--inspect-file", str(inspect_file)]
        metadata = Path(db_path).parent / PRODUCTION_METADATA
    else:
        command += [str(db_path)]
    command += ["--metadata", str(metadata)]
    for option, name in (("--template-dir", "templates"), ("--plugins-dir", "plugins"),
                         ("--static", "static")):  # fmt: skip
        target = site_dir / name
        if target.exists():
            command += [option, f"static:{target}" if name == "static" else str(target)]
    command += ["--host", host, "--port", str(port)]
    return command + setting_options()


def setting_options() -> list[str]:
    """The site's Datasette settings as command-line options."""
    return [part for name, value in SETTINGS.items() for part in ("--setting", name, str(value))]


def immutable_copy(db_path: Path) -> Path:
    """A copy of the database for a server that opens it immutable (``--production``).

    A build rewrites the database in place (``timeline.build``), which a server that reads
    it without locks must never see half-done; the copy is taken in one read transaction
    and renamed into place, so a server started on an earlier copy keeps reading that one.
    An up-to-date copy (built from the same input) is kept.
    """
    db_path = Path(db_path)
    target = db_path.parent / PRODUCTION_DIR / db_path.name
    target.parent.mkdir(exist_ok=True)
    with lock_for(target):
        built = stored_build_info(db_path).get(INPUT_KEY)
        if built and stored_build_info(target).get(INPUT_KEY) == built:
            return target
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        copy = Path(name)
        try:
            with read_only(db_path) as source, closing(sqlite3.connect(copy)) as written:
                source.backup(written)
            standalone(copy)
            replace_durably(copy, target)
        finally:
            copy.unlink(missing_ok=True)
    return target


def write_production_metadata(site_dir: Path, target: Path) -> Path:
    """The site's metadata with arbitrary SQL switched off.

    The published site answers with its tables, facets, search, canned queries and
    feeds; a free-form query from the public could cost the server far more than
    a page (see README, Reliability). Full SQL stays available locally
    (``timeline serve`` without ``--production``, ``timeline query``) and on the
    downloadable database.
    """
    metadata = json.loads((Path(site_dir) / METADATA).read_text(encoding="utf-8"))
    metadata["allow_sql"] = False
    write_atomically(target, json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    return target


def write_inspect_file(db_path: Path, target: Path) -> Path:
    """Precompute table counts for an immutable database (``datasette inspect``)."""
    subprocess.run(
        [sys.executable, "-m", "datasette", "inspect", str(db_path), "--inspect-file", str(target)],
        check=True,
    )
    return target


def run(command: list[str], db_path: Path, *, production: bool = False) -> NoReturn:
    """Replace this process with Datasette.

    No parent stays behind: SIGTERM and SIGINT reach the server directly, and
    when it exits the port is free.
    """
    if production:
        write_inspect_file(db_path, Path(command[command.index("--inspect-file") + 1]))
        write_production_metadata(SITE_DIR, Path(command[command.index("--metadata") + 1]))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
