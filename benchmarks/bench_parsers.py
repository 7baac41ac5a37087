"""YAML parsers for ``events.yaml``, compared: seconds, peak memory, YAML 1.1 agreement and
strictness.

Run ``python benchmarks/bench_parsers.py [SIZES…] [--only NAMES]`` (default 10,000 and
100,000 events). For each size a realistic file is generated (``generate.py``); each parser
then reads it in a child process of its own, started by ``run_all``'s launcher, which takes
the child's peak RSS from ``os.wait4``. The child times the reading alone (not the start-up,
not reading the bytes from disk), with the garbage collector paused as the commands pause it.

Three ways of reading: the whole file at once; record by record as this script cuts it (every
event alone, each result dropped as the next is read; the records are cut at the lines
that start them in the generated layout, an item's ``  - ``), which measures the parser alone;
and, for ``timeline-records``, the whole text handed to the project's own record-by-record
reading (``load_text(..., record_by_record=True)``, what ``validate`` and ``build`` use),
which finds the records itself and falls back to the whole file when one does not read alone.

Two columns of probes, read by each parser in the child:

* "agrees": of the YAML 1.1 forms in ``PROBES``, how many the parser reads as PyYAML's
  SafeLoader does (a parser that raises where SafeLoader does not disagrees). The project's
  loader agrees where it refuses a form with its position (``LoadError``: ``0700``, ``33:39``).
* "strict": of the inputs in ``LENIENT``, which PyYAML refuses, how many the parser refuses
  too. A parser that reads one of them would let ``validate`` accept a file ``fmt`` refuses.

After the table, each parser's message for ``BROKEN`` (a key indented one space too little)
shows whether its errors carry a position. Prints figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import collections
import gc
import importlib
import itertools
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import write_realistic
from run_all import NOT_INSTALLED, Launcher, machine

ROOT = Path(__file__).resolve().parent.parent

# The forms the validator relies on PyYAML's reading of (and a quoted date, which must stay
# text), each compared with the value PyYAML gives.
PROBES = (
    "a: yes",
    "a: On",
    "a: 0700",
    "a: 33:39",
    "a: 1_000",
    "a: 1e3",
    "a: 2019-03-01",
    "a: '2019-03-01'",
    "a: 2019-03-01 10:00:00",
    "a: ~",
    "a: 1\na: 2",
    "a: &x [1]\nb: *x",
)
# Not YAML, and refused by PyYAML; rapidyaml 0.15 reads all three (found by the random edits
# of tests/test_load_records.py): a key after a stray bracket, a comment inside a flow
# mapping (read as part of the value), text after a block scalar's header.
LENIENT = (
    "a: 1\n]b: 2\n",
    "a: {b: x # note, c: y}\n",
    "a: > -\n  text\n",
)
# A key indented one space too little: PyYAML says line 4, column 4.
BROKEN = "events:\n  - id: a\n    title: x\n   date: 2020-01-01\n"

# name: what it is
PARSERS: dict[str, str] = {
    "pyyaml-c": "PyYAML 6 `CSafeLoader` (libyaml)",
    "pyyaml-events": "PyYAML 6 `yaml.parse` with `CSafeLoader`: libyaml's events only, no "
    "nodes and no values (what a strict second pass over another parser's reading would cost)",
    "timeline-records": "`timeline.load.load_text(..., record_by_record=True)`: the project's "
    "reading as `validate` and `build` do it (it cuts the file itself; libyaml + the checks)",
    "timeline-load": "`timeline.load.load_text` on the whole file (libyaml + the checks)",
    "rapidyaml-tree": "rapidyaml 0.15 tree only (no Python values)",
    "yaml-rs": "yaml-rs 0.1 (Rust)",
    "ryaml": "ryaml 0.5 (Rust)",
    "oryaml": "oryaml 0.1 (Rust)",
    "pyyaml-rs": "pyyaml-rs 0.1 (Rust)",
    "fastyaml-rs": "fastyaml-rs 0.7 (Rust)",
}
MODES = ("records", "whole")
NO_VALUES = {"pyyaml-events", "rapidyaml-tree"}  # no Python values to compare
# The project's own two readings: each is one way of reading, not a parser to cut for.
OWN_MODE = {"timeline-records": "own records", "timeline-load": "whole"}
_RECORD_START = re.compile(r"(?m)^(?=  - |[^\s#-])")


def records(text: str) -> Iterator[str]:
    """The generated file cut before each section key and each record's dash, one record at
    a time (the text and one record in memory, not a copy of the file in pieces)."""
    starts = itertools.chain((m.start() for m in _RECORD_START.finditer(text)), [len(text)])
    for start, end in itertools.pairwise(starts):
        if text.startswith("  - ", start):
            yield text[start:end]


def reader(name: str) -> Callable[[str], object]:
    """The function that reads one text with parser ``name`` (imported here, in the child).
    The project's readings return a ``Document``, whose ``data`` is the value."""
    import yaml

    if name == "pyyaml-c":
        return lambda text: yaml.load(text, Loader=yaml.CSafeLoader)
    if name == "pyyaml-events":
        return lambda text: collections.deque(yaml.parse(text, Loader=yaml.CSafeLoader), 0)
    if name.startswith("timeline-"):
        from timeline.load import load_text

        by_record = name == "timeline-records"
        return lambda text: load_text(text, Path("<bench>"), record_by_record=by_record)
    if name == "rapidyaml-tree":
        import ryml

        return lambda text: ryml.parse_in_arena(text.encode())
    if name == "pyyaml-rs":
        return importlib.import_module("pyyaml_rs").safe_load
    if name == "fastyaml-rs":
        return importlib.import_module("fast_yaml").safe_load
    return importlib.import_module(name.replace("-", "_")).loads  # yaml-rs, ryaml, oryaml


def agreement(read: Callable[[str], object], name: str) -> str:
    """How many PROBES the parser reads as PyYAML's SafeLoader does."""
    import yaml

    if name in NO_VALUES:
        return "—"
    agreed = 0
    for probe in PROBES:
        expected = yaml.load(probe, Loader=yaml.SafeLoader)
        try:
            got = read(probe)
        except Exception as exc:
            agreed += type(exc).__name__ == "LoadError"
            continue
        agreed += repr(getattr(got, "data", got)) == repr(expected)
    return f"{agreed}/{len(PROBES)}"


def strictness(read: Callable[[str], object]) -> str:
    """How many of the LENIENT inputs the parser refuses, as PyYAML does."""
    refused = 0
    for text in LENIENT:
        try:
            read(text)
        except Exception:
            refused += 1
    return f"{refused}/{len(LENIENT)}"


def error_message(read: Callable[[str], object]) -> str:
    """The parser's message for BROKEN, on one line, with its position if it gives one."""
    try:
        read(BROKEN)
    except Exception as exc:
        if hasattr(exc, "errdata_parse"):  # rapidyaml: the position is beside the message
            where = exc.errdata_parse.ymlloc
            return f"line {where.line}, col {where.col}: {exc.msg}"
        mark = getattr(exc, "mark", None)  # the project's LoadError
        if mark is not None and hasattr(mark, "column") and hasattr(exc, "message"):
            return f"line {mark.line}, column {mark.column}: {exc.message}"
        text = " ".join(str(exc).replace('in "<unicode string>",', "").split())
        return f"{type(exc).__name__}: {text}"[:200]
    return "read without an error"


def child(name: str, mode: str, path: str) -> None:
    """Read the file one way; print the seconds taken and the probes' results as JSON."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        read = reader(name)
    except ModuleNotFoundError:
        print(json.dumps({"missing": True}))
        return
    pieces = records(text) if mode == "records" else iter([text])
    gc.disable()
    got, started = None, time.perf_counter()
    for piece in pieces:
        got = read(piece)
    seconds = time.perf_counter() - started
    gc.enable()
    # the project's record-by-record reading falls back to the whole file when a record does
    # not read alone: say so, the row would measure the other reading
    whole = name == "timeline-records" and got.pieces is None
    del got
    result = {"seconds": seconds, "read whole": whole, "agrees": agreement(read, name),
              "strict": strictness(read), "error": error_message(read)}  # fmt: skip
    print(json.dumps(result), flush=True)


def measure(launcher: Launcher, name: str, mode: str, path: Path, timeout: float,
            errors: dict[str, str]) -> str:  # fmt: skip
    """One table row; the parser's message for BROKEN goes into ``errors``."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", name, mode, str(path)]
    run = launcher.measure(argv, path.parent, timeout, _env(), None)
    if run.timed_out:
        return f"| {name} | {mode} | timed out after {timeout:g} s | | | |"
    lines = run.output.strip().splitlines()
    if run.exit_code != 0:
        return f"| {name} | {mode} | failed: {(lines or ['?'])[-1]} | | | |"
    # rapidyaml prints its own messages on stderr (the probes' errors): the result is the
    # last line that is JSON
    result = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    if result.get("missing"):
        return f"| {name} | {mode} | {NOT_INSTALLED} | | | |"
    errors.setdefault(name, result["error"])
    note = " (fell back to the whole file)" if result["read whole"] else ""
    return (f"| {name} | {mode} | {result['seconds']:.2f} s{note} | "
            f"{run.max_rss_kib / 1024:,.0f} MiB "
            f"| {result['agrees']} | {result['strict']} |")  # fmt: skip


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(PARSERS))
    parser.add_argument("--modes", default=",".join(MODES), help="records, whole or both")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per reading")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(PARSERS)
    modes = [m for m in args.modes.split(",") if m]
    if set(names) - set(PARSERS) or set(modes) - set(MODES):
        parser.error(f"unknown parser or mode: {sorted(set(names) - set(PARSERS))} {modes}")
    launcher = Launcher()  # before anything big is loaded here
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally clauses clean up
    errors: dict[str, str] = {}
    try:
        print(f"Machine: {machine()}\n")
        print("| parser | reading | seconds | peak RSS | agrees | strict |")
        print("|---|---|---:|---:|---:|---:|")
        with tempfile.TemporaryDirectory(prefix="timeline-parsers-") as tmp:
            for n in args.sizes:
                path = Path(tmp) / f"events-{n}.yaml"
                write_realistic(n, path)
                print(f"| **{n:,} events, {path.stat().st_size / 2**20:.0f} MiB** | | | | | |")
                for name in names:
                    for mode in [OWN_MODE[name]] if name in OWN_MODE else modes:
                        row = measure(launcher, name, mode, path, args.timeout, errors)
                        print(row, flush=True)
                path.unlink()
    finally:
        launcher.close()
    print("\n" + "\n".join(f"- {name}: {about}" for name, about in PARSERS.items()))
    print(f"\nThe message for {BROKEN!r}:\n")
    print("\n".join(f"- {name}: {message}" for name, message in errors.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
