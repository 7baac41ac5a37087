"""A bounded load test on 127.0.0.1: normal readers keep being served while abusive requests
hammer the production server. The figures are printed (``pytest -s``); the benchmark
``benchmarks/abuse_load.py`` runs the same for longer."""

from __future__ import annotations

import sys

from test_site_support import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from abuse_load import ABUSIVE, NORMAL, report, run


def test_normal_pages_keep_answering_under_abuse():
    tally = run(seconds=8, abusers=4)
    report(tally)
    assert not tally.errors, tally.errors  # every normal request answered 200
    assert set(tally.timings) == set(NORMAL)
    abusive = {path for path, _ in tally.statuses}
    assert len(abusive) >= len(ABUSIVE) // 2  # the abuse really ran
    # none of the abusive requests took the server down or got a 500
    assert not [s for (_, s), _ in tally.statuses.items() if s == 500 or isinstance(s, str)]
