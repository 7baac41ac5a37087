"""Typed records for a validated ``events.yaml``.

The validator only hands over mappings it has checked, so these constructors
trust their input and concentrate on normalising it (parsed dates, sorted
lists, defaults).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .dates import ParsedDate, parse_date


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
        return cls(
            id=raw["id"],
            title=raw["title"].strip(),
            publisher=raw["publisher"].strip(),
            published=parse_date(raw["published"]),
            kind=raw["kind"],
            language=raw["language"],
            author=raw.get("author"),
            url=raw.get("url"),
            seed=raw.get("seed"),
            notes=raw.get("notes"),
        )


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
        return cls(
            id=raw["id"],
            name=raw["name"].strip(),
            kind=raw["kind"],
            country=raw.get("country"),
            aliases=tuple(raw.get("aliases") or ()),
            wikidata=raw.get("wikidata"),
            notes=raw.get("notes"),
        )


@dataclass(frozen=True)
class EventActor:
    actor: str
    role: str


@dataclass(frozen=True)
class Citation:
    source: str
    quote: str
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
    related: tuple[Relation, ...] = ()
    notes: str | None = None

    @classmethod
    def from_mapping(cls, raw: dict) -> Event:
        loc = raw.get("location")
        return cls(
            id=raw["id"],
            date=parse_date(raw["date"]),
            title=" ".join(raw["title"].split()),
            summary=" ".join(raw["summary"].split()),
            type=raw["type"],
            status=raw["status"],
            citations=tuple(
                Citation(
                    c["source"], c["quote"].strip(), c.get("stance", "supports"), c.get("note")
                )
                for c in raw["citations"]
            ),
            actors=tuple(EventActor(a["actor"], a["role"]) for a in raw.get("actors") or ()),
            countries=tuple(raw.get("countries") or ()),
            location=Location(loc["name"], loc.get("latitude"), loc.get("longitude"))
            if loc
            else None,
            tags=tuple(raw.get("tags") or ()),
            related=tuple(Relation(r["event"], r["type"]) for r in raw.get("related") or ()),
            notes=raw.get("notes"),
        )

    @property
    def claimants(self) -> tuple[str, ...]:
        return tuple(a.actor for a in self.actors if a.role == "claimant")


@dataclass
class Dataset:
    """Everything in one ``events.yaml``, in file order."""

    sources: list[Source] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def actor(self, actor_id: str) -> Actor:
        return next(a for a in self.actors if a.id == actor_id)
