"""Typed records for a validated ``events.yaml``.

The validator only hands over mappings it has checked, so these constructors
trust their input and concentrate on normalising it (parsed dates, sorted
lists, defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from .dates import ParsedDate, parse_date


def _record(cls: type, raw: dict, **convert: Callable[[object], object]):
    """``cls`` from the mapping's keys that name its fields, each through its converter."""
    values = {}
    for f in fields(cls):
        if raw.get(f.name) is not None:
            value = raw[f.name]
            values[f.name] = convert[f.name](value) if f.name in convert else value
    return cls(**values)


def _clean(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    published: ParsedDate
    kind: str
    language: str
    author: str | None = None
    url: str | None = None
    seed: str | None = None
    notes: str | None = None

    @classmethod
    def from_mapping(cls, raw: dict) -> Source:
        return _record(cls, raw, title=_clean, publisher=_clean, published=parse_date)


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    kind: str
    country: str | None = None
    aliases: tuple[str, ...] = ()
    wikidata: str | None = None
    notes: str | None = None

    @classmethod
    def from_mapping(cls, raw: dict) -> Actor:
        return _record(cls, raw, name=_clean, aliases=tuple)


@dataclass(frozen=True)
class System:
    id: str
    name: str
    kind: str
    maker: str | None = None
    country: str | None = None
    aliases: tuple[str, ...] = ()
    wikidata: str | None = None
    notes: str | None = None

    @classmethod
    def from_mapping(cls, raw: dict) -> System:
        return _record(cls, raw, name=_clean, aliases=tuple)


@dataclass(frozen=True)
class EventSystem:
    system: str
    action: str
    quantity: int | None = None
    quantity_qualifier: str | None = None
    value: float | None = None
    currency: str | None = None
    deal: str | None = None
    supplier: str | None = None
    recipient: str | None = None
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class EventActor:
    actor: str
    role: str


@dataclass(frozen=True)
class Citation:
    source: str
    quote: str
    translation: str | None = None
    stance: str = "supports"
    note: str | None = None


@dataclass(frozen=True)
class Relation:
    event: str
    type: str


@dataclass(frozen=True)
class Location:
    name: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Event:
    id: str
    date: ParsedDate
    title: str
    summary: str
    type: str
    status: str
    citations: tuple[Citation, ...]
    actors: tuple[EventActor, ...] = ()
    countries: tuple[str, ...] = ()
    location: Location | None = None
    tags: tuple[str, ...] = ()
    systems: tuple[EventSystem, ...] = ()
    related: tuple[Relation, ...] = ()
    notes: str | None = None

    @classmethod
    def from_mapping(cls, raw: dict) -> Event:
        return _record(
            cls,
            raw,
            date=parse_date,
            title=_clean,
            summary=_clean,
            citations=lambda items: tuple(_record(Citation, c, quote=str.strip) for c in items),
            actors=lambda items: tuple(_record(EventActor, a) for a in items),
            countries=tuple,
            location=lambda loc: _record(Location, loc),
            tags=tuple,
            systems=lambda items: tuple(_record(EventSystem, x) for x in items),
            related=lambda items: tuple(_record(Relation, r) for r in items),
        )

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


@dataclass
class Dataset:
    """Everything in one ``events.yaml``, in file order."""

    sources: list[Source] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    systems: list[System] = field(default_factory=list)
