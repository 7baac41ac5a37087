"""A page never passes over a parameter it does not take in silence: an HTML list says it
ignored it (as it says of a value it cannot honour), and a download, the visual timeline's
data and the register, which would look narrowed when they are not, refuse it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from support import site

from timeline.site import query_parameters


@pytest.mark.parametrize(
    ("path", "said"),
    [("/timeline?actors=turkey", "Ignored 'actors' is not one of this page's parameters "
      "(did you mean 'actor'?); it takes actor, system, type"),
     ("/timeline?yaer=2020", "Ignored 'yaer' is not one of this page's parameters (did you mean "
      "'year'?)"),
     ("/claims?actor=turkey", "Ignored 'actor' is not one of this page's parameters; it takes "
      "start.")],
)  # fmt: skip
async def test_a_list_says_which_parameter_it_ignored(ds, path, said):
    response = await ds.client.get(path)
    assert response.status_code == 200
    assert said in unescape(response.text)
    alone = (await ds.client.get(path.split("?")[0])).text
    assert _cards(response.text) == _cards(alone)  # and shows what it shows without it


@pytest.mark.parametrize(
    "path",
    ["/register?systems=tb2", "/data/events.csv?actors=x", "/-/timeline-overview.json?actors=x"],
)
async def test_what_would_look_narrowed_refuses_it(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 400
    name = path.split("?")[1].split("=")[0]
    said = f"'{name}' is not one of this page's parameters (did you mean '{name[:-1]}'?)"
    assert said in unescape(response.text)


@pytest.mark.parametrize(
    "path",
    ["/timeline?view=2019-01-01..2019-12-31&from=2019&to=2019", "/timeline?year=2019&_trace=1",
     "/claims", "/register", "/data/events.csv?type=meeting",
     "/-/timeline-overview.json?type=meeting&status=confirmed",
     # what other sites add to a shared link
     "/timeline?utm_source=newsletter&fbclid=x", "/data/events.csv?gclid=x"],
)  # fmt: skip
async def test_the_pages_own_parameters_say_nothing(ds, path):
    response = await ds.client.get(path)
    assert response.status_code == 200
    assert "not one of this page's parameters" not in unescape(response.text)


async def test_the_timeline_links_only_with_parameters_it_takes(real_db):
    real = await site(real_db)  # pages of events, years to jump to, filters to take off
    html = (await real.client.get("/timeline?type=meeting&status=confirmed")).text
    html += (await real.client.get("/timeline")).text
    links = {unescape(h) for h in re.findall(r'href="(/timeline\?[^"]+)"', html)}
    assert len(links) > 10 and any("start=" in link for link in links)
    for link in links:
        assert "not one of this page's parameters" not in unescape(
            (await real.client.get(link)).text
        ), link


def _cards(html: str) -> list[str]:
    return re.findall(r'id="(?:event|claim)-([^"]+)"', html)


@pytest.mark.parametrize(
    ("path", "said"),
    [("/record/atom_feed.atom?actors=x", "'actors' is not one of this page's parameters (did "
      "you mean 'actor'?); it takes actor, system, type"),
     ("/record/recently_added?x=1", "'x' is not one of this page's parameters; it takes "
      "none."),
     ("/record/search?q=drone&actor=x", "'actor' is not one of this page's parameters; it "
      "takes q."),
     ("/record/actor_events?actor=turkey&afer=x", "(did you mean 'after'?); it takes actor, "
      "after.")],
)  # fmt: skip
async def test_a_canned_query_refuses_a_parameter_it_does_not_declare(ds, path, said):
    """Datasette runs a canned query as if the parameter were not there: the feed of
    ``?actors=x`` was every event's."""
    response = await ds.client.get(path)
    assert response.status_code == 400
    assert said in unescape(response.text)


@pytest.mark.parametrize(
    "path",
    ["/record/actor_events?actor=baykar&after=x", "/record/calendar.ics?actor=baykar&_plain=1",
     "/record/search?q=drone&utm_medium=social",
     "/record/atom_feed.atom?actor=baykar&_feed_title=y", "/record/on_this_day?month_day=05-23"],
)  # fmt: skip
async def test_a_canned_querys_own_parameters_still_answer(ds, path):
    assert (await ds.client.get(path)).status_code == 200


async def test_each_canned_query_declares_the_parameters_its_sql_names(real_db):
    """What the check takes a query's parameters to be (``site.query_parameters``) is what
    Datasette fills from its SQL, but for the magic ones (``:_page_after`` is ``after``)."""
    from datasette.utils import derive_named_parameters

    real = await site(real_db)
    db = real.get_database("record")
    for name, config in real.metadata("queries", database="record").items():
        named = await derive_named_parameters(db, config["sql"])
        magic = {"after" for n in named if n == "_page_after"}
        assert sorted(query_parameters(config)) == sorted(
            {n for n in named if not n.startswith("_")} | magic
        ), name


@pytest.mark.parametrize(
    ("path", "to"),
    [("/record/events?type=meeting&fbclid=x&status=confirmed",
      "/record/events?type=meeting&status=confirmed"),
     ("/record/events.json?utm_source=a&utm_medium=b", "/record/events.json")],
)  # fmt: skip
async def test_a_tables_page_leaves_out_what_a_shared_link_added(ds, path, to):
    """Datasette would read ``fbclid`` as a column to filter by: the same page without it."""
    response = await ds.client.get(path)
    assert response.status_code == 302 and response.headers["location"] == to
    assert (await ds.client.get(to)).status_code == 200


async def test_a_shared_link_the_table_cannot_honour_is_refused_not_sent_on(ds):
    """It was sent on by a 302 first, and refused only there."""
    response = await ds.client.get("/record/events?fbclid=x&actor=turkey")
    assert response.status_code == 400 and "no column 'actor'" in unescape(response.text)


@pytest.mark.parametrize(
    "path",
    ["/record/events/baykar-ukrspecexport-2019?actor=russia",
     "/record/actors/baykar.json?country=TR&_shape=objects", "/record/sources/seed-news?id=y"],
)  # fmt: skip
async def test_a_rows_page_refuses_a_filter_it_would_pass_over(ds, path):
    """A row's page shows one row: Datasette showed it whatever the filter, as if filtered."""
    response = await ds.client.get(path)
    name = path.split("?")[1].split("=")[0]
    assert response.status_code == 400
    assert f"'{name}' is not one of this page's parameters" in unescape(response.text)


async def test_a_rows_page_keeps_datasettes_own_and_leaves_out_a_shared_links(ds):
    row = "/record/events/baykar-ukrspecexport-2019"
    assert (await ds.client.get(f"{row}.json?_shape=objects")).status_code == 200
    response = await ds.client.get(f"{row}?utm_source=newsletter&fbclid=x")
    assert response.status_code == 302 and response.headers["location"] == row
    assert (await ds.client.get(row)).status_code == 200
