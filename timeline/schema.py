"""The declarative description of ``events.yaml``: sections, fields and vocabularies.

The validator checks records against these specs, the README documents them
and the JSON Schema for editors is generated from them, so a field is added
in exactly one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTIONS = ("sources", "actors", "events")

EVENT_TYPES: dict[str, str] = {
    "treaty": "a treaty or convention between states, or its entry into force",
    "agreement": "an intergovernmental or corporate agreement, memorandum or framework deal",
    "contract": "a commercial contract to supply goods or services",
    "joint-venture": "a joint venture or co-production arrangement being set up",
    "purchase": "a decision or order to buy equipment",
    "delivery": "equipment handed over or arriving",
    "production": "a production or development milestone (first flight, factory, test)",
    "aid": "military, financial or humanitarian aid pledged or given",
    "visit": "an official visit by one side to the other",
    "meeting": "talks, meetings and phone calls between officials",
    "statement": "a public statement, warning, protest or stated position",
    "military-action": "a strike, battle, combat use of a weapon, annexation or blockade",
    "sanction": "a sanction, ban, suspension or other restriction",
    "ratification": "a parliament or government ratifying an agreement",
    "political-change": "a change of office, an election, a coup attempt",
    "war": "the start or end of a war",
    "mediation": "an offer or act of mediation between parties to a conflict",
}

STATUSES: dict[str, str] = {
    "confirmed": "established by the public record (official sources, several independent reports)",
    "reported": "reported by a source but not independently confirmed; the claimant is named",
    "disputed": "claimed by one party and denied or contradicted by another",
    "refuted": "a claim the public record shows to be false; kept visible with the evidence",
}
CLAIM_STATUSES = ("reported", "disputed", "refuted")

ACTOR_KINDS = (
    "state",
    "government-body",
    "armed-forces",
    "company",
    "person",
    "organisation",
    "media",
)

ROLES: dict[str, str] = {
    "supplier": "provides equipment, technology or services",
    "buyer": "buys or orders equipment",
    "manufacturer": "makes the equipment",
    "recipient": "receives a delivery or aid",
    "signatory": "signs an agreement, contract or treaty",
    "host": "hosts a visit or meeting",
    "visitor": "travels for a visit",
    "participant": "takes part in a meeting, call or event",
    "mediator": "mediates between parties",
    "speaker": "makes a statement",
    "target": "is the object of an action or statement",
    "attacker": "carries out a military action",
    "claimant": "makes the claim an event records",
    "subject": "is what the event is about (a person taking office, a company sanctioned)",
}

SOURCE_KINDS = (
    "news",
    "analysis",
    "opinion",
    "interview",
    "official-statement",
    "treaty-text",
    "reference",
)

STANCES = ("supports", "contradicts")
RELATION_TYPES: dict[str, str] = {
    "follows": "happens after and as a continuation of the other event",
    "responds_to": "is a reaction to the other event",
    "part_of": "is one step of the other, larger event",
    "contradicts": "is a claim at odds with the other event",
}

# Relations whose chains cannot loop back: an event is not part of itself, nor follows itself.
ACYCLIC_RELATIONS = ("part_of", "follows")

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
WIKIDATA_QID = r"^Q[1-9][0-9]*$"


def matches(pattern: str, value: str) -> bool:
    """Whole-value match of a field pattern.

    The patterns keep ``^…$`` for the JSON Schema, but in Python ``$`` also matches
    before a final newline, so ``re.match`` would let ``"baykar\n"`` pass as a slug.
    """
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value) is not None


@dataclass(frozen=True)
class Field:
    """One key of a record: its type, whether it is required, and its vocabulary."""

    type: str  # "str", "date", "list[str]", "list[map]", "map", "number"
    required: bool = False
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    item: str | None = None  # record name of list items / mapping values
    doc: str = ""


RECORDS: dict[str, dict[str, Field]] = {
    "source": {
        "id": Field("str", True, pattern=SLUG, doc="stable slug"),
        "title": Field("str", True),
        "publisher": Field("str", True),
        "author": Field("str"),
        "url": Field("str", pattern=r"^https?://\S+$"),
        "published": Field("date", True, doc="date at its real precision"),
        "kind": Field("str", True, choices=SOURCE_KINDS),
        "language": Field("str", True, doc="ISO 639-1 code, e.g. en"),
        "seed": Field("str", doc="file name under ../shared/seeds/ holding the article text"),
        "notes": Field("str"),
    },
    "actor": {
        "id": Field("str", True, pattern=SLUG),
        "name": Field("str", True),
        "kind": Field("str", True, choices=ACTOR_KINDS),
        "country": Field("str", doc="ISO 3166-1 alpha-2 code"),
        "aliases": Field("list[str]"),
        "wikidata": Field("str", pattern=WIKIDATA_QID, doc="Wikidata QID, only when certain"),
        "notes": Field("str"),
    },
    "event": {
        "id": Field("str", True, pattern=SLUG, doc="stable slug, never derived from the title"),
        "date": Field("date", True),
        "title": Field("str", True),
        "summary": Field("str", True, doc="our own words, one to three sentences"),
        "type": Field("str", True, choices=tuple(EVENT_TYPES)),
        "status": Field("str", True, choices=tuple(STATUSES)),
        "actors": Field("list[map]", item="event_actor"),
        "countries": Field("list[str]", doc="ISO 3166-1 alpha-2 codes"),
        "location": Field("map", item="location"),
        "tags": Field("list[str]", pattern=SLUG),
        "citations": Field("list[map]", True, item="citation"),
        "related": Field("list[map]", item="relation"),
        "notes": Field("str"),
    },
    "event_actor": {
        "actor": Field("str", True),
        "role": Field("str", True, choices=tuple(ROLES)),
    },
    "location": {
        "name": Field("str", True),
        "latitude": Field("number"),
        "longitude": Field("number"),
    },
    "citation": {
        "source": Field("str", True),
        "quote": Field("str", True, doc="short verbatim quote from the source"),
        "stance": Field("str", choices=STANCES, doc="supports (default) or contradicts"),
        "note": Field("str"),
    },
    "relation": {
        "event": Field("str", True),
        "type": Field("str", True, choices=tuple(RELATION_TYPES)),
    },
}

SECTION_RECORD = {"sources": "source", "actors": "actor", "events": "event"}
