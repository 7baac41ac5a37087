"""A figure is said one way everywhere: the event page, the system page, the register and
the views' text (tables, CSV) give a number with the same qualifier words."""

from __future__ import annotations

import re
import sqlite3

from hypothesis import given
from hypothesis import strategies as st
from support import build, query_rows, site, step, with_steps

from timeline.figures import NO_NUMBER, figure_words, quantity_sql, value_words
from timeline.schema import QUALIFIER_WORDS, QUANTITY_QUALIFIERS


def test_every_qualifier_has_its_words():
    assert set(QUALIFIER_WORDS) == set(QUANTITY_QUALIFIERS)
    assert QUALIFIER_WORDS["exact"] == ""  # an exact number is the number alone


@given(
    quantity=st.one_of(st.none(), st.integers(0, 10**12)),
    qualifier=st.one_of(st.none(), st.sampled_from(sorted(QUANTITY_QUALIFIERS))),
)
def test_the_sql_says_a_figure_as_the_pages_do_without_the_commas(quantity, qualifier):
    conn = sqlite3.connect(":memory:")
    conn.execute("create table t (quantity integer, quantity_qualifier text)")
    conn.execute("insert into t values (?, ?)", (quantity, qualifier))
    [(said,)] = conn.execute(f"select {quantity_sql()} from t").fetchall()
    assert said == figure_words(quantity, qualifier, grouped=False)
    assert figure_words(quantity, qualifier).replace(",", "") == said


def test_words_of_each_kind_of_figure():
    assert figure_words(116000, "exact") == "116,000"
    assert figure_words(1200, "approximate") == "about 1,200"
    assert figure_words(6, "at-least") == "at least 6"
    assert figure_words(50, "up-to") == "up to 50"
    assert figure_words(None, None) == NO_NUMBER
    assert value_words(69_000_000, "USD") == "USD 69,000,000"
    assert value_words(2.5, "EUR") == "EUR 2.5"  # a fraction is kept, not rounded


async def test_the_pages_and_the_views_say_an_approximate_figure_alike(tmp_path):
    steps = [step(0, "order", 1200, "approximate"), step(1, "delivery", 40, "up-to"),
             step(2, "pledge", None)]  # fmt: skip
    db = build(with_steps(tmp_path, steps), tmp_path)
    ds = await site(db)
    event = (await ds.client.get("/record/events/step-0")).text
    system = (await ds.client.get("/record/systems/bayraktar-tb2")).text
    register = (await ds.client.get("/register")).text
    for page in (event, system, register):
        assert "about 1,200" in page
        assert "approximate 1" not in page  # the qualifier's code is not shown as words
    for page in (system, register):
        assert "up to 40" in page and NO_NUMBER in page
    assert "not added: not an exact number" in register  # the words are the figure's alone
    [totals] = query_rows(db, "select orders, deliveries, pledges from transfer_totals")
    assert re.match(r"about 1200 \(", totals["orders"])
    assert re.match(r"up to 40 \(", totals["deliveries"])
    assert totals["pledges"].startswith(f"{NO_NUMBER} (")
