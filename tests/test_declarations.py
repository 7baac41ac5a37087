"""One place per field: everything about a field follows from its declaration in schema.py."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

from typer.main import get_command
from typer.testing import CliRunner

from conftest import ROOT
from timeline import schema
from timeline.cli import ADD_OPTIONS, NOT_ADDED, app


def test_generated_files_are_current():
    result = CliRunner().invoke(app, ["schema", "--check"])
    assert result.exit_code == 0, result.output


def test_built_tables_are_the_declared_tables(small_db):
    conn = sqlite3.connect(small_db)
    try:
        declared = {t: schema.table_columns(t) for t in schema.SECTION_TABLE.values()}
        declared |= {t: schema.link_columns(t) for t in schema.LINK_TABLES}
        for table, columns in declared.items():
            info = conn.execute(f"pragma table_info([{table}])").fetchall()
            assert [row[1] for row in info] == [c.name for c in columns], table
            types = {row[1]: row[2].lower() for row in info}
            assert all(types[c.name] == c.type for c in columns), table
            indexed = {
                conn.execute(f"pragma index_info([{name}])").fetchone()[2]
                for _, name, *_ in conn.execute(f"pragma index_list([{table}])")
            }
            # a list column's values are indexed in event_list_values (test_build)
            wanted = {c.name for c in columns if (c.facet or c.index) and c.name != "id"}
            wanted -= {c.name for c in columns if c.facet == "array"}
            assert wanted <= indexed, (table, wanted - indexed)
        keys = {row[3]: row[2] for row in conn.execute("pragma foreign_key_list(event_systems)")}
        assert keys == {"event_id": "events", "system_id": "systems", "supplier_id": "actors",
                        "recipient_id": "actors", "source_id": "sources",
                        "value_source_id": "sources"}  # fmt: skip
    finally:
        conn.close()


NEW_FIELD = textwrap.dedent(
    """
    import json, sqlite3, sys, tempfile
    from pathlib import Path
    from timeline import schema

    # The only change: two declarations.
    items = list(schema.RECORDS["event"].items())
    at = [name for name, _ in items].index("notes")
    items.insert(at, ("casualties", schema.Field("integer", doc="Deaths the sources report.",
                                                 bounds=(0, 100000), facet="column")))
    schema.RECORDS["event"] = dict(items)
    schema.RECORDS["citation"]["archived_url"] = schema.Field(
        "str", doc="An archived copy of the page.", pattern=schema.URL)

    from timeline import export, generated, jsonschema, layout
    from timeline.build import build_file
    from timeline.validate import validate_file

    out = {}
    tmp = Path(tempfile.mkdtemp())
    text = Path(sys.argv[1]).read_text()
    text = text.replace("    quote: The convention was signed in 1936.\\n",
        "    quote: The convention was signed in 1936.\\n"
        "        archived_url: https://archive.example.org/x\\n")
    text = text.replace("  - id: montreux\\n", "  - id: montreux\\n    casualties: 3\\n")
    path = tmp / "events.yaml"
    path.write_text(text)
    out["valid"] = validate_file(path).ok
    bad = tmp / "bad.yaml"
    bad.write_text(text.replace("casualties: 3", "casualties: -4"))
    out["bad"] = [str(p) for p in validate_file(bad).errors]
    db = build_file(path, tmp / "t.db").db_path
    conn = sqlite3.connect(db)
    one = lambda sql: conn.execute(sql).fetchone()[0]
    out["casualties"] = one("select casualties from events where id = 'montreux'")
    out["archived"] = one("select archived_url from citations where archived_url is not null")
    out["indexed"] = any("casualties" in (r[4] or "") for r in conn.execute(
        "select * from sqlite_master where type='index'"))
    props = jsonschema.json_schema()["$defs"]["event"]["properties"]
    out["json_schema"] = props["casualties"]
    meta = json.loads(generated.metadata_text({}))
    out["metadata"] = meta["databases"]["record"]["tables"]["events"]["columns"]["casualties"]
    out["facet"] = "casualties" in meta["databases"]["record"]["tables"]["events"]["facets"]
    out["readme"] = "`casualties`" in generated.field_table()
    formatted = layout.format_text(text, path)
    block = formatted[formatted.index("- id: montreux"):]
    # declared just before notes, so laid out after citations (written first in the input)
    out["layout"] = block.index("citations:") < block.index("    casualties: 3")
    out["export"] = "casualties" in export.EVENT_COLUMNS
    print(json.dumps(out))
    """
)


def test_a_new_field_needs_only_its_declaration(tmp_path):
    """Adding fields by declaration alone reaches the validator, the database (column and
    index), the JSON Schema, the site's metadata, the README, the layout and the export."""
    script = tmp_path / "new_field.py"
    script.write_text(NEW_FIELD)
    proc = subprocess.run(
        [sys.executable, str(script), str(ROOT / "tests" / "data" / "small.yaml")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] is True
    assert any("casualties -4 is outside 0..100000" in p for p in out["bad"]), out["bad"]
    assert out["casualties"] == 3 and out["archived"] == "https://archive.example.org/x"
    assert out["indexed"] and out["facet"] and out["readme"] and out["layout"] and out["export"]
    assert out["json_schema"]["type"] == "integer" and out["json_schema"]["maximum"] == 100000
    assert out["metadata"] == "Deaths the sources report."


def test_the_format_guide_at_the_top_of_events_yaml_names_every_declared_field_and_value():
    """The guide curators read first is written by hand: it must name every field of every
    record and every value of every vocabulary the declarations accept."""
    import re

    text = (ROOT / "events.yaml").read_text(encoding="utf-8")
    guide = set(re.findall(r"[A-Za-z0-9_-]+", text[: text.index("\nsources:")]))
    missing = [
        (record, name, value)
        for record, fields in schema.RECORDS.items()
        for name, fld in fields.items()
        for value in (name, *fld.choices)
        if value not in guide
    ]
    assert missing == []


def test_the_nested_export_carries_every_declared_field_of_each_entry(tmp_path):
    """A field declared for an event's actors, systems, citations or relations reaches the
    JSON export and the event's JSON (timeline.export builds their SQL from the
    declarations), not only the database."""
    from support import build

    from timeline.export import export_events

    db = build(ROOT / "events.yaml", tmp_path)  # (this process's build of the real file)
    events = export_events(db)
    for event_field, link in (
        ("systems", "event_systems"),
        ("citations", "citations"),
        ("related", "event_relations"),
        ("actors", "event_actors"),
    ):
        record = schema.LINK_TABLES[link].record
        declared = set(schema.RECORDS[record]) - ({"actor"} if event_field == "actors" else set())
        entries = [entry for e in events for entry in e[event_field]]
        assert entries, event_field
        assert all(declared <= set(entry) for entry in entries), (event_field, declared)


def test_every_event_field_is_entered_by_an_option_of_add_or_says_why_not():
    """A newly declared field must be given an option of `timeline add`, or a reason."""
    assert set(ADD_OPTIONS) | set(NOT_ADDED) == set(schema.RECORDS["event"])
    assert not set(ADD_OPTIONS) & set(NOT_ADDED)
    command = get_command(app).commands["add"]
    offered = {option for param in command.params for option in param.opts}
    for field, options in ADD_OPTIONS.items():
        assert set(options) <= offered, field
