"""The transfers register: what a deal's steps are, and what its totals may add up.

The rule under test, as the site states it: ordered and delivered add only the orders and
deliveries of confirmed events whose number is exact; plans, pledges, running totals, claims
and approximate figures are listed beside the totals and never summed into them; a deal's
outstanding figure is ordered minus delivered, unknown while any of its deliveries has no
counted number.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import build, examples, query_rows, step, with_steps

from timeline.schema import COUNTED_ACTIONS, TRANSFER_ACTIONS
from timeline.validate import validate_file


def counted(steps: list[dict], action: str) -> int | None:
    """What the rule adds up for one action: None when nothing is counted."""
    figures = [
        e["systems"][0]["quantity"]
        for e in steps
        if e["systems"][0]["action"] == action
        and e["status"] == "confirmed"
        and e["systems"][0].get("quantity") is not None
        and e["systems"][0].get("quantity_qualifier") == "exact"
    ]
    return sum(figures) if figures else None


STEPS = st.lists(
    st.tuples(
        st.sampled_from(TRANSFER_ACTIONS),
        st.one_of(st.none(), st.integers(0, 60)),
        st.sampled_from(("exact", "approximate", "up-to", "at-least")),
        st.sampled_from(("confirmed", "reported", "disputed")),
        st.integers(2019, 2024),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=examples(25), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(drawn=STEPS)
def test_totals_add_only_confirmed_exact_orders_and_deliveries(tmp_path, drawn):
    steps = [step(n, *args) for n, args in enumerate(drawn)]
    db = build(with_steps(tmp_path, steps), tmp_path)
    [totals] = query_rows(db, "select * from transfer_totals")
    assert totals["ordered"] == counted(steps, "order")
    assert totals["delivered"] == counted(steps, "delivery")
    [deal] = query_rows(db, "select * from deals")
    assert (deal["ordered"], deal["delivered"]) == (totals["ordered"], totals["delivered"])
    deliveries = [e for e in steps if e["systems"][0]["action"] == "delivery"]
    unknown = any(
        e["status"] != "confirmed"
        or e["systems"][0].get("quantity") is None
        or e["systems"][0].get("quantity_qualifier") != "exact"
        for e in deliveries
    )
    if deal["ordered"] is None or unknown:
        assert deal["outstanding"] is None
    else:
        assert deal["outstanding"] == max(deal["ordered"] - (deal["delivered"] or 0), 0)
    # Every step is listed, counted or not, under its own heading.
    for action in TRANSFER_ACTIONS:
        column = {"order": "orders", "delivery": "deliveries", "plan": "plans",
                  "pledge": "pledges", "running-total": "running_totals"}[action]  # fmt: skip
        listed = deal[column].split("; ") if deal[column] else []
        assert len(listed) == sum(e["systems"][0]["action"] == action for e in steps)


def test_plans_pledges_and_running_totals_are_listed_beside_the_totals(tmp_path):
    steps = [
        step(1, "plan", 24, year=2021),
        step(2, "order", 6, year=2021),
        step(3, "pledge", 3, year=2022),
        step(4, "delivery", 2, year=2022),
        step(5, "delivery", 3, year=2023),
        step(6, "running-total", 50, "up-to", year=2023),
        step(7, "delivery", 10, status="reported", year=2023),
    ]
    db = build(with_steps(tmp_path, steps), tmp_path)
    [deal] = query_rows(db, "select * from deals")
    assert (deal["ordered"], deal["delivered"]) == (6, 5)
    assert deal["delivered_by_year"] == "2022: 2; 2023: 3"
    assert deal["outstanding"] is None  # the reported delivery's number is not counted
    assert deal["plans"] == "24 (February 2021)" and deal["pledges"] == "3 (April 2022)"
    assert deal["running_totals"] == "up to 50 over 24 February 2022 – 28 June 2023 (July 2023)"
    assert deal["not_counted"] == "10 (August 2023, reported)"
    register = query_rows(db, "select action, counted from transfers order by sort_key")
    assert {r["action"] for r in register if r["counted"]} <= set(COUNTED_ACTIONS)


def test_outstanding_is_ordered_less_delivered_when_every_delivery_is_counted(tmp_path):
    steps = [step(1, "order", 6, year=2019), step(2, "delivery", 2, year=2019),
             step(3, "delivery", 1, year=2020)]  # fmt: skip
    [deal] = query_rows(build(with_steps(tmp_path, steps), tmp_path), "select * from deals")
    assert (deal["ordered"], deal["delivered"], deal["outstanding"]) == (6, 3, 3)
    assert deal["delivered_by_year"] == "2019: 2; 2020: 1" and deal["conflict"] is None


def test_more_delivered_than_ordered_is_flagged(tmp_path):
    steps = [step(1, "order", 2), step(2, "delivery", 3)]
    [deal] = query_rows(build(with_steps(tmp_path, steps), tmp_path), "select * from deals")
    assert deal["outstanding"] == 0 and deal["conflict"] == "more delivered than ordered"


def test_each_deal_is_a_row_of_its_own(tmp_path):
    steps = [step(1, "order", 6, deal_id="first"), step(2, "order", 4, deal_id="second")]
    deals = query_rows(build(with_steps(tmp_path, steps), tmp_path), "select * from deals")
    assert [(d["deal_id"], d["ordered"]) for d in deals] == [("first", 6), ("second", 4)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x: x.pop("deal_id"), "each step of a deal"),
        (lambda x: x.update(action="running-total"), "a running total needs the date"),
        (lambda x: x.update(as_of="2022-06"), "as_of belongs to a running total only"),
        (lambda x: x.update(action="running-total", as_of="2022-13"), "bad date"),
    ],
)
def test_deal_steps_are_checked(tmp_path, change, message):
    event = step(1, "pledge", 3)
    change(event["systems"][0])
    errors = validate_file(with_steps(tmp_path, [event])).errors
    assert any(message in str(p) for p in errors), [str(p) for p in errors]


def test_a_running_total_with_its_interval_is_valid(tmp_path):
    assert validate_file(with_steps(tmp_path, [step(1, "running-total", 50, "up-to")])).ok
