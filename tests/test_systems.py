"""Weapon systems and the transfers register: validation, tables, views and the event page."""

from __future__ import annotations

import json

import pytest
from support import SMALL, build, load_yaml, query_rows, site, write_yaml

from timeline.validate import validate_file

SYSTEMS = [
    {"id": "bayraktar-tb2", "name": "Bayraktar TB2", "kind": "combat-drone", "maker": "baykar",
     "country": "TR", "aliases": ["TB2"]},
    {"id": "ai-450", "name": "AI-450", "kind": "aero-engine", "country": "UA"},
]  # fmt: skip


def with_systems(data: dict) -> dict:
    data["systems"] = SYSTEMS
    deal = next(e for e in data["events"] if e["id"] == "baykar-ukrspecexport-2019")
    deal["actors"] = [{"actor": "baykar", "role": "supplier"},
                      {"actor": "ukrspecexport", "role": "buyer"}]  # fmt: skip
    deal["systems"] = [
        {"system": "bayraktar-tb2", "action": "order", "quantity": 6, "quantity_qualifier": "exact",
         "value": 69000000, "currency": "USD", "deal": "sale", "deal_id": "tb2-2019",
         "source": "record", "value_source": "record"},
        {"system": "bayraktar-tb2", "action": "delivery", "quantity": 2, "deal_id": "tb2-2019",
         "source": "seed-news"},
        {"system": "ai-450", "action": "mention"},
    ]  # fmt: skip
    deal["citations"][0]["translation"] = "Our translation of the quote."
    claim = next(e for e in data["events"] if e["id"] == "fleet-destroyed-claim")
    claim["systems"] = [{"system": "bayraktar-tb2", "action": "loss", "quantity": 12,
                         "quantity_qualifier": "at-least", "source": "seed-news"}]  # fmt: skip
    return data


@pytest.fixture(scope="module")
def systems_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("systems")
    return build(write_yaml(with_systems(load_yaml(SMALL)), tmp / "events.yaml"), tmp)


def test_entries_take_supplier_and_recipient_from_the_event_roles(systems_db):
    found = query_rows(systems_db, "select * from event_systems order by event_id, position")
    order = next(r for r in found if r["action"] == "order")
    assert (order["supplier_id"], order["recipient_id"]) == ("baykar", "ukrspecexport")
    assert (order["quantity"], order["value"], order["currency"]) == (6, 69000000.0, "USD")
    assert [r["action"] for r in found if r["event_id"] == "baykar-ukrspecexport-2019"] == [
        "order", "delivery", "mention"]  # fmt: skip


def test_transfers_register_puts_orders_and_deliveries_side_by_side(systems_db):
    register = query_rows(systems_db, "select * from transfers")
    assert {r["action"] for r in register} == {"order", "delivery"}  # not mention, not loss
    totals = query_rows(systems_db, "select * from transfer_totals")
    assert len(totals) == 1
    tb2 = totals[0]
    assert (tb2["supplier_country"], tb2["recipient_country"], tb2["system"]) == (
        "TR", "UA", "Bayraktar TB2")  # fmt: skip
    assert (tb2["suppliers"], tb2["recipients"]) == ("Baykar", "Ukrspecexport")
    assert (tb2["ordered"], tb2["delivered"]) == (6, 2)
    assert tb2["orders"] == "6 (2019)" and tb2["deliveries"] == "2 (2019)"
    # the totals are the sums of the register's exact figures of confirmed events
    for action, total in (("order", tb2["ordered"]), ("delivery", tb2["delivered"])):
        assert total == sum(
            r["quantity"]
            for r in register
            if r["action"] == action
            and r["status"] == "confirmed"
            and r["quantity_qualifier"] == "exact"
        )


def test_events_carry_system_facets(systems_db):
    event = query_rows(systems_db, "select * from events where id = 'baykar-ukrspecexport-2019'")[0]
    assert json.loads(event["systems"]) == ["AI-450", "Bayraktar TB2"]
    assert json.loads(event["system_kinds"]) == ["aero-engine", "combat-drone"]
    system = query_rows(systems_db, "select * from systems where id = 'bayraktar-tb2'")[0]
    assert (system["maker_name"], system["event_count"]) == ("Baykar", 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["systems"][0].update(system="tb3"), "unknown system id 'tb3'"),
        (lambda e: e["systems"][0].pop("source"), "a quantity needs the source"),
        (lambda e: e["systems"][0].update(source="nowhere"), "unknown source id 'nowhere'"),
        (lambda e: e["citations"].pop(), "must be cited by this event"),
        (lambda e: e["systems"][0].pop("currency"), "a value needs its currency"),
        (lambda e: e["systems"][1].pop("quantity"), "a qualifier needs a quantity"),
        (lambda e: e["systems"][0].update(currency="usd"), "write it as 'USD'"),
        (lambda e: e["systems"][0].update(quantity=-1), "quantity -1 is outside 0..1000000"),
        (lambda e: e["systems"][0].update(quantity=2.5), "expected a whole number"),
        (lambda e: e["systems"][0].update(action="sold"), "unknown value 'sold'"),
        (lambda e: e["systems"][0].update(supplier="bykar"), "did you mean 'baykar'"),
    ],
)
def test_system_entries_are_checked(tmp_path, change, message):
    data = with_systems(load_yaml(SMALL))
    event = next(e for e in data["events"] if e["id"] == "baykar-ukrspecexport-2019")
    event["systems"][1]["quantity_qualifier"] = "exact"
    change(event)
    path = write_yaml(data, tmp_path / "events.yaml")
    errors = validate_file(path).errors
    assert errors and any(message in str(p) for p in errors), [str(p) for p in errors]


def test_an_unused_system_is_a_warning(tmp_path):
    data = with_systems(load_yaml(SMALL))
    data["systems"].append({"id": "s-400", "name": "S-400", "kind": "air-defence-system"})
    result = validate_file(write_yaml(data, tmp_path / "events.yaml"))
    assert result.ok
    assert any("not referred to by any event" in str(w) for w in result.warnings)


@pytest.mark.asyncio
async def test_event_page_shows_systems_quantities_values_and_translations(systems_db):
    ds = await site(systems_db)
    page = (await ds.client.get("/record/events/baykar-ukrspecexport-2019")).text
    assert "Weapon systems" in page and "Bayraktar TB2" in page
    assert "<strong>6</strong>" in page and "USD 69,000,000" in page
    assert "Baykar → Ukrspecexport" in page
    assert "Our translation:" in page and "Our translation of the quote." in page
    claim = (await ds.client.get("/record/events/fleet-destroyed-claim")).text
    assert "<strong>at least 12</strong>" in claim
    facets = (await ds.client.get("/record/events.json?_facet_array=systems")).json()
    values = {v["value"] for v in facets["facet_results"]["systems"]["results"]}
    assert values == {"Bayraktar TB2", "AI-450"}
