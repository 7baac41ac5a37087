"""`timeline add` with the database built from the file, or from an earlier version of it:
placed and checked from it, same bytes."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest
from support import contents
from typer.testing import CliRunner

from timeline import edit
from timeline.build import build_file
from timeline.cli import app
from timeline.dates import parse_date
from timeline.edit import EditRefused, add_event
from timeline.layout import event_order
from timeline.load import load_text

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from generate import write_realistic

runner = CliRunner()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A generated 60-event file with comments between some events, and its database."""
    folder = tmp_path_factory.mktemp("generated")
    path = write_realistic(60, folder / "events.yaml", seed=5)
    text = path.read_text(encoding="utf-8")
    head, events = text.split("\nevents:\n")
    note = "\n  # checked against the source\n  - id: "
    events = events.replace("\n  - id: ", note, 40).replace(note, "\n  - id: ", 20)
    path.write_text(f"{head}\nevents:\n{events}", encoding="utf-8")
    return path


def _new_event(path: Path, date: str, **changes) -> dict:
    from timeline.load import load_text

    data = load_text(path.read_text(encoding="utf-8"), path).data
    actor = data["actors"][3]["id"]
    source = data["sources"][2]["id"]
    return {
        "id": f"added-{date}",
        "date": date,
        "title": f"A meeting added on {date}",
        "summary": "Officials of both sides meet.",
        "type": "meeting",
        "status": "confirmed",
        "actors": [{"actor": actor, "role": "participant"}],
        "citations": [{"source": source, "quote": "They met."}],
    } | changes


def _copies(generated: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The file with its database, and the file alone."""
    with_db, alone = tmp_path / "with-db", tmp_path / "alone"
    for folder in (with_db, alone):
        folder.mkdir()
        shutil.copy(generated, folder / "events.yaml")
    build_file(with_db / "events.yaml")
    return with_db / "events.yaml", alone / "events.yaml"


@pytest.mark.parametrize("date", ["2015-06", "2016-07-15", "2019", "2022-02-24", "2026-06"])
def test_the_same_bytes_as_a_whole_file_check(generated, tmp_path, monkeypatch, date):
    with_db, alone = _copies(generated, tmp_path)
    new = _new_event(generated, date)
    expected = add_event(alone, new)
    whole_file_checks = []
    real = edit._checked_whole
    monkeypatch.setattr(edit, "_checked_whole", lambda *a: whole_file_checks.append(1) or real(*a))
    got = add_event(with_db, new, db_path=with_db.parent / "record.db")
    # placed and checked from the database; before the first event (the generated file
    # follows the record, so whether a date is is the file's) the place follows the
    # 'events:' key, which the whole file's check finds
    events = load_text(generated.read_text(encoding="utf-8"), generated).data["events"]
    first = event_order(new) < min(map(event_order, events))
    assert whole_file_checks == ([1] if first else [])
    assert with_db.read_bytes() == alone.read_bytes()
    assert (got.line, got.block) == (expected.line, expected.block)
    # the next build rewrites only the new event (and the one before it, when the comment
    # lines that belong to that one now stand next to the new event), with a full build's rows
    assert build_file(with_db).updated in (1, 2)
    assert contents(with_db.parent / "record.db") == contents(build_file(alone).db_path)


def test_a_file_with_windows_line_endings_and_a_bom(generated, tmp_path):
    crlf = tmp_path / "source.yaml"
    crlf.write_bytes(b"\xef\xbb\xbf" + generated.read_bytes().replace(b"\n", b"\r\n"))
    with_db, alone = _copies(crlf, tmp_path)
    new = _new_event(generated, "2020-05")
    add_event(alone, new)
    add_event(with_db, new, db_path=with_db.parent / "record.db")
    assert with_db.read_bytes() == alone.read_bytes()
    assert with_db.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n  - id: added" in (
        with_db.read_bytes()
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"actors": [{"actor": "nobody-at-all", "role": "participant"}]},
        {"title": None},
        {"id": "taken"},
    ],
    ids=["unknown-actor", "no-title", "duplicate-id"],
)
def test_errors_are_reported_as_by_the_whole_file_check(generated, tmp_path, changes):
    with_db, alone = _copies(generated, tmp_path)
    new = {k: v for k, v in _new_event(generated, "2020-05", **changes).items() if v}
    if changes.get("id") == "taken":
        from timeline.load import load_text

        new["id"] = load_text(generated.read_text(), generated).data["events"][9]["id"]
    problems = []
    for path in (alone, with_db):
        before = path.read_bytes()
        with pytest.raises(EditRefused) as error:
            add_event(path, new, db_path=path.parent / "record.db")
        assert path.read_bytes() == before
        problems.append([str(p).replace(str(path), "FILE") for p in error.value.problems])
    assert problems[0] == problems[1] and problems[0]


def _edited_by_hand(*paths: Path) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("summary: ", "summary: Edited. ", 1), encoding="utf-8")


def test_the_database_of_the_version_before_is_updated_in_a_transaction_rolled_back(
    generated, tmp_path, monkeypatch
):
    """A hand edit since the build: the edit is written as a build would, the new event
    placed and checked from that, and the database left as it was."""
    with_db, alone = _copies(generated, tmp_path)
    _edited_by_hand(with_db, alone)
    db = with_db.parent / "record.db"
    before = db.read_bytes()
    checks = []
    real = edit._checked_whole
    monkeypatch.setattr(edit, "_checked_whole", lambda *a: checks.append(1) or real(*a))
    new = _new_event(generated, "2020-05")
    add_event(with_db, new, db_path=db)
    add_event(alone, new)
    assert checks == [1]  # the file alone only
    assert with_db.read_bytes() == alone.read_bytes()
    assert db.read_bytes() == before
    assert build_file(with_db).updated in (2, 3)  # the edited event and the new one
    assert contents(db) == contents(build_file(alone).db_path)


def test_a_hand_edit_with_errors_is_reported_by_the_whole_file_check(generated, tmp_path):
    with_db, alone = _copies(generated, tmp_path)
    for path in (with_db, alone):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\n    date: ", "\n    date: 20x", 1), encoding="utf-8")
    problems = []
    for path in (alone, with_db):
        with pytest.raises(EditRefused) as error:
            add_event(path, _new_event(generated, "2020-05"), db_path=path.parent / "record.db")
        problems.append([str(p).replace(str(path), "FILE") for p in error.value.problems])
    assert problems[0] == problems[1] and "bad date" in problems[0][0]


def _add_argv(path: Path, new: dict, *more: str) -> list[str]:
    """`timeline add` of ``new`` (its first actor and source; the id suggested) to ``path``."""
    actor, role = new["actors"][0]["actor"], new["actors"][0]["role"]
    return ["add", str(path), "--date", new["date"], "--title", new["title"],
            "--summary", new["summary"], "--type", "meeting", "--actor", f"{actor}:{role}",
            "--source", new["citations"][0]["source"], "--quote", "They met.",
            "--no-interactive", *more]  # fmt: skip


@pytest.mark.parametrize("hand_edit", [False, True], ids=["up-to-date", "edited-since"])
def test_the_command_does_not_parse_the_whole_file(generated, tmp_path, monkeypatch, hand_edit):
    with_db, _ = _copies(generated, tmp_path)
    if hand_edit:
        _edited_by_hand(with_db)
    monkeypatch.setattr(edit.Loaded, "read", lambda *a: pytest.fail("parsed the whole file"))
    result = runner.invoke(app, _add_argv(with_db, _new_event(generated, "2020-05")))
    assert result.exit_code == 0, result.output
    assert "Added 2020-05-a-meeting-added-on-2020-05" in result.output


def test_a_file_whose_lists_are_indentless(generated, tmp_path, monkeypatch):
    """Dashes at their key's column (``events:\\n- id: …``): placed from the database at that
    column, the same bytes as the whole-file check writes."""
    indentless = tmp_path / "source.yaml"
    indentless.write_text(
        "".join(line.removeprefix("  ") for line in generated.read_text().splitlines(True))
    )
    with_db, alone = _copies(indentless, tmp_path)
    new = _new_event(generated, "2020-05")
    add_event(alone, new)
    whole_file_checks = []
    real = edit._checked_whole
    monkeypatch.setattr(edit, "_checked_whole", lambda *a: whole_file_checks.append(1) or real(*a))
    add_event(with_db, new, db_path=with_db.parent / "record.db")
    assert whole_file_checks == []
    assert with_db.read_bytes() == alone.read_bytes()
    assert b"\n- id: added-2020-05\n  date: " in with_db.read_bytes()
    assert build_file(with_db).updated in (1, 2)
    assert contents(with_db.parent / "record.db") == contents(build_file(alone).db_path)


def test_a_large_file_without_a_database_is_built_first(generated, tmp_path, monkeypatch):
    """Past BUILT_FIRST_BYTES, add builds the file's database (in batches) and places the
    event from it, without parsing the whole file: the same bytes as the whole-file path."""
    _, alone = _copies(generated, tmp_path)
    new = _new_event(generated, "2020-05")
    whole_file_path = runner.invoke(app, _add_argv(alone, new, "--id", new["id"]))
    assert whole_file_path.exit_code == 0
    path = tmp_path / "large" / "events.yaml"
    path.parent.mkdir()
    shutil.copy(generated, path)
    monkeypatch.setattr(edit, "BUILT_FIRST_BYTES", 1)
    monkeypatch.setattr(edit.Loaded, "read", lambda *a: pytest.fail("parsed the whole file"))
    monkeypatch.setattr(edit, "_checked_whole", lambda *a: pytest.fail("checked whole"))
    result = runner.invoke(app, _add_argv(path, new, "--id", new["id"]))
    assert result.exit_code == 0, result.output
    assert f"Built {path.parent / 'record.db'}" in result.stderr
    assert path.read_bytes() == alone.read_bytes()
    assert build_file(path).updated == 1  # the database, built before the event was added


def test_a_small_file_a_dry_run_or_a_file_with_errors_builds_no_database(
    generated, tmp_path, monkeypatch
):
    new = _new_event(generated, "2020-05")
    small, dry, broken = (tmp_path / name / "events.yaml" for name in ("small", "dry", "broken"))
    for path in (small, dry, broken):
        path.parent.mkdir()
        shutil.copy(generated, path)
    broken.write_text(broken.read_text().replace("\n    date: ", "\n    date: 20x", 1))
    assert runner.invoke(app, _add_argv(small, new)).exit_code == 0  # under the size
    monkeypatch.setattr(edit, "BUILT_FIRST_BYTES", 1)
    dry_run = runner.invoke(app, _add_argv(dry, new, "--dry-run"))
    assert dry_run.exit_code == 0 and "(dry run" in dry_run.stderr
    refused = runner.invoke(app, _add_argv(broken, new))  # the whole check says where
    assert refused.exit_code == 1 and "20x" in refused.output and "Built" not in refused.output
    for path in (small, dry, broken):  # (the failed build's lock file aside)
        assert [p.name for p in path.parent.iterdir() if p.name.startswith("record")] == []


WRONG = {
    "a misspelt actor": lambda new: {"actors": [{"actor": new["actors"][0]["actor"] + "x",
                                                  "role": "participant"}]},
    "an unknown source": lambda new: {"citations": [{"source": "nowhere", "quote": "Q."}]},
    "an unknown system": lambda new: {"systems": [{"system": "no-such-drone",
                                                   "source": new["citations"][0]["source"]}]},
    "a related event not in the file": lambda new: {"related": [{"type": "follows",
                                                                 "event": "no-such-event"}]},
    "a confirmed event in the future": lambda new: {"date": "2099-01"},
    "several at once": lambda new: {"type": "meting", "citations": [], "countries": ["XX"]},
    "a later event followed": lambda new: {},  # one dated after the new one (below)
    "a duplicate id": lambda new: {"id": "montreux"},
    "a duplicate event": lambda new: {},  # the date and title of one in the file (below)
}  # fmt: skip


@pytest.mark.parametrize("wrong", WRONG)
@pytest.mark.parametrize("hand_edit", [False, True], ids=["up-to-date", "edited-since"])
def test_an_event_with_errors_is_refused_as_the_whole_file_check_refuses_it(
    generated, tmp_path, monkeypatch, wrong, hand_edit
):
    """Checked against the database, the new event's errors are reported at the lines it
    would take, with the hints the whole file's check gives (a close id): the same
    refusal, without that check. A duplicate names the other record's line: the whole
    check reports it."""
    with_db, alone = _copies(generated, tmp_path)
    if hand_edit:
        _edited_by_hand(with_db, alone)
    base = _new_event(generated, "2020-05")
    new = base | WRONG[wrong](base)
    if wrong == "a duplicate id":
        new["id"] = edit.Loaded.read(alone).ids["events"][7]
    if wrong == "a duplicate event":
        other = load_text(alone.read_text(encoding="utf-8"), alone).data["events"][7]
        new |= {"date": other["date"], "title": other["title"]}
    if wrong == "a later event followed":
        events = load_text(alone.read_text(encoding="utf-8"), alone).data["events"]
        later = next(e["id"] for e in events if parse_date(e["date"]).start > dt.date(2020, 5, 31))
        new |= {"related": [{"type": "follows", "event": later}]}
    refusals, checks = [], []
    real = edit._checked_whole
    monkeypatch.setattr(edit, "_checked_whole", lambda *a: checks.append(1) or real(*a))
    for path in (alone, with_db):
        before = path.read_bytes()
        with pytest.raises(EditRefused) as error:
            add_event(path, dict(new), db_path=path.parent / "record.db")
        assert path.read_bytes() == before
        refusals.append((error.value.line, [str(p).replace(str(path), "FILE")
                                            for p in error.value.problems]))  # fmt: skip
    assert refusals[0] == refusals[1]
    duplicate = wrong.startswith("a duplicate")
    assert checks == ([1, 1] if duplicate else [1])  # the file alone's only
    if wrong == "a misspelt actor":
        assert "did you mean" in refusals[0][1][0]


def test_the_id_and_countries_from_the_database_are_the_whole_files(generated, tmp_path):
    """Without prompts the database is asked only for the events' ids the suggested id may
    take and the new event's actors' countries: the same id (``-2``, ``-3`` once taken) and
    countries as the file alone gives, the same bytes written."""
    with_db, alone = _copies(generated, tmp_path)
    new = _new_event(generated, "2020-05")
    for path in (with_db, alone):
        for suffix, words in (("", "in Ankara"), ("-2", "in Kyiv"), ("-3", "again")):
            titled = new | {"title": f"{new['title']} {words}"}  # the id has 6 words of it
            result = runner.invoke(app, _add_argv(path, titled))
            assert result.exit_code == 0, result.output
            assert f"Added 2020-05-a-meeting-added-on-2020-05{suffix} at" in result.output
    assert with_db.read_bytes() == alone.read_bytes()
    data = load_text(with_db.read_text(encoding="utf-8"), with_db).data
    country = {a["id"]: a.get("country") for a in data["actors"]}[new["actors"][0]["actor"]]
    added = [e for e in data["events"] if e["id"].startswith("2020-05-a-meeting")]
    assert country and [e["countries"] for e in added] == [[country]] * 3
