"""A JSON Schema (draft 2020-12) for ``events.yaml``, generated from :mod:`timeline.schema`.

Editors with a YAML language server (VS Code, JetBrains, Neovim) use it for
completion, hover documentation and as-you-type checks. It is generated from
the same field specs and vocabularies the validator uses, so it cannot drift.

The schema checks the *shape* of the file. Only ``timeline validate`` can check
what needs the whole file or real calendars: references between records,
duplicate ids and events, impossible days (``2022-02-30``), confirmed events
dated in the future, reversed intervals and the YAML-level safety rules.

Example::

    >>> from timeline.jsonschema import json_schema
    >>> json_schema()["$defs"]["event"]["required"][:2]
    ['id', 'date']

Point an editor at the written file with a modeline at the top of the YAML::

    # yaml-language-server: $schema=./events.schema.json
"""

from __future__ import annotations

import json
from pathlib import Path

from . import schema
from .files import check_output, write_atomically

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://example.org/turkey-ukraine-timeline/events.schema.json"

# Any text with something in it (the validator treats blank text as missing).
NOT_BLANK = r"\S"

# One end of a date: EDTF 2019 / 2021-04 / 2021-04-15 with an optional qualifier,
# or a loose human form (15 April 2021, April 15, 2021) that contains a year.
_EDTF = r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?[?~%]?"
_HUMAN = r"[A-Za-z0-9 ,.\-]*[0-9]{4}[A-Za-z0-9 ,.\-]*"
_DATE_END = rf"\s*(?:{_EDTF}|{_HUMAN})\s*"
DATE_PATTERN = rf"^{_DATE_END}(?:/{_DATE_END})?$"

DATE_DOC = (
    "A date at the precision the evidence supports: 2019, 2021-04, 2021-04-15, "
    "with ~ (approximate), ? (uncertain) or % (both), an interval "
    "2020-09-27/2020-11-10, or a human form such as '15 April 2021' or 'April 2021'."
)

# Vocabularies with a description per value, for hover text in editors.
_DESCRIBED: dict[tuple[str, ...], dict[str, str]] = {
    tuple(v): v
    for v in (
        schema.EVENT_TYPES, schema.STATUSES, schema.ROLES, schema.RELATION_TYPES,
        schema.SYSTEM_KINDS, schema.SYSTEM_ACTIONS, schema.QUANTITY_QUALIFIERS, schema.DEALS,
    )
}  # fmt: skip


def _text(fld: schema.Field, name: str) -> dict:
    out: dict = {"type": "string"}
    if fld.choices:
        out["enum"] = list(fld.choices)
        described = _DESCRIBED.get(tuple(fld.choices))
        if described:
            # yaml-language-server / VS Code show these next to each completion.
            out["enumDescriptions"] = [described[c] for c in fld.choices]
            out["markdownEnumDescriptions"] = [f"**{c}**: {described[c]}" for c in fld.choices]
    elif fld.codes:
        out["enum"] = schema.CODE_LISTS[fld.codes].codes()
    elif fld.pattern:
        out["pattern"] = fld.pattern
    else:
        out["pattern"] = NOT_BLANK
    return out


def _date() -> dict:
    return {
        "anyOf": [
            {"type": "string", "pattern": DATE_PATTERN},
            {"type": "integer", "minimum": 1, "maximum": 9999, "description": "a year"},
        ],
    }


def _property(record: str, name: str, fld: schema.Field) -> dict:
    if fld.type == "str":
        out = _text(fld, name)
    elif fld.type == "date":
        out = _date()
    elif fld.type in ("number", "integer"):
        out = {"type": fld.type}
        if fld.bounds:
            out |= {"minimum": fld.bounds[0], "maximum": fld.bounds[1]}
    elif fld.type == "map":
        out = {"$ref": f"#/$defs/{fld.item}"}
    elif fld.type == "list[map]":
        out = {"type": "array", "items": {"$ref": f"#/$defs/{fld.item}"}}
        if fld.required:
            out["minItems"] = 1  # every event cites at least one source
        else:
            out["uniqueItems"] = True  # the same actor/role or relation twice
    elif fld.type == "list[str]":
        item = {"type": "string", "pattern": fld.pattern or NOT_BLANK}
        if fld.codes:
            item = {"type": "string", "enum": schema.CODE_LISTS[fld.codes].codes()}
        out = {"type": "array", "items": item, "uniqueItems": True}
    else:  # pragma: no cover - a new Field.type must be taught here
        raise ValueError(f"{record}.{name}: unknown field type {fld.type!r}")
    doc = _describe(name, fld)
    if doc:
        out["description"] = doc
    return out


def _describe(name: str, fld: schema.Field) -> str:
    parts = [fld.doc] if fld.doc else []
    if fld.type == "date":
        parts.append(DATE_DOC)
    described = _DESCRIBED.get(tuple(fld.choices)) if fld.choices else None
    if described:
        parts.append("; ".join(f"{k}: {v}" for k, v in described.items()))
    elif fld.choices:
        parts.append("one of " + ", ".join(fld.choices))
    if fld.refers_to:
        parts.append(f"the id of one of the {fld.refers_to}")
    if fld.required:
        parts.append("required")
    return ". ".join(p.rstrip(".") for p in parts)


def _record(name: str) -> dict:
    spec = schema.RECORDS[name]
    out: dict = {
        "type": "object",
        "properties": {key: _property(name, key, fld) for key, fld in spec.items()},
        "required": [key for key, fld in spec.items() if fld.required],
        "additionalProperties": False,
    }
    return out | _record_rules(name)


def _record_rules(name: str) -> dict:
    """The declared cross-field rules of a record (``schema.RULES``) that JSON Schema can
    express; ``CitedOnEvent`` needs the whole event and is left to the validator."""
    dependent: dict[str, list[str]] = {}
    conditions: list[dict] = []
    for rule in schema.RULES.get(name, ()):
        if isinstance(rule, schema.Requires) and not rule.values:
            dependent.setdefault(rule.when, []).append(rule.field)
        elif isinstance(rule, schema.Requires):
            when = {"properties": {rule.when: {"enum": list(rule.values)}}, "required": [rule.when]}
            conditions.append(
                {"if": when, "then": {"required": [rule.field], "description": rule.message}}
            )
        elif isinstance(rule, schema.OnlyWhen):
            allowed = {"properties": {rule.when: {"enum": list(rule.values)}},
                       "required": [rule.when]}  # fmt: skip
            conditions.append({"if": {"required": [rule.field]},
                               "then": allowed | {"description": rule.message}})  # fmt: skip
        elif isinstance(rule, schema.ListContains):
            when = {"properties": {rule.when: {"enum": list(rule.values)}}, "required": [rule.when]}
            contains = {"contains": {"properties": {rule.key: {"const": rule.value}}}}
            then = {"required": [rule.field], "properties": {rule.field: contains},
                    "description": rule.hint}  # fmt: skip
            conditions.append({"if": when, "then": then})
    out: dict = {}
    if dependent:
        out["dependentRequired"] = dependent
    if len(conditions) == 1:
        out |= conditions[0]
    elif conditions:
        out["allOf"] = conditions
    return out


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of ``events.yaml`` as a plain dict.

    Example::

        import jsonschema, yaml
        jsonschema.validate(yaml.safe_load(text), json_schema())
    """
    sections = {
        section: {
            "type": ["array", "null"],
            "items": {"$ref": f"#/$defs/{record}"},
            "description": f"the {section} of the timeline, one mapping per {record}",
        }
        for section, record in schema.SECTION_RECORD.items()
    }
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "Turkey–Ukraine defence cooperation timeline (events.yaml)",
        "description": (
            "Sources, actors and events of the curated timeline. Generated from "
            "timeline/schema.py; run 'timeline validate' for the checks a schema cannot "
            "make (references, duplicates, impossible or future dates)."
        ),
        "type": "object",
        "properties": sections,
        "required": [s for s in schema.SECTIONS if s not in schema.OPTIONAL_SECTIONS],
        "additionalProperties": False,
        "$defs": {name: _record(name) for name in schema.RECORDS},
    }


def write_schema(path: Path | str) -> Path:
    """Write :func:`json_schema` as indented UTF-8 JSON to ``path``; returns the path.

    Example::

        write_schema("events.schema.json")
    """
    path = Path(path)
    check_output(path, "json")
    write_atomically(path, json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    return path
