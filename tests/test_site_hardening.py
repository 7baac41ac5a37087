"""The published site under hostile requests: clean 400s, bounded SQL, safe CSV, no leaks."""

from __future__ import annotations

import copy
import csv
import io
import json
import sys
import types

import pytest
from datasette import hookimpl
from datasette.plugins import pm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import METADATA, ROOT, SMALL, build, examples, load_yaml, site, write_yaml
from typer.testing import CliRunner

from timeline.cli import app
from timeline.serve import write_production_metadata

sys.path.insert(0, str(ROOT / "plugins"))
from sql_functions import MAX_WORDS, fts_query

sys.path.insert(0, str(ROOT / "benchmarks"))
from abuse_load import BAD_REQUESTS

FORMULA_TITLE = '=HYPERLINK("http://example.com","click")'


@pytest.fixture(scope="module")
def formula_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("formula")
    data = copy.deepcopy(load_yaml(SMALL))
    data["events"][0]["title"] = FORMULA_TITLE
    data["events"][1]["title"] = "@SUM(A1:A9)"
    return build(write_yaml(data, tmp / "events.yaml"), tmp)


@pytest.fixture(scope="module")
async def ds(formula_db):
    return await site(formula_db)


@pytest.mark.parametrize(
    "query",
    [
        "_sort=nope",
        "_sort_desc=nope",
        "_sort=id&_sort_desc=id",
        "_through=nope",
        '_through={"table":"nope","column":"x","value":"1"}',
        '_through={"table":"event_actors"}',
        "_search=" + "+".join(["drone"] * 200),
        "_search=" + "x" * 300,
        "&".join(f"_facet=c{i}" for i in range(9)),
    ],
)
@pytest.mark.parametrize("suffix", ["", ".json"])
async def test_bad_table_parameters_are_a_400_not_a_500(ds, query, suffix):
    response = await ds.client.get(f"/record/events{suffix}?{query}")
    assert response.status_code == 400, response.text[:300]
    if suffix == ".json":
        assert response.json()["ok"] is False and response.json()["error"]
    else:
        assert "Bad request" in response.text or "400" in response.text


@pytest.mark.parametrize(("method", "path"), BAD_REQUESTS)
async def test_bad_requests_are_a_cheap_4xx_with_one_line_of_log(ds, capsys, method, path):
    """Datasette answered these with a 500, or printed a rich traceback with its local
    variables (15-130 KB and up to a second of CPU each)."""
    capsys.readouterr()
    response = await ds.client.request(method, path)
    assert 400 <= response.status_code < 500, response.text[:300]
    log = capsys.readouterr()
    assert log.out == ""
    assert log.err.count("\n") == 1 and len(log.err) < 400, log.err[:1000]
    assert log.err.startswith(f"timeline: {response.status_code} {method} ")


async def test_a_500_logs_a_plain_traceback_without_local_variables(formula_db, capsys):
    async def broken():
        secret = "a local variable"  # noqa: F841  (must not reach the log)
        raise RuntimeError("boom")

    plugin = types.ModuleType("broken")
    plugin.register_routes = hookimpl(lambda: [(r"^/broken$", broken)])
    pm.register(plugin, name="broken")
    try:
        ds = await site(formula_db)
        capsys.readouterr()
        response = await ds.client.get("/broken")
    finally:
        pm.unregister(name="broken")
    assert response.status_code == 500 and "boom" not in response.text
    err = capsys.readouterr().err
    assert err.startswith("timeline: 500 GET /broken: ")
    assert "RuntimeError: boom" in err and "a local variable" not in err


PARAMETERS = st.sampled_from(
    ["_size", "_facet", "_facet_array", "_facet_list", "_facet_size", "_search",
     "_search_title", "_sort", "_sort_desc", "_col", "_nocol", "_through", "_next",
     "_timelimit", "_labels", "_shape", "title__in", "id__notin", "id__gt",
     "date_start__date", "tags__arraycontains", "title__like", "_where", "_ttl", "actor",
     "nope__gt", "type__bogus"]
)  # fmt: skip
HOSTILE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | (
    st.sampled_from(["[", "[1,2", "{", "max", "-1", "abc", "id", "0", "\x00", "%", "~"])
)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.lists(st.tuples(PARAMETERS, HOSTILE), min_size=1, max_size=4),
    path=st.sampled_from(["/record/events", "/record/events.json", "/record/claims",
                          "/record/event_actors.json", "/record/events.csv"]),
)  # fmt: skip
async def test_no_table_parameters_give_a_500(ds, params, path):
    response = await ds.client.get(path, params=params)
    assert response.status_code in (200, 400, 403, 404), (params, response.text[:300])


@pytest.mark.parametrize(
    ("value", "status"), [("¹", 400), ("²³", 400), ("٣", 200), ("12", 200), ("abc", 200)]
)
async def test_a_comparison_with_digits_int_refuses_is_a_400(ds, value, status):
    """``str.isdigit`` takes a superscript for a digit, ``int`` does not: Datasette's
    comparing filters answered 500 (found by the test above)."""
    response = await ds.client.get("/record/events.json", params={"id__gt": value})
    assert response.status_code == status, response.text[:300]
    if status == 400:
        assert "the digits 0-9" in response.text


@pytest.mark.parametrize(
    "path",
    ["/record.nope", "/record/events.nope", "/record/events.db", "/record/atom_feed.xml",
     "/record/events/montreux.nope", "/record/events/montreux.html"],
)  # fmt: skip
async def test_a_format_no_renderer_serves_is_a_404_that_lists_them(ds, capsys, path):
    """Datasette would answer 200 with the HTML page, as if the format were served."""
    response = await ds.client.get(path)
    assert response.status_code == 404
    log = capsys.readouterr().err
    assert "No such format" in log and ".csv, " in log and ".json" in log


@pytest.mark.parametrize(
    "path",
    ["/record.json", "/record/events.csv", "/record/events.json", "/record/atom_feed.atom",
     "/record/calendar.ics", "/record/events/montreux.json"],
)  # fmt: skip
async def test_every_served_format_still_answers(ds, path):
    assert (await ds.client.get(path)).status_code == 200


async def test_chosen_columns_show_the_full_table(ds):
    """The reading view of events cannot show the columns ?_col= and ?_nocol= choose."""
    for query in ("_col=title", "_col=id&_col=status", "_nocol=sort_key"):
        response = await ds.client.get(f"/record/events?{query}")
        assert response.status_code == 200 and "events-reading" not in response.text, query


async def test_valid_sorts_still_work(ds):
    for path in ("events?_sort=date_start", "events?_sort_desc=title", "events_fts?_sort=rowid",
                 "claims?_sort=title"):  # fmt: skip
        assert (await ds.client.get(f"/record/{path}")).status_code == 200, path
    assert (await ds.client.get("/record/events?_sort=rowid")).status_code == 400  # has a key


@pytest.mark.parametrize("path", ["/", "/record/events", "/record/events.json", "/-/versions.json"])
async def test_security_headers_on_every_response(ds, path):
    headers = (await ds.client.get(path)).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"]
    # the site fetches nothing from another host, so the policy names none
    sources = {s for d in headers["content-security-policy"].split(";") for s in d.split()[1:]}
    assert sources <= {"'self'", "'none'", "'unsafe-inline'", "data:"}, sources
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


async def test_csv_cells_that_look_like_formulas_are_neutralised(ds):
    text = (await ds.client.get("/record/events.csv?_size=max")).text
    titles = {row["title"] for row in csv.DictReader(io.StringIO(text))}
    assert "'" + FORMULA_TITLE in titles and "'@SUM(A1:A9)" in titles
    assert FORMULA_TITLE not in titles
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(not r["title"].startswith(("=", "@", "+", "-")) for r in rows)


async def test_csv_of_arbitrary_sql_is_neutralised_and_numbers_kept(ds):
    sql = "select '=1+1' as a, -5 as b, '-x' as c, 'plain' as d"
    response = await ds.client.get("/record.csv", params={"sql": sql})
    assert list(csv.reader(io.StringIO(response.text)))[1] == ["'=1+1", "-5", "'-x", "plain"]


async def test_sqlite_limits_refuse_huge_values(ds):
    for sql in ("select zeroblob(150000000)", "select length(randomblob(1000000))"):
        response = await ds.client.get("/record.json", params={"sql": sql})
        assert response.status_code == 400
        assert "too big" in response.json()["error"]


async def test_no_pointer_and_no_paths_from_sql(ds, formula_db):
    tokenizer = await ds.client.get(
        "/record.json", params={"sql": "select hex(fts3_tokenizer('simple'))"}
    )
    assert tokenizer.status_code == 400 and "not authorized" in tokenizer.json()["error"]
    listing = await ds.client.get(
        "/record.json", params={"sql": "select file from pragma_database_list", "_shape": "array"}
    )
    assert str(formula_db.parent) not in listing.text
    databases = await ds.client.get("/-/databases.json")
    assert str(formula_db.parent) not in databases.text
    assert databases.json()[0]["path"] == "record.db"
    assert str(formula_db.parent) not in (await ds.client.get("/-/databases")).text


def test_search_terms_are_capped():
    query = fts_query("a " * 3000)
    assert query.count('"') == 2 * MAX_WORDS
    assert fts_query("drone strike") == '"drone" "strike"'


async def test_production_metadata_switches_arbitrary_sql_off(tmp_path, formula_db):
    target = write_production_metadata(ROOT, tmp_path / "metadata.json")
    metadata = json.loads(target.read_text())
    assert metadata["allow_sql"] is False
    assert metadata["title"] == json.loads(METADATA.read_text())["title"]
    production = await site(formula_db, metadata=metadata)
    assert (await production.client.get("/record.json?sql=select+1")).status_code == 403
    assert (await production.client.get("/record/events?_where=1")).status_code == 403
    assert (await production.client.get("/record/events.json")).status_code == 200
    assert (await production.client.get("/record/search.json?q=drone")).status_code == 200


def test_export_csv_is_neutralised(formula_db, tmp_path):
    out = tmp_path / "events.csv"
    result = CliRunner().invoke(
        app, ["export", "--db", str(formula_db), "--format", "csv", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    titles = {row["title"] for row in csv.DictReader(io.StringIO(out.read_text()))}
    assert "'" + FORMULA_TITLE in titles


async def test_gzip_compresses_and_csv_is_neutralised_before_it(ds):
    """datasette-gzip wraps the site: a reader's browser gets compressed pages and scripts,
    and the CSV guard (which rewrites the body) still sees plain text."""
    headers = {"accept-encoding": "gzip"}
    csv_response = await ds.client.get("/record/events.csv?_size=max", headers=headers)
    assert csv_response.headers.get("content-encoding") == "gzip"
    titles = {row["title"] for row in csv.DictReader(io.StringIO(csv_response.text))}
    assert "'" + FORMULA_TITLE in titles and FORMULA_TITLE not in titles
    page = await ds.client.get("/record/events", headers=headers)
    assert page.headers.get("content-encoding") == "gzip"
    assert "content-security-policy" in page.headers
    plain = await ds.client.get("/record/events", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == page.text


async def test_every_connection_reads_through_a_memory_map(ds):
    from memory_mapped import MMAP_BYTES

    db = ds.get_database("record")
    assert (await db.execute("pragma mmap_size")).first()[0] == MMAP_BYTES


@pytest.mark.parametrize("host", ['evil.example"><script>alert(1)</script>', "a b", "x/y",
                                  "javascript:alert(1)", "evil.example'"])  # fmt: skip
@pytest.mark.parametrize("path", ["/", "/record/events.ics", "/data"])
async def test_a_host_header_that_is_not_a_host_name_is_a_400(ds, capsys, host, path):
    """The calendar and the downloads copy the Host header into their absolute links."""
    response = await ds.client.get(path, headers={"host": host})
    assert response.status_code == 400 and "Host header" in response.text
    good = await ds.client.get(path, headers={"host": "timeline.example:8001"})
    assert good.status_code < 400 or good.status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/", "/record", "/record/events", "/record/events/montreux", "/record/claims",
     "/record/events.json", "/-/versions.json"],
)  # fmt: skip
@pytest.mark.parametrize(("value", "status"), [("¹", 400), ("soon", 400), ("60", 200)])
async def test_a_cache_time_that_is_no_whole_number_is_a_400(ds, path, value, status):
    """Datasette reads ``_ttl`` on every page as ``int`` when ``str.isdigit`` takes it for a
    number (a superscript: a 500 on five of these pages), and silently ignores one that is
    no number at all; both are refused, as ``_size`` is."""
    response = await ds.client.get(path, params={"_ttl": value})
    assert response.status_code == status, response.text[:300]
    if status == 400:
        assert "_ttl must be a whole number" in response.text


@pytest.mark.parametrize(
    ("query", "said"),
    [
        # Datasette compared the quoted unknown name as a text: "0 rows where actor = turkey"
        ("/record/events?actor=turkey", "no column 'actor'. Rows whose actors hold a value: "
         "?actors__arraycontains=… The timeline is filtered by actor: /timeline?actor=…"),
        ("/record/events.json?tag=drones", "no column 'tag'. Rows whose tags hold a value"),
        # ... and every row where the text compares greater: "N rows where nope > 1"
        ("/record/events?nope__gt=1", "The events table has no column 'nope'."),
        ("/record/actors?nation=TR", "The actors table has no column 'nation'."),
        ("/record/event_actors.json?_actor__exact=x", "no column '_actor'"),
        # an unknown operator was dropped in silence, every row counted
        ("/record/events?type__bogus=meeting", "type__bogus: no such filter 'bogus'."),
        ("/record/events.csv?title__has=Deal", "title__has: no such filter 'has'."),
    ],
)  # fmt: skip
async def test_a_filter_on_no_column_or_with_no_operator_is_a_400_that_says_so(ds, query, said):
    response = await ds.client.get(query)
    assert response.status_code == 400, response.text[:300]
    assert said in (
        response.json()["error"] if ".json" in query else response.text.replace("&#39;", "'")
    )


@pytest.mark.parametrize(
    "query",
    ["/record/events?type=meeting", "/record/events?date_end__gte=2019&date_start__lte=2022",
     "/record/events.json?actors__arraycontains=turkey", "/record/events?rowid__gt=1",
     "/record/events?id__in=a,b", "/record/events?notes__isnull=1", "/record/events?_actors=x",
     "/record/actors.json?kind__in=company,state&_search=Baykar"],
)  # fmt: skip
async def test_filters_on_the_tables_columns_still_answer(ds, query):
    assert (await ds.client.get(query)).status_code == 200


def test_the_filter_operators_are_the_installed_datasettes():
    from datasette.filters import Filters
    from request_checks import FILTER_OPERATORS

    assert {key for key, _, _ in Filters([]).lookups()} == FILTER_OPERATORS
