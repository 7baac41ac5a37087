"""Every export format, produced from the data and read back by a real consumer."""

from __future__ import annotations

import copy
import csv
import io
import json
import sqlite3
import subprocess

import icalendar
import pytest
import yaml
from frictionless import Package
from support import REAL, ROOT, SMALL, build, load_yaml, write_yaml
from typer.testing import CliRunner

from conftest import skip_or_fail
from timeline.cli import app
from timeline.dates import parse_date
from timeline.export import Filters, export_events
from timeline.formats import FORMATS, render
from timeline.validate import validate_file

RUN = CliRunner()


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    return build(REAL, tmp)


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    data = copy.deepcopy(load_yaml(SMALL))
    data["events"][0]["title"] = '=HYPERLINK("http://example.com")'
    return build(write_yaml(data, tmp / "events.yaml"), tmp)


def table_rows(db, table, skip=("first_added", "last_changed")):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = [{k: v for k, v in dict(r).items() if k not in skip}
                for r in conn.execute(f"select * from [{table}]")]  # fmt: skip
    finally:
        conn.close()
    return sorted(rows, key=repr)


def test_json_and_jsonl_carry_the_same_nested_records(real_db):
    as_json = json.loads(render("json", real_db)["events.json"])
    lines = render("jsonl", real_db)["events.jsonl"].splitlines()
    assert [json.loads(line) for line in lines] == as_json
    assert len(as_json) == len(validate_file(REAL).dataset.events)
    tb2 = next(e for e in as_json if e["id"] == "2019-01-12-ukrspecexport-baykar-tb2-contract")
    assert tb2["systems"][0]["quantity"] == 6 and tb2["citations"][0]["quote"]


def test_csv_files_read_back_and_neutralise_formulas(real_db, hostile_db):
    files = render("csv", real_db)
    assert set(files) == {"events.csv", "actors.csv", "citations.csv", "transfers.csv"}
    events = list(csv.DictReader(io.StringIO(files["events.csv"])))
    citations = list(csv.DictReader(io.StringIO(files["citations.csv"])))
    transfers = list(csv.DictReader(io.StringIO(files["transfers.csv"])))
    data = validate_file(REAL).dataset
    assert len(events) == len(data.events)
    assert len(citations) == sum(len(e.citations) for e in data.events)
    assert any(t["system_id"] == "bayraktar-tb2" for t in transfers)
    hostile = list(csv.DictReader(io.StringIO(render("csv", hostile_db)["events.csv"])))
    assert any(r["title"].startswith("'=HYPERLINK") for r in hostile)


def test_yaml_round_trip_rebuilds_identical_rows(real_db, tmp_path):
    exported = tmp_path / "events.yaml"
    exported.write_text(render("yaml", real_db)["events.yaml"])
    result = validate_file(exported)
    assert result.ok, [str(p) for p in result.errors[:5]]
    rebuilt = build(exported, tmp_path)
    for table in ("events", "sources", "actors", "systems", "citations", "event_actors",
                  "event_relations", "event_systems"):  # fmt: skip
        assert table_rows(rebuilt, table) == table_rows(real_db, table), table


def test_ics_is_read_by_icalendar_with_all_day_spans(real_db):
    calendar = icalendar.Calendar.from_ical(render("ics", real_db)["calendar.ics"])
    entries = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    data = validate_file(REAL).dataset
    assert set(entries) == {e.id for e in data.events}
    for event in data.events:
        entry = entries[event.id]
        start, end = entry.decoded("dtstart"), entry.decoded("dtend")
        assert type(start).__name__ == "date" and type(end).__name__ == "date"  # all-day
        assert start == event.date.start and (end - event.date.end).days == 1
        assert str(entry["url"]).startswith("http")
    month_event = next(e for e in data.events if e.date.precision == "month")
    assert (entries[month_event.id].decoded("dtend") - entries[month_event.id].decoded(
        "dtstart")).days >= 28  # fmt: skip


def test_timelinejs_has_one_slide_per_event_at_its_precision(real_db):
    data = json.loads(render("timelinejs", real_db)["timeline.json"])
    events = export_events(real_db)
    assert [s["unique_id"] for s in data["events"]] == [e["id"] for e in events]
    for slide, event in zip(data["events"], events, strict=True):
        start = slide["start_date"]
        assert start["display_date"] == event["date_label"]
        parsed = parse_date(event["date"].split("/")[0])
        assert ("month" in start) == (parsed.precision != "year")
        assert ("day" in start) == (parsed.precision == "day")
        assert slide["group"] == event["type"] and slide["text"]["headline"]


def test_markdown_footnotes_every_citation(real_db):
    text = render("markdown", real_db)["timeline.md"]
    events = export_events(real_db)
    citations = sum(len(e["citations"]) for e in events)
    assert text.count("\n[^") == citations
    assert all(f"[^{n}]:" in text for n in (1, citations))
    assert "## 2022" in text and "## 1936" in text


def test_datapackage_is_valid_for_frictionless(real_db, tmp_path):
    for name, content in render("datapackage", real_db).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    package = Package(str(tmp_path / "datapackage.json"))
    report = package.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    names = {r.name for r in package.resources}
    assert {"events", "sources", "citations", "event_systems"} <= names


def test_citation_file_is_read_by_citation_js(real_db, tmp_path):
    cff = yaml.safe_load(render("cff", real_db)["CITATION.cff"])
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["title"] and cff["message"] and cff["authors"][0]["name"]
    assert cff["license"] == "CC-BY-4.0"
    if not (ROOT / "node_modules" / "@citation-js" / "plugin-cff").exists():
        skip_or_fail("Citation.js is not installed (npm ci)")
    path = tmp_path / "CITATION.cff"
    path.write_text(render("cff", real_db)["CITATION.cff"], encoding="utf-8")
    proc = subprocess.run(["node", str(ROOT / "tests" / "read_cff.cjs"), str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (item,) = json.loads(proc.stdout)
    assert item["type"] == "dataset" and item["title"] == cff["title"]
    assert item["version"] == cff["version"] and item["author"][0]["literal"]


@pytest.mark.parametrize(
    ("option", "value", "keep"),
    [
        ("actor", "baykar", lambda e: "baykar" in {a["id"] for a in e["actors"]}),
        ("type", "delivery", lambda e: e["type"] == "delivery"),
        ("status", "refuted", lambda e: e["status"] == "refuted"),
        ("tag", "bayraktar-tb2", lambda e: "bayraktar-tb2" in e["tags"]),
        ("system", "bayraktar-tb2",
         lambda e: "bayraktar-tb2" in {x["system"] for x in e["systems"]}),
        ("since", "2023-06", lambda e: e["date_end"] >= "2023-06-01"),
        ("until", "2019", lambda e: e["date_start"] <= "2019-12-31"),
    ],
)  # fmt: skip
def test_filters_keep_exactly_the_matching_events(real_db, option, value, keep):
    every = export_events(real_db)
    filtered = export_events(real_db, Filters(**{option: value}))
    assert filtered and [e["id"] for e in filtered] == [e["id"] for e in every if keep(e)]


def test_cli_writes_files_directories_and_refuses_bad_input(real_db, tmp_path):
    out = tmp_path / "out"
    result = RUN.invoke(app, ["export", "--db", str(real_db), "--format", "csv", "--output",
                              str(out), "--actor", "baykar"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(render("csv", real_db))
    md = tmp_path / "t.md"
    assert RUN.invoke(app, ["export", "--db", str(real_db), "--format", "markdown",
                            "--output", str(md)]).exit_code == 0  # fmt: skip
    assert md.read_text().startswith("# ")
    bad_date = RUN.invoke(app, ["export", "--db", str(real_db), "--since", "05-04-2021"])
    assert bad_date.exit_code == 1 and "ambiguous" in bad_date.output
    assert RUN.invoke(app, ["export", "--db", str(real_db), "--format", "table"]).exit_code == 2
    assert set(FORMATS) == {"json", "jsonl", "csv", "yaml", "ics", "timelinejs", "markdown",
                            "datapackage", "cff"}  # fmt: skip
