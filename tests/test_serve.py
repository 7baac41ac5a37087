"""`timeline serve`: the Datasette command line, and a real production-mode server."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support import (
    SMALL,
    STOP_TIMEOUT,
    free_port,
    serving,
    serving_bare,
    stop,
    timeline_command,
    wait_until_serving,
)

from timeline.build import build_file
from timeline.serve import PRODUCTION_DIR, datasette_command, immutable_copy


def test_development_command_uses_the_site_files(tmp_path):
    for name in ("templates", "plugins", "static"):
        (tmp_path / name).mkdir()
    (tmp_path / "datasette-metadata.json").write_text("{}")
    command = datasette_command(Path("record.db"), tmp_path, "127.0.0.1", 9000)
    assert command[1:4] == ["-m", "datasette", "serve"]
    assert "record.db" in command and "--immutable" not in command

    def option(name: str) -> str:
        return command[command.index(name) + 1]

    assert option("--metadata") == str(tmp_path / "datasette-metadata.json")
    assert option("--template-dir") == str(tmp_path / "templates")
    assert option("--plugins-dir") == str(tmp_path / "plugins")
    assert option("--static") == f"static:{tmp_path / 'static'}"
    assert (option("--host"), option("--port")) == ("127.0.0.1", "9000")


def test_production_command_is_immutable_with_inspect_file_and_no_suggestions(tmp_path):
    db = tmp_path / "t.db"
    command = datasette_command(db, tmp_path, "127.0.0.1", 9000, production=True)
    assert command[command.index("--immutable") + 1] == str(db)
    assert command[command.index("--inspect-file") + 1] == str(tmp_path / "inspect-data.json")
    settings = [command[i + 1 : i + 3] for i, a in enumerate(command) if a == "--setting"]
    assert ["suggest_facets", "off"] in settings
    assert command[3] == "gunicorn" and int(command[command.index("--workers") + 1]) >= 1
    three = datasette_command(db, tmp_path, "127.0.0.1", 9000, production=True, workers=3)
    assert three[three.index("--workers") + 1] == "3"
    assert "--workers" not in datasette_command(db, tmp_path, "127.0.0.1", 9000)
    # development suggests no facets either: it would offer the ones already shown
    development = datasette_command(db, tmp_path, "127.0.0.1", 9000)
    assert development[development.index("suggest_facets") + 1] == "off"


def test_workers_without_production_is_refused(tmp_path):
    shutil.copy(SMALL, tmp_path / "events.yaml")
    result = subprocess.run(
        [*timeline_command(), "serve", str(tmp_path / "events.yaml"), "--workers", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "--workers needs --production" in result.stderr and "Traceback" not in result.stderr


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_production_server(tmp_path):
    shutil.copy(SMALL, tmp_path / "events.yaml")
    with serving(tmp_path, "--production") as base:
        databases = get_json(f"{base}/-/databases.json")
        assert [(d["name"], d["is_mutable"]) for d in databases] == [("record", False)]
        settings = get_json(f"{base}/-/settings.json")
        assert settings["suggest_facets"] is False
        # a facet may take as long as the page's own query
        assert settings["facet_time_limit_ms"] == settings["sql_time_limit_ms"] == 1000
        # the server reads a copy of its own: a build writes the database in place
        copy = tmp_path / PRODUCTION_DIR
        inspect = json.loads((copy / "inspect-data.json").read_text())
        assert inspect["record"]["tables"]["events"]["count"] == 4
        mode = sqlite3.connect(copy / "record.db").execute("pragma journal_mode").fetchone()
        assert mode == ("delete",)
        rows = get_json(f"{base}/record/events.json?_shape=array&status=refuted")
        assert [r["id"] for r in rows] == ["fleet-destroyed-claim"]
        with urllib.request.urlopen(f"{base}/timeline", timeout=10) as response:
            assert response.status == 200
        # Production serves the database immutable: the download works and is linked.
        with urllib.request.urlopen(f"{base}/record.db", timeout=10) as response:
            assert response.read(16) == b"SQLite format 3\x00"
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            assert 'href="/record.db"' in response.read().decode()


def test_production_copy_is_taken_once_per_build(tmp_path):
    """An up-to-date copy is kept; after a build a new one is renamed into place, and a
    reader of the old copy (an immutable server) goes on reading the old copy."""
    events = tmp_path / "events.yaml"
    shutil.copy(SMALL, events)
    db = build_file(events).db_path
    first = immutable_copy(db)
    inode = first.stat().st_ino
    assert immutable_copy(db).stat().st_ino == inode
    old = sqlite3.connect(f"file:{first}?immutable=1", uri=True)
    try:
        events.write_text(events.read_text().replace("The straits regime is set.", "Set."))
        build_file(events)
        second = immutable_copy(db)
        assert second == first and second.stat().st_ino != inode
        summary = "select count(*) from events where summary like 'Set.%'"
        assert sqlite3.connect(second).execute(summary).fetchone() == (1,)
        assert old.execute(summary).fetchone() == (0,)
    finally:
        old.close()


def _port_is_free(port: int) -> bool:
    """Nothing listens there (a connection is refused)."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _session(process: subprocess.Popen) -> list[str]:
    """The ids of the processes in the server's session."""
    found = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
    return found.stdout.split()


@pytest.mark.parametrize("options", [(), ("--production", "--workers", "2")])
def test_sigterm_to_timeline_serve_stops_the_server_and_frees_the_port(tmp_path, options):
    """Only the signalled process is sent SIGTERM (not its group), as systemd or a
    container runtime would: no Datasette (nor a Gunicorn worker) may stay behind."""
    shutil.copy(SMALL, tmp_path / "events.yaml")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*timeline_command(), "serve", str(tmp_path / "events.yaml"), "--port", str(port),
             *options],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/-/versions.json", log)
        if options:  # the Gunicorn master and its two workers (the second may still be forking)
            deadline = time.monotonic() + STOP_TIMEOUT
            while len(_session(process)) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(_session(process)) == 3, _session(process)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + STOP_TIMEOUT
        while not _port_is_free(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _port_is_free(port), "a server still holds the port after SIGTERM"
        leftover = _session(process)
        assert leftover == [], f"processes left in the session: {leftover}"
    finally:
        stop(process)


def test_serving_a_yaml_outside_the_repository_uses_the_site_files(tmp_path):
    """The metadata, templates and plugins come from the project, wherever the YAML is."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(SMALL, outside / "events.yaml")
    with serving_bare(outside) as base:
        with urllib.request.urlopen(f"{base}/timeline", timeout=10) as response:
            page = response.read().decode()
        assert "Turkey–Ukraine" in page  # the site's own template, not a bare Datasette
        metadata = get_json(f"{base}/-/metadata.json")
        assert metadata.get("title")
        # Development serves it mutable, and Datasette refuses to send a mutable database:
        # the pages do not link a download that would answer 403.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/record.db", timeout=10)
        assert refused.value.code == 403
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            assert "record.db" not in response.read().decode()


def test_serve_refuses_without_site_files(tmp_path):
    from timeline.serve import SiteMissing, check_site

    with pytest.raises(SiteMissing, match=r"datasette-metadata\.json"):
        check_site(tmp_path)
