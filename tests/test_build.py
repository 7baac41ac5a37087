"""The SQLite build: tables, keys, indexes, FTS, JSON arrays, atomicity, determinism."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils
import yaml
from support import REAL, SMALL, build, contents, write_yaml

from conftest import files_in
from timeline import derive, files
from timeline import rows as row_writer
from timeline.build import InvalidInput, build_file
from timeline.derive import COUNTED_COLUMNS
from timeline.filters import register_functions
from timeline.store import INPUT_KEY, STAMP_KEY, input_hash


def rows(db: Path | sqlite3.Connection, sql: str, params=()) -> list[tuple]:
    """The rows of ``sql`` in a database file, or on a connection (``connected``: a test
    that asks many questions)."""
    if isinstance(db, sqlite3.Connection):
        return db.execute(sql, params).fetchall()
    with connected(db) as conn:
        return conn.execute(sql, params).fetchall()


@contextmanager
def connected(db_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(db_path)
    register_functions(conn)  # the site's filters' SQL functions, as Datasette has them
    try:
        yield conn
    finally:
        conn.close()


def test_tables_and_counts_match_the_yaml(small_yaml, fresh_db):
    data = yaml.safe_load(small_yaml.read_text())
    db = sqlite_utils.Database(fresh_db)
    assert {
        "events",
        "actors",
        "sources",
        "citations",
        "event_actors",
        "event_relations",
        "build_info",
    } <= set(db.table_names())
    assert db["events"].count == len(data["events"])
    assert db["actors"].count == len(data["actors"])
    assert db["sources"].count == len(data["sources"])
    assert db["citations"].count == sum(len(e["citations"]) for e in data["events"])
    assert db["event_actors"].count == sum(len(e.get("actors", [])) for e in data["events"])
    info = dict(rows(fresh_db, "select key, value from build_info"))
    assert info["count_events"] == str(len(data["events"]))
    assert info[INPUT_KEY] == input_hash(Path(fresh_db).with_name("events.yaml").read_bytes())


def test_primary_and_foreign_keys(fresh_db):
    db = sqlite_utils.Database(fresh_db)
    assert db["events"].pks == ["id"]
    assert db["event_actors"].pks == ["event_id", "actor_id", "role"]
    fks = {(fk.column, fk.other_table) for fk in db["citations"].foreign_keys}
    assert fks == {("event_id", "events"), ("source_id", "sources")}
    fks = {(fk.column, fk.other_table) for fk in db["event_relations"].foreign_keys}
    assert fks == {("event_id", "events"), ("related_id", "events")}
    assert rows(fresh_db, "pragma foreign_key_check") == []


def test_facet_columns_are_indexed(fresh_db):
    """Every facet and indexed column of the declarations leads an index: a facet
    column its own; an indexed one its own, or a composite one or primary key, beside which
    its own would be a twin (and is not made); a list column's values are indexed in
    event_list_values instead."""
    from timeline import schema

    db = sqlite_utils.Database(fresh_db)
    declared = {**{t: schema.table_columns(t) for t in schema.SECTION_TABLE.values()},
                **{t: schema.link_columns(t) for t in schema.LINK_TABLES}}  # fmt: skip
    for table, columns in declared.items():
        indexed = {tuple(i.columns) for i in db[table].indexes if not i.partial}
        for column in columns:
            leading = [c for c in indexed if c[0] == column.name]
            if column.facet == "column":
                assert (column.name,) in leading, (table, column.name)
            elif column.index and column.name != "id":
                assert leading, (table, column.name)
                assert (column.name,) not in leading or len(leading) == 1, (table, leading)
    events = {tuple(i.columns) for i in db["events"].indexes}
    assert {("type",), ("date_start",)} <= events
    # a list column is filtered through event_list_values, whose index leads by list, value
    assert ("tags",) not in events and ("countries",) not in events
    assert ("list", "value", "event_id") in {
        tuple(i.columns) for i in db["event_list_values"].indexes
    }
    assert {("year",), ("year", "month")} <= events
    assert ("event_id",) not in {tuple(i.columns) for i in db["citations"].indexes}
    # sort_key leads the index that pages by (sort_key, id); alone it would be a twin
    assert any(columns[:2] == ("sort_key", "id") for columns in events)
    assert ("sort_key",) not in events


@pytest.mark.parametrize(
    ("query", "index"),
    [("event_map", "idx_events_located"), ("recently_added", "idx_events_recently_added"),
     ("per_year_and_type", "idx_events_year_type_precision")],
)  # fmt: skip
def test_map_and_recent_queries_read_an_index_not_every_event(fresh_db, query, index):
    import json as json_module

    from timeline.places import LISTED, MAX_PLACES, PLACES_SQL

    metadata = json_module.loads((REAL.parent / "datasette-metadata.json").read_text())
    sql = PLACES_SQL if query == "event_map" else metadata["databases"]["record"][
        "queries"][query]["sql"]  # fmt: skip
    params = {"limit": MAX_PLACES, "listed": LISTED, "type": ""}
    plan = [r[3] for r in rows(fresh_db, f"explain query plan {sql}", params)]
    assert any(f"INDEX {index}" in step for step in plan)
    assert not any(step in ("SCAN events", "SCAN e") for step in plan)  # a full table scan


def test_the_busiest_actors_are_read_from_an_index(fresh_db):
    import sys

    sys.path.insert(0, str(REAL.parent / "plugins"))
    from charts import ACTOR_YEARS_SQL

    plan = [r[3] for r in rows(fresh_db, f"explain query plan {ACTOR_YEARS_SQL}", {"top": 12})]
    assert any("INDEX idx_actors_by_events" in step for step in plan), plan
    assert "SCAN actors" not in plan
    # each of the few actors' counts is a seek by key, not a read of every actor's counts
    assert any("event_counts" in step and "scope_id=?" in step for step in plan), plan


def test_an_actor_named_by_its_name_is_found_by_an_index(fresh_db):
    """/timeline?actor=, actor_events and actors_together take a name in any case."""
    import sys

    sys.path.insert(0, str(REAL.parent / "plugins"))
    from timeline_page import ACTOR_IDS_SQL

    params = {"actor": "baykar", "_page_after": "", "_page_size": 100}
    for sql in (_site_sql("actor_events"), _site_sql("actors_together")):
        plan = [r[3] for r in rows(fresh_db, f"explain query plan {sql}", params)]
        assert any("INDEX idx_actors_lower_name" in step for step in plan), plan
        assert "SCAN actors" not in plan, plan
    # the site's actor filter looks a word up among every actor's id, name and aliases
    plan = [r[3] for r in rows(fresh_db, f"explain query plan {ACTOR_IDS_SQL}", params)]
    assert plan and all("SEARCH n USING" in step and "record_names" in step for step in plan)


def _site_sql(name: str) -> str:
    """A page's SQL: a plugin's constant, or a canned query's."""
    import json as json_module
    import sys

    sys.path.insert(0, str(REAL.parent / "plugins"))
    import entity_pages

    if hasattr(entity_pages, name):
        return getattr(entity_pages, name)
    metadata = json_module.loads((REAL.parent / "datasette-metadata.json").read_text())
    return metadata["databases"]["record"]["queries"][name]["sql"]


@pytest.mark.parametrize(
    ("name", "params", "index"),
    [("TOGETHER_SQL", {"id": "turkey"}, "idx_actor_pairs_actor_id_events"),
     ("actors_together", {"actor": "Turkey"}, "idx_actor_pairs_actor_id_events"),
     ("SYSTEM_TRANSFERS_SQL", {"id": "bayraktar-tb2", "limit": 50},
      "sqlite_autoindex_scope_events_1")],
)  # fmt: skip
def test_one_actors_or_systems_rows_are_read_in_order_not_sorted(fresh_db, name, params, index):
    """An actor's partners and a system's transfers: its own rows, read in the order shown
    (a busy actor has thousands of partners; sorting them all was 10–23 ms at 100,000)."""
    plan = [r[3] for r in rows(fresh_db, f"explain query plan {_site_sql(name)}", params)]
    assert any(f"INDEX {index}" in step for step in plan), plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    # each event's transfers by the event, never all of the system's for every event
    assert not any("idx_event_systems_system_id_action" in step for step in plan), plan


def test_every_reference_is_indexed(fresh_db):
    """A row page counts the rows that refer to it: each count must be an index seek."""
    db = sqlite_utils.Database(fresh_db)
    for table in db.tables:
        leading = {index.columns[0] for index in table.indexes} | {table.pks[0]}
        for fk in table.foreign_keys:
            assert fk.column in leading, f"{table.name}.{fk.column}"
    plan = rows(fresh_db, "explain query plan select count(*) from scope_events where event_id = ?",
                ("x",))  # fmt: skip
    assert "USING" in plan[0][3] and "INDEX" in plan[0][3]


@pytest.mark.parametrize("table", ["actors", "systems", "sources"])
def test_use_counts_seek_each_records_rows(fresh_db, table):
    """Each count reads its own record's rows through an index: a count that walked the
    stance index instead took minutes at 100,000 events."""
    plan = [r[3] for r in rows(fresh_db, f"explain query plan {derive.USE_COUNTS_SQL[table]}")]
    inner = [step for step in plan if step.startswith("SEARCH")]
    assert inner and all(
        "idx_citations_source_id" in step
        or "scope_events" in step
        or ("events" in step and "(id=?)" in step)  # each citation's event, by its key
        for step in inner
    ), plan


def test_use_counts_match_the_rows(tmp_path):
    with connected(build(REAL, tmp_path)) as fresh_db:  # with systems and contradictions
        _use_counts_match_the_rows(fresh_db)


def _use_counts_match_the_rows(fresh_db: sqlite3.Connection) -> None:
    got = rows(fresh_db, "select id, citation_count, contradicted_count, against_claim_count"
               " from sources")  # fmt: skip
    for source_id, cited, contradicted, against_claims in got:
        cites = rows(fresh_db, "select c.stance, e.status from citations c join events e"
                     " on e.id = c.event_id where c.source_id = ?", (source_id,))  # fmt: skip
        assert cited == len(cites)
        # the record contradicts the source only where the event it was cited against stands
        assert contradicted == cites.count(("contradicts", "confirmed"))
        assert against_claims == sum(st == "contradicts" and s != "confirmed" for st, s in cites)
    assert any(row[2] for row in got) and any(row[3] for row in got)
    for table, links, column in (("actors", "event_actors", "actor_id"),
                                 ("systems", "event_systems", "system_id")):  # fmt: skip
        counted = rows(fresh_db, f"select id, event_count from {table}")
        assert counted and any(count for _, count in counted)
        for record_id, count in counted:
            linked = rows(fresh_db, f"select count(distinct event_id) from {links}"
                          f" where {column} = ?", (record_id,))  # fmt: skip
            assert count == linked[0][0], (table, record_id)


def test_dates_keep_their_precision(fresh_db):
    got = dict(
        (r[0], r[1:])
        for r in rows(
            fresh_db,
            "select id, date, precision, date_start, date_end, year, month, "
            "date_label, approximate from events",
        )
    )
    assert got["baykar-ukrspecexport-2019"] == (
        "2019",
        "year",
        "2019-01-01",
        "2019-12-31",
        2019,
        None,
        "2019",
        0,
    )
    assert got["fleet-destroyed-claim"] == (
        "2022-02~",
        "month",
        "2022-02-01",
        "2022-02-28",
        2022,
        2,
        "c. February 2022",
        1,
    )
    assert got["montreux"][:2] == ("1936-07-20", "day")


def test_json_array_columns(fresh_db):
    ((actors, countries, tags),) = rows(
        fresh_db, "select actors, countries, tags from events where id = 'fleet-destroyed-claim'"
    )
    assert json.loads(actors) == ["An Analyst", "Russia"]
    assert json.loads(countries) == ["UA"]
    assert json.loads(tags) == ["bayraktar-tb2", "claims"]
    hits = rows(
        fresh_db,
        "select e.id from events e, json_each(e.actors) j where j.value = 'Russia' order by e.id",
    )
    assert hits == [("fleet-destroyed-claim",), ("flight-suspension",)]


def test_full_text_search_covers_titles_summaries_and_quotes(fresh_db):
    def search(term):
        return [
            r[0]
            for r in rows(
                fresh_db,
                "select e.id from events_fts f join events e on e.rowid = f.rowid "
                "where events_fts match ? order by e.id",
                (term,),
            )
        ]

    assert search("suspends") == ["flight-suspension"]  # title
    assert search("suspend") == ["flight-suspension"]  # porter stemming
    assert search("straits") == ["montreux"]  # summary
    assert search("footage") == []  # notes of citations are not event text
    assert search('"kept flying"') == ["fleet-destroyed-claim"]  # citation quote
    assert rows(
        fresh_db, "select count(*) from citations_fts where citations_fts match 'footage'"
    ) == [(1,)]


def test_views_answer_common_questions(fresh_db):
    claims = rows(fresh_db, "select event_id, claimants, stance from claims order by stance")
    assert claims == [
        ("fleet-destroyed-claim", "An Analyst", "contradicts"),
        ("fleet-destroyed-claim", "An Analyst", "supports"),
    ]
    timeline = rows(fresh_db, "select event_id, role from actor_timeline where actor_id='russia'")
    assert timeline == [("flight-suspension", "speaker"), ("fleet-destroyed-claim", "attacker")]


def test_events_are_stored_in_chronological_order(fresh_db):
    ids = [r[0] for r in rows(fresh_db, "select id from events order by rowid")]
    assert ids == [
        "montreux",
        "baykar-ukrspecexport-2019",
        "flight-suspension",
        "fleet-destroyed-claim",
    ]


def test_unchanged_input_is_not_rebuilt(small_yaml, fresh_db):
    before = fresh_db.stat().st_mtime_ns
    result = build_file(small_yaml)
    assert result.skipped and result.counts["events"] == 4
    assert fresh_db.stat().st_mtime_ns == before
    small_yaml.write_text(small_yaml.read_text().replace("Baykar Makina", "Baykar Technologies"))
    assert not build_file(small_yaml).skipped


def test_a_settled_file_with_the_stamp_it_was_built_from_is_not_even_read(
    small_yaml, tmp_path, monkeypatch
):
    """The no-op knows an unchanged file by its stamp (inode, size, times); any write
    changes the kernel's change time, even one that keeps the size and puts the
    modification time back."""
    monkeypatch.setattr(files, "SETTLED_NS", 50_000_000)  # instead of a second: a quick test
    time.sleep(0.1)
    db = build_file(small_yaml).db_path
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: reads.append(p) or real(p))
    assert build_file(small_yaml).skipped and small_yaml not in reads
    time.sleep(0.1)
    stat = small_yaml.stat()
    small_yaml.write_text(small_yaml.read_text().replace("Baykar Makina", "Baykar Makine"))
    os.utime(small_yaml, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert small_yaml.stat().st_size == stat.st_size
    time.sleep(0.1)
    assert not build_file(small_yaml).skipped and small_yaml in reads
    assert "Baykar Makine" in rows(db, "select aliases from actors where id = 'baykar'")[0][0]


def test_a_file_written_just_before_the_build_keeps_no_stamp(small_yaml, fresh_db):
    """Written in the same second as the build read it, a file could change again within
    the same tick of the file system's clock: the next build reads it."""
    info = dict(rows(fresh_db, "select key, value from build_info"))
    assert info[STAMP_KEY] == ""
    assert build_file(small_yaml).skipped  # by the hash of its bytes


def test_builds_of_the_same_bytes_read_at_different_moments_hold_the_same_contents(
    small_yaml, tmp_path, monkeypatch
):
    """One build reads the file within a second of its write and keeps no stamp, the other
    after it and keeps one: ``support.contents`` compares what they hold, not when they read."""
    monkeypatch.setattr(files, "SETTLED_NS", 10**18)  # however long the machine took
    just_written = build_file(small_yaml, tmp_path / "a.db").db_path
    monkeypatch.setattr(files, "SETTLED_NS", 0)
    settled = build_file(small_yaml, tmp_path / "b.db").db_path
    stamps = [dict(rows(db, "select key, value from build_info"))[STAMP_KEY]
              for db in (just_written, settled)]  # fmt: skip
    assert stamps[0] == "" and stamps[1] != ""
    assert contents(just_written) == contents(settled)


def test_build_is_deterministic(small_yaml, tmp_path, monkeypatch):
    # every read takes the file as settled: otherwise a loaded machine can put the first
    # build within a second of the copy (no stamp) and the second past it (a stamp)
    monkeypatch.setattr(files, "SETTLED_NS", 0)
    a = build_file(small_yaml, tmp_path / "a.db").db_path
    b = build_file(small_yaml, tmp_path / "b.db").db_path
    dump = lambda p: list(sqlite3.connect(p).iterdump())  # noqa: E731
    assert dump(a) == dump(b)
    assert a.read_bytes() == b.read_bytes()


def test_database_is_written_in_place_compact_and_in_wal_mode(small_yaml, tmp_path, monkeypatch):
    """No copy and no rename: readers with the file open see the new rows at the commit."""
    import os

    from timeline import files

    renames: list[tuple] = []
    monkeypatch.setattr(files.os, "replace", lambda *a: renames.append(a))
    db_path = build_file(small_yaml, tmp_path / "out.db").db_path
    reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        inode = os.stat(db_path).st_ino
        assert reader.execute("select count(*) from events").fetchone() == (4,)
        edited = small_yaml.read_text().replace("The straits regime is set.", "A regime is set.")
        small_yaml.write_text(edited)
        assert build_file(small_yaml, db_path).updated == 1
        sql = "select count(*) from events where summary like 'A regime is set.%'"
        assert reader.execute(sql).fetchone() == (1,)
        assert os.stat(db_path).st_ino == inode and renames == []
    finally:
        reader.close()
    assert rows(db_path, "pragma integrity_check") == [("ok",)]
    assert rows(db_path, "pragma freelist_count") == [(0,)]  # nothing for VACUUM to do
    assert rows(db_path, "pragma journal_mode") == [("wal",)]
    assert files_in(tmp_path) == ["events.yaml", "out.db"]
    log = tmp_path / "out.db-wal"  # left by the reader, emptied into the file by the build
    assert not log.exists() or log.stat().st_size == 0


def test_invalid_input_leaves_the_old_database_byte_identical(small_yaml, fresh_db):
    before = fresh_db.read_bytes()
    small_yaml.write_text(
        small_yaml.read_text().replace('date: "2021-04-15"', 'date: "2021-02-30"')
    )
    with pytest.raises(InvalidInput) as info:
        build_file(small_yaml)
    assert "2021-02-30 is not a real date" in info.value.result.errors[0].message
    assert fresh_db.read_bytes() == before
    assert files_in(fresh_db.parent) == ["events.yaml", "record.db"]


def test_failure_during_write_leaves_the_old_database_byte_identical(
    small_yaml, fresh_db, monkeypatch
):
    before = fresh_db.read_bytes()
    small_yaml.write_text(small_yaml.read_text().replace("Baykar Makina", "Baykar Tech"))

    def explode(db, data):
        db["build_info"].insert({"key": "half", "value": "written"})
        raise RuntimeError("disk full")

    monkeypatch.setattr(row_writer, "write", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        build_file(small_yaml)
    assert fresh_db.read_bytes() == before
    assert files_in(fresh_db.parent) == ["events.yaml", "record.db"]


def test_event_counts_table_agrees_with_the_link_tables(tmp_path):
    """The counts per year and type, overall, per actor, per system, per status and per
    date precision."""
    real_db = build(REAL, tmp_path)
    counted = Counter()
    for scope, scope_id, year, kind, n in rows(real_db, "select * from event_counts"):
        counted[scope, scope_id, year, kind] = n
    expected = Counter()
    for year, kind, n in rows(real_db, "select year, type, count(*) from events group by 1, 2"):
        expected["all", "", year, kind] = n
    for scope, link, column in (("actor", "event_actors", "actor_id"),
                                ("system", "event_systems", "system_id")):  # fmt: skip
        sql = f"""select l.{column}, e.year, e.type, count(distinct e.id) from {link} l
                  join events e on e.id = l.event_id group by 1, 2, 3"""
        for key, year, kind, n in rows(real_db, sql):
            expected[scope, key, year, kind] = n
    for column in COUNTED_COLUMNS:
        sql = f"select {column}, year, type, count(*) from events group by 1, 2, 3"
        for value, year, kind, n in rows(real_db, sql):
            expected[column, value, year, kind] = n
    assert counted == expected


def test_scope_events_list_each_actors_and_systems_events_once_in_date_order(tmp_path):
    real_db = build(REAL, tmp_path)
    listed = {}
    for scope, scope_id, _, event_id in rows(
        real_db, "select * from scope_events order by scope, scope_id, sort_key, event_id"
    ):
        listed.setdefault((scope, scope_id), []).append(event_id)
    expected = {}
    for scope, link, column in (("actor", "event_actors", "actor_id"),
                                ("system", "event_systems", "system_id")):  # fmt: skip
        sql = f"""select distinct l.{column}, e.id from {link} l join events e
                  on e.id = l.event_id order by l.{column}, e.sort_key, e.id"""
        for key, event_id in rows(real_db, sql):
            expected.setdefault((scope, key), []).append(event_id)
    assert listed == expected
    assert any(len(ids) > 20 for ids in listed.values())
    sql = "select count(*) from scope_events s join events e on e.id = s.event_id"
    assert rows(real_db, sql + " where s.sort_key != e.sort_key") == [(0,)]


def test_an_actor_counts_once_per_event_whatever_its_roles(tmp_path):
    data = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    target = next(e for e in data["events"] if e["id"] == "baykar-ukrspecexport-2019")
    target["actors"].append({"actor": "baykar", "role": "manufacturer"})
    db = build(write_yaml(data, tmp_path / "events.yaml"), tmp_path)
    assert len(rows(db, "select * from event_actors where actor_id = 'baykar'")) == 2
    sql = "select events from event_counts where scope = 'actor' and scope_id = 'baykar'"
    assert rows(db, sql) == [(1,)]
    sql = "select event_id from scope_events where scope = 'actor' and scope_id = 'baykar'"
    assert rows(db, sql) == [("baykar-ukrspecexport-2019",)]


def test_actor_pairs_agree_with_the_link_table(tmp_path, monkeypatch):
    """Each two actors sharing events: the count, both ways, and the first events by date."""
    monkeypatch.setattr(derive, "PAIR_EVENT_IDS", 2)
    built = build_file(REAL, tmp_path / "record.db").db_path  # with the patch, not copied
    with connected(built) as db:
        _actor_pairs_agree_with_the_link_table(db)


def _actor_pairs_agree_with_the_link_table(db: sqlite3.Connection) -> None:
    shared = """select a.actor_id, b.actor_id, count(distinct a.event_id) from event_actors a
                join event_actors b on b.event_id = a.event_id and b.actor_id != a.actor_id
                group by 1, 2"""
    pairs = {(a, b): (n, ids) for a, b, n, ids in rows(db, "select * from actor_pairs")}
    assert {key: n for key, (n, _) in pairs.items()} == {(a, b): n for a, b, n in rows(db, shared)}
    first = """select e.id from event_actors a join event_actors b on b.event_id = a.event_id
               join events e on e.id = a.event_id where a.actor_id = ? and b.actor_id = ?
               group by e.id order by e.sort_key, e.id limit 2"""
    busiest = max(pairs, key=lambda key: pairs[key][0])
    assert pairs[busiest][0] > 2  # the real file has a pair sharing more events than listed
    for (a, b), (_, ids) in pairs.items():
        assert ids.split(",") == [r[0] for r in rows(db, first, (a, b))]
        assert pairs[b, a][1] == ids
