"""`timeline validate` of a file the last build read: its warnings, found in the database,
are exactly those a full validation finds, in the same order, at the same places."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from support import REAL, event_spans, moved_place, spliced
from typer.testing import CliRunner

from timeline import batches, files, revalidate
from timeline.build import build_file
from timeline.cli import app
from timeline.files import lock_for
from timeline.layout import dump_record
from timeline.load import ReadOnDemand
from timeline.revalidate import WARNED_SQL, revalidated
from timeline.validate import MAX_PER_KIND, Unsettled, validate_file

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from bench_build import synthetic_yaml
from generate import realistic_yaml, write_realistic


def _same_as_a_full_validation(path: Path) -> list[dict]:
    quick = revalidated(path, path.parent / "record.db")
    assert quick is not None, "the database was built from this file, or an earlier version"
    full = validate_file(path)
    assert [p.as_dict() for p in quick.problems] == [p.as_dict() for p in full.problems]
    assert quick.counts() == full.counts()
    return [p.as_dict() for p in quick.problems]


@pytest.mark.parametrize("made", ["real", "generated", "moved place", "synthetic"])
def test_a_built_file_has_the_warnings_of_a_full_validation(tmp_path, made):
    """The real file; generated events (a name with a non-ASCII letter before most
    records); and 60 events of one source each, more than validate lists."""
    path = tmp_path / "events.yaml"
    if made == "real":
        shutil.copy(REAL, path)
    elif made == "generated":
        write_realistic(150, path, seed=3)
    elif made == "moved place":  # the warnings of several events, found by the rows
        path.write_text(moved_place(realistic_yaml(150, seed=3)), encoding="utf-8")
    else:
        path.write_text(synthetic_yaml(60), encoding="utf-8")
    build_file(path)
    problems = _same_as_a_full_validation(path)
    if made == "moved place":  # found by the rows (revalidate.WARNED_SQL), every one
        assert sum(p["field"] == "location" for p in problems) > 1
    if made == "synthetic":  # the listed ones, and the line that counts the rest
        assert sum(p["message"] == "backed by a single source" for p in problems) == MAX_PER_KIND
        assert any("and 39 more warning(s) like it" in p["message"] for p in problems)


def test_an_edit_is_validated_from_the_database_which_it_leaves_as_it_was(tmp_path):
    """A new source no event cites, and an event left with one source: the warnings of the
    database as a build would update it, which stays as it was (the next build updates it)."""
    path = write_realistic(40, tmp_path / "events.yaml", seed=5)
    db = build_file(path).db_path
    before = db.read_bytes()
    text = path.read_text(encoding="utf-8")
    at = text.index("\nsources:\n") + len("\nsources:\n")
    uncited = "  - {id: never-cited, title: T, publisher: P, published: '2020', kind: news,\n"
    text = text[:at] + uncited + "      language: en}\n" + text[at:]
    events, spans = event_spans(text, path)
    # (an event whose figures name no source: keeping its first citation alone keeps it valid)
    i = next(
        i
        for i, e in enumerate(events)
        if len({c["source"] for c in e["citations"]}) > 1
        and not any({"source", "value_source"} & set(s) for s in e.get("systems", []))
    )
    one = dict(events[i], citations=events[i]["citations"][:1])
    path.write_text(spliced(text, spans[i], dump_record("event", one) + "\n"), encoding="utf-8")
    problems = _same_as_a_full_validation(path)
    assert any(p["record"] == "source never-cited" for p in problems)
    assert any(p["record"] == f"event {one['id']}" for p in problems)
    assert db.read_bytes() == before
    assert build_file(path).updated is not None  # read again alone, not a full build
    assert _same_as_a_full_validation(path) == problems


def test_an_edit_with_errors_is_validated_whole(tmp_path, monkeypatch):
    """Errors in the changed records, or an event removed that another relates to (a row
    that would refer to one that went): the whole file's check says where."""
    path = write_realistic(40, tmp_path / "events.yaml", seed=6)
    db = build_file(path).db_path
    before = db.read_bytes()
    text = path.read_text(encoding="utf-8")
    events, spans = event_spans(text, path)
    broken = dict(events[2], actors=[{"actor": "nobody-at-all", "role": "buyer"}])
    path.write_text(spliced(text, spans[2], dump_record("event", broken) + "\n"))
    with pytest.raises(Unsettled):
        revalidated(path, db)
    with monkeypatch.context() as patched:  # straight to the whole check, not the batches
        patched.setattr(batches, "Batches", None)
        result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1 and "unknown actor id 'nobody-at-all'" in result.output
    related = dict(events[3], related=[{"event": events[0]["id"], "type": "follows"}])
    path.write_text(spliced(text, spans[3], dump_record("event", related) + "\n"))
    build_file(path)
    before = db.read_bytes()
    text = path.read_text(encoding="utf-8")
    _, spans = event_spans(text, path)
    path.write_text(spliced(text, spans[0], ""))
    assert revalidated(path, db) is None
    assert f"unknown event id {events[0]['id']!r}" in str(validate_file(path).errors[0])
    assert db.read_bytes() == before


def test_an_edit_is_validated_whole_while_the_database_is_being_built(tmp_path):
    path = write_realistic(20, tmp_path / "events.yaml", seed=7)
    db = build_file(path).db_path
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: X", 1))
    with lock_for(db):
        assert revalidated(path, db) is None
    assert revalidated(path, db) is not None


def test_an_edit_is_validated_whole_where_no_lock_can_be_taken(tmp_path, monkeypatch):
    """A directory where the lock file cannot be made (read-only): the whole file's check."""
    path = write_realistic(20, tmp_path / "events.yaml", seed=7)
    build_file(path)
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: X", 1))

    def refused(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(lock_for(path)), "acquire", refused)
    assert revalidated(path, tmp_path / "record.db") is None
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0 and "OK: 20 events" in result.output


def test_the_command_says_the_same_with_or_without_the_database(tmp_path):
    path = write_realistic(60, tmp_path / "events.yaml", seed=8)
    runner = CliRunner()
    alone = runner.invoke(app, ["validate", str(path)])
    build_file(path)
    for output in ("text", "json"):
        built = runner.invoke(app, ["validate", str(path), "--format", output])
        (tmp_path / "moved.db").unlink(missing_ok=True)
        (tmp_path / "record.db").rename(tmp_path / "moved.db")
        without = runner.invoke(app, ["validate", str(path), "--format", output])
        (tmp_path / "moved.db").rename(tmp_path / "record.db")
        assert (built.exit_code, built.output) == (without.exit_code, without.output)
    assert alone.output == runner.invoke(app, ["validate", str(path)]).output


def test_the_warnings_of_the_events_and_sources_are_read_down_their_indexes(tmp_path):
    """Each query of a large table reads a partial index of the rows it finds, not every
    row (derive.WARNED_EVENTS and UNCITED_SOURCES state the conditions once)."""
    path = tmp_path / "events.yaml"
    write_realistic(30, path, seed=3)
    db = sqlite3.connect(build_file(path).db_path)
    try:
        plans = {sql: " ".join(row[3] for row in db.execute(f"explain query plan {sql}"))
                 for sql in WARNED_SQL}  # fmt: skip
    finally:
        db.close()
    for sql, plan in plans.items():
        if " from events" in sql.split(" where ")[0] or " from sources" in sql:
            assert "USING" in plan and "INDEX" in plan, (sql, plan)


def test_a_file_the_build_read_by_its_stamp_is_read_only_where_warned(tmp_path, monkeypatch):
    """When the file's stamp says it is the one the build read, the warnings come from the
    records listed alone (read on demand, the file never read whole), the same as a full
    validation's; a file written while they are found leaves it to the full validation."""
    monkeypatch.setattr(files, "SETTLED_NS", 0)  # every file settled: its stamp is kept
    path = tmp_path / "events.yaml"
    path.write_text(synthetic_yaml(60), encoding="utf-8")
    build_file(path)
    read, on_demand = [], []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or read_bytes(self))
    opened = lambda handle: on_demand.append(handle) or ReadOnDemand(handle)  # noqa: E731
    monkeypatch.setattr(revalidate, "ReadOnDemand", opened)
    quick = revalidated(path, path.parent / "record.db")
    assert quick is not None and on_demand and path not in read
    full = validate_file(path)
    assert [p.as_dict() for p in quick.problems] == [p.as_dict() for p in full.problems]
    assert any("single source" in p.message for p in quick.problems)
    stamps = iter([files.file_stamp(path), "written meanwhile"])  # then another stamp
    monkeypatch.setattr(revalidate, "file_stamp", lambda p: next(stamps))
    assert revalidated(path, path.parent / "record.db") is None
