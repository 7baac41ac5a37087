"""Forked readers: results in order, errors raised here, a bounded lead, and no reader left
running or unreaped, however the block is left."""

from __future__ import annotations

import os
import signal
import time

import pytest
from support import process_state, reaped, running_children, spied_forks

from timeline.forks import ReaderLost, forked


def _waited(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_each_reader_sends_its_items_in_order_then_ends(monkeypatch):
    pids = spied_forks(monkeypatch)
    works = [lambda: (n * n for n in range(5)), lambda: iter(["a", {"b": [1]}])]
    with forked(works, ahead=2) as (squares, other):
        assert list(other) == ["a", {"b": [1]}]
        assert list(squares) == [0, 1, 4, 9, 16]
        assert next(squares, "ended") == "ended"  # and stays ended
    assert len(pids) == 2
    assert all(reaped(pid) for pid in pids)


def test_a_readers_error_is_raised_here_after_its_items(monkeypatch):
    pids = spied_forks(monkeypatch)

    def failing():
        yield 1
        raise ValueError("not a date: 2019-02-30")

    with forked([failing], ahead=1) as (reader,):
        assert next(reader) == 1
        with pytest.raises(ValueError, match="not a date: 2019-02-30"):
            next(reader)
    assert all(reaped(pid) for pid in pids)


def test_an_error_that_does_not_pickle_is_said_in_words():
    class Local(Exception):  # a class pickle cannot find by name
        pass

    def failing():
        raise Local("odd")
        yield

    with forked([failing], ahead=1) as (reader,), pytest.raises(RuntimeError, match="Local: odd"):
        next(reader)


def test_a_reader_runs_at_most_ahead_items_before_they_are_taken(tmp_path):
    made = tmp_path / "made"
    made.touch()

    def counted():
        for n in range(10):
            with made.open("a") as out:
                out.write(f"{n}\n")
            yield n

    def count() -> int:
        return len(made.read_text().split())

    with forked([counted], ahead=3) as (reader,):
        assert _waited(lambda: count() == 3)
        time.sleep(0.3)
        assert count() == 3  # waits for this process to take one
        assert next(reader) == 0
        assert _waited(lambda: count() == 4)
        time.sleep(0.3)
        assert count() == 4


def test_leaving_while_a_reader_sends_a_large_result_ends_it_at_once(monkeypatch):
    """The reader is blocked writing 32 MiB that nothing reads (multiprocessing.Pool could
    wait for ever here): leaving the block kills and reaps it."""
    pids = spied_forks(monkeypatch)

    def large():
        yield b"x" * 2**25

    started = time.monotonic()
    with pytest.raises(KeyError), forked([large, large], ahead=2) as readers:
        assert len(readers) == 2
        time.sleep(0.5)  # both readers are now blocked in their writes
        raise KeyError("this process's own half failed")
    assert time.monotonic() - started < 5
    assert all(reaped(pid) for pid in pids)


def test_a_reader_killed_is_an_error_that_says_so(monkeypatch):
    pids = spied_forks(monkeypatch)

    def slow():
        time.sleep(60)
        yield 1

    with forked([slow], ahead=1) as (reader,):
        os.kill(pids[0], signal.SIGKILL)
        with pytest.raises(ReaderLost, match="killed by SIGKILL"):
            next(reader)
    assert reaped(pids[0])


def test_a_reader_ends_itself_when_this_process_is_gone(tmp_path):
    """A process that forked a reader is killed before it could end it: the reader, in the
    middle of its work, notices and ends (it is not left reading for nothing)."""
    told = tmp_path / "reader"
    middle = os.fork()
    if middle == 0:  # a process that forks a reader, says its number, then waits to be killed
        try:

            def slow():
                time.sleep(120)
                yield 1

            with forked([slow], ahead=1):
                told.write_text(str(os.getpid()))
                time.sleep(120)
        finally:
            os._exit(0)
    assert _waited(told.exists)
    children = running_children(middle)
    assert len(children) == 1
    reader = children[0]
    os.kill(middle, signal.SIGKILL)
    os.waitpid(middle, 0)
    assert _waited(lambda: process_state(reader) in (b"Z", None))  # ended, or gone


def test_a_fork_refused_is_its_error_with_no_pipe_left_open(monkeypatch):
    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    with forked([lambda: iter([1])], ahead=1) as (first,):  # one reader forked, the next not
        monkeypatch.setattr(os, "fork", refused)
        with pytest.raises(BlockingIOError), forked([lambda: iter([2])], ahead=1):
            pass
        assert list(first) == [1]
    assert open_files() == before
