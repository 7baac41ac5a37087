"""How many examples the property tests draw: all of them unless the inner loop asks for a
share, and all of them under CI whatever is asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import examples, examples_share


def test_every_example_is_drawn_unless_a_share_is_asked():
    assert examples_share({}) == 1.0
    assert examples_share({"TIMELINE_EXAMPLES_SHARE": " "}) == 1.0
    assert examples_share({"TIMELINE_EXAMPLES_SHARE": "0.25"}) == 0.25
    assert examples_share({"TIMELINE_EXAMPLES_SHARE": "1", "CI": "true"}) == 1.0


@pytest.mark.parametrize("given", ["0", "-1", "1.5", "quarter", "nan"])
def test_a_share_that_is_not_one_is_refused_with_what_to_give(given):
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        examples_share({"TIMELINE_EXAMPLES_SHARE": given})


def test_ci_refuses_a_smaller_share():
    with pytest.raises(ValueError, match="CI draws every example"):
        examples_share({"TIMELINE_EXAMPLES_SHARE": "0.25", "CI": "true"})


def test_a_share_scales_each_count_but_keeps_ten_or_the_whole_of_a_small_one():
    assert [examples(n, 1.0) for n in (8, 60, 400)] == [8, 60, 400]
    assert [examples(n, 0.25) for n in (8, 25, 60, 400)] == [8, 10, 15, 100]


def test_pytest_refuses_a_bad_share_before_any_test_runs(tmp_path):
    test = f"{Path(__file__)}::test_every_example_is_drawn_unless_a_share_is_asked"
    env = {**os.environ, "TIMELINE_EXAMPLES_SHARE": "0.25", "CI": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", test],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    assert "CI draws every example" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
