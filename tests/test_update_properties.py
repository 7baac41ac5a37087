"""Partial rebuilds under arbitrary text edits: whatever a curator types among the records,
the database ends as a full build makes it, or both report the same errors."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import EDITS, contents, edited, examples

from timeline.build import InvalidInput, build_file

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from generate import write_realistic


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("built")
    path = write_realistic(25, folder / "events.yaml", seed=9)
    build_file(path)
    return folder


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=EDITS, where=st.sampled_from(["\nevents:\n", "\nsources:\n"]))
def test_any_edit_ends_as_a_full_build_or_the_same_errors(built, tmp_path_factory, edits, where):
    """Edits inside the events list, or anywhere among the sources, actors, systems and
    events."""
    work = tmp_path_factory.mktemp("edit")
    for name in ("events.yaml", "record.db"):
        shutil.copy(built / name, work / name)
    path = work / "events.yaml"
    path.write_text(edited(path.read_text(encoding="utf-8"), edits, where), encoding="utf-8")
    before = (work / "record.db").read_bytes()
    try:
        full = build_file(path, work / "full.db").db_path
    except InvalidInput as full_error:
        with pytest.raises(InvalidInput) as error:
            build_file(path)
        assert [str(p) for p in error.value.result.problems] == [
            str(p) for p in full_error.result.problems
        ]
        assert (work / "record.db").read_bytes() == before
        return
    build_file(path)
    assert contents(work / "record.db") == contents(full)
