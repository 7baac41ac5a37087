"""YAML parsers for ``events.yaml``, compared: seconds, peak memory and YAML 1.1 agreement.

Run ``python benchmarks/bench_parsers.py [SIZES…] [--only NAMES]`` (default 10,000 and
100,000 events). For each size a realistic file is generated (``generate.py``); each parser
then reads it in a child process of its own, started by ``run_all``'s launcher, which takes
the child's peak RSS from ``os.wait4``. The child times the reading alone (not the start-up,
not reading the bytes from disk), with the garbage collector paused as the commands pause it.

Two ways of reading: the whole file at once (what ``timeline.load.load_text`` does today), or
record by record (every source, actor, system and event alone, each result dropped before the
next is read: the bounded-memory way). For this benchmark the records are cut at the lines
that start them in the generated layout (a section's key, an item's ``  - ``); the parsers
are what is measured.

The "agrees" column: of the YAML 1.1 probes below, how many the parser reads as PyYAML's
SafeLoader does (a parser that raises where SafeLoader does not disagrees). The project's
loader agrees where it refuses a form with its position (``LoadError``: ``0700``, ``33:39``),
and ``fastload`` where it steps aside (``NotFast``): the loader then reads with PyYAML.
Prints figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import json
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

# The forms the validator relies on PyYAML's reading of (and a quoted date, which must stay
# text), each with the value PyYAML gives.
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

# name: what it is
PARSERS: dict[str, str] = {
    "pyyaml-c": "PyYAML 6 `CSafeLoader` (libyaml)",
    "timeline-load": "`timeline.load.load_text` today (libyaml + the project's checks)",
    "fastload": "`timeline.fastload.fast_data` (rapidyaml + PyYAML's resolution + the checks)",
    "fast-records": "`timeline.fastload.fast_records`: cuts the file itself and reads it record "
    "by record, as `validate` and `build` now do (whole file in, one record parsed at a time)",
    "rapidyaml-tree": "rapidyaml 0.15 tree only (no Python values)",
    "yaml-rs": "yaml-rs 0.1 (Rust)",
    "ryaml": "ryaml 0.5 (Rust)",
    "oryaml": "oryaml 0.1 (Rust)",
    "pyyaml-rs": "pyyaml-rs 0.1 (Rust)",
    "fastyaml-rs": "fastyaml-rs 0.7 (Rust)",
}
MODES = ("records", "whole")
_RECORD_START = re.compile(r"(?m)^(?=  - |[^\s#-])")


def records(text: str) -> Iterator[str]:
    """The generated file cut before each section key and each record's dash, one record at
    a time (the text and one record in memory, not a copy of the file in pieces)."""
    starts = itertools.chain((m.start() for m in _RECORD_START.finditer(text)), [len(text)])
    for start, end in itertools.pairwise(starts):
        if text.startswith("  - ", start):
            yield text[start:end]


def reader(name: str) -> Callable[[str], object]:
    """The function that reads one text with parser ``name`` (imported here, in the child)."""
    import yaml

    if name == "pyyaml-c":
        return lambda text: yaml.load(text, Loader=yaml.CSafeLoader)
    if name == "timeline-load":
        from timeline.load import load_text

        return lambda text: load_text(text, Path("<bench>")).data
    if name == "fastload":
        from timeline.fastload import fast_data

        return fast_data
    if name == "fast-records":
        from timeline.fastload import fast_records

        return lambda text: fast_records(text)[0]
    if name == "rapidyaml-tree":
        import ryml

        return lambda text: ryml.parse_in_arena(text.encode())
    if name == "pyyaml-rs":
        return importlib.import_module("pyyaml_rs").safe_load
    if name == "fastyaml-rs":
        return importlib.import_module("fast_yaml").safe_load
    return importlib.import_module(name.replace("-", "_")).loads  # yaml-rs, ryaml, oryaml


def agreement(name: str) -> str:
    """How many PROBES the parser reads as PyYAML's SafeLoader does."""
    import yaml

    if name == "rapidyaml-tree":
        return "—"  # no Python values
    read, agreed = reader(name), 0
    for probe in PROBES:
        expected = yaml.load(probe, Loader=yaml.SafeLoader)
        try:
            got = read(probe)
        except Exception as exc:
            agreed += type(exc).__name__ in ("NotFast", "LoadError")
            continue
        agreed += repr(got) == repr(expected)
    return f"{agreed}/{len(PROBES)}"


def child(name: str, mode: str, path: str) -> None:
    """Read the file one way, print the seconds taken and the agreement as JSON."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        read = reader(name)
    except ModuleNotFoundError:
        print(json.dumps({"missing": True}))
        return
    pieces = records(text) if mode == "records" else iter([text])
    gc.disable()
    started, count = time.perf_counter(), 0
    for piece in pieces:
        count += 1
        try:
            read(piece)
        except Exception as exc:  # the fast path's NotFast is counted apart
            if type(exc).__name__ != "NotFast":
                raise
            print("stepped aside", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "pieces": count, "agrees": agreement(name)}))


def measure(launcher: Launcher, name: str, mode: str, path: Path, timeout: float) -> str:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", name, mode, str(path)]
    run = launcher.measure(argv, path.parent, timeout, _env(), None)
    if run.timed_out:
        return f"| {name} | {mode} | timed out after {timeout:g} s | | |"
    if run.exit_code != 0:
        last = (run.output.strip().splitlines() or ["?"])[-1]
        return f"| {name} | {mode} | failed: {last} | | |"
    lines = run.output.strip().splitlines()
    result = json.loads(lines[-1])
    if result.get("missing"):
        return f"| {name} | {mode} | {NOT_INSTALLED} | | |"
    aside = sum(line == "stepped aside" for line in lines)
    note = f" ({aside:,} of {result['pieces']:,} read by PyYAML)" if aside else ""
    return (f"| {name} | {mode} | {result['seconds']:.2f} s{note} | "
            f"{run.max_rss_kib / 1024:,.0f} MiB | {result['agrees']} |")  # fmt: skip


def _env() -> dict[str, str]:
    import os

    root = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get(
        "PYTHONPATH")]))}  # fmt: skip


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
    try:
        print(f"Machine: {machine()}\n")
        print("| parser | reading | seconds | peak RSS | agrees |\n|---|---|---:|---:|---:|")
        with tempfile.TemporaryDirectory(prefix="timeline-parsers-") as tmp:
            for n in args.sizes:
                path = Path(tmp) / f"events-{n}.yaml"
                write_realistic(n, path)
                print(f"| **{n:,} events, {path.stat().st_size / 2**20:.0f} MiB** | | | | |")
                for name in names:
                    for mode in modes if name != "fast-records" else ["whole"]:
                        print(measure(launcher, name, mode, path, args.timeout), flush=True)
                path.unlink()
    finally:
        launcher.close()
    print("\n" + "\n".join(f"- {name}: {about}" for name, about in PARSERS.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
