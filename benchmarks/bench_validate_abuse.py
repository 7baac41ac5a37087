"""`timeline validate` on small files built to make it slow or loud: seconds, peak memory and
bytes of output for each.

Run ``python benchmarks/bench_validate_abuse.py`` (``--scale 0.1`` for smaller files). Prints
figures; asserts nothing (tests/test_validate.py checks the output is bounded, on the same
generators at a small scale). The cases, at scale 1:

* ``tags-twice``: one event whose tag list (about 900 KB) is written twice over;
* ``misspelt-keys``: one event with 20,000 misspelt keys (about 270 KB);
* ``follows-loops``: about 2.5 MB of events, each ``follows`` the next and the first, so
  every event closes a loop through all those before it.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PYTHON = sys.executable

HEAD = """sources:
  - {id: src, title: A source, publisher: Example, published: "2021", kind: news, language: en}
actors: []
events:
"""


def _event(i: int, extra: str = "") -> str:
    return (
        f"  - id: event-{i}\n"
        f'    date: "2021"\n'
        f"    title: Event number {i}\n"
        f"    summary: Something happened.\n"
        f"    type: statement\n"
        f"    status: confirmed\n"
        f"    citations:\n"
        f"      - {{source: src, quote: It happened.}}\n"
        f"{extra}"
    )


def tags_twice(scale: float) -> str:
    """One event whose tags are listed twice (the issue's file: 938 KB, 43 s)."""
    n = int(42_000 * scale)
    tags = ", ".join(f"tag-{i:05d}" for i in range(n))
    return HEAD + _event(0, f"    tags: [{tags}, {tags}]\n")


def misspelt_keys(scale: float) -> str:
    """One event with many keys the schema does not know (the issue's: 20,000 keys, 14 s)."""
    n = int(20_000 * scale)
    return HEAD + _event(0, "".join(f"    titel{i}: x\n" for i in range(n)))


def follows_loops(scale: float) -> str:
    """Events that each follow the next and the first: n loops of lengths 1..n (the issue's
    2.5 MB file printed 492 MB of messages and used 1.4 GB)."""
    n = int(9_000 * scale)
    events = []
    for i in range(n):
        related = f"      - {{event: event-{(i + 1) % n}, type: follows}}\n"
        if 0 < i < n - 1:
            related += "      - {event: event-0, type: follows}\n"
        events.append(_event(i, "    related:\n" + related))
    return HEAD + "".join(events)


CASES: dict[str, Callable[[float], str]] = {
    "tags-twice": tags_twice,
    "misspelt-keys": misspelt_keys,
    "follows-loops": follows_loops,
}


def measure(path: Path, pythonpath: str | None = None) -> tuple[float, float, int, int]:
    """Seconds, peak MiB, bytes printed and exit code of `timeline validate path`."""
    env = os.environ | ({"PYTHONPATH": pythonpath} if pythonpath else {})
    code = "import resource, sys, runpy; sys.argv = ['timeline', 'validate', sys.argv[1]]\n"
    code += "from timeline.cli import app\ntry:\n    app()\nfinally:\n"
    code += "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stdout)\n"
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.run([PYTHON, "-c", code, str(path)], stdout=subprocess.PIPE,
                              stderr=out, env=env, cwd=path.parent)  # fmt: skip
        seconds = time.perf_counter() - start
        last = proc.stdout.splitlines()[-1]  # the peak, printed last
        printed = out.seek(0, 2) + len(proc.stdout) - len(last) - 1
    return seconds, int(last) / 1024, printed, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--pythonpath", help="run another checkout's timeline package")
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'case':<15} {'file KB':>8} {'seconds':>8} {'peak MiB':>9} {'output KB':>10} exit")
        for name in args.cases:
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(CASES[name](args.scale), encoding="utf-8")
            seconds, peak, printed, code = measure(path, args.pythonpath)
            size = path.stat().st_size / 1000
            print(f"{name:<15} {size:>8.0f} {seconds:>8.2f} {peak:>9.0f} {printed / 1000:>10.1f}"
                  f" {code}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
