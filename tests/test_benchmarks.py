"""The benchmark tools: the realistic generator, run_all and the load generator, end to end at
tiny sizes. The figures they print are not checked; that the tools work and clean up is."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from timeline.cli import app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_parsers import OWN_MODE, PARSERS  # noqa: E402
from generate import realistic_yaml  # noqa: E402
from run_all import FIGURES, NOT_INSTALLED  # noqa: E402

N = 300
PYTHON = sys.executable


@pytest.fixture(scope="module")
def generated() -> str:
    return realistic_yaml(N, seed=0)


def test_generator_is_deterministic(generated: str) -> None:
    assert realistic_yaml(N, seed=0) == generated
    assert realistic_yaml(N, seed=1) != generated


def test_the_real_file_is_read_again_once_it_changes(tmp_path: Path) -> None:
    """The generator keeps the real file it read while the file is unchanged (each test
    would read it again otherwise), and reads it again once it changes."""
    real = tmp_path / "real.yaml"
    real.write_bytes((ROOT / "events.yaml").read_bytes())
    before = realistic_yaml(5, seed=0, real=real)
    assert realistic_yaml(5, seed=0, real=real) == before
    plain_titles = re.compile(r"(?<=\n    title: )(?=[A-Za-z])")  # prefixed, they stay plain
    real.write_text(plain_titles.sub("Zz ", real.read_text(encoding="utf-8")), encoding="utf-8")
    after = realistic_yaml(5, seed=0, real=real)
    assert "title: Zz " in after and "title: Zz " not in before


def test_generator_cli_writes_the_same_bytes(generated: str, tmp_path: Path) -> None:
    out = tmp_path / "events.yaml"
    subprocess.run([PYTHON, str(ROOT / "benchmarks" / "generate.py"), str(N), "-o", str(out)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    assert out.read_bytes() == generated.encode()


def test_generated_file_validates_and_is_canonical(generated: str, tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(generated, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"OK: {N} events" in result.output
    result = runner.invoke(app, ["fmt", "--check", str(path)])
    assert result.exit_code == 0, result.output
    assert "already in canonical layout" in result.output


def test_generated_events_have_the_count_unique_ids_and_real_vocabulary(generated: str) -> None:
    data = yaml.load(generated, Loader=yaml.CSafeLoader)
    real = yaml.load((ROOT / "events.yaml").read_bytes(), Loader=yaml.CSafeLoader)
    events = data["events"]
    assert len(events) == N
    assert len({e["id"] for e in events}) == N
    for section in ("sources", "actors"):
        assert len({r["id"] for r in data[section]}) == len(data[section])
    # vocabularies come from the real file, and the mix is a mix, not one value
    for key, least in (("type", 8), ("status", 2)):
        assert {e[key] for e in events} <= {e[key] for e in real["events"]}
        assert len({e[key] for e in events}) >= least
    shapes = Counter(re.sub("[0-9]", "9", str(e["date"])) for e in events)
    assert {"9999-99-99", "9999-99", "9999-99-99/9999-99-99"} <= set(shapes)
    assert sum(len(e["citations"]) for e in events) > 2 * N  # real events cite ~3 sources
    assert any(c.get("translation") for e in events for c in e["citations"])
    assert any(e.get("related") for e in events) and any(e.get("systems") for e in events)
    # institutions stay one actor, as in the real file; people are numbered copies
    actor_ids = {a["id"] for a in data["actors"]}
    assert "turkey" in actor_ids
    assert not {"recep-tayyip-erdogan", "baykar"} & actor_ids


def _rows(table: str, size: int) -> dict[str, list[str]]:
    """Rows of run_all's first table at ``size``: label → the other cells."""
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[1] == f"{size:,}":
            rows[cells[0]] = cells[2:]
    return rows


def test_run_all_measures_every_figure_and_cleans_up(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "run_all.py"), "200", "--runs", "1",
         "--timeout", "300"],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(done.stdout, 200)
    labels = [f.label for f in FIGURES if f.key != "validate-bad"]
    bad = [label for label in rows if label.startswith("`timeline validate`, ")
           and label.endswith(" bad references")]  # fmt: skip
    assert len(bad) == 1 and int(re.sub(r"\D", "", bad[0])) > 0
    assert set(rows) == {*labels, bad[0]}
    time_cell = re.compile(r"^[0-9.,]+ (ms|s)$")
    for label, (runs, median, _, rss, pss, _ratio) in rows.items():
        if label.startswith("yaml-to-sqlite") and median == NOT_INSTALLED:
            continue  # the bench extra is not installed: said so, not hidden
        assert runs == "1" and time_cell.match(median), (label, median)
        assert re.match(r"^[0-9,]+ MiB$", rss), (label, rss)
        assert re.match(r"^[0-9,]+ MiB$", pss), (label, pss)
    assert "× validate" in rows[bad[0]][5]
    assert "Machine: " in done.stdout
    assert list(tmp_path.iterdir()) == []  # the workspace is gone


def _load_command(*options: str) -> list[str]:
    return [PYTHON, str(ROOT / "benchmarks" / "load.py"), "200", *options]


def _server_pid(stderr: str) -> int:
    found = re.search(r"server pid (\d+) on http://127\.0\.0\.1:(\d+)", stderr)
    assert found, stderr[-3000:]
    return int(found.group(1))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_load_reports_every_page_and_stops_its_server(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        _load_command("--requests", "1", "--concurrency", "1", "2"),
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    pid = _server_pid(done.stderr)
    assert _gone(pid)
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| page | path | size |")
    rows = rows[1:]
    labels = [line.split("|")[1].strip() for line in rows]
    for expected in ("home", "/timeline", "/timeline, one actor",
                     "/timeline, disputed and refuted", "events table, default facets",
                     "events table, no facets",
                     "events table, full-text search", "event page", "actor page",
                     "source page", "system page", "/claims", "Atom feed", "calendar"):  # fmt: skip
        assert expected in labels
    queries = json.loads((ROOT / "datasette-metadata.json").read_text(encoding="utf-8"))
    for name in queries["databases"]["record"]["queries"]:
        assert f"canned query {name}" in labels
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.match(r"^[0-9.,]+ (KiB|MiB)$", cells[2]), row  # the page answered 200
        assert cells[5] == "0/1" and cells[9] == "0/1", row  # c=1 and c=2: no errors
    ratio = re.search(r"default facets answers (\d+)% at c=1, (\d+)% at c=2 of", done.stdout)
    assert ratio and all(int(r) > 0 for r in ratio.groups()), done.stdout[-500:]
    assert list(tmp_path.iterdir()) == []


def test_load_stops_its_server_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        _load_command("--requests", "1000", "--seconds", "30"),
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        seen = ""
        deadline = time.monotonic() + 300
        while "server pid" not in seen and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            seen += line
        pid = _server_pid(seen)
        port = int(re.search(r":(\d+) \(", seen).group(1))
        while time.monotonic() < deadline:  # let it get under load
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=60)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
            # killed, load.py cannot stop its server: the test does, so no server outlives it
            found = re.search(r"server pid (\d+)", seen)
            if found and not _gone(int(found.group(1))):
                os.killpg(int(found.group(1)), signal.SIGKILL)
    assert process.returncode == 128 + signal.SIGTERM, seen + rest
    assert "interrupted by SIGTERM" in rest
    assert _gone(pid)
    assert list(tmp_path.iterdir()) == []


def test_a_signal_during_the_measurement_stops_it_at_once() -> None:
    """The signal lands while the event loop runs one of its callbacks: it must still stop
    the measurement (a raising Python handler there was logged and ignored)."""
    import asyncio

    import load

    async def measuring() -> None:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.sleep(30)

    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        started = time.monotonic()
        with pytest.raises(load.Interrupted) as caught:
            load.run_interruptibly(measuring())
        assert time.monotonic() - started < 5
        assert caught.value.signum == signal.SIGTERM
        # outside the loop, the script's own handler is back
        assert signal.getsignal(signal.SIGTERM) is load._interrupt
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_run_all_reports_a_timeout_instead_of_hanging(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "run_all.py"), "200", "--runs", "3",
         "--only", "validate", "--timeout", "0.2"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert _rows(done.stdout, 200) == {
        "`timeline validate`, clean file, no database": [
            "0",
            "timed out after 0.2 s",
            "—",
            "—",
            "—",
            "—",
        ]
    }
    assert list(tmp_path.iterdir()) == []


def test_peak_memory_is_the_commands_not_the_measuring_process(tmp_path: Path) -> None:
    from run_all import Launcher

    ballast = bytearray(400 * 2**20)  # this process: 400 MB more than any command below
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    launcher = Launcher()
    try:
        small = launcher.measure([PYTHON, "-c", "pass"], tmp_path, 60, dict(os.environ), None)
        fill = "b = bytearray(200 * 2**20); b[::4096] = b'1' * len(b[::4096])"
        big = launcher.measure([PYTHON, "-c", fill], tmp_path, 60, dict(os.environ), None)
    finally:
        launcher.close()
    del ballast
    assert small.exit_code == 0 and big.exit_code == 0
    assert small.max_rss_kib < 100 * 1024  # a bare interpreter, not this test's 400 MB
    assert 200 * 1024 <= big.max_rss_kib < 300 * 1024


def test_memory_of_all_processes_sums_a_command_and_what_it_forks(tmp_path: Path) -> None:
    """Two processes of 200 MB each count 400 MB, where the largest process counts 200 MB."""
    from run_all import Launcher

    fill = ("import os, time; pid = os.fork(); b = bytearray(200 * 2**20); "
            "b[::4096] = b'1' * len(b[::4096]); time.sleep(1); "
            "os.waitpid(pid, 0) if pid else os._exit(0)")  # fmt: skip
    launcher = Launcher()
    try:
        run = launcher.measure([PYTHON, "-c", fill], tmp_path, 60, dict(os.environ), None)
    finally:
        launcher.close()
    assert run.exit_code == 0
    assert 200 * 1024 <= run.max_rss_kib < 300 * 1024
    assert 400 * 1024 <= run.tree_pss_kib < 500 * 1024


async def test_load_counts_a_table_page_whose_facets_ran_out_of_time_as_an_error(
    generated: str, tmp_path: Path
) -> None:
    import load
    from support import build, site

    events = tmp_path / "events.yaml"
    events.write_text(generated, encoding="utf-8")
    db_path = build(events, tmp_path)
    page = "/record/events?precision=day"  # filtered: its facets count the rows themselves
    answers = {}
    for limit in (1, 1000):
        ds = await site(db_path, settings={"facet_time_limit_ms": limit})
        response = await ds.client.get(page)
        answers[limit] = load.failure(response.status_code, response.content)
    assert answers == {1: "facets timed out", 1000: None}
    assert load.failure(500, b"") == "HTTP 500"


def test_bench_parsers_prints_every_row_and_the_probes(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "bench_parsers.py"), "60", "--timeout", "300"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [
        line for line in done.stdout.splitlines() if line.startswith("| ") and "**" not in line
    ]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]
    rows = {(cell[0], cell[1]): cell[2:] for cell in cells}
    assert list(rows) == [
        (name, mode)
        for name in PARSERS
        for mode in ([OWN_MODE[name]] if name in OWN_MODE else ["records", "whole"])
    ]
    for (name, _), (seconds, rss, agrees, strict) in rows.items():
        if seconds == NOT_INSTALLED:
            continue  # the bench extra is not installed: said so, not hidden
        assert re.fullmatch(r"[0-9.]+ s", seconds) and re.fullmatch(r"[0-9,]+ MiB", rss)
        if name in ("pyyaml-c", "timeline-records", "timeline-load"):
            # the project's readings read the YAML 1.1 forms as PyYAML does, refuse what it does
            assert (agrees, strict) == ("12/12", "3/3"), name
    assert rows["pyyaml-events", "whole"][2:] == ["—", "3/3"]  # libyaml refuses them all
    if rows["rapidyaml-tree", "whole"][0] != NOT_INSTALLED:
        # why it was not adopted (benchmarks/README.md): the day it refuses them, look again
        assert rows["rapidyaml-tree", "whole"][2:] == ["—", "0/3"]
    messages = done.stdout.split("The message for ")[1]
    assert "- timeline-records: line 4, column 4: YAML syntax error" in messages
    assert list(tmp_path.iterdir()) == []  # the generated file is gone


# A load or measurement test: left out of `make test-fast` (`-m "not load"`).
pytestmark = pytest.mark.load


def test_index_use_names_every_index_and_the_pages_that_read_it(tmp_path: Path) -> None:
    import sqlite3

    from support import SMALL, build

    db = build(SMALL, tmp_path)
    work = tmp_path / "tmp"
    work.mkdir()
    done = subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "index_use.py"), str(db)],
        capture_output=True, text=True, env={**os.environ, "TMPDIR": str(work)}, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        indexes = {
            n for (n,) in conn.execute("select name from sqlite_master where type = 'index'")
        }
    rows = {m[0]: m[1] for m in re.findall(r"^\| `(\w+)` \| (.*) \|$", done.stdout, re.M)}
    assert indexes <= set(rows)
    # a table filtered by a facet column reads its index; the actor page, the pairs of actors
    assert "events filtered by type" in rows["idx_events_type"]
    assert "actor page" in rows["actor_pairs"]
    assert "none measured" in rows["sqlite_autoindex_build_info_1"]  # no page reads it
    assert list(work.iterdir()) == []
