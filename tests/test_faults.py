"""Fault injection: a build that dies part-way leaves the previous database untouched.

The build writes the database in place in one transaction (in write-ahead-log mode), so
a failure rolls it back. Failures injected at each stage (and a real ``kill -9`` of a
build in progress) must leave the old database byte-identical and readable.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import files_in
from timeline import build as build_module
from timeline import derive
from timeline import rows as row_writer
from timeline.build import build_file
from timeline.cli import app

SMALL = Path(__file__).parent / "data" / "small.yaml"
LOG = "record.db-wal"  # the write-ahead log a build writes before its commit


class Injected(Exception):
    """The fault we inject."""


@pytest.fixture
def previous(tmp_path) -> tuple[Path, Path, bytes]:
    """A good database, and a YAML whose header changed, so the next build is a full one."""
    yaml_path = tmp_path / "events.yaml"
    yaml_path.write_bytes(SMALL.read_bytes())
    db = build_file(yaml_path, tmp_path / "record.db").db_path
    yaml_path.write_bytes(b"# changed\n" + SMALL.read_bytes())
    return yaml_path, db, db.read_bytes()


@pytest.fixture
def edited(tmp_path) -> tuple[Path, Path, bytes]:
    """A good database, and a YAML with one event's summary changed: the next build
    rewrites that event in the database."""
    yaml_path = tmp_path / "events.yaml"
    yaml_path.write_bytes(SMALL.read_bytes())
    db = build_file(yaml_path, tmp_path / "record.db").db_path
    text = SMALL.read_text(encoding="utf-8")
    yaml_path.write_text(text.replace("The straits regime is set.", "The regime is set."))
    return yaml_path, db, db.read_bytes()


# The stages of the one build path, each as (module, name), with those an edit runs.
STAGES = {
    "create_tables": (row_writer, "create_tables"),
    "forget": (row_writer, "forget"),
    "write": (row_writer, "write"),
    "create_indexes": (derive, "create_indexes"),
    "derive_events": (derive, "derive_events"),
    "recount": (derive, "recount"),
    "store_spans": (build_module, "store_spans"),  # the last before the commit
}
EDIT_STAGES = ["forget", "write", "derive_events", "recount", "store_spans"]


@pytest.mark.parametrize("stage", EDIT_STAGES)
@pytest.mark.parametrize(
    "exc", [Injected("disk on fire"), KeyboardInterrupt()], ids=["error", "ctrl-c"]
)
def test_failing_update_keeps_the_previous_database(stage, exc, edited, monkeypatch):
    _fail_at(*STAGES[stage], exc, edited, monkeypatch)
    monkeypatch.undo()
    assert build_file(edited[0], edited[1]).updated == 1


def test_an_edit_that_breaks_a_constraint_of_its_own_is_an_error(edited, monkeypatch):
    """Only the references checked at the commit send an edit back to a build from empty:
    any other broken constraint is a fault of the build, raised, not hidden by a rebuild."""
    unique = sqlite3.IntegrityError("UNIQUE constraint failed: actor_pairs.actor_id")
    _fail_at(derive, "recount", unique, edited, monkeypatch)


def _fail_at(module, stage: str, exc: BaseException, prepared, monkeypatch) -> None:
    """A build with ``exc`` raised at ``stage`` raises it and leaves the database as it was."""
    yaml_path, db, before = prepared
    monkeypatch.setattr(module, stage, _raise(exc))
    with pytest.raises(type(exc)):
        build_file(yaml_path, db)
    assert_untouched(db, before)


def assert_unchanged_and_readable(db: Path, before: bytes) -> None:
    assert db.read_bytes() == before
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select count(*) from events").fetchone()[0] == 4
    finally:
        conn.close()


def assert_untouched(db: Path, before: bytes) -> None:
    """The previous database, byte for byte, and no log or other file left behind."""
    assert_unchanged_and_readable(db, before)
    assert files_in(db.parent) == ["events.yaml", "record.db"]


def _raise(exc: BaseException):
    def boom(*args, **kwargs):
        raise exc

    return boom


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize(
    "exc", [Injected("disk on fire"), KeyboardInterrupt()], ids=["error", "ctrl-c"]
)
def test_failing_stage_keeps_the_previous_database(stage, exc, previous, monkeypatch):
    _fail_at(*STAGES[stage], exc, previous, monkeypatch)


def test_failing_half_way_through_the_inserts(previous, monkeypatch):
    """Rows already inserted (in the transaction) never reach the database."""
    yaml_path, db, before = previous
    real = row_writer.write

    def insert_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise Injected("after the inserts")

    monkeypatch.setattr(row_writer, "write", insert_then_fail)
    with pytest.raises(Injected):
        build_file(yaml_path, db)
    assert_untouched(db, before)


def test_after_a_failure_the_next_build_succeeds(previous, monkeypatch):
    yaml_path, db, before = previous
    monkeypatch.setattr(derive, "create_indexes", _raise(Injected("once")))
    with pytest.raises(Injected):
        build_file(yaml_path, db)
    monkeypatch.undo()
    result = build_file(yaml_path, db)
    assert not result.skipped and db.read_bytes() != before
    assert files_in(db.parent) == ["events.yaml", "record.db"]


def test_cli_reports_a_failing_disk_without_a_traceback(previous, monkeypatch):
    yaml_path, db, before = previous
    monkeypatch.setattr(row_writer, "write", _raise(sqlite3.OperationalError("disk I/O error")))
    result = CliRunner().invoke(app, ["build", str(yaml_path), "--db", str(db)])
    monkeypatch.undo()
    assert_untouched(db, before)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "disk I/O error" in result.output and "unchanged" in result.output


# -- a real kill -9 in the middle of a build ----------------------------------------------


def synthetic_yaml(n_events: int) -> str:
    """A valid timeline with ``n_events`` events (big enough for a build to take a while)."""
    out = ["sources:"]
    for s in range(10):
        out += [
            f"  - {{id: source-{s}, title: Source {s}, publisher: P, published: '2015',",
            "      kind: news, language: en}",
        ]
    out.append("actors:")
    out += [
        f"  - {{id: actor-{a}, name: Actor {a}, kind: company, country: TR}}" for a in range(20)
    ]
    out.append("events:")
    for e in range(n_events):
        out += [
            f"  - id: event-{e}",
            f"    date: '{1990 + e % 30}-{1 + e % 12:02d}'",
            f"    title: Event {e} about drones",
            f"    summary: Synthetic summary {e} of a delivery of drones and engines.",
            "    type: delivery",
            "    status: confirmed",
            f"    actors: [{{actor: actor-{e % 20}, role: supplier}}]",
            "    countries: [TR, UA]",
            f"    citations: [{{source: source-{e % 10}, quote: Quote {e} about the delivery.}}]",
        ]
    return "\n".join(out) + "\n"


BUILDER = (
    "import sys; from pathlib import Path; from timeline.build import build_file; "
    "build_file(Path(sys.argv[1]), Path(sys.argv[2]), force=True)"
)


def test_kill_9_during_a_build_keeps_the_previous_database(tmp_path):
    yaml_path = tmp_path / "events.yaml"
    yaml_path.write_bytes(SMALL.read_bytes())
    db = build_file(yaml_path, tmp_path / "record.db").db_path
    before = db.read_bytes()
    yaml_path.write_text(synthetic_yaml(5_000), encoding="utf-8")

    proc = subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(yaml_path), str(db)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / LOG).exists():
            if proc.poll() is not None:
                pytest.fail(f"the build ended before it was killed: {proc.communicate()}")
            if time.monotonic() > deadline:
                pytest.fail("the build wrote no log within 60 s")
            time.sleep(0.002)
        time.sleep(0.05)  # let SQLite write into the log
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert_unchanged_and_readable(db, before)
    # The next build rolls the unfinished transaction back (SQLite's recovery of the log)
    # and writes the database.
    yaml_path.write_text(synthetic_yaml(50), encoding="utf-8")
    assert build_file(yaml_path, db).counts["events"] == 50
