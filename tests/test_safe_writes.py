"""Every write path keeps the curator's work: neighbouring text, concurrent writers, file
identity, and outputs that would overwrite an input."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import SMALL, files_in, run_and_kill
from timeline import files
from timeline.cli import app
from timeline.edit import add_event
from timeline.files import TextFile, WriteRefused, rewrite
from timeline.layout import dump_record, format_text
from timeline.load import decode, load_text
from timeline.validate import validate_file

RUN = CliRunner()


def event(event_id: str, date: str, **extra) -> dict:
    return {
        "id": event_id, "date": date, "title": f"Event {event_id}", "summary": "Words.",
        "type": "statement", "status": "confirmed",
        "citations": [{"source": "record", "quote": "A quote."}],
    } | extra  # fmt: skip


def events_of(path: Path) -> dict[str, dict]:
    data = load_text(decode(path.read_bytes()), path).data
    return {e["id"]: e for e in data["events"]}


# -- add never touches a neighbour's block scalar -------------------------------------------

HASHTAG_NOTES = (
    "Supporters shared the announcement widely on social media under the hashtag "
    "#StandWithUkraine and #Bayraktar within hours of the first reports coming in."
)


def notes_that_wrap_to_a_hash() -> str:
    """Folded notes whose wrapping puts '#StandWithUkraine' at the start of a line."""
    for words in range(40):
        notes = "word " * words + HASHTAG_NOTES
        block = dump_record("event", event("x", "2021", notes=notes))
        if any(line.lstrip().startswith("#StandWithUkraine") for line in block.splitlines()):
            return notes
    raise AssertionError("no wrapping puts the hashtag at a line start")


def test_add_then_add_keeps_a_wrapped_line_that_starts_with_a_hash(small_yaml):
    """The first event's folded notes wrap so that a line starts with '#'; adding a later
    event must not take that line for a comment and cut it out."""
    notes = notes_that_wrap_to_a_hash()
    add_event(small_yaml, event("first", "2021-05-01", notes=notes))
    text = small_yaml.read_text()
    assert any(line.lstrip().startswith("#StandWithUkraine") for line in text.splitlines())
    add_event(small_yaml, event("second", "2021-06-01"))
    assert events_of(small_yaml)["first"]["notes"] == notes
    assert validate_file(small_yaml).ok


def test_add_after_a_literal_block_whose_last_line_starts_with_a_hash(small_yaml):
    text = small_yaml.read_text()
    notes = "    notes: |\n      Hand-written notes.\n      #LastLineIsText\n"
    anchor = "        quote: Russia suspended all flights.\n"
    small_yaml.write_text(text.replace(anchor, anchor + notes))
    before = events_of(small_yaml)["flight-suspension"]["notes"]
    assert before == "Hand-written notes.\n#LastLineIsText\n"
    add_event(small_yaml, event("later", "2021-05-01"))
    assert events_of(small_yaml)["flight-suspension"]["notes"] == before


def test_add_keeps_the_comment_above_the_following_event_with_it(small_yaml):
    text = small_yaml.read_text()
    small_yaml.write_text(
        text.replace("  - id: flight-suspension", "  # flights\n  - id: flight-suspension")
    )
    add_event(small_yaml, event("earlier", "2020-01-01"))
    lines = small_yaml.read_text().splitlines()
    assert lines[lines.index("  # flights") + 1] == "  - id: flight-suspension"


# -- fmt reads comments from tokens ----------------------------------------------------------

BLOCKS = """\
    notes: |
      First line.
      #NotAComment in a literal block
    summary: >  # a comment after the indicator
      A folded summary whose second line
      #starts with a hash and stays text.
"""


def with_blocks(path: Path) -> Path:
    text = path.read_text()
    path.write_text(text.replace("    summary: The straits regime is set.\n", BLOCKS))
    return path


def test_fmt_keeps_hash_lines_in_block_scalars_and_the_header_comment(small_yaml):
    with_blocks(small_yaml)
    before = events_of(small_yaml)["montreux"]
    result = RUN.invoke(app, ["fmt", str(small_yaml)])
    assert result.exit_code == 0, result.output
    after_text = small_yaml.read_text()
    assert events_of(small_yaml)["montreux"]["notes"] == before["notes"]
    assert events_of(small_yaml)["montreux"]["summary"] == before["summary"]
    assert "# a comment after the indicator" in after_text
    assert after_text.count("#NotAComment") == 1 and after_text.count("#starts with") == 1
    again = RUN.invoke(app, ["fmt", "--check", str(small_yaml)])
    assert again.exit_code == 0, again.output  # idempotent: no copy added per run


# -- concurrent writers -------------------------------------------------------------------------

ADD = [sys.executable, "-m", "timeline.cli", "add", "events.yaml", "--no-interactive",
       "--summary", "S.", "--type", "statement", "--source", "record", "--quote", "Q."]  # fmt: skip


def test_simultaneous_adds_keep_every_event(small_yaml):
    n = 6
    procs = [
        subprocess.Popen([*ADD, "--date", f"2021-0{i + 1}-01", "--title", f"Concurrent {i}"],
                         cwd=small_yaml.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(n)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, outputs
    titles = {e["title"] for e in events_of(small_yaml).values()}
    assert {f"Concurrent {i}" for i in range(n)} <= titles
    assert validate_file(small_yaml).ok


@pytest.mark.parametrize("settled", [False, True])
def test_a_change_by_a_writer_without_the_lock_is_not_lost(small_yaml, monkeypatch, settled):
    """An editor saves between our read and our rename: the edit is redone on its content,
    whether the change is seen by the file's stamp (a file read a second after its last
    change) or by its bytes."""
    if settled:
        monkeypatch.setattr(files, "SETTLED_NS", 0)
    saved = []
    original = files.TextFile.read

    def read_then_editor_saves(path):
        current = original(path)
        if not saved:
            saved.append(True)
            text = Path(path).read_text().replace("Montreux Convention signed", "Edited title")
            Path(path).write_text(text)
        return current

    monkeypatch.setattr(files.TextFile, "read", staticmethod(read_then_editor_saves))
    add_event(small_yaml, event("added", "2021-05-01"))
    found = events_of(small_yaml)
    assert found["montreux"]["title"] == "Edited title" and "added" in found


def test_a_file_that_keeps_changing_is_refused(small_yaml, monkeypatch):
    original = files.TextFile.read

    def always_changed(path):
        current = original(path)
        Path(path).write_text(Path(path).read_text() + "# touched\n")
        return current

    monkeypatch.setattr(files.TextFile, "read", staticmethod(always_changed))
    with pytest.raises(WriteRefused, match="kept changing"):
        add_event(small_yaml, event("added", "2021-05-01"))
    assert "id: added" not in small_yaml.read_text()


FMT = [sys.executable, "-m", "timeline.cli", "fmt", "events.yaml"]


@pytest.mark.parametrize("delay", [0.1, 0.4, 0.9, 1.5])
def test_kill_9_during_fmt_leaves_the_old_or_the_new_file(tmp_path, delay):
    path = tmp_path / "events.yaml"
    text = SMALL.read_text()
    bulk = "".join(
        f'  - id: bulk-{i}\n    status: confirmed\n    type: statement\n    date: "{1950 + i}"\n'
        f"    title: Bulk {i}\n    summary: Filler {i}.\n"
        f"    citations:\n      - source: record\n        quote: Filler quote {i}.\n"
        for i in range(900)
    )  # keys out of order: fmt has work to do
    path.write_text(text + bulk)
    before = path.read_bytes()
    canonical = format_text(before.decode(), path).encode()
    run_and_kill(FMT, tmp_path, delay)
    assert path.read_bytes() in (before, canonical)  # never a partial file


# -- file identity ------------------------------------------------------------------------------


def test_a_symlinked_file_stays_a_symlink(tmp_path):
    real = tmp_path / "data" / "timeline.yaml"
    real.parent.mkdir()
    shutil.copy(SMALL, real)
    link = tmp_path / "events.yaml"
    link.symlink_to(real)
    add_event(link, event("linked", "2021-05-01"))
    assert link.is_symlink() and link.resolve() == real
    assert "linked" in events_of(real)
    assert RUN.invoke(app, ["fmt", str(link)]).exit_code == 0
    assert link.is_symlink()


def test_bom_and_crlf_are_kept_by_add_and_fmt(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.read_bytes().replace(b"\n", b"\r\n"))
    add_event(path, event("crlf", "2021-05-01", notes=HASHTAG_NOTES))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\n") == raw.count(b"\r\n")  # no bare LF mixed in
    assert events_of(path)["crlf"]["notes"] == HASHTAG_NOTES
    assert RUN.invoke(app, ["fmt", str(path)]).exit_code == 0
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\n") == raw.count(b"\r\n")
    assert RUN.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0


def test_cr_only_line_endings_are_kept_by_add_and_fmt(tmp_path):
    """An old Mac file (``\\r`` alone) is YAML the parser and `validate` read line by line:
    `add` writes its block with ``\\r`` too, never a bare ``\\n``, and `fmt` keeps them."""
    path = tmp_path / "events.yaml"
    path.write_bytes(SMALL.read_bytes().replace(b"\n", b"\r"))
    insertion = add_event(path, event("old-mac", "2021-05-01", notes=HASHTAG_NOTES))
    raw = path.read_bytes()
    assert b"\n" not in raw and raw.count(b"\r") == SMALL.read_bytes().count(b"\n") + len(
        insertion.block.splitlines()
    )
    assert b'\r  - id: old-mac\r    date: "2021-05-01"\r' in raw
    assert events_of(path)["old-mac"]["notes"] == HASHTAG_NOTES
    assert validate_file(path).ok
    assert RUN.invoke(app, ["fmt", str(path)]).exit_code == 0
    assert b"\n" not in path.read_bytes() and validate_file(path).ok
    assert RUN.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0


def test_an_unwritable_directory_is_a_clean_error(small_yaml, monkeypatch):
    """Root ignores permission bits, so the refusal is injected where the OS would raise it."""

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", denied)
    swapped = small_yaml.read_bytes().replace(
        b"    type: treaty\n    status: confirmed\n", b"    status: confirmed\n    type: treaty\n"
    )  # not canonical, so fmt has something to write
    small_yaml.write_bytes(swapped)
    add = ["add", str(small_yaml), *ADD[5:], "--date", "2021", "--title", "T"]
    for args in (add, ["fmt", str(small_yaml)]):
        result = RUN.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert "Permission denied" in result.output and "unchanged" in result.output
        assert "Traceback" not in result.output
        assert small_yaml.read_bytes() == swapped


# -- outputs that would destroy an input ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["build", "{yaml}", "--db", "{yaml}"],
        ["schema", "--output", "{yaml}"],
        ["export", "--db", "{db}", "--output", "{yaml}"],
        ["export", "--db", "{db}", "--output", "{db}"],
        ["export", "--db", "{db}", "--format", "csv", "--output", "{notes}"],
        ["build", "{yaml}", "--db", "{notes}"],
        ["schema", "--output", "{db}"],
    ],
)
def test_outputs_that_are_inputs_or_other_files_are_refused(tmp_path, args):
    yaml_path = tmp_path / "events.yaml"
    shutil.copy(SMALL, yaml_path)
    db = tmp_path / "record.db"
    assert RUN.invoke(app, ["build", str(yaml_path), "--db", str(db)]).exit_code == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    before = {p: p.read_bytes() for p in (yaml_path, db, notes)}
    paths = {"yaml": yaml_path, "db": db, "notes": notes}
    result = RUN.invoke(app, [a.format(**paths) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "hint:" in result.output
    assert {p: p.read_bytes() for p in before} == before


@pytest.fixture
def project(tmp_path) -> dict[str, Path]:
    """A curated YAML in its own directory, its database, and a working directory elsewhere
    (so the curated file is not ./events.yaml)."""
    (tmp_path / "curated").mkdir()
    yaml_path = tmp_path / "curated" / "events.yaml"
    shutil.copy(SMALL, yaml_path)
    db = tmp_path / "record.db"
    assert RUN.invoke(app, ["build", str(yaml_path), "--db", str(db)]).exit_code == 0
    (tmp_path / "work").mkdir()
    return {"yaml": yaml_path, "db": db, "work": tmp_path / "work"}


@pytest.mark.parametrize("fmt", ["markdown", "json", "yaml", "ics", "cff", "jsonl", "csv"])
def test_an_output_linked_to_the_curated_yaml_is_refused(project, monkeypatch, fmt):
    """Judged by the file the link points to, not by the link's name or ./events.yaml."""
    monkeypatch.chdir(project["work"])
    link = project["work"] / f"out.{fmt}"
    link.symlink_to(project["yaml"])
    before = project["yaml"].read_bytes()
    result = RUN.invoke(app, ["export", "--db", str(project["db"]), "--format", fmt,
                              "--output", str(link)])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "a YAML file" in result.output and "Traceback" not in result.output
    assert project["yaml"].read_bytes() == before and link.is_symlink()


@pytest.mark.parametrize(
    ("fmt", "name", "content"),
    [("json", "notes.txt", "my notes\n"), ("json", "code.py", "print(1)\n"),
     ("markdown", "code.py", "print(1)\n"), ("ics", "data.json", "[1]\n"),
     ("cff", "notes.txt", "my notes\n"), ("yaml", "other.yaml", "a: 1\n")],
)  # fmt: skip
def test_an_existing_file_of_another_kind_is_never_overwritten(project, fmt, name, content):
    target = project["work"] / name
    target.write_text(content)
    result = RUN.invoke(app, ["export", "--db", str(project["db"]), "--format", fmt,
                              "--output", str(target)])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "would be overwritten" in result.output and target.read_text() == content


@pytest.mark.parametrize("fmt", ["markdown", "yaml", "ics", "json", "cff"])
def test_an_export_replaces_its_own_earlier_output(project, fmt):
    out = project["work"] / f"out.{fmt}"
    for _ in range(2):
        result = RUN.invoke(app, ["export", "--db", str(project["db"]), "--format", fmt,
                                  "--output", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output


def test_new_files_get_the_usual_mode_for_the_umask(project):
    out = project["work"] / "out.json"
    old = os.umask(0o022)
    try:
        assert RUN.invoke(app, ["export", "--db", str(project["db"]), "--output", str(out)]
                          ).exit_code == 0  # fmt: skip
        assert RUN.invoke(app, ["schema", "--output", str(project["work"] / "s.json")]
                          ).exit_code == 0  # fmt: skip
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert stat.S_IMODE((project["work"] / "s.json").stat().st_mode) == 0o644


def test_a_fifo_is_written_to_not_replaced(project):
    fifo = project["work"] / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = RUN.invoke(app, ["export", "--db", str(project["db"]), "--output", str(fifo)])
    reader.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert json.loads(received[0])[0]["id"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_nobody_reads_and_a_fifo_as_database_are_refused_at_once(project):
    fifo = project["work"] / "pipe"
    os.mkfifo(fifo)
    commands = [
        ["export", "--db", str(project["db"]), "--output", str(fifo)],
        ["schema", "--output", str(fifo)],
        ["build", str(project["yaml"]), "--db", str(fifo)],
    ]
    for args in commands:  # in a process of its own: a hang fails by the timeout
        proc = subprocess.run([sys.executable, "-m", "timeline.cli", *args],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and str(fifo) in proc.stderr
        assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_stdout_is_streamed_to(project):
    proc = subprocess.run(
        f"{sys.executable} -m timeline.cli export --db {project['db']} --output /dev/stdout | cat",
        shell=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)[0]["id"]


@pytest.mark.parametrize(
    "args", [["export", "--format", "datapackage"], ["export", "--format", "csv"], ["schema"]]
)
def test_a_full_disk_leaves_nothing_behind(project, monkeypatch, args):
    """The second file written hits ENOSPC: nothing is renamed, no temporary is left."""
    out = project["work"] / "out"
    staged = files._staged
    calls = []
    single = args == ["schema"]

    def full_after_one(target, data):
        calls.append(target)
        if len(calls) > 1 or single:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return staged(target, data)

    monkeypatch.setattr(files, "_staged", full_after_one)
    if args == ["schema"]:
        args, out = ["schema", "--output"], out.with_suffix(".json")
    else:
        args = [*args, "--db", str(project["db"])]
    result = RUN.invoke(app, [*args, "--output", str(out)] if "--output" not in args
                        else [*args, str(out)])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output and "Traceback" not in result.output
    leftovers = [p.name for p in project["work"].rglob("*") if p.is_file()]
    assert leftovers == []


def test_outputs_of_the_same_kind_are_replaced(tmp_path):
    yaml_path = tmp_path / "events.yaml"
    shutil.copy(SMALL, yaml_path)
    db = tmp_path / "record.db"
    assert RUN.invoke(app, ["build", str(yaml_path), "--db", str(db)]).exit_code == 0
    out = tmp_path / "out.json"
    for _ in range(2):  # the second run replaces the JSON the first one wrote
        result = RUN.invoke(app, ["export", "--db", str(db), "--output", str(out)])
        assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())[0]["id"]
    assert files_in(tmp_path) == ["events.yaml", "out.json", "record.db"]


def test_rewrite_leaves_an_unchanged_file_alone(small_yaml):
    before = small_yaml.stat().st_mtime_ns
    current = rewrite(small_yaml, lambda f: None)
    assert isinstance(current, TextFile) and small_yaml.stat().st_mtime_ns == before


@pytest.mark.parametrize("char", ["\u0085", "\u2028", "\x1b", "\u202e"])
def test_add_refuses_a_value_that_would_not_read_back(small_yaml, char):
    """U+0085 written into a YAML file comes back as a line break or a space: refused."""
    before = small_yaml.read_bytes()
    result = RUN.invoke(app, ["add", str(small_yaml), *ADD[5:], "--date", "2021",
                              "--title", "T", "--notes", f"before{char}after"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"U+{ord(char):04X} is not allowed" in result.output and "notes" in result.output
    assert "Traceback" not in result.output
    assert small_yaml.read_bytes() == before
