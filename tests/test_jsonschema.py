"""The JSON Schema for editors: generated from timeline/schema.py, agrees with the validator.

An editor's YAML parser (YAML 1.2, as in the YAML language server) reads an
unquoted ``2021-04-15`` as a string, not as a date; ``as_editor_sees_it``
turns PyYAML's dates back into strings so the schema is tested on what an
editor actually checks.

What only ``timeline validate`` can catch (the schema checks one value or one
record at a time and knows no calendar, no "today" and no other record):

* cross-references: unknown actor, source or related-event ids, an event
  related to itself;
* duplicates across records: two records with the same id, two events with
  the same date and title;
* impossible dates (``2022-02-30``, year ``0000``, ``31 April 2021``),
  reversed intervals, a confirmed event dated in the future;
* YAML-level rules that happen before any schema sees data: duplicate keys,
  aliases and merge keys, unsafe tags, size and depth limits, bad encodings.

``test_validator_only_errors`` checks that the schema lets each of these
through and the validator still reports it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from timeline import schema
from timeline.jsonschema import DATE_PATTERN, json_schema, write_schema
from timeline.validate import validate_file

ROOT = Path(__file__).parent.parent
SMALL = Path(__file__).parent / "data" / "small.yaml"
TODAY = dt.date(2026, 11, 21)


def as_editor_sees_it(value: object) -> object:
    """PyYAML data with dates as the strings a YAML 1.2 editor parser gives."""
    if isinstance(value, dict):
        return {k: as_editor_sees_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_editor_sees_it(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.fixture(scope="module")
def checker() -> jsonschema.Draft202012Validator:
    generated = json_schema()
    jsonschema.Draft202012Validator.check_schema(generated)
    return jsonschema.Draft202012Validator(generated)


def schema_errors(checker, data: object) -> list[str]:
    return [e.message for e in checker.iter_errors(as_editor_sees_it(data))]


def small() -> dict:
    return yaml.safe_load(SMALL.read_text(encoding="utf-8"))


def event(data: dict, event_id: str = "montreux") -> dict:
    return next(e for e in data["events"] if e["id"] == event_id)


# -- the schema itself ------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12(checker):
    generated = json_schema()
    assert generated["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert generated["additionalProperties"] is False
    assert set(generated["required"]) == set(schema.SECTIONS) - set(schema.OPTIONAL_SECTIONS)


def test_schema_is_generated_from_the_field_specs():
    defs = json_schema()["$defs"]
    assert set(defs) == set(schema.RECORDS)
    for record, spec in schema.RECORDS.items():
        assert set(defs[record]["properties"]) == set(spec)
        assert defs[record]["required"] == [k for k, f in spec.items() if f.required]
        assert defs[record]["additionalProperties"] is False
        for key, fld in spec.items():
            prop = defs[record]["properties"][key]
            if fld.choices:
                assert prop["enum"] == list(fld.choices)
            if fld.doc:
                assert fld.doc.rstrip(".") in prop["description"]
    event_type = defs["event"]["properties"]["type"]
    assert event_type["enumDescriptions"] == list(schema.EVENT_TYPES.values())
    assert schema.STATUSES["refuted"] in defs["event"]["properties"]["status"]["description"]
    assert defs["event"]["properties"]["id"]["pattern"] == schema.SLUG
    assert defs["actor"]["properties"]["wikidata"]["pattern"] == schema.WIKIDATA_QID
    lat = defs["location"]["properties"]["latitude"]
    assert (lat["minimum"], lat["maximum"]) == (-90, 90)


def test_the_schema_is_json_and_deterministic():
    assert json.loads(json.dumps(json_schema())) == json_schema()


def test_write_schema(tmp_path):
    target = write_schema(tmp_path / "events.schema.json")
    assert target == tmp_path / "events.schema.json"
    assert json.loads(target.read_text(encoding="utf-8")) == json_schema()
    assert target.read_text(encoding="utf-8").endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # nothing else left behind


@pytest.mark.parametrize(
    "text",
    [
        "2019",
        "2021-04",
        "2021-04-15",
        "2021-04~",
        "2019?",
        "2022-02-24%",
        "2020-09-27/2020-11-10",
        "2019/2021-04~",
        "15 April 2021",
        "April 15, 2021",
        "April 2021",
        "Apr. 2021",
        " 2021 ",
    ],
)
def test_date_pattern_admits_what_the_parser_accepts(checker, text):
    data = small()
    event(data)["date"] = text
    assert schema_errors(checker, data) == []


@pytest.mark.parametrize(
    "text", ["", "  ", "April", "21-04-15", "2021-04-15 10:00", "2021/2022/2023", "yesterday"]
)
def test_date_pattern_rejects_obvious_non_dates(checker, text):
    data = small()
    event(data)["date"] = text
    assert schema_errors(checker, data)


# -- agreement with the validator -----------------------------------------------------


def test_real_events_yaml_matches_the_schema(checker):
    text = (ROOT / "events.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=yaml.CSafeLoader)  # (PyYAML's safe loading, its C parser)
    assert schema_errors(checker, data) == []


def test_good_fixture_is_accepted_by_both(checker):
    assert schema_errors(checker, small()) == []
    assert validate_file(SMALL, today=TODAY).ok


def _parent(data: dict, path: tuple) -> dict | list:
    """Walk ``path`` (minus its last key); an event id as a step selects that event."""
    target = data
    for part in path[:-1]:
        target = event(target, part) if part in _EVENT_IDS else target[part]
    return target


def _set(path: tuple, value: object) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        _parent(data, path)[path[-1]] = value

    return change


def _delete(path: tuple) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        del _parent(data, path)[path[-1]]

    return change


_EVENT_IDS = {"montreux", "baykar-ukrspecexport-2019", "flight-suspension", "fleet-destroyed-claim"}
M = "montreux"
B = "baykar-ukrspecexport-2019"
F = "fleet-destroyed-claim"

BAD: dict[str, Callable[[dict], None]] = {
    "unknown-event-key": _set((M, "titel"), "Typo"),
    "unknown-section": _set(("people",), []),
    "missing-section": _delete(("actors",)),
    "file-is-a-list": lambda data: None,  # wrapped in a list by _bad_data
    "missing-required-summary": _delete((M, "summary")),
    "missing-citations": _delete((M, "citations")),
    "empty-citations": _set((M, "citations"), []),
    "citation-without-quote": _delete((M, "citations", 0, "quote")),
    "bad-event-type": _set((M, "type"), "treatie"),
    "bad-status": _set((M, "status"), "rumoured"),
    "bad-role": _set((B, "actors", 0, "role"), "seller"),
    "bad-relation-type": _set(("flight-suspension", "related", 0, "type"), "causes"),
    "bad-source-kind": _set(("sources", 0, "kind"), "blog"),
    "bad-actor-kind": _set(("actors", 0, "kind"), "firm"),
    "bad-slug": _set((M, "id"), "Montreux Convention"),
    "bad-tag-slug": _set((M, "tags"), ["Straits Regime"]),
    "bad-wikidata": _set(("actors", 0, "wikidata"), "12345"),
    "bad-url": _set(("sources", 0, "url"), "example.org/article"),
    "bad-language": _set(("sources", 0, "language"), "english"),
    "bad-actor-country": _set(("actors", 0, "country"), "Turkey"),
    "bad-event-country": _set((M, "countries"), ["XX"]),
    "latitude-out-of-range": _set((M, "location", "latitude"), 95.0),
    "longitude-out-of-range": _set((M, "location", "longitude"), -181),
    "latitude-without-longitude": _delete((M, "location", "longitude")),
    "latitude-as-text": _set((M, "location", "latitude"), "46.43"),
    "location-without-name": _delete((M, "location", "name")),
    "null-optional-value": _set((M, "notes"), None),
    "null-required-value": _set((M, "title"), None),
    "blank-title": _set((M, "title"), "   "),
    "number-as-title": _set((M, "title"), 1936),
    "bool-as-status": _set((M, "status"), True),
    "list-where-mapping": _set((M, "location"), ["Montreux"]),
    "mapping-where-list": _set((M, "tags"), {"straits": True}),
    "text-where-list": _set((M, "countries"), "TR"),
    "section-is-a-mapping": _set(("events",), {"montreux": {}}),
    "record-is-text": _set(("actors", 0), "baykar"),
    "date-without-year": _set((M, "date"), "July"),
    "date-with-time": _set((M, "date"), "1936-07-20 10:00"),
    "date-is-bool": _set((M, "date"), False),
    "date-is-float": _set((M, "date"), 1936.5),
    "date-year-out-of-range": _set((M, "date"), 10000),
    "date-is-list": _set((M, "date"), [1936]),
    "duplicate-tag": _set((M, "tags"), ["straits", "straits"]),
    "duplicate-actor-entry": _set((B, "actors", 1), {"actor": "baykar", "role": "signatory"}),
    "refuted-without-claimant": _delete((F, "actors", 0)),
    "contradicting-citation-without-note": _delete((F, "citations", 1, "note")),
    "unknown-stance": _set((M, "citations", 0, "stance"), "opposes"),
}


def _bad_data(name: str) -> object:
    data = copy.deepcopy(small())
    BAD[name](data)
    if name == "file-is-a-list":
        return [data]
    return data


@pytest.mark.parametrize("name", sorted(BAD))
def test_schema_and_validator_both_reject(name, checker, write_yaml):
    data = _bad_data(name)
    assert schema_errors(checker, data), f"the schema accepts {name}"
    path = write_yaml(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    result = validate_file(path, today=TODAY)
    assert result.errors, f"the validator accepts {name}"


VALIDATOR_ONLY: dict[str, Callable[[dict], None]] = {
    "unknown-actor-reference": _set((B, "actors", 0, "actor"), "baykar-makina"),
    "unknown-source-reference": _set((M, "citations", 0, "source"), "nowhere"),
    "unknown-related-event": _set(("flight-suspension", "related", 0, "event"), "no-such"),
    "event-related-to-itself": _set(
        ("flight-suspension", "related", 0, "event"), "flight-suspension"
    ),
    "duplicate-event-id": _set((B, "id"), "montreux"),
    "duplicate-source-id": _set(("sources", 1, "id"), "seed-news"),
    "duplicate-event-date-and-title": _set(
        (B, "title"), "Montreux Convention signed"
    ),  # and the date below
    "impossible-day": _set((M, "date"), "2022-02-30"),
    "impossible-human-day": _set((M, "date"), "31 April 2021"),
    "year-zero": _set((M, "date"), "0000"),
    "reversed-interval": _set((M, "date"), "2020-11-10/2020-09-27"),
    "future-confirmed": _set((M, "date"), "2031-01"),
}


@pytest.mark.parametrize("name", sorted(VALIDATOR_ONLY))
def test_validator_only_errors(name, checker, write_yaml):
    data = copy.deepcopy(small())
    VALIDATOR_ONLY[name](data)
    if name == "duplicate-event-date-and-title":
        event(data, B)["date"] = event(data, M)["date"]
    assert schema_errors(checker, data) == [], "the schema now catches this: update the list"
    path = write_yaml(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    assert validate_file(path, today=TODAY).errors, f"the validator misses {name}"


def test_lower_case_country_is_rejected_by_both(checker, write_yaml):
    data = copy.deepcopy(small())
    event(data)["countries"] = ["tr"]
    assert schema_errors(checker, data)
    path = write_yaml(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    assert validate_file(path, today=TODAY).errors


def test_date_pattern_is_anchored():
    assert DATE_PATTERN.startswith("^") and DATE_PATTERN.endswith("$")


def test_committed_schema_file_is_up_to_date():
    """events.schema.json (what editors read) is what `timeline schema` generates now."""
    committed = json.loads((ROOT / "events.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema(), "run 'timeline schema' and commit events.schema.json"
    first_line = (ROOT / "events.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./events.schema.json"


def test_schema_command_writes_the_file(tmp_path):
    from typer.testing import CliRunner

    from timeline.cli import app

    target = tmp_path / "schema.json"
    result = CliRunner().invoke(app, ["schema", "--output", str(target)])
    assert result.exit_code == 0
    assert json.loads(target.read_text()) == json_schema()
