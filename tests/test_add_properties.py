"""`timeline add` under generated events, exceptions mid-write and a real kill -9."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import examples

from conftest import SMALL, files_in, run_and_kill
from timeline import files
from timeline.edit import add_event
from timeline.files import WriteRefused
from timeline.layout import format_text
from timeline.validate import validate_file

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzçğıöşü ", min_size=3, max_size=40).filter(
    lambda t: t.strip() and t.strip()[0].isalpha()
)
DATES = st.one_of(
    st.integers(1900, 2025).map(str),
    st.tuples(st.integers(1900, 2025), st.integers(1, 12)).map(lambda t: f"{t[0]}-{t[1]:02d}"),
    st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)).map(dt.date.isoformat),
    st.tuples(st.integers(1900, 2025), st.sampled_from("~?")).map(lambda t: f"{t[0]}{t[1]}"),
)  # fmt: skip
EVENTS = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"\Agen-[a-z0-9]{1,12}\Z"),
        "date": DATES,
        "title": WORDS.map(str.strip),
        "summary": WORDS.map(lambda t: t.strip() + "."),
        "type": st.sampled_from(["meeting", "statement", "delivery", "contract"]),
        "status": st.just("confirmed"),
        "actors": st.lists(
            st.fixed_dictionaries(
                {"actor": st.sampled_from(["baykar", "russia"]), "role": st.just("participant")}
            ),
            max_size=2,
            unique_by=lambda a: a["actor"],
        ),
        "tags": st.lists(st.sampled_from(["drones", "straits", "talks"]), max_size=2, unique=True),
        "citations": st.just([{"source": "record", "quote": "A generated quote."}]),
    }
)


@pytest.fixture(scope="module")
def canonical_yaml(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("add") / "events.yaml"
    path.write_text(format_text(SMALL.read_text(), path))
    return path


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=EVENTS)
def test_add_changes_no_byte_outside_its_block_and_keeps_the_layout(canonical_yaml, event):
    before = canonical_yaml.read_text()
    insertion = add_event(canonical_yaml, event, dry_run=True)
    start = insertion.text.index(insertion.block)
    assert insertion.text[:start] + insertion.text[start + len(insertion.block) :] == before
    assert format_text(insertion.text, canonical_yaml) == insertion.text  # fmt --check passes
    assert canonical_yaml.read_text() == before


def test_exception_mid_write_leaves_the_file_intact(small_yaml, monkeypatch):
    before = small_yaml.read_bytes()

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, "fsync", failing_fsync)
    event = {"id": "x", "date": "2020", "title": "T", "summary": "S.", "type": "statement",
             "status": "confirmed", "citations": [{"source": "record", "quote": "Q."}]}  # fmt: skip
    with pytest.raises(WriteRefused, match="Input/output error"):
        add_event(small_yaml, event)
    assert small_yaml.read_bytes() == before
    leftovers = set(files_in(small_yaml.parent)) - {"events.yaml"}
    assert leftovers <= {".events.yaml.lock"}  # no temporary file left behind


def big_timeline(n: int) -> str:
    text = SMALL.read_text()
    extra = "".join(
        f'  - id: bulk-{i}\n    date: "{1950 + i % 60}"\n    title: Bulk event {i}\n'
        f"    summary: Filler {i}.\n    type: statement\n    status: confirmed\n"
        f"    citations:\n      - source: record\n        quote: Filler quote {i}.\n"
        for i in range(n)
    )
    return text + extra


ADDER = [
    sys.executable, "-m", "timeline.cli", "add", "events.yaml", "--no-interactive",
    "--date", "2021-04-10", "--title", "Killed while adding", "--summary", "S.",
    "--type", "statement", "--source", "record", "--quote", "Q.",
]  # fmt: skip


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_kill_9_during_add_leaves_the_old_or_the_complete_new_file(tmp_path, delay):
    path = tmp_path / "events.yaml"
    path.write_text(big_timeline(3_000))
    before = path.read_bytes()
    returncode = run_and_kill(ADDER, tmp_path, delay)
    after = path.read_bytes()
    if delay < 0.1:  # certainly killed while loading and validating
        assert returncode == -signal.SIGKILL and after == before
    if returncode == 0:  # the add finished before the kill
        assert after != before
    if after != before:  # the new file was renamed in; the kill may still come before exit
        assert validate_file(path).ok
        assert b"title: Killed while adding" in after
    leftovers = set(files_in(tmp_path)) - {"events.yaml"}
    assert all(n.startswith(".events.yaml.") for n in leftovers), leftovers
