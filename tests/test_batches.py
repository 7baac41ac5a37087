"""A build from empty reads and checks the records in batches (``timeline.batches``): what
the batches accept, the whole file's check accepts, with the same records; what they
cannot settle is settled by the whole file's check, which says where."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import (
    EDITS,
    REAL,
    SMALL,
    contents,
    edited,
    examples,
    moved_place,
    reaped,
    running_forks,
    spied_forks,
)

from timeline import batches, changes, load
from timeline.batches import Batches, validated
from timeline.build import InvalidInput, build_file
from timeline.validate import Problem, Unsettled, validate_file

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from bench_build import synthetic_yaml
from generate import write_realistic

SECTIONS = ("sources", "actors", "systems", "events")


def read_in_batches(raw: bytes, path: Path) -> dict[str, list] | Unsettled:
    """Every section's records as the batches give them, or the Unsettled they raise."""
    found: dict[str, list] = {section: [] for section in SECTIONS}
    try:
        for dataset in Batches(raw, path, prints=True):
            for section in SECTIONS:
                found[section] += getattr(dataset, section)
    except Unsettled as exc:
        return exc
    return found


@pytest.fixture(scope="module")
def realistic(tmp_path_factory) -> Path:
    return write_realistic(25, tmp_path_factory.mktemp("batches") / "events.yaml", seed=4)


@pytest.fixture
def one_record_a_batch(monkeypatch):
    """Every record its own batch, so that every check across records is one across batches."""
    monkeypatch.setattr(batches, "BATCH_BYTES", 1)


@settings(
    max_examples=examples(80),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=EDITS, where=st.sampled_from(["\nevents:\n", "\nsources:\n"]))
def test_what_the_batches_accept_the_whole_check_accepts_with_the_same_records(
    realistic, one_record_a_batch, edits, where
):
    raw = edited(realistic.read_text(encoding="utf-8"), edits, where).encode()
    found = read_in_batches(raw, realistic)
    whole = changes.checked_whole(raw, realistic)
    if isinstance(found, Unsettled):  # a value refused: the same error, found without the data
        if found.refused:
            refused = changes.checked_whole(raw, realistic, refused=True)
            assert [str(p) for p in refused.problems] == [str(p) for p in whole.problems]
    else:
        assert whole.ok, [str(p) for p in whole.errors]
        assert found == {section: getattr(whole.dataset, section) for section in SECTIONS}
        path = realistic.with_name("edited.yaml")  # validate says what the whole check says
        path.write_bytes(raw)
        result = validated(path)
        assert result is not None and result.problems == validate_file(path).problems


@pytest.mark.parametrize("source", [SMALL, REAL], ids=["small", "real"])
def test_a_valid_file_is_read_in_batches_as_whole(source, one_record_a_batch):
    raw = source.read_bytes()
    whole = changes.checked_whole(raw, source).dataset
    assert read_in_batches(raw, source) == {s: getattr(whole, s) for s in SECTIONS}


@pytest.mark.parametrize("made", ["real", "generated", "moved place", "synthetic"])
def test_validate_in_batches_says_what_the_whole_check_says(tmp_path, monkeypatch, made):
    """Warnings of every kind, located, in order: the real file; generated events in two
    forked readers, in small batches; 60 events of one source each, more than validate
    lists. A file with an error is left to the whole check."""
    path = tmp_path / "events.yaml"
    if made == "real":
        shutil.copy(REAL, path)
    elif made in ("generated", "moved place"):
        write_realistic(150, path, seed=3)
        monkeypatch.setattr(batches, "PARALLEL_BYTES", 0)
        monkeypatch.setattr(batches, "BATCH_BYTES", 2000)
        if made == "moved place":  # a warning of events in several batches
            path.write_text(moved_place(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        path.write_text(synthetic_yaml(60), encoding="utf-8")
    result, whole = validated(path), validate_file(path)
    other_point = [p for p in whole.warnings if p.field == "location"]
    assert (made == "moved place") == (len(other_point) > 1)
    assert result is not None and whole.ok and whole.warnings
    assert [p.as_dict() for p in result.problems] == [p.as_dict() for p in whole.problems]
    assert result.counts() == {s: len(getattr(whole.dataset, s)) for s in SECTIONS}
    path.write_text(path.read_text(encoding="utf-8").replace("\n    date: ", "\n    date: 20x", 1))
    assert validated(path) is None


def whole_only(monkeypatch) -> None:
    """Builds from empty read the whole file, as when the batches cannot settle it."""

    def unsettled(*_args):
        raise Unsettled("read whole")

    monkeypatch.setattr(changes, "plan_from_empty", unsettled)


@pytest.mark.parametrize("processes", [False, True], ids=["here", "forked"])
def test_the_batches_build_the_database_the_whole_file_builds(
    realistic, tmp_path, monkeypatch, processes
):
    if processes:  # two forked processes, however small the file
        monkeypatch.setattr(batches, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(batches, "BATCH_BYTES", 2000)
    in_batches = build_file(realistic, tmp_path / "batches.db").db_path
    whole_only(monkeypatch)
    whole = build_file(realistic, tmp_path / "whole.db").db_path
    assert contents(in_batches) == contents(whole)


def test_the_batches_are_what_a_build_reads(realistic, tmp_path, monkeypatch):
    """A valid file is not read whole."""

    def read_whole(*_args):
        raise AssertionError("read whole")

    monkeypatch.setattr(changes, "checked_whole", read_whole)
    assert build_file(realistic, tmp_path / "x.db").counts["events"] == 25


EVENT = """  - id: {id}
    date: 2020-01-0{day}
    title: {title}
    summary: Something happened.
    type: statement
    status: confirmed
    actors:
      - actor: baykar
        role: subject
    citations:
      - source: src-one
        quote: a quote
{related}"""
HEAD = """sources:
  - id: src-one
    title: A source
    publisher: A publisher
    url: https://example.org/a
    published: 2020-01-01
    kind: news
    language: en
actors:
  - id: baykar
    name: Baykar
    kind: company
    country: TR
events:
"""


def timeline(*events: dict) -> str:
    return HEAD + "".join(
        EVENT.format(**{"day": n + 1, "title": f"Event {n}", "related": ""} | event)
        for n, event in enumerate(events)
    )


def part_of(target: str, kind: str = "part_of") -> str:
    return f"    related:\n      - event: {target}\n        type: {kind}\n"


# Each problem lies across records, so across batches when each record is one.
ACROSS = {
    "an id twice": ([{"id": "a"}, {"id": "a"}], "duplicate id 'a'"),
    "an unknown id": ([{"id": "a", "related": part_of("nowhere")}], "unknown event id"),
    "one date and title": (
        [{"id": "a", "day": 1, "title": "Same"}, {"id": "b", "day": 1, "title": "Same"}],
        "duplicate event",
    ),
    "a loop": (
        [{"id": "a", "related": part_of("b")}, {"id": "b", "related": part_of("a")}],
        "form a loop",
    ),
    "a later event followed": (
        [{"id": "a", "day": 1, "related": part_of("b", "follows")}, {"id": "b", "day": 2}],
        "follows b, which begins later (2020-01-02; this event ends 2020-01-01)",
    ),
}


@pytest.mark.parametrize("case", ACROSS, ids=list(ACROSS))
def test_a_problem_across_batches_is_reported_where_it_is(
    case, tmp_path, write_yaml, one_record_a_batch
):
    events, message = ACROSS[case]
    path = write_yaml(timeline(*events))
    with pytest.raises(InvalidInput) as error:
        build_file(path, tmp_path / "x.db")
    assert any(message in p.message and p.line > 1 for p in error.value.result.errors)
    assert not (tmp_path / "x.db").exists()


def test_a_valid_file_made_of_those_records_builds(tmp_path, write_yaml, one_record_a_batch):
    """The cases above, mended, build: a relation to a later event is no problem, nor one
    that follows an event of the same day."""
    follows = {"id": "c", "day": 2, "related": part_of("b", "follows")}
    path = write_yaml(timeline({"id": "a", "related": part_of("b")}, {"id": "b"}, follows))
    assert build_file(path, tmp_path / "x.db").counts["event_relations"] == 2


def test_a_failed_build_leaves_the_last_database(realistic, tmp_path, monkeypatch):
    """An error found in a late batch rolls back the rows of the earlier ones."""
    monkeypatch.setattr(batches, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(batches, "BATCH_BYTES", 2000)
    path = tmp_path / "events.yaml"
    text = realistic.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    db = build_file(path, tmp_path / "x.db").db_path
    before = contents(db)
    last = text.rindex("    status: ")  # the last event's
    broken = text[:last] + "    status: maybe\n" + text[text.index("\n", last) + 1 :]
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        build_file(path, db, force=True)
    assert "maybe" in str(error.value.result.errors[0])
    assert contents(db) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)


def _session(sid: int) -> list[int]:
    """The processes of session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != b"Z":  # state, parent, group, session
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("command", "readers", "signum"),
    [("build", 2, signal.SIGINT), ("build", 2, signal.SIGTERM), ("build", 2, signal.SIGKILL),
     # validate forks the edit plan's reader (load.map_stretches) the same way (timeline.forks)
     ("validate", 1, signal.SIGINT), ("validate", 1, signal.SIGKILL)],
)  # fmt: skip
def test_a_command_stopped_while_its_readers_run_leaves_no_process_and_the_last_database(
    tmp_path, command, readers, signum
):
    path = write_realistic(20, tmp_path / "events.yaml", seed=5)
    db = build_file(path, tmp_path / "record.db").db_path
    before = contents(db)
    write_realistic(5000, path, seed=5)  # large enough for two readers, for a while
    assert path.stat().st_size > batches.PARALLEL_BYTES
    timeline = Path(sys.executable).parent / "timeline"
    build = subprocess.Popen([str(timeline), command, str(path)], cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True,
                             preexec_fn=_ctrl_c_as_at_a_terminal)  # fmt: skip
    try:
        # Readers only: the command also runs git, briefly, to ask for the last commit; a
        # child that has not yet run git looks like a fork, so a reader is seen twice running.
        deadline, seen, reading = time.monotonic() + 60, set(), set()
        while len(reading) < readers and time.monotonic() < deadline:
            assert build.poll() is None, build.stderr.read()
            time.sleep(0.02)
            now = set(running_forks(build.pid))
            seen, reading = now, seen & now
        assert len(reading) >= readers  # the readers are reading
        os.kill(build.pid, signum)
        assert build.wait(timeout=30) != 0
        deadline = time.monotonic() + 10
        while _session(build.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session(build.pid) == []
        assert b"Traceback" not in build.stderr.read()
    finally:
        for pid in _session(build.pid):
            os.kill(pid, signal.SIGKILL)
    assert contents(db) == before


@pytest.mark.parametrize("command", ["build", "validate"])
def test_a_reader_killed_from_outside_is_an_error_in_words(
    realistic, tmp_path, monkeypatch, capsys, command
):
    """The system ends a reader while it reads (for lack of memory, say): the command says
    so in one line, exits 1, leaves no process and the last database."""
    from timeline import cli, forks

    path = tmp_path / "events.yaml"
    shutil.copyfile(realistic, path)
    db = build_file(path, tmp_path / "record.db").db_path
    before = contents(db)
    # a title edited: the first plain one, which stays plain YAML with a word put before it
    # (a quoted or folded one would not)
    edited = re.sub(r"^(    title: )(?=[A-Za-z])", r"\1New ", path.read_text(encoding="utf-8"),
                    count=1, flags=re.MULTILINE)  # fmt: skip
    assert edited != path.read_text(encoding="utf-8")
    path.write_text(edited)
    if command == "validate":  # no database: every record read in batches
        db.rename(tmp_path / "elsewhere.db")
        db = tmp_path / "elsewhere.db"
    monkeypatch.setattr(batches, "BATCH_BYTES", 1)
    monkeypatch.setattr(batches, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)
    forked = spied_forks(monkeypatch)
    taken = forks._Reader.__next__

    def killed_first(reader):  # killed by the system before it sends its first result
        if reader.pid == forked[0]:
            os.kill(reader.pid, signal.SIGKILL)
        return taken(reader)

    monkeypatch.setattr(forks._Reader, "__next__", killed_first)
    monkeypatch.setattr(
        sys, "argv", ["timeline", command, str(path), "--force"][: 3 + (command == "build")]
    )
    with pytest.raises(SystemExit) as ended:
        cli.run()
    assert ended.value.code == 1
    stderr = capsys.readouterr().err
    assert "a forked reader ended early (killed by SIGKILL); nothing was written" in stderr
    assert "Traceback" not in stderr
    assert forked and all(reaped(pid) for pid in forked)
    assert contents(db) == before


def _ctrl_c_as_at_a_terminal() -> None:
    """In the command's process, before it starts: Ctrl-C as a terminal's command gets it,
    whatever the tests inherited (a shell runs a command it puts in the background, without
    job control, with Ctrl-C ignored, and Python then leaves it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_last_history_is_read_before_the_build_locks_a_new_file(
    realistic, tmp_path, monkeypatch
):
    """A database file the build creates is locked while it writes (a rollback journal):
    what the build reads of the last one, it reads before (a reader would wait 5 s)."""
    from timeline import build

    monkeypatch.setattr(build, "NEW_FILE_PRAGMAS", (*build.NEW_FILE_PRAGMAS, "cache_size = 10"))
    db = tmp_path / "record.db"
    locked: list[bool] = []
    read = changes.stored_build_info

    def spying(db_path: Path) -> dict[str, str]:
        if db_path.exists():
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0)
            try:
                conn.execute("select count(*) from sqlite_master").fetchone()
                locked.append(False)
            except sqlite3.OperationalError:
                locked.append(True)
            finally:
                conn.close()
        return read(db_path)

    monkeypatch.setattr(changes, "stored_build_info", spying)
    build_file(realistic, db)
    assert locked == [] or not any(locked)
    with sqlite3.connect(db) as conn:  # written, and in write-ahead-log mode
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("forked", [False, True], ids=["one reader", "forked readers"])
def test_a_refused_value_goes_to_the_first_refusal_without_the_records_data(
    realistic, tmp_path, monkeypatch, forked
):
    """An event's date that is not one: the batches say a value was refused (from a forked
    reader too), and validate, build and fmt then report the whole file's error without
    reading the records' data (``read_records``), the file whole, or a text of it."""
    from timeline import reformat, validate

    text = realistic.read_text(encoding="utf-8")
    at = text.index("\n    date: ", text.index("\nevents:")) + len("\n    date: ")
    text = text[:at] + "2019-02-30\n    was: " + text[at:]
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(batches, "BATCH_BYTES", 1 if forked else 2**30)
    monkeypatch.setattr(batches, "PARALLEL_BYTES", 0 if forked else 2**30)
    with pytest.raises(Unsettled) as unsettled:
        validated(path)
    assert unsettled.value.refused
    with pytest.raises(load.LoadError) as read_whole:  # the whole file's reading, as before
        load.load_text(text, path)
    expected = [str(Problem.unloadable(path, read_whole.value))]

    real, readers = load.read_records, []

    def read_records(text, read=None):
        readers.append(read)
        return real(text, read)

    monkeypatch.setattr(load, "read_records", read_records)
    decoded: list[int] = []  # the length of each text of the file made
    for module in (validate, reformat):
        monkeypatch.setattr(
            module, "decode", lambda raw: decoded.append(len(raw)) or load.decode(raw)
        )
    assert [str(p) for p in validate_file(path, refused=True).problems] == expected
    with pytest.raises(InvalidInput) as error:
        build_file(path, tmp_path / "x.db")
    assert [str(p) for p in error.value.result.problems] == expected
    assert "2019-02-30" in expected[0] and not (tmp_path / "x.db").exists()
    with pytest.raises(load.LoadError) as laid_out:  # fmt's reading, record by record
        reformat.lay_out(path.read_bytes(), path)
    assert str(Problem.unloadable(path, laid_out.value)) == expected[0]
    assert readers and None not in readers and load.read_piece not in readers  # no data read
    assert decoded == []  # no text of the whole file: each piece was decoded alone


def test_a_file_with_errors_is_checked_whole_without_a_text_of_it(realistic, tmp_path, monkeypatch):
    """An unknown actor: validate and build read the whole file again to say where, each
    record from its bytes, and say what a reading of the whole text says."""
    from timeline import reformat, validate

    text = realistic.read_text(encoding="utf-8")
    at = text.index("{actor: ", text.index("\nevents:")) + len("{actor: ")
    text = text[:at] + "no-such-actor-x" + text[text.index(",", at) :]
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    expected = [str(p) for p in validate.validate_document(load.load_text(text, path)).problems]
    assert any("no-such-actor-x" in p for p in expected)
    decoded: list[int] = []  # the length of each text of the file made
    for module in (validate, reformat):
        monkeypatch.setattr(
            module, "decode", lambda raw: decoded.append(len(raw)) or load.decode(raw)
        )
    assert [str(p) for p in validate_file(path).problems] == expected
    with pytest.raises(InvalidInput) as error:
        build_file(path, tmp_path / "x.db")
    assert [str(p) for p in error.value.result.problems] == expected
    assert len(path.read_bytes()) not in decoded  # no text of the whole file


@pytest.mark.parametrize("forked", [False, True], ids=["one reader", "forked readers"])
def test_the_batches_memory_is_freed_before_the_whole_check(
    realistic, tmp_path, monkeypatch, forked
):
    """With the collector paused, as in a command: after the batches failed, nothing of
    them is left when the whole file is read again (a forked reader's error raised here
    must not hold, in a cycle, the frames that hold the file's bytes)."""
    import gc

    from timeline import validate
    from timeline.load import paused_gc

    text = realistic.read_text(encoding="utf-8")
    at = text.index("\n    date: ", text.index("\nevents:")) + len("\n    date: ")
    path = tmp_path / "events.yaml"
    path.write_text(text[:at] + "2019-02-30\n    was: " + text[at:], encoding="utf-8")
    monkeypatch.setattr(batches, "BATCH_BYTES", 1)
    monkeypatch.setattr(batches, "PARALLEL_BYTES", 0 if forked else 2**30)
    left: list[int] = []
    real = validate.raise_first_refusal

    def alive() -> int:
        return sum(isinstance(o, Batches) for o in gc.get_objects())

    def raise_first_refusal(raw: bytes) -> None:  # the file read again, for the refusal
        left.append(alive())
        return real(raw)

    gc.collect()  # what earlier tests of this process left
    before = alive()

    monkeypatch.setattr(validate, "raise_first_refusal", raise_first_refusal)
    with paused_gc():
        with pytest.raises(Unsettled):
            validated(path)
        assert not validate_file(path, model=False, refused=True).ok
    assert left == [before]
