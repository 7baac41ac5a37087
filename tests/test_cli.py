"""The typer CLI through CliRunner: exit codes, messages, no tracebacks."""

from __future__ import annotations

import csv
import gc
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from timeline import __version__
from timeline.cli import app

runner = CliRunner()
TEN_MISTAKES = Path(__file__).parent / "data" / "ten_mistakes.yaml"


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"timeline {__version__}"


def test_help_comes_from_docstrings():
    result = invoke("--help")
    for command in ("validate", "build", "serve", "query", "stats"):
        assert command in result.output
    assert "Check the YAML and list every problem" in result.output


def test_validate_ok(small_yaml):
    result = invoke("validate", small_yaml)
    assert result.exit_code == 0
    assert "OK: 4 events, 4 actors, 2 sources" in result.output


def test_validate_ten_mistakes_prints_ten_errors_and_exits_1():
    result = invoke("validate", TEN_MISTAKES)
    assert result.exit_code == 1
    lines = [x for x in result.stderr.splitlines() if x.startswith(str(TEN_MISTAKES))]
    errors = [x for x in lines if ": warning: " not in x]
    assert len(errors) >= 10
    assert "Traceback" not in result.output
    assert result.stderr.rstrip().endswith(f"{len(errors)} error(s); nothing was written.")


def _recording_collector_state(monkeypatch) -> list[bool]:
    """Whether the cyclic garbage collector is on while validate checks a file, per call: in
    batches (a file without errors) or whole (one with)."""
    import timeline.batches
    import timeline.validate

    seen: list[bool] = []
    for module, name in ((timeline.batches, "validated"), (timeline.validate, "validate_file")):
        real = getattr(module, name)

        def recording(path, *args, real=real, **options):
            seen.append(gc.isenabled())
            return real(path, *args, **options)

        monkeypatch.setattr(module, name, recording)
    return seen


def test_a_command_runs_with_the_collector_paused_and_restores_it(small_yaml, monkeypatch):
    seen = _recording_collector_state(monkeypatch)
    assert gc.isenabled()
    assert invoke("validate", small_yaml).exit_code == 0
    assert seen == [False] and gc.isenabled()
    # a command that fails restores it too (the batches leave it to the whole check)
    assert invoke("validate", TEN_MISTAKES).exit_code == 1
    assert seen == [False, False, False] and gc.isenabled()


def test_validate_json_format():
    result = invoke("validate", TEN_MISTAKES, "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert {"file", "line", "column", "record", "field", "message", "hint", "severity"} <= set(
        problems[0]
    )
    assert problems[0]["line"] == 6


def test_validate_strict_fails_on_warnings(small_yaml):
    assert invoke("validate", small_yaml, "--strict").exit_code == 1


def test_build_then_up_to_date(small_yaml):
    first = invoke("build", small_yaml)
    assert first.exit_code == 0 and "Built" in first.output and "4 events" in first.output
    assert (small_yaml.parent / "record.db").exists()
    second = invoke("build", small_yaml)
    assert second.exit_code == 0 and "is up to date (4 events)" in second.output


def test_build_refuses_bad_input_without_traceback(tmp_path):
    result = invoke("build", TEN_MISTAKES, "--db", tmp_path / "x.db")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()


def test_build_missing_file(tmp_path):
    result = invoke("build", tmp_path / "missing.yaml")
    assert result.exit_code == 1 and "cannot read the file" in result.stderr


def test_query_formats(fresh_db):
    sql = "select id, year from events where year > 2000 order by sort_key"
    as_json = json.loads(invoke("query", sql, "--db", fresh_db, "--format", "json").stdout)
    assert as_json == [
        {"id": "baykar-ukrspecexport-2019", "year": 2019},
        {"id": "flight-suspension", "year": 2021},
        {"id": "fleet-destroyed-claim", "year": 2022},
    ]
    as_csv = list(
        csv.reader(io.StringIO(invoke("query", sql, "--db", fresh_db, "--format", "csv").stdout))
    )
    assert as_csv[0] == ["id", "year"] and as_csv[1] == ["baykar-ukrspecexport-2019", "2019"]
    table = invoke("query", sql, "--db", fresh_db).stdout
    assert table.splitlines()[0].split() == ["id", "year"]


def test_query_errors_are_clean(fresh_db, tmp_path):
    bad = invoke("query", "select nope from events", "--db", fresh_db)
    assert bad.exit_code == 1 and "SQL error: no such column: nope" in bad.stderr
    write = invoke("query", "delete from events", "--db", fresh_db)
    assert write.exit_code == 1 and "not authorized" in write.stderr
    missing = invoke("query", "select 1", "--db", tmp_path / "none.db")
    assert missing.exit_code == 1 and "run 'timeline build' first" in missing.stderr


@pytest.mark.parametrize(
    "sql",
    ["vacuum into '{out}'", "attach '{out}' as other", "create temp table t(a)",
     "pragma query_only = off", "select load_extension('{out}')", "pragma user_version = 7"],
)  # fmt: skip
def test_query_is_read_only_and_writes_no_file(fresh_db, tmp_path, sql):
    before = fresh_db.read_bytes()
    out = tmp_path / "copy.db"
    result = invoke("query", sql.format(out=out), "--db", fresh_db)
    assert result.exit_code == 1 and "authori" in result.stderr, result.stderr
    assert not out.exists() and fresh_db.read_bytes() == before


def test_query_still_reads_schemas_and_recursive_queries(fresh_db):
    for sql in ("pragma table_info(events)", "pragma user_version",
                "with recursive r(i) as (select 1 union all select i + 1 from r where i < 3) "
                "select count(*) from r"):  # fmt: skip
        assert invoke("query", sql, "--db", fresh_db).exit_code == 0, sql


def test_stats(fresh_db):
    result = invoke("stats", "--db", fresh_db, "--format", "json")
    data = json.loads(result.stdout)
    assert data["Events per year"] == [{"year": y, "events": 1} for y in (1936, 2019, 2021, 2022)]
    assert {"status": "refuted", "events": 1} in data["Events per status"]
    russia = next(r for r in data["Events per actor"] if r["actor"] == "Russia")
    assert russia["events"] == 2 and set(russia["roles"].split(",")) == {"speaker", "attacker"}
    assert "Events per type" in invoke("stats", "--db", fresh_db).stdout


def test_export_json_nests_actors_citations_and_relations(fresh_db):
    events = json.loads(invoke("export", "--db", fresh_db).stdout)
    assert [e["id"] for e in events] == [
        "montreux", "baykar-ukrspecexport-2019", "flight-suspension", "fleet-destroyed-claim"
    ]  # fmt: skip
    claim = events[-1]
    assert claim["date"] == "2022-02~" and claim["precision"] == "month" and claim["approximate"]
    assert {(a["id"], a["role"]) for a in claim["actors"]} == {
        ("analyst", "claimant"), ("russia", "attacker")
    }  # fmt: skip
    assert claim["citations"][1] | {} == {
        "source": "record", "source_title": "Official record", "publisher": "Ministry",
        "url": None, "published_label": "2022", "quote": "The drones kept flying.",
        "translation": None, "stance": "contradicts",
        "note": "Later combat footage shows the drones in use.",
    }  # fmt: skip
    assert events[2]["related"] == [{"event": "baykar-ukrspecexport-2019", "type": "responds_to"}]


def test_export_csv(fresh_db, tmp_path):
    target = tmp_path / "events.csv"
    result = invoke("export", "--db", fresh_db, "--format", "csv", "--output", target)
    assert result.exit_code == 0
    with target.open(encoding="utf-8", newline="") as lines:
        rows = list(csv.DictReader(lines))
    assert len(rows) == 4
    assert rows[1]["actors"] == "baykar:signatory;ukrspecexport:signatory"
    assert rows[1]["date"] == "2019" and rows[1]["countries"] == "TR;UA"


def test_a_file_that_is_not_a_database_is_a_clean_error(tmp_path):
    not_a_db = tmp_path / "record.db"
    not_a_db.write_text("plain text")
    for args in (["stats"], ["export"], ["query", "select * from events"]):
        result = invoke(*args, "--db", not_a_db)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "file is not a database" in result.stderr


def test_add_to_a_missing_file_is_a_clean_error(tmp_path):
    result = invoke("add", tmp_path / "missing.yaml", "--no-interactive", "--title", "T")
    assert result.exit_code == 1 and "cannot read the file" in result.stderr


def test_a_directory_as_the_database_is_a_clear_error(tmp_path):
    for command in (["export"], ["query", "select 1"], ["stats"]):
        result = CliRunner().invoke(app, [*command, "--db", str(tmp_path)])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), command
        assert f"{tmp_path} is not a file" in result.output
