"""Time load, validation and build on synthetic timelines of growing size.

Run with ``make bench`` (or ``python benchmarks/bench_build.py 1000 10000``).
Prints figures; asserts nothing: speed targets live here, not in the tests.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from timeline.build import build_file
from timeline.validate import validate_file

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["agreement", "contract", "delivery", "visit", "statement", "sanction"]


def synthetic_yaml(n_events: int) -> str:
    """A valid file with ``n_events`` events, 50 actors and 20 sources."""
    out = ["sources:"]
    for s in range(20):
        out += [
            f"  - id: source-{s}",
            f"    title: Source {s}",
            "    publisher: Bench",
            f'    published: "20{10 + s % 10}"',
            "    kind: news",
            "    language: en",
        ]
    out.append("actors:")
    for a in range(50):
        out += [
            f"  - id: actor-{a}",
            f"    name: Actor {a}",
            "    kind: company",
            "    country: TR",
        ]
    out.append("events:")
    for e in range(n_events):
        year, month, day = 1990 + e % 35, 1 + e % 12, 1 + e % 28
        date = [f"{year}", f"{year}-{month:02d}", f"{year}-{month:02d}-{day:02d}"][e % 3]
        out += [
            f"  - id: event-{e}",
            f'    date: "{date}"',
            f"    title: Event number {e} about drones and engines",
            f"    summary: Synthetic summary {e} of a delivery of Bayraktar drones and engines.",
            f"    type: {TYPES[e % len(TYPES)]}",
            "    status: confirmed",
            "    actors:",
            f"      - {{actor: actor-{e % 50}, role: supplier}}",
            f"      - {{actor: actor-{(e + 7) % 50}, role: buyer}}",
            "    countries: [TR, UA]",
            f"    tags: [drones, tag-{e % 10}]",
            "    citations:",
            f"      - source: source-{e % 20}",
            f"        quote: Quote number {e} about the delivery.",
        ]
    return "\n".join(out) + "\n"


def with_bad_references(text: str, n_bad: int) -> str:
    """``text`` with the first ``n_bad`` events citing actors and sources that do not exist
    (near misses, so every error gets a did-you-mean search over all ids)."""
    for e in range(n_bad):
        text = text.replace(
            f"      - {{actor: actor-{e % 50}, role: supplier}}\n",
            f"      - {{actor: actr-{e % 50}x, role: supplier}}\n",
            1,
        )
        text = text.replace(f"  - id: event-{e}\n", f"  - id: event-{e}\n    related:\n"
                            f"      - {{event: evnt-{e + 1}, type: follows}}\n", 1)  # fmt: skip
    return text


def bench_errors(label: str, yaml_path: Path, n_bad: int) -> None:
    """The error path: a file with ``n_bad`` × 2 bad references against a clean validate."""
    clean, t_clean = timed(lambda: validate_file(yaml_path))
    bad_path = yaml_path.with_name("bad-" + yaml_path.name)
    bad_path.write_text(with_bad_references(yaml_path.read_text(), n_bad))
    result, t_bad = timed(lambda: validate_file(bad_path))
    print(
        f"{label:>22}: {len(clean.dataset.events):>6} events | clean validate "
        f"{t_clean * 1000:8.1f} ms | {len(result.errors):5d} errors reported in "
        f"{t_bad * 1000:8.1f} ms ({t_bad / t_clean:4.2f}x)"
    )


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def bench(label: str, yaml_path: Path) -> None:
    db = yaml_path.parent / "bench.db"
    db.unlink(missing_ok=True)
    result, t_validate = timed(lambda: validate_file(yaml_path))
    assert result.ok, result.errors[:3]
    _, t_build = timed(lambda: build_file(yaml_path, db, force=True))
    skipped, t_noop = timed(lambda: build_file(yaml_path, db))
    assert skipped.skipped
    n = len(result.dataset.events)
    print(
        f"{label:>22}: {n:>6} events | validate {t_validate * 1000:8.1f} ms"
        f" | validate+build {t_build * 1000:8.1f} ms ({t_build / max(n, 1) * 1e6:6.1f} µs/event)"
        f" | unchanged rebuild {t_noop * 1000:6.2f} ms | db {db.stat().st_size / 1024:8.0f} KiB"
    )


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        real = Path(tmp) / "events.yaml"
        real.write_bytes((ROOT / "events.yaml").read_bytes())
        bench("real events.yaml", real)
        for n in sizes:
            path = Path(tmp) / f"synthetic-{n}.yaml"
            path.write_text(synthetic_yaml(n))
            bench("synthetic", path)
            bench_errors("with bad references", path, min(1_000, n // 10))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000])
