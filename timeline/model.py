"""Typed records for a validated ``events.yaml``, made from the declarations in ``schema``.

Each record class (``Event``, ``Source``, ``Citation``, …) is a frozen dataclass whose
fields are the declared fields of its record, in declaration order (required ones
first), so a field declared in ``schema.RECORDS`` is a typed attribute here without
being written twice. Values are normalised on the way in: dates parsed (``date``
fields become :class:`~timeline.dates.ParsedDate`), lists become tuples, nested
mappings become their record class, ``one_line`` text has its whitespace collapsed
and a quote its surrounding whitespace removed.

The validator only hands over mappings it has checked, so the constructors trust
their input.

Example::

    >>> e = Event.from_mapping({"id": "x", "date": "2021-04", "title": "T", "summary": "S.",
    ...     "type": "visit", "status": "confirmed", "citations": [{"source": "s", "quote": "q"}]})
    >>> e.date.label, e.citations[0].stance, e.actors
    ('April 2021', 'supports', ())
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import schema
from .dates import ParsedDate, parse_date

CLASS_NAMES = {
    "source": "Source", "actor": "Actor", "system": "System", "event": "Event",
    "event_actor": "EventActor", "location": "Location", "event_system": "EventSystem",
    "citation": "Citation", "relation": "Relation",
}  # fmt: skip
_PLAIN = {"str": str, "number": float, "integer": int, "date": ParsedDate}


class Record:
    """What every generated record class shares."""

    record_kind: str = ""

    @classmethod
    def from_mapping(cls, raw: dict):
        values = {}
        for name, fld in schema.RECORDS[cls.record_kind].items():
            if raw.get(name) is not None:
                values[name] = _convert(fld, raw[name])
        return cls(**values)


class EventBase(Record):
    @property
    def claimants(self) -> tuple[str, ...]:
        return tuple(a.actor for a in self.actors if a.role == "claimant")

    def actor_with_role(self, *roles: str) -> str | None:
        """The first actor in one of ``roles`` (in that order of preference), if any."""
        for role in roles:
            for a in self.actors:
                if a.role == role:
                    return a.actor
        return None


def _convert(fld: schema.Field, value: object) -> object:
    if fld.type == "date":
        return parse_date(value)
    if fld.type == "list[map]":
        return tuple(RECORD_CLASSES[fld.item].from_mapping(v) for v in value)
    if fld.type == "map":
        return RECORD_CLASSES[fld.item].from_mapping(value)
    if fld.type == "list[str]":
        return tuple(value)
    if fld.one_line:
        return " ".join(value.split())
    if fld.trim:
        return value.strip()
    return value


def _annotation(fld: schema.Field) -> object:
    if fld.type in ("list[map]", "list[str]"):
        return tuple
    if fld.type == "map":
        return object
    return _PLAIN[fld.type] if fld.required else _PLAIN[fld.type] | None


def _record_class(kind: str) -> type:
    spec = schema.RECORDS[kind]
    required = [(n, _annotation(f)) for n, f in spec.items() if f.required]
    optional = [
        (n, _annotation(f), field(default=() if f.type.startswith("list") else f.default))
        for n, f in spec.items()
        if not f.required
    ]
    base = EventBase if kind == "event" else Record
    cls = dataclasses.make_dataclass(
        CLASS_NAMES[kind], required + optional, bases=(base,), frozen=True,
        namespace={"record_kind": kind, "__module__": __name__},
    )  # fmt: skip
    return cls


RECORD_CLASSES: dict[str, type] = {kind: _record_class(kind) for kind in schema.RECORDS}
Source = RECORD_CLASSES["source"]
Actor = RECORD_CLASSES["actor"]
System = RECORD_CLASSES["system"]
Event = RECORD_CLASSES["event"]
EventActor = RECORD_CLASSES["event_actor"]
Location = RECORD_CLASSES["location"]
EventSystem = RECORD_CLASSES["event_system"]
Citation = RECORD_CLASSES["citation"]
Relation = RECORD_CLASSES["relation"]


@dataclass
class Dataset:
    """Everything in one ``events.yaml``, in file order."""

    sources: list = field(default_factory=list)
    actors: list = field(default_factory=list)
    events: list = field(default_factory=list)
    systems: list = field(default_factory=list)


def repeats_a_quote(summary: object, quotes: Iterable[object]) -> bool:
    """Whether a summary holds, word for word (case and spacing aside), a quote of over 40
    characters (a summary is in our words: ``validate`` warns, the events table says)."""
    if not isinstance(summary, str):
        return False
    flat = " ".join(summary.casefold().split())
    return any(
        isinstance(quote, str) and len(quote) > 40 and " ".join(quote.casefold().split()) in flat
        for quote in quotes
    )
