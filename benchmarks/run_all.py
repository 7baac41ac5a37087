"""Every speed figure of the command-line tools, at several sizes, as one markdown table.

Run ``make bench`` or ``python benchmarks/run_all.py [SIZES…] [--runs 3] [--timeout 600]``
(default sizes 10,000 and 100,000 events). For each size a realistic timeline is generated
(``benchmarks/generate.py``) and each figure is measured ``--runs`` times; the table gives the
median, the range, the peak resident memory of the measured command and a ratio to a
reference figure, then how each figure grows from one size to the next.

Each measured command runs in a child process of its own (its own session, so a timeout
kills it and anything it started), forked by a small launcher process (see ``LAUNCHER``);
wall time is taken around it and its peak RSS from ``os.wait4``, which returns the resource
usage of exactly that child (with the children it waited for, such as git): the same
counters ``getrusage(RUSAGE_CHILDREN)`` sums up, per command. Linux only (``ru_maxrss`` is
in KiB there); elsewhere the script refuses to run. That peak is the largest process's
alone (the largest of those it waited for, not their sum); the column "all processes" is
the peak of the summed proportional set sizes of the command's process group, sampled
every 50 ms from ``/proc`` (pages the processes share counted once, split between them).
A command that runs longer than ``--timeout`` seconds is killed and its cell says so.
Everything is written in one temporary directory, removed at the end, also on Ctrl-C or
SIGTERM. Prints figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_realistic

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMELINE = BIN / "timeline"
YAML_TO_SQLITE = BIN / "yaml-to-sqlite"
BAD_REFERENCES = 1_000
NOT_INSTALLED = "not installed (pip install -e '.[bench]')"

# The two floors: what reading the file costs before the tool does anything with it.
FLOOR_LOAD = (
    "import gc, sys, yaml; gc.disable(); "
    "yaml.load(open(sys.argv[1], 'rb'), Loader=yaml.CSafeLoader)"
)
FLOOR_PARSE = (
    "import sys, yaml; sum(1 for _ in yaml.parse(open(sys.argv[1], 'rb'), Loader=yaml.CSafeLoader))"
)


class Interrupted(Exception):
    """SIGTERM or Ctrl-C: stop measuring, kill the running command, clean up."""


# -- one measured command ---------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    max_rss_kib: int
    exit_code: int
    timed_out: bool
    output: str
    # the largest sum of the proportional set sizes of the command's processes, sampled
    # (KiB): a command that forks counts each process's own pages and its share of those
    # they share, where max_rss_kib is the largest process alone
    tree_pss_kib: int


# The launcher: a small Python process, started before anything big is loaded, that forks
# and execs each measured command and reports os.wait4's figures. Why not fork from here:
# a child's ru_maxrss counts the memory of the process it was forked from until its exec
# (Linux records the old address space's high-water mark at exec), so commands forked from
# this process, which holds a generated file of hundreds of MB, would all report at least
# that. The launcher stays at the size of a bare interpreter (~10 MB), below any command.
LAUNCHER = r"""
import json, os, resource, sys, time
for line in sys.stdin:
    job = json.loads(line)
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()  # its own process group: a timeout kills it and what it started
            if job["memory_limit"]:
                resource.setrlimit(resource.RLIMIT_AS, (job["memory_limit"],) * 2)
            os.chdir(job["cwd"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.execve(job["argv"][0], job["argv"], job["env"])
        except BaseException as exc:
            os.write(2, f"cannot start {job['argv'][0]}: {exc}\n".encode())
        finally:
            os._exit(127)
    os.close(log)
    print(json.dumps({"pid": pid}), flush=True)
    _, status, usage = os.wait4(pid, 0)  # the usage of this child alone (and what it waited for)
    seconds = time.perf_counter() - started
    print(json.dumps({"status": status, "maxrss": usage.ru_maxrss, "seconds": seconds}),
          flush=True)
"""


class _TreeMemory:
    """The peak of the summed PSS of a process group's processes, sampled every
    ``SAMPLE_SECONDS`` in a thread until ``stop``."""

    SAMPLE_SECONDS = 0.05

    def __init__(self, group: int) -> None:
        self.group, self.peak_kib = group, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(self.SAMPLE_SECONDS):
            self.peak_kib = max(self.peak_kib, sum(map(_pss_kib, _members(self.group))))


def _members(group: int) -> list[str]:
    """The ids of the processes in process group ``group``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:  # state, parent, group
                found.append(entry.name)
    return found


def _pss_kib(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Launcher:
    """Runs commands through the launcher process; one command at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        self.running: int | None = None  # pid of the command being measured

    def kill_running(self) -> None:
        if self.running is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.running, signal.SIGKILL)

    def measure(self, argv: list[str], cwd: Path, timeout: float, env: dict[str, str],
                memory_limit: int | None) -> Run:  # fmt: skip
        """Run ``argv`` once in its own session; wall time, peak RSS (KiB), exit code."""
        log = cwd / ".bench-output.log"
        job = {"argv": argv, "cwd": str(cwd), "env": env, "log": str(log),
               "memory_limit": memory_limit}  # fmt: skip
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        self.running = json.loads(self._line())["pid"]
        timer = threading.Timer(timeout, self.kill_running)
        timer.start()
        sampler = _TreeMemory(self.running)
        try:
            done = json.loads(self._line())
        finally:
            timer.cancel()
            self.running = None
            sampler.stop()
        code = os.waitstatus_to_exitcode(done["status"])
        timed_out = done["seconds"] >= timeout and code == -signal.SIGKILL
        output = log.read_text(encoding="utf-8", errors="replace")
        log.unlink()
        return Run(done["seconds"], done["maxrss"], code, timed_out, output, sampler.peak_kib)

    def _line(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the launcher exited ({self.process.poll()})")
        return line

    def close(self) -> None:
        self.kill_running()
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_launcher: Launcher | None = None  # for the signal handler


# -- the workspace of one size ----------------------------------------------------------------


@dataclass
class Workspace:
    """The generated file in a git checkout and outside git, and the derived inputs."""

    root: Path
    n: int
    text: str = ""
    env: dict[str, str] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    bad_references: int = 0

    @property
    def git(self) -> Path:
        return self.root / "git"

    @property
    def plain(self) -> Path:
        return self.root / "plain"

    def create(self, seed: int) -> float:
        """Generate the file and everything the figures read; returns the generation time."""
        started = time.perf_counter()
        self.plain.mkdir(parents=True)
        self.git.mkdir()
        source = write_realistic(self.n, self.plain / "events.yaml", seed=seed)
        seconds = time.perf_counter() - started
        self.text = source.read_text(encoding="utf-8")
        shutil.copy(source, self.git / "events.yaml")
        # Git must not find a repository above the workspace (a checkout holding /tmp):
        # the figures "outside git" are outside git for sure.
        self.env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(self.root),
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}  # fmt: skip
        # An installed tool runs from compiled modules; with PYTHONDONTWRITEBYTECODE set (as
        # on the machine these figures were first taken on) every command compiled the
        # project's modules again, about 20 ms of each figure.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self._git("init", "-q")
        self._git("add", "events.yaml")
        self._git("-c", "user.name=bench", "-c", "user.email=bench@localhost",
                  "commit", "-q", "-m", f"{self.n} generated events")  # fmt: skip
        outside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=self.plain,
                                 env=self.env, capture_output=True, check=False)  # fmt: skip
        if outside.returncode == 0:
            raise RuntimeError(f"{self.plain} is inside a git repository")
        bad, self.bad_references = re.subn(
            r"\{actor: ([a-z0-9-]+),", r"{actor: \1x,", self.text, count=BAD_REFERENCES
        )
        (self.plain / "bad.yaml").write_text(bad, encoding="utf-8")
        (self.plain / "refused.yaml").write_text(self.refused(), encoding="utf-8")
        # yaml-to-sqlite takes a list of records: the events section alone
        events = self.text[self.text.index("\nevents:") + len("\nevents:") :]
        (self.plain / "events-list.yaml").write_text(events.removeprefix(" []"), "utf-8")
        actor = re.search(r"\{actor: ([a-z0-9-]+), role:", self.text)
        cited = re.search(r"\n      - source: ([a-z0-9-]+)\n", self.text)
        self.samples = {"actor": actor.group(1) if actor else "",
                        "source": cited.group(1) if cited else ""}  # fmt: skip
        return seconds

    def refused(self) -> str:
        """The file with the middle event's date one that is not (2019-02-30, unquoted): a
        value the loader refuses, with the file's line and column."""
        start = self.text.index("\nevents:")
        hits = [m.end() for m in re.finditer("\n    date: ", self.text[start:])]
        at = start + hits[len(hits) // 2]
        return self.text[:at] + "2019-02-30" + self.text[self.text.index("\n", at) :]

    def _git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.git, env=self.env, check=True,
                       capture_output=True)  # fmt: skip

    def edited(self, run: int, section: str = "events", key: str = "summary") -> str:
        """The file with the middle record of ``section`` changed in ``key`` (one event's
        summary, or one source's title; differently for each run)."""
        start = self.text.index(f"\n{section}:")
        hits = [m.end() for m in re.finditer(f"\n    {key}: ", self.text[start:])]
        if not hits:
            raise RuntimeError(f"no record of {section} to edit")
        at = start + hits[len(hits) // 2]
        word = f"Edited {run + 1} "
        if self.text[at] in ">|":  # a block scalar: the text starts on the next line
            at = self.text.index("\n", at) + 1
            at += len(self.text[at:]) - len(self.text[at:].lstrip(" "))
        elif self.text[at] in "'\"":
            at += 1
        return self.text[:at] + word + self.text[at:]


# -- the figures ------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    label: str
    argv: Callable[[Workspace], list[str]]
    where: str = "plain"  # "git" or "plain"
    setup: Callable[[Workspace], None] | None = None  # once, untimed
    prepare: Callable[[Workspace, int], None] | None = None  # before each run, untimed
    teardown: Callable[[Workspace], None] | None = None
    expect_exit: int = 0
    expect_output: str = ""
    baseline: str | None = None  # key of the figure the ratio is taken to
    needs: Path | None = None  # an executable that may be missing


def _timeline(*args: str) -> Callable[[Workspace], list[str]]:
    return lambda ws: [str(TIMELINE), *args]


def _remove_db(where: str) -> Callable[[Workspace, int], None]:
    return lambda ws, run: (getattr(ws, where) / "record.db").unlink(missing_ok=True)


def _ensure_built(ws: Workspace) -> None:
    subprocess.run([str(TIMELINE), "build", "events.yaml"], cwd=ws.git, env=ws.env, check=True,
                   capture_output=True)  # fmt: skip


def _write_edit(ws: Workspace, run: int) -> None:
    (ws.git / "events.yaml").write_text(ws.edited(run), encoding="utf-8")


def _write_source_edit(ws: Workspace, run: int) -> None:
    (ws.git / "events.yaml").write_text(ws.edited(run, "sources", "title"), encoding="utf-8")


def _restore(ws: Workspace) -> None:
    (ws.git / "events.yaml").write_text(ws.text, encoding="utf-8")


FMT_CACHE = ".events.yaml.fmt-cache"


def _without_fmt_cache(ws: Workspace, run: int) -> None:
    (ws.plain / FMT_CACHE).unlink(missing_ok=True)


def _fmt_checked(ws: Workspace) -> None:
    """fmt --check has seen the file (its cache holds every record) and, a second later
    (a stamp is trusted once the file has not changed for a second), knows it by its stamp."""
    for _ in range(2):
        time.sleep(1.1)
        subprocess.run([str(TIMELINE), "fmt", "--check", "events.yaml"], cwd=ws.plain,
                       env=ws.env, check=True, capture_output=True)  # fmt: skip


def _write_title_edit(ws: Workspace, run: int) -> None:
    """One event's title changed by a letter: the file stays in canonical layout."""
    text = ws.text
    start = text.index("\nevents:")
    hits = [m.end() for m in re.finditer("\n    title: [A-Z]", text[start:])]
    at = start + hits[len(hits) // 2] - 1
    edited = text[:at] + "KLMNOPQRST"[run % 10] + text[at + 1 :]
    (ws.plain / "events.yaml").write_text(edited, encoding="utf-8")


def _restore_plain(ws: Workspace) -> None:
    (ws.plain / "events.yaml").write_text(ws.text, encoding="utf-8")


def _fresh_copy(ws: Workspace, run: int) -> None:
    shutil.copy(ws.plain / "events.yaml", ws.plain / "add.yaml")


def _fresh_copy_edited(ws: Workspace, run: int) -> None:
    """add.yaml as the database's file with one event's title edited since (by a letter)."""
    _write_title_edit(ws, run)
    shutil.move(ws.plain / "events.yaml", ws.plain / "add.yaml")
    _restore_plain(ws)


def _copy_alone(ws: Workspace, name: str, folder: str) -> None:
    """``name`` copied to ``folder``/add.yaml with no database beside it (gone each run)."""
    alone = ws.plain / folder
    alone.mkdir(exist_ok=True)
    for built in alone.glob("record.db*"):
        built.unlink()
    shutil.copy(ws.plain / name, alone / "add.yaml")


def _fresh_copy_alone(ws: Workspace, run: int) -> None:
    """The file with no database beside it (a large one's add builds it)."""
    _copy_alone(ws, "events.yaml", "alone")


def _fresh_bad_copy(ws: Workspace, run: int) -> None:
    """The file with bad references, with no database beside it (its build fails)."""
    _copy_alone(ws, "bad.yaml", "bad")


def _without_db(ws: Workspace) -> None:
    """No database beside the file: validate reads and checks all of it."""
    (ws.plain / "record.db").unlink(missing_ok=True)


def _build_plain(ws: Workspace) -> None:
    """The database beside add.yaml, built from the same bytes: add places and checks the
    new event from it."""
    subprocess.run([str(TIMELINE), "build", "events.yaml"], cwd=ws.plain, env=ws.env,
                   check=True, capture_output=True)  # fmt: skip


def _add_argv(ws: Workspace, where: str = "add.yaml", actor: str = "") -> list[str]:
    return [
        str(TIMELINE), "add", where, "--date", "2024-05-17",
        "--title", "Benchmark meeting added by run_all",
        "--summary", "Officials of the two sides meet; an event added to time timeline add.",
        "--type", "meeting", "--actor", f"{actor or ws.samples['actor']}:participant",
        "--source", ws.samples["source"], "--quote", "A short quote for the benchmark.",
        "--no-interactive",
    ]  # fmt: skip


FIGURES = [
    Figure("version", "`timeline --version` (start-up)", _timeline("--version")),
    Figure("build-git", "`timeline build`, full, in a git checkout", _timeline("build",
           "events.yaml"), where="git", prepare=_remove_db("git"), expect_output="Built",
           baseline="yaml-to-sqlite"),
    Figure("build", "`timeline build`, full, outside git", _timeline("build", "events.yaml"),
           prepare=_remove_db("plain"), expect_output="Built", baseline="yaml-to-sqlite"),
    Figure("noop", "`timeline build`, unchanged input (no-op)", _timeline("build",
           "events.yaml"), where="git", setup=_ensure_built, expect_output="up to date",
           baseline="build-git"),
    Figure("edit", "`timeline build` after editing one summary (rewrites it)", _timeline("build",
           "events.yaml"), where="git", setup=_ensure_built, prepare=_write_edit,
           teardown=_restore, expect_output="Updated", baseline="build-git"),
    Figure("edit-source", "`timeline build` after editing one source's title (rewrites it)",
           _timeline("build", "events.yaml"), where="git", setup=_ensure_built,
           prepare=_write_source_edit, teardown=_restore, expect_output="Updated",
           baseline="build-git"),
    Figure("validate", "`timeline validate`, clean file, no database",
           _timeline("validate", "events.yaml"), setup=_without_db, baseline="yaml-load"),
    Figure("validate-built", "`timeline validate`, the database built from the file",
           _timeline("validate", "events.yaml"), setup=_build_plain, expect_output="OK",
           baseline="validate"),
    Figure("validate-edit", "`timeline validate` after editing one summary (database of the "
           "version before)", _timeline("validate", "events.yaml"), where="git",
           setup=_ensure_built, prepare=_write_edit, teardown=_restore, expect_output="OK",
           baseline="validate"),
    Figure("validate-bad", "`timeline validate`, bad references", _timeline("validate",
           "bad.yaml"), expect_exit=1, baseline="validate"),
    Figure("validate-refused", "`timeline validate`, one event's date not a date, no database",
           _timeline("validate", "refused.yaml"), expect_exit=1, baseline="validate"),
    Figure("build-bad", "`timeline build`, bad references, no database",
           _timeline("build", "bad.yaml", "--db", "bad.db"), expect_exit=1, baseline="build"),
    Figure("build-refused", "`timeline build`, one event's date not a date, no database",
           _timeline("build", "refused.yaml", "--db", "refused.db"), expect_exit=1,
           baseline="build"),
    Figure("fmt-refused", "`timeline fmt --check`, one event's date not a date, no cache",
           _timeline("fmt", "--check", "refused.yaml"), expect_exit=1, baseline="fmt"),
    Figure("add", "`timeline add` of one event, database up to date", _add_argv,
           setup=_build_plain, prepare=_fresh_copy, expect_output="Added", baseline="validate"),
    Figure("add-edit", "`timeline add` of one event after one title edited by hand (database "
           "of the version before)", _add_argv, setup=_build_plain, prepare=_fresh_copy_edited,
           expect_output="Added", baseline="validate"),
    Figure("add-alone", "`timeline add` of one event, no database (a large file's is built)",
           lambda ws: _add_argv(ws, "alone/add.yaml"), prepare=_fresh_copy_alone,
           expect_output="Added", baseline="validate"),
    Figure("add-wrong", "`timeline add` of one event naming an unknown actor, database up "
           "to date", lambda ws: _add_argv(ws, actor="no-such-actor"), setup=_build_plain,
           prepare=_fresh_copy, expect_exit=1, baseline="validate"),
    Figure("add-bad", "`timeline add` of one event to the file with bad references, no "
           "database (its build fails)", lambda ws: _add_argv(ws, "bad/add.yaml"),
           prepare=_fresh_bad_copy, expect_exit=1, baseline="validate-bad"),
    Figure("fmt", "`timeline fmt --check`, no cache", _timeline("fmt", "--check",
           "events.yaml"), prepare=_without_fmt_cache, expect_output="already in canonical",
           baseline="yaml-load"),
    Figure("fmt-edit", "`timeline fmt --check` after one title edited (its cache kept)",
           _timeline("fmt", "--check", "events.yaml"), setup=_fmt_checked,
           prepare=_write_title_edit, teardown=_restore_plain,
           expect_output="already in canonical", baseline="fmt"),
    Figure("fmt-noop", "`timeline fmt --check`, unchanged since it was last found canonical",
           _timeline("fmt", "--check", "events.yaml"), setup=_fmt_checked,
           expect_output="already in canonical", baseline="fmt"),
    Figure("yaml-load", "floor: PyYAML CSafeLoader, GC paused",
           lambda ws: [sys.executable, "-c", FLOOR_LOAD, "events.yaml"]),
    Figure("yaml-parse", "floor: `yaml.parse` (C events only)",
           lambda ws: [sys.executable, "-c", FLOOR_PARSE, "events.yaml"], baseline="yaml-load"),
    Figure("yaml-to-sqlite", "yaml-to-sqlite, one flat table, no validation",
           lambda ws: [str(YAML_TO_SQLITE), "flat.db", "events", "events-list.yaml", "--pk",
                       "id"], prepare=lambda ws, run: (ws.plain / "flat.db").unlink(
                           missing_ok=True), needs=YAML_TO_SQLITE),
]  # fmt: skip
FIGURE_KEYS = [f.key for f in FIGURES]


@dataclass
class Cell:
    """The result of one figure at one size."""

    figure: Figure
    n: int
    runs: list[Run] = field(default_factory=list)
    problem: str = ""  # why there is no figure: timed out, failed, not installed
    label: str = ""  # the figure's label, when this size needs its own

    @property
    def median(self) -> float | None:
        return statistics.median(r.seconds for r in self.runs) if self.runs and not self.problem \
            else None  # fmt: skip

    @property
    def max_rss_mib(self) -> float | None:
        return max(r.max_rss_kib for r in self.runs) / 1024 if self.runs else None

    @property
    def tree_pss_mib(self) -> float | None:
        return max(r.tree_pss_kib for r in self.runs) / 1024 if self.runs else None


def measure_figure(launcher: Launcher, fig: Figure, ws: Workspace, runs: int, timeout: float,
                   memory_limit: int | None) -> Cell:  # fmt: skip
    cell = Cell(fig, ws.n)
    if fig.needs is not None and not fig.needs.exists():
        cell.problem = NOT_INSTALLED
        return cell
    cwd = getattr(ws, fig.where)
    try:
        if fig.setup:
            fig.setup(ws)
        for i in range(runs):
            if fig.prepare:
                fig.prepare(ws, i)
            run = launcher.measure(fig.argv(ws), cwd, timeout, ws.env, memory_limit)
            if run.timed_out:
                cell.problem = f"timed out after {timeout:g} s"
                break
            wrong_exit = run.exit_code != fig.expect_exit
            if wrong_exit or fig.expect_output not in run.output:
                memory = "MemoryError" in run.output or run.exit_code == -signal.SIGKILL
                cell.problem = f"failed (exit {run.exit_code}" + (
                    ", out of memory?)" if memory and memory_limit else ")"
                )
                tail = "\n".join(run.output.splitlines()[-15:])
                print(f"  {fig.key} at {ws.n}: {cell.problem}\n{tail}", file=sys.stderr)
                break
            cell.runs.append(run)
    except subprocess.CalledProcessError as exc:
        cell.problem = f"setup failed (exit {exc.returncode})"
    finally:
        if fig.teardown:
            fig.teardown(ws)
    return cell


# -- the report -------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s" if value < 10 \
        else f"{value:.1f} s"  # fmt: skip


def _events(n: int) -> str:
    return f"{n:,}"


def table(cells: list[Cell], sizes: list[int]) -> str:
    """The markdown tables: every figure at every size, then growth between sizes."""
    by = {(c.figure.key, c.n): c for c in cells}
    lines = [
        "| figure | events | runs | median | min – max | peak RSS | all processes | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n in sizes:
        for fig in FIGURES:
            cell = by.get((fig.key, n))
            if cell is None:
                continue
            label = cell.label or fig.label
            if cell.median is None:
                rss = f"{cell.max_rss_mib:,.0f} MiB" if cell.max_rss_mib else "—"
                lines.append(f"| {label} | {_events(n)} | {len(cell.runs)} | {cell.problem} "
                             f"| — | {rss} | — | — |")  # fmt: skip
                continue
            low = min(r.seconds for r in cell.runs)
            high = max(r.seconds for r in cell.runs)
            ratio = "—"
            base = by.get((fig.baseline, n)) if fig.baseline else None
            if base is not None and base.median:
                ratio = f"{cell.median / base.median:.2f}× {base.figure.key}"
            elif fig.baseline:
                ratio = f"({fig.baseline}: no figure)"
            lines.append(
                f"| {label} | {_events(n)} | {len(cell.runs)} | {_seconds(cell.median)} "
                f"| {_seconds(low)} – {_seconds(high)} | {cell.max_rss_mib:,.0f} MiB "
                f"| {cell.tree_pss_mib:,.0f} MiB | {ratio} |"
            )
    if len(sizes) > 1:
        lines += ["", "| figure | " + " | ".join(_events(n) for n in sizes) + " | growth |",
                  "|---|" + "---:|" * len(sizes) + "---|"]  # fmt: skip
        for fig in FIGURES:
            row = [by.get((fig.key, n)) for n in sizes]
            if all(c is None for c in row):
                continue
            medians = [c.median if c else None for c in row]
            shown = [_seconds(m) if m is not None else (c.problem if c else "—")
                     for m, c in zip(medians, row, strict=True)]  # fmt: skip
            growth = "—"
            if medians[0] and medians[-1]:
                growth = (f"{medians[-1] / medians[0]:.1f}× for "
                          f"{sizes[-1] / sizes[0]:g}× the events")  # fmt: skip
            lines.append(f"| {fig.label} | " + " | ".join(shown) + f" | {growth} |")
    return "\n".join(lines)


def machine() -> str:
    """One line about where the figures were taken."""
    memory = ""
    try:
        total = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))  # fmt: skip
        memory = f", {int(total.split()[1]) / 2**20:.0f} GiB memory"
    except (OSError, StopIteration):
        pass
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores{memory}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average {load}")  # fmt: skip


def _interrupt(signum: int, frame: object) -> None:
    if _launcher is not None:
        _launcher.kill_running()
    raise Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sizes",
        nargs="*",
        type=int,
        default=[10_000, 100_000],
        help="numbers of events (default: 10000 100000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds one command may take (default 600)"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated figures: " + ",".join(FIGURE_KEYS)
    )
    parser.add_argument(
        "--memory-limit-gib",
        type=float,
        default=16,
        help="address-space limit of each command (default 16; 0: none)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated files")
    args = parser.parse_args(argv)  # fmt: skip
    if not sys.platform.startswith("linux"):
        parser.error("peak RSS is read from os.wait4 in KiB, which holds on Linux only")
    only = [k for k in args.only.split(",") if k]
    unknown = set(only) - set(FIGURE_KEYS)
    if unknown or args.runs < 1 or not args.sizes:
        parser.error(f"unknown figures {sorted(unknown)}" if unknown else "nothing to run")
    if not TIMELINE.exists():
        parser.error(f"{TIMELINE} is missing: run with the project's virtualenv python")
    figures = [f for f in FIGURES if not only or f.key in only]
    limit = int(args.memory_limit_gib * 2**30) or None
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    started_on = machine()
    cells: list[Cell] = []
    global _launcher
    launcher = _launcher = Launcher()  # before anything big is loaded here
    try:
        with tempfile.TemporaryDirectory(prefix="timeline-bench-") as tmp:
            for n in args.sizes:
                ws = Workspace(Path(tmp) / f"n{n}", n)
                seconds = ws.create(args.seed)
                size = (ws.plain / "events.yaml").stat().st_size / 2**20
                print(f"{n:,} events: generated {size:.1f} MiB in {seconds:.1f} s",
                      file=sys.stderr)  # fmt: skip
                for fig in figures:
                    cell = measure_figure(launcher, fig, ws, args.runs, args.timeout, limit)
                    if fig.key == "validate-bad":
                        cell.label = f"`timeline validate`, {ws.bad_references:,} bad references"
                    cells.append(cell)
                    shown = _seconds(cell.median) if cell.median is not None else cell.problem
                    print(f"  {fig.key:<15} {shown}", file=sys.stderr)
                shutil.rmtree(ws.root)  # the next size needs the disk more
    except Interrupted as exc:
        print(f"interrupted ({exc}); partial results:", file=sys.stderr)
    finally:
        launcher.close()
    print(f"Machine: {started_on} (at the start); load average at the end "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}.")  # fmt: skip
    print(f"Runs per figure: {args.runs}; timeout {args.timeout:g} s per command; memory "
          f"limit {args.memory_limit_gib:g} GiB per command.\n")  # fmt: skip
    print(table(cells, args.sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
