"""A large file checked whole is held as a mapped copy (``load.mapped_copy``): its pages are
given back once its records are read, so the file's bytes are not kept beside their data;
an in-place rewrite of the file cannot take pages from under the map; what cannot be
mapped is read."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from timeline import load
from timeline.build import InvalidInput, build_file
from timeline.load import MappedFile, load_bytes, mapped_copy
from timeline.validate import validate_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from generate import realistic_yaml  # noqa: E402
from support import contents, mapped  # noqa: E402

TEXT = realistic_yaml(300, seed=11)


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_a_large_file_is_mapped_and_a_smaller_one_read(events, monkeypatch) -> None:
    size = events.stat().st_size
    for threshold, kind in ((size, MappedFile), (size + 1, bytes)):
        monkeypatch.setattr(load, "MAPPED_BYTES", threshold)
        with mapped_copy(events) as raw:
            assert type(raw) is kind
            assert raw[:] == events.read_bytes()


def test_a_file_with_no_room_for_its_copy_is_read(events, monkeypatch) -> None:
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    made, real = [], tempfile.TemporaryFile

    class NoRoom:
        """A temporary file that fills up after its first 256 KiB."""

        def __init__(self) -> None:
            self.file = real()
            made.append(self.file)

        def write(self, data: bytes) -> int:
            if self.file.tell() + len(data) > 2**18:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(data)

        def __getattr__(self, name: str) -> object:
            return getattr(self.file, name)

        def __enter__(self) -> NoRoom:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

    monkeypatch.setattr(load, "COPY_BUFFER", 2**16)
    monkeypatch.setattr(tempfile, "TemporaryFile", NoRoom)
    with mapped_copy(events) as raw:
        assert type(raw) is bytes and raw == events.read_bytes()
        assert made and all(file.closed for file in made)  # the partial copy is gone at once


def test_a_pipe_is_read(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    fifo = tmp_path / "events.yaml"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(TEXT, encoding="utf-8"))
    writer.start()
    with mapped_copy(fifo) as raw:
        assert type(raw) is bytes and raw == TEXT.encode()
    writer.join(timeout=10)


def test_a_file_that_cannot_be_read_is_an_error_in_words(tmp_path) -> None:
    with pytest.raises(FileNotFoundError), mapped_copy(tmp_path / "missing.yaml"):
        pass
    result = validate_file(tmp_path / "missing.yaml")
    assert not result.ok and "missing.yaml" in str(result.errors[0])


def _resident_kib(fd: int) -> int:
    """How much of the file open at ``fd`` is mapped into this process's memory (its
    mappings' Rss in /proc/self/smaps, found by the file's name there)."""
    name = os.readlink(f"/proc/self/fd/{fd}")
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if len(head) >= 5 and "-" in head[0] and ":" in head[3]:  # a mapping's first line
            inside = len(head) == 6 and head[5] == name
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_the_pages_read_are_given_back(events, monkeypatch) -> None:
    """Once its records are read, a mapped file keeps next to none of its pages in this
    process; a message's position reads its record's pages again."""
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    monkeypatch.setattr(load, "PARALLEL_BYTES", 0)  # a reader too, which maps its own half
    monkeypatch.setattr(load, "RELEASE_BYTES", 2**16)
    copies = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda: copies.append(real()) or copies[-1])
    size_kib = events.stat().st_size // 1024
    with mapped_copy(events) as raw:
        (copy,) = copies
        raw[:]  # every page read
        assert _resident_kib(copy.fileno()) >= size_kib
        doc = load_bytes(raw, events)
        assert doc.text is raw
        assert _resident_kib(copy.fileno()) <= 8  # the last page's, or two
        assert doc.mark(("events", 299, "title")) == load.load_text(TEXT, events).mark(
            ("events", 299, "title")
        )


def test_the_file_rewritten_in_place_while_it_is_checked_changes_nothing(events, monkeypatch):
    """An editor that saves the file in place (truncated, then written) while it is
    checked: the check reads the file as it was, and the process lives on (a map of the
    file itself would be killed by SIGBUS on its next read)."""
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    with mapped_copy(events) as raw:
        with open(events, "r+b") as handle:  # in place: the same file, truncated
            handle.truncate(0)
            handle.write(b"events: []\n")
        doc = load_bytes(raw, events)
        assert len(doc.data["events"]) == 300


def test_a_build_checks_a_file_with_errors_from_a_mapped_copy(events, tmp_path, monkeypatch):
    """Its problems are validate's, and the whole check reads the copy, not the bytes the
    batches read (the build holds none of those then)."""
    from timeline import changes

    events.write_text(TEXT.replace("{actor: ", "{actor: no-such-", 3), encoding="utf-8")
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    given, real = [], changes.checked_whole
    monkeypatch.setattr(
        changes, "checked_whole", lambda raw, *a, **k: given.append(type(raw)) or real(raw, *a, **k)
    )
    with pytest.raises(InvalidInput) as error:
        build_file(events, tmp_path / "record.db")
    assert given == [MappedFile]
    expected = [str(p) for p in validate_file(events).problems]
    assert [str(p) for p in error.value.result.problems] == expected
    assert sum("no-such-" in p for p in expected) == 3
    assert not (tmp_path / "record.db").exists()


def test_a_file_the_batches_leave_builds_from_its_mapped_copy(events, tmp_path, monkeypatch):
    """Read record by record from the copy, checked whole, it builds the database the
    batches build (its spans from the copy's bytes, kept once the copy is closed)."""
    from timeline import changes, files
    from timeline.validate import Unsettled

    # each build records the file's stamp: not "" for the first (a file just written) and
    # the stamp for the second, a second later
    monkeypatch.setattr(files, "SETTLED_NS", 0)
    in_batches = contents(build_file(events, tmp_path / "batches.db").db_path)

    def unsettled(*_args):
        raise Unsettled("read whole")

    monkeypatch.setattr(changes, "plan_from_empty", unsettled)
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    assert contents(build_file(events, tmp_path / "whole.db").db_path) == in_batches


@pytest.mark.parametrize("window", [1, 2, 7, 64])
def test_a_mapped_file_counts_and_ends_as_its_bytes_do(tmp_path, monkeypatch, window):
    """``MappedFile.count`` copies a window at a time, and ``ReadOnDemand.count`` reads one:
    a match across two windows is counted once, as ``bytes.count`` counts it, over any
    stretch; a stretch read on demand is the bytes'."""
    import random

    monkeypatch.setattr(load, "COUNT_WINDOW", window)
    pick = random.Random(window)
    path = tmp_path / "data"
    for _ in range(200):
        data = bytes(pick.choice(b"\r\n ab") for _ in range(pick.randint(1, 60)))
        path.write_bytes(data)
        with mapped(data) as raw, path.open("rb") as handle:
            on_demand = load.ReadOnDemand(handle)
            assert len(on_demand) == len(data)
            for sub in (b"\n", b"\r\n", b"ab"):
                a, b = sorted(pick.randint(0, len(data)) for _ in range(2))
                assert raw.count(sub, a, b) == on_demand.count(sub, a, b) == data.count(sub, a, b)
                assert raw.count(sub) == on_demand.count(sub) == data.count(sub)
                assert on_demand[a:b] == data[a:b]
            assert raw.endswith(b"\n") == data.endswith(b"\n")


def _add_argv(path: Path, *more: str) -> list[str]:
    data = load_bytes(path.read_bytes(), path).data
    return ["add", str(path), "--date", "2020-05", "--title", "Talks held", "--summary",
            "Officials of both sides meet.", "--type", "meeting", "--actor",
            f"{data['actors'][3]['id']}:participant", "--source", data["sources"][2]["id"],
            "--quote", "They met.", "--no-interactive", *more]  # fmt: skip


@pytest.mark.parametrize("errors", [False, True], ids=["valid", "with-errors"])
@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
def test_add_checks_the_whole_file_from_mapped_copies(events, monkeypatch, errors, dry_run):
    """Without a database, ``add`` reads the file and checks the file with the new event
    from mapped copies when they are large: the same output and the same file (written, or
    refused with the same problems) as from bytes read (a view of a map left open would fail
    its closing: an error, not a refusal)."""
    from typer.testing import CliRunner

    from timeline.cli import app

    if errors:
        events.write_text(TEXT.replace("role: participant", "role: particpant", 3))
    copy = events.with_name("copy.yaml")
    copy.write_bytes(events.read_bytes())
    more = ("--dry-run",) if dry_run else ()
    read = CliRunner().invoke(app, _add_argv(copy, *more))
    monkeypatch.setattr(load, "MAPPED_BYTES", 0)
    maps = events.with_name("maps")  # (made in forked processes: logged to a file)

    def logged(*args, **kwargs) -> None:
        with maps.open("a") as log:
            log.write("+\n")

    monkeypatch.setattr(load.MappedFile, "__init__", logged)
    mapped_run = CliRunner().invoke(app, _add_argv(events, *more))
    assert mapped_run.exit_code == read.exit_code == (1 if errors else 0), mapped_run.output
    assert mapped_run.output.replace(str(events), "FILE") == read.output.replace(str(copy), "FILE")
    assert events.read_bytes() == copy.read_bytes()
    assert len(maps.read_text().split()) >= 2  # the file read, then the result
    if errors:
        assert "particpant" in read.output
