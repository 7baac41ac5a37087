"""``/register``: one card per deal, the counted figures first, every step linked to its
event and quote, filters that narrow or say they name nothing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from markupsafe import escape
from support import SCRIPT, assert_no_raw_markup, build, query_rows, site, step, with_steps


@pytest.fixture(scope="module")
async def ds(real_db):
    return await site(real_db)


def cards(html: str) -> dict[str, str]:
    """Each deal card's text, by its element id."""
    found = re.findall(r'<article class="deal-card" id="deal-([^"]+)">(.*?)</article>', html, re.S)
    return {key: body for key, body in found}


async def test_every_deal_is_a_card_with_its_counted_figures(ds, real_db):
    html = (await ds.client.get("/register")).text
    shown = cards(html)
    deals = query_rows(real_db, "select * from deals")
    assert set(shown) == {f"{d['deal_id']}-{d['system_id']}" for d in deals}
    for deal in deals:
        body = unescape(re.sub(r"<[^>]+>", " ", shown[f"{deal['deal_id']}-{deal['system_id']}"]))
        figures = " ".join(body.split())
        for label in ("ordered", "delivered"):
            value = "—" if deal[label] is None else f"{deal[label]:,}"
            assert f"{label.capitalize()} {value}" in figures, (deal["deal_id"], label)


async def test_every_step_links_to_its_event_and_quote(ds, real_db):
    html = (await ds.client.get("/register")).text
    for t in query_rows(real_db, "select event_id, quote from transfers"):
        assert f'href="/record/events/{t["event_id"]}"' in html, t["event_id"]
        assert str(escape(t["quote"])) in html, t["event_id"]


async def test_the_register_is_in_the_navigation_and_on_system_and_actor_pages(ds, real_db):
    assert 'href="/register"' in (await ds.client.get("/")).text
    system = (await ds.client.get("/record/systems/bayraktar-tb2")).text
    assert 'href="/register?system=bayraktar-tb2"' in system
    assert 'href="/register?actor=baykar"' in (await ds.client.get("/record/actors/baykar")).text
    country = (await ds.client.get("/timeline?country=lt")).text
    assert 'href="/register?country=LT"' in country
    # an actor with no deal step gets no link to an empty register
    sql = ("select id from actors where id not in (select supplier_id from transfers"
           " where supplier_id is not null union select recipient_id from transfers"
           " where recipient_id is not null) order by id limit 1")  # fmt: skip
    idle = query_rows(real_db, sql)[0]["id"]
    assert "/register?actor=" not in (await ds.client.get(f"/record/actors/{idle}")).text


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("system=bayraktar-tb2", "system_id = 'bayraktar-tb2'"),
        ("actor=baykar", "supplier_id = 'baykar' or recipient_id = 'baykar'"),
        ("country=LT", "supplier_country = 'LT' or recipient_country = 'LT'"),
    ],
)
async def test_filters_keep_the_deals_with_a_matching_step(ds, real_db, query, where):
    shown = set(cards((await ds.client.get(f"/register?{query}")).text))
    matching = query_rows(
        real_db, f"select distinct deal_id, system_id from transfers where {where}"
    )
    assert shown == {f"{m['deal_id']}-{m['system_id']}" for m in matching} and shown


@pytest.mark.parametrize("query", ["system=tb3", "actor=bykar", "country=XX", "country=tr"])
async def test_a_filter_that_names_nothing_is_a_404_not_the_whole_register(ds, query):
    response = await ds.client.get(f"/register?{query}")
    assert response.status_code == 404
    assert "The register has no" in response.text


async def test_a_deals_figures_follow_the_counting_rules(tmp_path):
    steps = [
        step(1, "order", 6, year=2019),
        step(2, "delivery", 2, year=2019),
        step(3, "pledge", 3, year=2020),
        step(4, "delivery", 10, status="reported", year=2020),
    ]
    steps[0]["title"] = f"Order {SCRIPT}"
    ds = await site(build(with_steps(tmp_path, steps), tmp_path))
    html = (await ds.client.get("/register")).text
    assert_no_raw_markup(html, "/register")
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "Ordered 6 Delivered 2 (2019: 2) Outstanding unknown" in text
    assert "(not added: a pledge, listed apart)" in text
    assert "(not added: a claim (reported))" in text
