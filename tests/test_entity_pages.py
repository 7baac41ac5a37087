"""Designed pages for an actor, a source and a weapon system."""

from __future__ import annotations

import copy
import re
from html import unescape

import pytest
from support import REAL, build, site


@pytest.fixture(scope="module")
async def ds(tmp_path_factory):
    return await site(build(REAL, tmp_path_factory.mktemp("entities")))


async def test_actor_page(ds):
    html = (await ds.client.get("/record/actors/baykar")).text
    assert "<h1>Baykar</h1>" in html and "Most often with" in html
    assert 'href="/record/events/2019-01-12-ukrspecexport-baykar-tb2-contract"' in html
    assert "— supplier" in html  # its role in the event
    assert 'href="/timeline?actor=baykar"' in html
    assert '<td class="col-aliases' not in html  # the designed page, not the raw row
    # the country by name, not its code, linked to its events (a country's page)
    country = re.search(r'company · <a href="([^"]+)"[^>]*>Türkiye</a>', html)
    assert country and country[1] == "/timeline?country=TR"
    page = (await ds.client.get(country[1])).text
    assert 'href="/register?country=TR"' in page and "/record/calendar.ics?country=TR" in page


async def test_actor_and_system_pages_list_their_events_in_date_order(ds):
    db = ds.get_database("record")
    actor = (await db.execute("select id from actors order by event_count desc")).first()[0]
    sql = """select e.id, group_concat(ea.role, ', ') from events e join (select * from
             event_actors order by role) ea on ea.event_id = e.id where ea.actor_id = :id
             group by e.id order by e.sort_key, e.id"""
    expected = [tuple(r) for r in await db.execute(sql, {"id": actor})]
    html = (await ds.client.get(f"/record/actors/{actor}")).text
    listed = re.findall(r'<a href="/record/events/([^"]+)">[^<]*</a> — ([a-z, ]*[a-z])', html)
    # the first ones in date order; past the page's limit, a link to all of them
    shown = re.search(r"The first (\d+) are shown", html)
    limit = int(shown[1]) if shown else len(expected)
    assert listed[:limit] == expected[:limit] and len(expected) >= limit > 10
    sql = """select e.id from events e where e.id in (select event_id from event_systems
             where system_id = 'bayraktar-tb2') order by e.sort_key, e.id"""
    expected = [r[0] for r in await db.execute(sql)]
    html = (await ds.client.get("/record/systems/bayraktar-tb2")).text
    listed = re.findall(r'<a href="/record/events/([^"]+)">', html[html.index("<h2>Events</h2>") :])
    assert listed == expected


async def test_actor_page_lists_its_claims(ds):
    html = (await ds.client.get("/record/actors/russia")).text
    assert "<h2>Claims</h2>" in html
    assert "status-disputed" in html or "status-refuted" in html


async def test_source_page_shows_its_track_record(ds):
    html = (await ds.client.get("/record/sources/seed-000-antonopoulos-globalresearch")).text
    assert "Track record" in html and "contradicted by the record" in html
    assert "— contradicted by the record" in html  # this article is wrong in places
    assert "<blockquote>" in html


async def test_a_source_cited_against_a_false_claim_is_not_counted_as_wrong(ds):
    """A source that contradicted a claim the record does not establish was right: its
    page and the sources table do not count that citation against it."""
    db = ds.get_database("record")
    right = (await db.execute(
        "select id, against_claim_count from sources where contradicted_count = 0"
        " and against_claim_count > 0 order by id limit 1")).first()  # fmt: skip
    assert right, "the record has a source cited only against claims"
    html = (await ds.client.get(f"/record/sources/{right['id']}")).text
    assert "— evidence against this claim" in html
    assert "— contradicted by the record" not in html
    assert "<strong>0</strong> contradicted by the record" in html
    flagged = (await db.execute("select count(*) from sources where contradicted_count > 0"
                                " and against_claim_count = 0")).first()[0]  # fmt: skip
    total = (await db.execute("select count(*) from sources where against_claim_count > 0"
                              " or contradicted_count > 0")).first()[0]  # fmt: skip
    assert flagged < total  # the two kinds are told apart


async def test_system_page_shows_the_steps_of_its_deals(ds):
    html = (await ds.client.get("/record/systems/bayraktar-tb2")).text
    assert "<h1>Bayraktar TB2</h1>" in html and "made by" in html
    assert "Deal steps" in html and "USD 69,000,000" in html
    assert "up to 50" in html


async def test_claims_page_sets_the_evidence_side_by_side(ds):
    """Every claim of the record has its card, page after page."""
    html = page = (await ds.client.get("/claims")).text
    cards = page.count('class="claim-card')
    while found := re.search(r'<a rel="next" href="([^"]+)"', page):
        page = (await ds.client.get(unescape(found.group(1)))).text
        cards += page.count('class="claim-card')
    db = ds.get_database("record")
    claims = (await db.execute("select count(*) from events where status != 'confirmed'")).first()
    assert cards == claims[0] > 0
    assert "Claimed by:" in html and "Against</strong>" in html and "For</strong>" in html
    home = (await ds.client.get("/")).text
    assert 'href="/claims"' in home and 'href="/record/systems"' in home  # one click away


async def test_long_lists_stop_at_the_limit_and_link_to_the_paged_table(tmp_path):
    """A source cited by 210 events lists 200 citations and links the rest."""
    from support import SMALL, load_yaml, write_yaml

    data = load_yaml(SMALL)
    template = next(e for e in data["events"] if e.get("citations"))
    source = template["citations"][0]["source"]
    for i in range(210):
        event = copy.deepcopy(template) | {"id": f"cited-{i:03d}", "title": f"Cited {i}"}
        event["citations"] = [c for c in event["citations"] if c["source"] == source]
        event.pop("related", None)
        data["events"].append(event)
    cited = sum(c["source"] == source for e in data["events"] for c in e.get("citations", []))
    big = await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))
    html = (await big.client.get(f"/record/sources/{source}")).text
    assert html.count('<li class="citation') == 200
    assert f'href="/record/citations?source_id={source}"' in html
    assert f"Cited {cited} times" in html  # the track record counts every citation


async def test_claims_and_system_pages_are_bounded(tmp_path):
    """120 claims page 50 at a time; a system in 260 events lists 200 and links the rest."""
    from support import SMALL, load_yaml, write_yaml

    data = load_yaml(SMALL)
    template = next(e for e in data["events"] if e["id"] == "fleet-destroyed-claim")
    data["systems"] = [{"id": "tb2", "name": "Bayraktar TB2", "kind": "combat-drone"}]
    for i in range(260):
        event = copy.deepcopy(template) | {
            "id": f"claim-{i:03d}",
            "date": f"{2000 + i % 20}-0{1 + i % 9}",
        }
        event["title"] = f"Claim number {i}"
        event["status"] = "disputed" if i < 120 else "confirmed"
        event["systems"] = [{"system": "tb2", "action": "use"}]
        data["events"].append(event)
    ds = await site(build(write_yaml(data, tmp_path / "events.yaml"), tmp_path))
    db = ds.get_database("record")
    expected = [r[0] for r in await db.execute(
        "select id from events where status != 'confirmed' order by sort_key, id")]  # fmt: skip
    seen, url, pages = [], "/claims", 0
    while url:
        html = (await ds.client.get(url)).text
        cards = re.findall(r'<article class="claim-card [^"]*" id="claim-([^"]+)"', html)
        assert len(cards) <= 50
        seen += cards
        pages += 1
        found = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        if pages == 2:  # the page before the second is the first
            back = re.search(r'<a rel="prev" href="([^"]+)"', html).group(1).replace("&amp;", "&")
            first = (await ds.client.get(back)).text
            assert re.findall(r'id="claim-([^"]+)"', first) == expected[:50]
    assert seen == expected and pages == 3
    # a start that names no claim (a stale link, or an event the record confirms) is said
    for start in ("no-such-event", "claim-200"):
        html = unescape((await ds.client.get(f"/claims?start={start}")).text)
        assert re.findall(r'id="claim-([^"]+)"', html) == expected[:50]
        assert f"Ignored start '{start}': no claim has this event id" in html
    assert "Ignored" not in (await ds.client.get(f"/claims?start={expected[60]}")).text
    system = (await ds.client.get("/record/systems/tb2")).text
    assert system.count("<li><time>") == 200
    assert 'href="/record/event_systems?system_id=tb2"' in system
