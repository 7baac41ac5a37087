"""Work done in forked processes, which share this process's memory (a file's bytes are
inherited, never copied or pickled), each streaming its results back over a pipe.

Why not ``multiprocessing.Pool``: leaving a pool while a reader still sends a large result
(an error in this process's own half, Ctrl-C) can wait for ever. ``Pool.terminate`` joins
its task thread, which waits to write to a pipe that nothing reads any more. Here nothing
waits on a reader that is being ended: it is killed and reaped.

Example::

    with forked([lambda: (read(raw, batch) for batch in batches[0::2])], ahead=2) as (reads,):
        for read in reads:  # each one as the reader sends it; its error raised here
            use(read)
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported when a reader is forked: every command starts without it
    from multiprocessing.connection import Connection

T = TypeVar("T")

# The signals that stop a command (Ctrl-C, and SIGTERM from a supervisor).
STOPPING = frozenset({signal.SIGINT, signal.SIGTERM})
# How often a forked reader looks whether the process that forked it is still there.
WATCH_SECONDS = 0.5

_END = "end"  # what a reader sends after its last result
_RAISED = "raised"


class ReaderLost(RuntimeError):
    """A forked reader ended without sending all its results (killed, out of memory)."""


def can_fork() -> bool:
    """Whether readers can be forked (not on Windows): they then share the parent's bytes."""
    return hasattr(os, "fork")


@contextmanager
def held_stops() -> Iterator[None]:
    """Ctrl-C and SIGTERM held while the block runs, then delivered: for a block in which
    one would be lost (Python's sqlite3 turns a KeyboardInterrupt raised inside an SQL
    function into an SQLite error and drops it; one arriving while a fork's callbacks run,
    which filelock registers, is printed and dropped)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # one that came is raised here


@dataclass(eq=False)
class _Reader:
    """This process's side of one forked reader: its results, and the credits that let it
    run ahead (one byte for each result it may make before this process takes it)."""

    pid: int
    results: Connection
    credits: int  # the write end of the credits' pipe
    done: bool = False
    reaped: bool = False

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> object:
        if self.done:
            raise StopIteration
        with contextlib.suppress(BrokenPipeError):  # it has ended: its results say how
            os.write(self.credits, b"\0")  # one more for the result after this one
        try:
            kind, value = pickle.loads(self.results.recv_bytes())
        except EOFError:
            self.done = True
            raise ReaderLost(f"a forked reader ended early ({self._how_it_ended()})") from None
        if kind == _END:
            self.done = True
            raise StopIteration
        if kind == _RAISED:
            self.done = True
            try:
                raise value
            finally:  # the error's traceback holds this frame: no cycle through ``value``
                del value
        return value

    def close(self) -> None:
        """This process's ends of the pipes closed (here, or in another reader)."""
        self.results.close()
        os.close(self.credits)

    def end(self) -> None:
        """Killed, whatever it was doing, and reaped: nothing waits on it."""
        _OPEN.remove(self)
        if not self.reaped:  # once reaped, its number may be another process's
            with contextlib.suppress(ProcessLookupError, ChildProcessError):  # reaped elsewhere
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        self.close()

    def _how_it_ended(self) -> str:
        """Its exit, once its pipe has closed (the kernel may close the pipe a moment
        before the exit can be waited for)."""
        deadline = time.monotonic() + 1
        while (ended := os.waitpid(self.pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                return "its pipe closed"
            time.sleep(0.01)
        self.reaped = True
        status = ended[1]
        if os.WIFSIGNALED(status):
            return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"exit status {os.WEXITSTATUS(status)}"


# Every reader whose pipes this process holds open, whatever thread forked it: a reader
# forked later closes its copies, so that each reader sees the end of its own.
_OPEN: list[_Reader] = []


@contextmanager
def forked(works: list[Callable[[], Iterable]], ahead: int) -> Iterator[list[_Reader]]:
    """One forked reader for each work, which sends each item of ``work()`` in turn, at most
    ``ahead`` of them before this process takes them. Leaving the block (done, an error,
    Ctrl-C, a generator closed) kills the readers. Each reader leaves Ctrl-C to this process,
    and ends itself when this process is gone (killed before it could end them)."""
    readers: list[_Reader] = []
    try:
        for work in works:
            with held_stops():  # one that came is raised on leaving: the readers are ended
                readers.append(_fork(work, ahead))
        yield readers
    finally:
        for reader in readers:
            reader.end()


def in_child(work: Callable[[], T]) -> T:
    """``work()`` done in a forked process and its result (or its error) sent back, so that
    the memory it takes is the system's again when it ends: a Python process keeps most of
    what it once held, which a later fork would then count as its own too. Done here where
    processes cannot be forked.

    Example: ``places = in_child(lambda: small_summary_of(large_parse()))``.
    """
    if not can_fork():
        return work()
    with forked([lambda: [work()]], ahead=1) as (child,):
        return next(child)


def _fork(work: Callable[[], Iterable], ahead: int) -> _Reader:
    """A reader of ``work``, forked while Ctrl-C and SIGTERM are held (``forked``)."""
    from multiprocessing.connection import Pipe

    results_in, results_out = Pipe(duplex=False)
    credits_in, credits_out = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:  # no process to be had (a limit, no memory): no pipe left open either
        results_in.close()
        results_out.close()
        os.close(credits_in)
        os.close(credits_out)
        raise
    if pid == 0:  # the reader: it never returns from here
        for other in _OPEN:
            other.close()
        results_in.close()
        os.close(credits_out)
        _read(work, results_out, credits_in, parent)
    reader = _Reader(pid, results_in, credits_out)
    _OPEN.append(reader)
    results_out.close()
    os.close(credits_in)
    os.write(credits_out, b"\0" * ahead)
    return reader


def _read(work: Callable[[], Iterable], results: Connection, credits: int, parent: int) -> None:
    """In a forked reader: each item of ``work()`` sent when a credit allows it, then the
    end, or the error that stopped it; then it ends."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
        items = _items(work)
        while os.read(credits, 1):  # nothing: the parent closed its end (it is gone)
            try:
                message = (None, next(items))
            except StopIteration:
                message = (_END, None)
            except Exception as exc:
                message = (_RAISED, exc)
            results.send_bytes(_pickled(message))
            if message[0] is not None:
                status = 0
                break
    except BaseException:  # the parent is gone (a broken pipe), or a signal: end quietly
        pass
    finally:
        os._exit(status)  # never the parent's exit handlers, nor its buffered output


def _items(work: Callable[[], Iterable]) -> Iterator:
    yield from work()  # work() itself runs at the first item: its error is sent too


def _pickled(message: tuple) -> bytes:
    try:
        return pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an error that does not pickle: said in words
        if message[0] != _RAISED:
            raise
        error = message[1]
        return pickle.dumps((_RAISED, RuntimeError(f"{type(error).__name__}: {error} ({exc})")))


def _watch(parent: int) -> None:
    """In a forked reader: ended when the process that forked it is gone (a reader in the
    middle of a long piece of work would otherwise finish it for nothing)."""
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
