"""Rebuilding after an edit rewrites only the changed events, with a full build's rows."""

from __future__ import annotations

import random
import re
import shutil
import signal
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml
from support import contents, event_spans, spliced
from typer.testing import CliRunner

from conftest import skip_or_fail
from timeline import changes
from timeline.build import InvalidInput, build_file
from timeline.cli import app
from timeline.layout import dump_record
from timeline.load import load_text
from timeline.spans import changed_events, record_spans
from timeline.validate import validate_file

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from generate import write_realistic

SUMMARIES = ["A new summary in our own words.", "Ankara and Kyiv met again.", "Short."]
DATES = ["2019", "2019-05", "2020-01-15", "2022-02-24", "~2021-06"]


# The records outside the events a random edit changes: section, the field it rewrites.
SECTION_EDITS = {"actor": ("actors", "name"), "system": ("systems", "name"),
                 "source": ("sources", "title")}  # fmt: skip


# Records a random edit adds at the start of their section.
NEW_RECORDS = {
    "new actor": ("actors", {"id": "new-actor", "name": "A new actor", "kind": "company",
                             "country": "TR"}),
    "new source": ("sources", {"id": "new-source", "title": "A new source", "publisher": "P",
                               "published": "2020-05", "kind": "news", "language": "en"}),
}  # fmt: skip


def _section_edit(text: str, edit: str, rng: random.Random) -> str:
    """A new name or title for one actor, system or source (a line of its section), or a
    new record in a section."""
    if edit in NEW_RECORDS:
        section, record = NEW_RECORDS[edit]
        at = text.index(f"\n{section}:\n") + len(f"\n{section}:\n")
        return text[:at] + dump_record(section[:-1], record) + "\n" + text[at:]
    section, key = SECTION_EDITS[edit]
    start = text.index(f"\n{section}:\n")
    end = min(i for i in (text.find(f"\n{s}:\n", start + 1) for s in
              ("sources", "actors", "systems", "events")) if i > start)  # fmt: skip
    lines = [m.start() for m in re.finditer(f"\n    {key}: ", text[start:end])]
    at = start + rng.choice(lines) + 1
    line_end = text.index("\n", at)
    return text[:at] + f"    {key}: Renamed {edit} {rng.randrange(10**6)}" + text[line_end:]


def _random_edit(text: str, path: Path, rng: random.Random) -> tuple[str, str]:
    """One curator's edit of the events, or of an actor, system or source, located by
    the parser: (name, new text)."""
    events, spans = event_spans(text, path)
    k = rng.randrange(len(events))
    event = dict(events[k])
    edit = rng.choice(["summary", "date", "delete", "copy", "actors", "comment", "two", "swap",
                       *SECTION_EDITS, *NEW_RECORDS])  # fmt: skip
    if edit in SECTION_EDITS or edit in NEW_RECORDS:
        return edit, _section_edit(text, edit, rng)
    if edit == "summary":
        event["summary"] = rng.choice(SUMMARIES)
    elif edit == "date":
        event["date"] = rng.choice(DATES)
    elif edit == "delete":
        return edit, spliced(text, spans[k], "")
    elif edit == "copy":
        copy = dict(event, id=f"{event['id']}-copy-{rng.randrange(10**6)}", title="A copy")
        at = spans[rng.randrange(len(spans))][0]
        return edit, spliced(text, (at, at), dump_record("event", copy) + "\n")
    elif edit == "actors":
        event["actors"] = event.get("actors", [])[:-1] or event.get("actors")
    elif edit == "comment":
        at = spans[k][0]
        return edit, spliced(text, (at, at), "  # a curator's note\n")
    elif edit == "two":  # the last event and one before it (offsets before it stay valid)
        last = len(events) - 1
        if k < last:
            other = dict(events[last], summary=rng.choice(SUMMARIES))
            text = spliced(text, spans[last], dump_record("event", other) + "\n")
        event["summary"] = rng.choice(SUMMARIES)
    elif edit == "swap" and k + 1 < len(events):
        a, b = spans[k], spans[k + 1]
        raw = text.encode()
        swapped = raw[b[0] : b[1]] + raw[a[0] : a[1]]
        return edit, (raw[: a[0]] + swapped + raw[b[1] :]).decode()
    return edit, spliced(text, spans[k], dump_record("event", event) + "\n")


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_give_a_full_builds_rows(tmp_path: Path, seed: int):
    """Edits of a generated 40-event file, each rebuilt in place and in full: an edit
    rewrites only the records it changed (and those that name a renamed actor or system),
    with a full build's rows."""
    rng = random.Random(seed)
    path = write_realistic(40, tmp_path / "events.yaml", seed=seed)
    updated_db = build_file(path).db_path
    for step in range(5):
        before = path.read_text(encoding="utf-8")
        edit, after = _random_edit(before, path, rng)
        if after == before:
            continue
        path.write_text(after, encoding="utf-8")
        full_db = tmp_path / f"full-{step}.db"
        try:
            build_file(path, full_db)
        except InvalidInput as full_error:
            old = updated_db.read_bytes()
            with pytest.raises(InvalidInput) as error:
                build_file(path)
            assert [str(p) for p in error.value.result.problems] == [
                str(p) for p in full_error.result.problems
            ], edit
            assert updated_db.read_bytes() == old
            path.write_text(before, encoding="utf-8")
            continue
        result = build_file(path)
        assert (result.skipped, result.updated is None) == (False, False), edit
        assert contents(updated_db) == contents(full_db), (seed, step, edit)


def test_an_edited_summary_rewrites_one_event(small_yaml: Path, tmp_path: Path):
    db = build_file(small_yaml).db_path
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    edited = dict(events[2], summary="Edited in our own words.")
    small_yaml.write_text(spliced(text, spans[2], dump_record("event", edited) + "\n"))
    result = build_file(small_yaml)
    assert result.updated == 1
    assert result.counts == build_file(small_yaml, tmp_path / "full.db").counts
    row = sqlite3.connect(db).execute("select summary from events where id = ?", [edited["id"]])
    assert row.fetchone() == ("Edited in our own words.",)
    assert contents(db) == contents(tmp_path / "full.db")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.replace("sources:\n", "# a new line\nsources:\n"), id="head"),
        pytest.param(lambda t: t.replace("actors:\n", "actors:\n  # note\n", 1), id="actors"),
    ],
)
def test_changes_outside_the_events_build_in_full(small_yaml: Path, tmp_path: Path, change):
    db = build_file(small_yaml).db_path
    small_yaml.write_text(change(small_yaml.read_text(encoding="utf-8")), encoding="utf-8")
    result = build_file(small_yaml)
    assert (result.skipped, result.updated) == (False, None)
    build_file(small_yaml, tmp_path / "full.db")
    assert contents(db) == contents(tmp_path / "full.db")


def test_a_renamed_actor_rewrites_the_events_and_systems_that_name_it(
    small_yaml: Path, tmp_path: Path
):
    db = build_file(small_yaml).db_path
    small_yaml.write_text(small_yaml.read_text().replace("name: Baykar\n", "name: Baykar Tech\n"))
    result = CliRunner().invoke(app, ["build", str(small_yaml)])
    # the actor, and the event that names it, read again: not the whole file
    assert "from 1 event and 1 other record re-read" in result.output, result.output
    names = sqlite3.connect(db).execute(
        "select actors from events where id = 'baykar-ukrspecexport-2019'"
    )
    assert "Baykar Tech" in names.fetchone()[0]
    build_file(small_yaml, tmp_path / "full.db")
    assert contents(db) == contents(tmp_path / "full.db")


def test_a_new_source_and_an_event_citing_it_are_read_alone(small_yaml: Path, tmp_path: Path):
    db = build_file(small_yaml).db_path
    text = small_yaml.read_text()
    source = dump_record(
        "source",
        {
            "id": "new-report",
            "title": "A report",
            "publisher": "P",
            "published": "2021-05",
            "kind": "news",
            "language": "en",
        },
    )
    events = event_spans(text, small_yaml)[0]
    event = dict(events[0], id="cited-anew", title="Another treaty",
                 citations=[{"source": "new-report", "quote": "A treaty was signed."}])  # fmt: skip
    text = text.replace("\nactors:\n", "\n" + source + "\nactors:\n")
    small_yaml.write_text(text + dump_record("event", event) + "\n")
    result = build_file(small_yaml)
    assert (result.updated, result.others) == (1, 1)
    build_file(small_yaml, tmp_path / "full.db")
    assert contents(db) == contents(tmp_path / "full.db")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("  - id: russia\n", "  - id: the-russia\n"), "unknown actor id"),
        (lambda t: t.replace("  - id: record\n", "  - id: seed-news\n"), "duplicate id"),
    ],
    ids=["an actor events name removed", "a duplicate id"],
)
def test_an_error_in_a_changed_record_is_reported_as_a_full_validation_does(
    small_yaml: Path, change, message
):
    db = build_file(small_yaml).db_path
    before = db.read_bytes()
    small_yaml.write_text(change(small_yaml.read_text()))
    with pytest.raises(InvalidInput) as error:
        build_file(small_yaml)
    assert message in str(error.value.result.errors[0])
    assert validate_file(small_yaml).errors == error.value.result.errors
    assert db.read_bytes() == before


def test_a_comment_before_an_event_goes_with_the_event_before(small_yaml: Path, tmp_path):
    db = build_file(small_yaml).db_path
    text = small_yaml.read_text(encoding="utf-8")
    _, spans = event_spans(text, small_yaml)
    small_yaml.write_text(spliced(text, (spans[2][0], spans[2][0]), "  # checked again\n"))
    result = build_file(small_yaml)
    assert result.updated == 1  # the event before the comment, read again with it
    build_file(small_yaml, tmp_path / "full.db")
    assert contents(db) == contents(tmp_path / "full.db")


def test_an_error_in_the_changed_event_is_reported_as_a_full_validation_does(
    small_yaml: Path, monkeypatch
):
    """Straight from the changed records to the whole file's check: the batches of a build
    from empty would only find the error again, later."""
    db = build_file(small_yaml).db_path
    before = db.read_bytes()

    def from_empty(*_args):
        raise AssertionError("a build from empty")

    monkeypatch.setattr(changes, "plan_from_empty", from_empty)
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    broken = dict(events[2], actors=[{"actor": "nobody-at-all", "role": "buyer"}])
    small_yaml.write_text(spliced(text, spans[2], dump_record("event", broken) + "\n"))
    with pytest.raises(InvalidInput) as error:
        build_file(small_yaml)
    (problem,) = error.value.result.errors
    assert "unknown actor id 'nobody-at-all'" in str(problem)
    assert problem.line > 37  # a line of the whole file, not of the changed part
    assert db.read_bytes() == before


def test_a_removed_event_that_others_relate_to_is_an_error(write_yaml, small_yaml: Path):
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    target = events[0]["id"]
    related = dict(events[3], related=[{"event": target, "type": "follows"}])
    text = spliced(text, spans[3], dump_record("event", related) + "\n")
    small_yaml.write_text(text)
    db = build_file(small_yaml).db_path
    before = db.read_bytes()
    _, spans = event_spans(text, small_yaml)
    small_yaml.write_text(spliced(text, spans[0], ""))
    with pytest.raises(InvalidInput) as error:
        build_file(small_yaml)
    assert f"unknown event id {target!r}" in str(error.value.result.errors[0])
    assert db.read_bytes() == before


def test_only_the_changed_events_are_read_again(small_yaml: Path):
    text = small_yaml.read_text(encoding="utf-8")
    raw = text.encode()
    spans = record_spans(load_text(text, small_yaml), raw)
    assert spans is not None and len(spans.ids) == 4
    offsets = spans.offsets()
    assert changed_events(spans, raw, small_yaml).islands == ()
    edited = raw[: offsets[2] + 10] + b"X" + raw[offsets[2] + 10 :]
    (island,) = changed_events(spans, edited, small_yaml).islands
    assert (island.first, island.stop, island.items) == (2, 3, 1)
    assert (island.start, island.end) == (offsets[2], offsets[3] + 1)
    assert changed_events(spans, b"#" + raw, small_yaml) is None  # the head changed


def test_edits_far_apart_read_only_their_events(tmp_path: Path):
    """Two edits at both ends of a file re-read two events, not everything between."""
    path = write_realistic(200, tmp_path / "events.yaml", seed=3)
    db = build_file(path).db_path
    text = path.read_text(encoding="utf-8")
    events, spans = event_spans(text, path)
    # edited from the end, so that each edit's offsets are still those of the parse
    last = dict(events[-5], summary="Changed near the end.")
    text = spliced(text, spans[-5], dump_record("event", last) + "\n")
    # one from the middle that no other event relates to (its removal leaves no dangling
    # relation, whatever the generated events are)
    related = {r["event"] for e in events for r in e.get("related") or ()}
    gone = next(i for i in range(100, len(events) - 5) if events[i]["id"] not in related)
    text = spliced(text, spans[gone], "")
    first = dict(events[4], summary="Changed near the start.")
    text = spliced(text, spans[4], dump_record("event", first) + "\n")
    path.write_text(text, encoding="utf-8")
    result = build_file(path)
    assert result.updated == 2  # the two edited events; the deleted one is only removed
    build_file(path, tmp_path / "full.db")
    assert contents(db) == contents(tmp_path / "full.db")


def test_aliases_keep_builds_full(small_yaml: Path):
    text = small_yaml.read_text(encoding="utf-8")
    anchored = text.replace("summary: The straits", "summary: &straits The straits", 1)
    assert record_spans(load_text(anchored, small_yaml), anchored.encode()) is not None
    aliased = anchored.replace(
        "summary: The two firms agree to work together on drones.", "summary: *straits", 1
    )
    assert yaml.safe_load(aliased)["events"][1]["summary"] == "The straits regime is set."
    assert record_spans(load_text(aliased, small_yaml), aliased.encode()) is None


def test_a_comment_after_the_last_event_goes_with_it(small_yaml: Path, tmp_path: Path):
    db = build_file(small_yaml).db_path
    small_yaml.write_text(small_yaml.read_text(encoding="utf-8") + "  # the end\n")
    assert build_file(small_yaml).updated == 1
    build_file(small_yaml, tmp_path / "full.db")
    assert contents(db) == contents(tmp_path / "full.db")


def _copy_of_first(events: list[dict], **changes) -> dict:
    return dict(events[0], **changes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda events: [_copy_of_first(events)], "duplicate id"),
        (lambda events: [_copy_of_first(events, id="twin")], "duplicate event"),
    ],
    ids=["same-id", "same-date-and-title"],
)
def test_errors_across_events_are_found(small_yaml: Path, change, message):
    """The changed events are checked against the others, read from the database."""
    db = build_file(small_yaml).db_path
    before = db.read_bytes()
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    new = "".join(dump_record("event", e) + "\n" for e in change(events))
    small_yaml.write_text(spliced(text, (spans[1][0], spans[1][0]), new))
    with pytest.raises(InvalidInput) as error:
        build_file(small_yaml)
    assert message in str(error.value.result.errors[0])
    assert db.read_bytes() == before


def test_a_relation_loop_with_an_unchanged_event_is_found(small_yaml: Path):
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    first, second = events[0]["id"], events[1]["id"]
    follows = dict(events[1], related=[{"event": first, "type": "follows"}])
    small_yaml.write_text(spliced(text, spans[1], dump_record("event", follows) + "\n"))
    db = build_file(small_yaml).db_path
    before = db.read_bytes()
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    loop = dict(events[0], related=[{"event": second, "type": "follows"}])
    small_yaml.write_text(spliced(text, spans[0], dump_record("event", loop) + "\n"))
    with pytest.raises(InvalidInput) as error:
        build_file(small_yaml)
    assert "'follows' relations form a loop" in str(error.value.result.errors[0])
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("edited", "date"),
    [("flight-suspension", "2018"), ("baykar-ukrspecexport-2019", "2022-05-01")],
    ids=["its-own-relation", "a-relation-to-it"],
)
def test_a_date_moved_past_a_related_unchanged_event_is_found(small_yaml: Path, edited, date):
    """flight-suspension (2021) responds to the event of 2019. Edited alone, either date
    can put the two in the wrong order: the relation of the edited event, or the unchanged
    event's relation to it, read from the database."""
    db = build_file(small_yaml).db_path
    before = db.read_bytes()
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    (i,) = [n for n, e in enumerate(events) if e["id"] == edited]
    moved = dict(events[i], date=date)
    small_yaml.write_text(spliced(text, spans[i], dump_record("event", moved) + "\n"))
    with pytest.raises(InvalidInput) as error:
        build_file(small_yaml)
    (problem,) = error.value.result.errors  # found in the whole file, where it is
    assert problem.record == "event flight-suspension"
    assert problem.message.startswith("responds to baykar-ukrspecexport-2019, which begins later")
    assert db.read_bytes() == before


def _first_added(db: Path, event_id: str) -> tuple[str, str]:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("select first_added, last_changed from events where id = ?", [event_id])
        return row.fetchone()
    finally:
        conn.close()


def _committed(tmp_path: Path, seed: int) -> tuple[Path, Path]:
    """A generated file in a fresh git checkout, committed once, and its database."""
    from test_provenance import git

    if shutil.which("git") is None:
        skip_or_fail("git is not installed")
    path = write_realistic(30, tmp_path / "events.yaml", seed=seed)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "events.yaml")
    git(tmp_path, "commit", "-qm", "events", date="2024-01-01T10:00:00+00:00")
    return path, build_file(path).db_path


def _new_summary(path: Path, index: int, summary: str) -> dict:
    """Give event ``index`` a new summary (in canonical layout); returns the event."""
    text = path.read_text(encoding="utf-8")
    events, spans = event_spans(text, path)
    edited = dict(events[index], summary=summary)
    path.write_text(spliced(text, spans[index], dump_record("event", edited) + "\n"))
    return edited


def test_in_git_the_edit_history_moves_with_commits_of_the_built_file(tmp_path: Path):
    from test_provenance import git

    path, db = _committed(tmp_path, seed=2)
    edited = _new_summary(path, 7, "Reworded in our own words.")
    assert build_file(path).updated == 1  # not committed: the history is the same
    assert contents(db) == contents(build_file(path, tmp_path / "full-1.db").db_path)
    assert _first_added(db, edited["id"])[1].startswith("2024-01-01")

    # a commit of exactly the built bytes: the history moves, nothing is parsed again
    git(tmp_path, "commit", "-qam", "reword", date="2024-02-01T10:00:00+00:00")
    assert build_file(path).updated == 0
    assert _first_added(db, edited["id"])[1].startswith("2024-02-01")
    assert contents(db) == contents(build_file(path, tmp_path / "full-2.db").db_path)

    # an edit and its commit together: the edited event is rewritten with its new dates
    again = _new_summary(path, 3, "Changed and committed.")
    git(tmp_path, "commit", "-qam", "change", date="2024-03-01T10:00:00+00:00")
    assert build_file(path).updated == 1
    assert _first_added(db, again["id"])[1].startswith("2024-03-01")
    assert contents(db) == contents(build_file(path, tmp_path / "full-3.db").db_path)

    # built, then committed, then edited again: the commit holds the bytes built last
    built = _new_summary(path, 12, "Built, then committed.")
    assert build_file(path).updated == 1
    git(tmp_path, "commit", "-qam", "built", date="2024-04-01T10:00:00+00:00")
    _new_summary(path, 15, "Edited after the commit.")
    assert build_file(path).updated == 1
    assert _first_added(db, built["id"])[1].startswith("2024-04-01")
    assert contents(db) == contents(build_file(path, tmp_path / "full-4.db").db_path)


def test_a_commit_of_another_version_builds_in_full(tmp_path: Path):
    from test_provenance import git

    path, db = _committed(tmp_path, seed=4)
    _new_summary(path, 5, "Committed.")
    git(tmp_path, "commit", "-qam", "one version", date="2024-02-01T10:00:00+00:00")
    _new_summary(path, 5, "Not committed.")
    result = build_file(path)  # the new commit holds a version that was never built
    assert (result.skipped, result.updated) == (False, None)
    assert contents(db) == contents(build_file(path, tmp_path / "full.db").db_path)


def test_a_database_the_update_cannot_write_is_rebuilt_in_full(small_yaml: Path, tmp_path):
    db = build_file(small_yaml).db_path
    conn = sqlite3.connect(db)
    conn.execute("drop table citations_fts")  # damaged, or made by other means
    conn.commit()
    conn.close()
    text = small_yaml.read_text(encoding="utf-8")
    small_yaml.write_text(text.replace("The straits regime is set.", "The regime is set."))
    result = build_file(small_yaml)
    assert (result.skipped, result.updated) == (False, None)
    assert contents(db) == contents(build_file(small_yaml, tmp_path / "full.db").db_path)


def test_the_events_key_is_found_wherever_the_head_moved_it(monkeypatch):
    """It is looked for from a little before its old place, and from the start when the
    head shrank by more than that."""
    from array import array

    from timeline import spans as spans_module

    raw = b"sources:\n  - id: a\nevents:\n  - id: e\n"
    where = raw.index(b"\nevents:")
    for old_place in (where + 1, where + 1 + 50, 0):  # where it was, after, before
        lengths = array("q", [old_place, len("events:\n")]).tobytes()
        head = spans_module.Head(lengths, b"", b"")
        for window in (0, 2**20):
            monkeypatch.setattr(spans_module, "EVENTS_LINE_WINDOW", window)
            assert spans_module._events_line(raw, head) == where


def test_ctrl_c_in_an_sql_function_stops_the_build_and_validate(small_yaml: Path, monkeypatch):
    """A Ctrl-C while SQLite runs one of the project's functions: Python's sqlite3 turns the
    function's exception into an SQLite error and drops it. It must still stop the command,
    not send it down a fallback that builds (or validates) anyway."""
    from timeline import filters
    from timeline.revalidate import revalidated

    db = build_file(small_yaml).db_path
    before = db.read_bytes()
    text = small_yaml.read_text(encoding="utf-8")
    events, spans = event_spans(text, small_yaml)
    small_yaml.write_text(spliced(text, spans[2], dump_record("event", events[2]).replace(
        "title: ", "title: Renamed ", 1) + "\n"))  # fmt: skip

    def interrupted(text):  # Ctrl-C pressed while SQLite runs the function
        signal.raise_signal(signal.SIGINT)
        return text

    monkeypatch.setitem(filters.SQL_FUNCTIONS, "timeline_fold", interrupted)
    # Python's own Ctrl-C, whatever the tests inherited (ignored, in a shell's background job)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for command in (lambda: build_file(small_yaml), lambda: revalidated(small_yaml, db)):
            with pytest.raises(KeyboardInterrupt):
                command()
            assert db.read_bytes() == before
    finally:
        signal.signal(signal.SIGINT, inherited)
