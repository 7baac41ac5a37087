"""Run Datasette over the built database with the project's metadata, templates and plugins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

METADATA = "datasette-metadata.json"
INSPECT_FILE = "inspect-data.json"


def datasette_command(
    db_path: Path, site_dir: Path, host: str, port: int, *, production: bool = False
) -> list[str]:
    """The ``datasette serve`` command line for this site.

    ``site_dir`` holds datasette-metadata.json, templates/, plugins/ and static/.
    In production the database is served immutable with a precomputed inspect
    file, and facet suggestions (hundreds of ms a page on big tables) are off.

    Example::

        datasette_command(Path("timeline.db"), Path("."), "127.0.0.1", 8001)
    """
    site_dir = Path(site_dir)
    command = [sys.executable, "-m", "datasette", "serve"]
    if production:
        command += ["--immutable", str(db_path), "--inspect-file", str(site_dir / INSPECT_FILE)]
        command += ["--setting", "suggest_facets", "off"]
    else:
        command += [str(db_path)]
    for option, name in (("--metadata", METADATA), ("--template-dir", "templates"),
                         ("--plugins-dir", "plugins"), ("--static", "static")):  # fmt: skip
        target = site_dir / name
        if target.exists():
            command += [option, f"static:{target}" if name == "static" else str(target)]
    command += ["--host", host, "--port", str(port)]
    command += ["--setting", "sql_time_limit_ms", "2000"]
    return command


def write_inspect_file(db_path: Path, site_dir: Path) -> Path:
    """Precompute table counts for an immutable database (``datasette inspect``)."""
    target = Path(site_dir) / INSPECT_FILE
    subprocess.run(
        [sys.executable, "-m", "datasette", "inspect", str(db_path), "--inspect-file", str(target)],
        check=True,
    )
    return target


def run(command: list[str], db_path: Path, *, production: bool = False) -> int:
    """Run Datasette in the foreground; returns its exit code (0 on Ctrl-C)."""
    if production:
        write_inspect_file(db_path, Path(command[command.index("--inspect-file") + 1]).parent)
    try:
        return subprocess.run(command).returncode
    except KeyboardInterrupt:
        return 0
