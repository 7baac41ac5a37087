"""Every write path keeps the curator's work: neighbouring text, concurrent writers, file
identity, and outputs that would overwrite an input."""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def test_a_change_by_a_writer_without_the_lock_is_not_lost(small_yaml, monkeypatch):
    """An editor saves between our read and our rename: the edit is redone on its content."""
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
    db = tmp_path / "timeline.db"
    assert RUN.invoke(app, ["build", str(yaml_path), "--db", str(db)]).exit_code == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    before = {p: p.read_bytes() for p in (yaml_path, db, notes)}
    paths = {"yaml": yaml_path, "db": db, "notes": notes}
    result = RUN.invoke(app, [a.format(**paths) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "hint:" in result.output
    assert {p: p.read_bytes() for p in before} == before


def test_outputs_of_the_same_kind_are_replaced(tmp_path):
    yaml_path = tmp_path / "events.yaml"
    shutil.copy(SMALL, yaml_path)
    db = tmp_path / "timeline.db"
    assert RUN.invoke(app, ["build", str(yaml_path), "--db", str(db)]).exit_code == 0
    out = tmp_path / "out.json"
    for _ in range(2):  # the second run replaces the JSON the first one wrote
        result = RUN.invoke(app, ["export", "--db", str(db), "--output", str(out)])
        assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())[0]["id"]
    assert files_in(tmp_path) == ["events.yaml", "out.json", "timeline.db"]


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
