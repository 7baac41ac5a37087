"""The declarative description of ``events.yaml``: sections, fields, rules, vocabularies.

Each field is declared once, here: its type, whether it is required, its
vocabulary or code list, bounds, what it refers to, its description, its SQL
column, index and facet, whether the CSV export carries it, and (by the order
of declaration) its place in the canonical layout. Cross-field rules are
declared as data too. Everything else is derived from these declarations:

* the validator (``validate.py``) checks records against them;
* the JSON Schema for editors (``jsonschema.py``);
* the SQLite tables, their column types, indexes and facets (``build.py``);
* the column descriptions and facets of ``datasette-metadata.json`` and the
  README's field table (``generated.py``, written by ``timeline schema``);
* the canonical layout (``layout.py``) and the CSV export (``export.py``).

Adding a field means adding a ``Field`` here (and, where it is displayed, a
template); ``timeline schema`` then rewrites the generated files, and the tests
fail until they are current.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pycountry

SECTIONS = ("sources", "actors", "systems", "events")
OPTIONAL_SECTIONS = ("systems",)  # a file may leave it out

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
# Relations to an earlier event: the event named begins no later than the one naming it ends.
ORDERED_RELATIONS = ("follows", "responds_to")
# The relations the checks across events read: loops and order.
CHECKED_RELATIONS = tuple(dict.fromkeys(ACYCLIC_RELATIONS + ORDERED_RELATIONS))

SYSTEM_KINDS: dict[str, str] = {
    "combat-drone": "an armed unmanned aircraft",
    "drone": "an unarmed or loitering unmanned aircraft",
    "corvette": "a corvette or other surface warship",
    "aero-engine": "an engine for aircraft or drones",
    "munition": "a missile, bomb or other munition",
    "air-defence-system": "a surface-to-air missile or air-defence system",
    "armoured-vehicle": "an armoured vehicle",
    "aircraft": "a crewed aircraft or helicopter",
    "other": "any other weapon system or military equipment",
}
SYSTEM_ACTIONS: dict[str, str] = {
    "plan": "an intention or planned purchase that no contract has sealed",
    "pledge": "a commitment to give or sell that has not been carried out",
    "order": "a signed contract or firm order",
    "delivery": "handed over or arriving, as the source says it happened",
    "running-total": "a cumulative figure delivered or held, as of a date or over an interval "
    "(as_of)",
    "production": "made, assembled or licensed for production",
    "keel-laying": "a ship's keel laid: its building begins",
    "launch": "a ship launched (floated out)",
    "test": "a test or first flight",
    "use": "used in combat",
    "loss": "lost, destroyed or shot down",
    "mention": "named by the event without a transfer",
}
QUANTITY_QUALIFIERS: dict[str, str] = {
    "exact": "the number as the source states it",
    "approximate": "about that many (the source says about, some, nearly)",
    "at-least": "that many or more (the source says at least, more than)",
    "up-to": "that many or fewer (the source says up to)",
}
# The words the site puts before a number of each qualifier: "about 50", "at least 6"
# (``timeline.figures``; a test checks that every qualifier has its words).
QUALIFIER_WORDS: dict[str, str] = {
    "exact": "",
    "approximate": "about",
    "at-least": "at least",
    "up-to": "up to",
}
DEALS: dict[str, str] = {
    "sale": "bought and paid for",
    "aid": "given as military or financial aid, or paid for by a grant",
    "donation": "donated (e.g. by a company or bought by crowdfunding)",
    "licensed-production": "made under licence",
    "joint-production": "made jointly by the two sides",
}
# The steps of a deal the transfers register lists, in the order a deal goes through them.
TRANSFER_ACTIONS = ("plan", "pledge", "order", "delivery", "running-total")
# The only steps the register's totals add up: a signed order and a delivery that happened.
# A plan is not an order, a pledge is not a delivery, and a running total restates
# deliveries already counted (or not yet recorded): they are listed beside the totals.
COUNTED_ACTIONS = ("order", "delivery")

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
WIKIDATA_QID = r"^Q[1-9][0-9]*$"
URL = r"^https?://\S+$"

# Sections with a table of their own and the table's name.
SECTION_TABLE = {"sources": "sources", "actors": "actors", "systems": "systems", "events": "events"}
SECTION_DOCS = {
    "sources": "Every source cited, with its publication date at its real precision and its "
    "track record: how many citations support or contradict the record.",
    "actors": "States, government bodies, armed forces, companies, people and organisations.",
    "systems": "Weapon systems the events order, deliver, make, use or lose: drones, "
    "corvettes, engines, munitions. Click one for its events.",
    "events": "One row per dated event. Click an event for its actors, roles, citations and "
    "related events.",
}


def matches(pattern: str, value: str) -> bool:
    """Whole-value match of a field pattern.

    The patterns keep ``^…$`` for the JSON Schema, but in Python ``$`` also matches
    before a final newline, so ``re.match`` would let ``"baykar\\n"`` pass as a slug.
    """
    return _whole(pattern).fullmatch(value) is not None


@functools.cache
def _whole(pattern: str) -> re.Pattern:
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


@dataclass(frozen=True)
class Field:
    """One key of a record, declared once.

    ``type``: "str", "date", "number", "integer", "map", "list[str]", "list[map]".
    ``codes``: an ISO code list the value comes from ("country", "language", "currency").
    ``refers_to``: the section whose ids the value names.
    ``column``: stored as a column of the record's table under the same name (lists
    as JSON arrays); False for what lives in a table of its own.
    ``facet``: "column" or "array" (JSON array) facet of the table page; faceted
    columns are indexed. ``index``: indexed without a facet.
    ``export``: a column of the flat CSV export.
    ``flow``: written inline in the canonical layout (``[TR, UA]``, ``{actor: x, role: y}``).
    """

    type: str
    required: bool = False
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    item: str | None = None  # record name of list items / mapping values
    doc: str = ""
    codes: str | None = None
    bounds: tuple[float, float] | None = None
    refers_to: str | None = None
    column: bool = True
    facet: str | None = None
    index: bool = False
    export: bool = True
    flow: bool = False
    one_line: bool = False  # runs of whitespace (a folded line break) read as one space
    trim: bool = False  # whitespace around the value is not part of it
    default: object = None  # the value when the key is left out


@dataclass(frozen=True)
class Requires:
    """Within one record: when ``when`` is present (and, if ``values`` is given, one of
    them), ``field`` must be present too."""

    field: str
    when: str
    values: tuple[str, ...] = ()
    message: str = ""
    hint: str = ""


@dataclass(frozen=True)
class ListContains:
    """Within one record: when ``when`` is one of ``values``, the list ``field`` holds an
    entry whose ``key`` is ``value``."""

    field: str
    key: str
    value: str
    when: str
    values: tuple[str, ...]
    message: str = ""
    hint: str = ""


@dataclass(frozen=True)
class OnlyWhen:
    """Within one record: ``field`` may be present only when ``when`` is one of ``values``."""

    field: str
    when: str
    values: tuple[str, ...]
    message: str = ""
    hint: str = ""


@dataclass(frozen=True)
class CitedOnEvent:
    """The source named by ``field`` of an event's entry is one the event cites."""

    field: str
    message: str = ""
    hint: str = ""


Rule = Requires | ListContains | OnlyWhen | CitedOnEvent


def _text(doc: str = "", **kw) -> Field:
    return Field("str", doc=doc, **kw)


RECORDS: dict[str, dict[str, Field]] = {
    "source": {
        "id": _text("Stable slug of the source.", required=True, pattern=SLUG),
        "title": _text("Title of the article, page or document.", required=True, one_line=True),
        "publisher": _text("Outlet or body that published it.", required=True, facet="column",
                           one_line=True),
        "author": _text("Author, when the source names one."),
        "url": _text("Where the source can be read.", pattern=URL),
        "published": Field("date", True, doc="Publication date at its real precision."),
        "kind": _text("What kind of source it is.", required=True, choices=SOURCE_KINDS,
                      facet="column"),
        "language": _text("Language of the source (ISO 639-1).", required=True,
                          codes="language", facet="column"),
        "seed": _text("File name of the seed article holding the text, if any.", export=False),
        "notes": _text("How the date was established, how reliable the source is."),
    },
    "actor": {
        "id": _text("Stable slug of the actor.", required=True, pattern=SLUG),
        "name": _text("Name of the state, body, company, person or organisation.", required=True,
                      one_line=True),
        "kind": _text("What kind of actor it is.", required=True, choices=ACTOR_KINDS,
                      facet="column"),
        "country": _text("Country (ISO 3166-1 alpha-2).", codes="country", facet="column"),
        "aliases": Field("list[str]", doc="Other names for the actor (JSON array).", flow=True),
        "wikidata": _text("Wikidata id (Q…), only when certain.", pattern=WIKIDATA_QID),
        "notes": _text("Notes on the actor."),
    },
    "system": {
        "id": _text("Stable slug of the weapon system.", required=True, pattern=SLUG),
        "name": _text("Name of the system, hull or model.", required=True, one_line=True),
        "kind": _text("What kind of system it is.", required=True, choices=tuple(SYSTEM_KINDS),
                      facet="column"),
        "maker": _text("The actor that makes it.", refers_to="actors", facet="column"),
        "country": _text("Country of origin (ISO 3166-1 alpha-2).", codes="country",
                         facet="column"),
        "aliases": Field("list[str]", doc="Other names and designations (JSON array).", flow=True),
        "wikidata": _text("Wikidata id (Q…), only when certain.", pattern=WIKIDATA_QID),
        "notes": _text("Notes on the system: variants, what the sources disagree on."),
    },
    "event": {
        "id": _text("Stable identifier (slug) of the event; used in its URL.", required=True,
                    pattern=SLUG),
        "date": Field("date", True, doc="The date as curated, at the precision the evidence "
                      "supports."),
        "title": _text("Short headline.", required=True, one_line=True),
        "summary": _text("One to three sentences in our own words.", required=True,
                         one_line=True),
        "type": _text("What kind of event it is.", required=True, choices=tuple(EVENT_TYPES),
                      facet="column"),
        "status": _text("Whether the event is established or a claim.", required=True,
                        choices=tuple(STATUSES), facet="column"),
        "actors": Field("list[map]", item="event_actor", column=False, export=False,
                        doc="The actors involved and their roles.", flow=True),
        "countries": Field("list[str]", codes="country", facet="array", flow=True,
                           doc="Countries involved (ISO 3166-1 alpha-2; JSON array)."),
        "location": Field("map", item="location", column=False, export=False, flow=True,
                          doc="Where it happened."),
        "tags": Field("list[str]", pattern=SLUG, facet="array", flow=True,
                      doc="Topics (JSON array of slugs)."),
        "systems": Field("list[map]", item="event_system", column=False, export=False,
                         doc="Weapon systems the event orders, delivers, makes, uses or loses, "
                         "with quantities and values as a source states them.", flow=True),
        "citations": Field("list[map]", True, item="citation", column=False, export=False,
                           doc="Sources with a short verbatim quote each."),
        "related": Field("list[map]", item="relation", column=False, export=False, flow=True,
                         doc="Other events this one follows, responds to, is part of or "
                         "contradicts."),
        "notes": _text("Discrepancies, context, what is uncertain; why no day is given."),
    },
    "event_actor": {
        "actor": _text("The actor.", required=True, refers_to="actors"),
        "role": _text("Its role in the event.", required=True, choices=tuple(ROLES),
                      facet="column"),
    },
    "location": {
        "name": _text("Place name.", required=True),
        "latitude": Field("number", doc="Latitude in degrees.", bounds=(-90, 90)),
        "longitude": Field("number", doc="Longitude in degrees.", bounds=(-180, 180)),
    },
    "event_system": {
        "system": _text("The weapon system.", required=True, refers_to="systems",
                        facet="column"),
        "action": _text("What the event does with it.", required=True,
                        choices=tuple(SYSTEM_ACTIONS), facet="column"),
        "quantity": Field("integer", doc="How many, only as a source states it.",
                          bounds=(0, 1_000_000)),
        "quantity_qualifier": _text("How the source states the number.",
                                    choices=tuple(QUANTITY_QUALIFIERS)),
        "value": Field("number", doc="Value as reported, in the source's currency.",
                       bounds=(0, 1e13)),
        "currency": _text("Currency of the value (ISO 4217).", codes="currency"),
        "deal": _text("Sale, aid, donation or production arrangement.", choices=tuple(DEALS),
                      facet="column"),
        "deal_id": _text("The deal this step belongs to: one slug shared by the plan, pledge, "
                         "order, deliveries and running totals of one deal.", pattern=SLUG,
                         facet="column"),
        "as_of": Field("date", doc="For a running total: the date or interval the figure "
                       "covers ('2022-06-28', '2022-02-24/2022-06-28')."),
        "supplier": _text("Who supplies it (default: the event's supplier or manufacturer).",
                          refers_to="actors", facet="column"),
        "recipient": _text("Who receives it (default: the event's buyer or recipient).",
                           refers_to="actors", facet="column"),
        "source": _text("The cited source that states the quantity.", refers_to="sources"),
        "value_source": _text("The cited source that states the value.", refers_to="sources"),
        "note": _text("What the sources say about the number, and how they differ."),
    },
    "citation": {
        "source": _text("The source.", required=True, refers_to="sources", facet="column"),
        "quote": _text("Short verbatim quote from the source.", required=True, trim=True),
        "translation": _text("Our English translation of a quote in another language."),
        "stance": _text("supports (default) or contradicts the event as recorded.",
                        choices=STANCES, facet="column", default="supports"),
        "note": _text("For a contradicting citation: what it claims and why the record differs."),
    },
    "relation": {
        "event": _text("The other event.", required=True, refers_to="events"),
        "type": _text("How this event relates to it.", required=True,
                      choices=tuple(RELATION_TYPES), facet="column"),
    },
}  # fmt: skip

RULES: dict[str, tuple[Rule, ...]] = {
    "location": (
        Requires("longitude", "latitude", message="latitude and longitude go together",
                 hint="give both or neither"),
        Requires("latitude", "longitude", message="latitude and longitude go together",
                 hint="give both or neither"),
    ),
    "citation": (
        Requires("note", "stance", ("contradicts",),
                 message="a contradicting citation needs a note",
                 hint="say in note: what the source claims and why the record differs"),
    ),
    "event": (
        ListContains("actors", "role", "claimant", "status", CLAIM_STATUSES,
                     message="a {value} event must name who makes the claim",
                     hint="add an actor with role: claimant"),
    ),
    "event_system": (
        Requires("source", "quantity", message="a quantity needs the source that states it",
                 hint="add source: the id of the cited source giving the number"),
        Requires("value_source", "value", message="a value needs the source that states it",
                 hint="add value_source: the id of the cited source giving the value"),
        Requires("currency", "value", message="a value needs its currency",
                 hint="add currency: an ISO 4217 code such as USD, EUR or TRY"),
        Requires("quantity", "quantity_qualifier", message="a qualifier needs a quantity",
                 hint="give the quantity, or remove quantity_qualifier"),
        Requires("deal_id", "action", TRANSFER_ACTIONS,
                 message="each step of a deal (plan, pledge, order, delivery, running total) "
                 "names its deal",
                 hint="add deal_id: a slug shared by every step of the deal, e.g. "
                 "tb2-ukraine-2019"),
        Requires("as_of", "action", ("running-total",),
                 message="a running total needs the date or interval it covers",
                 hint="add as_of: the date the figure stands at, or the interval it counts"),
        OnlyWhen("as_of", "action", ("running-total",),
                 message="as_of belongs to a running total only",
                 hint="remove as_of, or make the action running-total"),
        CitedOnEvent("source", message="the source of a quantity must be cited by this event",
                     hint="add a citation of that source with the quote that gives the number"),
        CitedOnEvent("value_source", message="the source of a value must be cited by this "
                     "event", hint="add a citation of that source with the quote that gives "
                     "the value"),
    ),
}  # fmt: skip

SECTION_RECORD = {"sources": "source", "actors": "actor", "systems": "system", "events": "event"}
TABLE_RECORD = {SECTION_TABLE[s]: record for s, record in SECTION_RECORD.items()}


@dataclass(frozen=True)
class CodeList:
    """An ISO code list a field can take its values from (``Field.codes``)."""

    standard: str  # "ISO 3166-1 alpha-2"
    description: str  # "an ISO 3166-1 alpha-2 country code"
    example: str  # how to write one, for hints
    database: str  # the pycountry database holding the codes
    attribute: str  # the code's attribute there
    upper: bool  # written in capitals (TR, USD) or lower case (en)

    def codes(self) -> list[str]:
        return sorted(
            getattr(item, self.attribute)
            for item in getattr(pycountry, self.database)
            if hasattr(item, self.attribute)
        )

    def has(self, code: str) -> bool:
        """Whether ``code`` is one of the list's codes, as written there (cased)."""
        return code in self._known

    @functools.cached_property
    def _known(self) -> frozenset[str]:
        # a set, not pycountry's lookup per value: the validator asks once per code written
        return frozenset(self.codes())

    def name(self, code: str) -> str | None:
        """What the code stands for, in English ('TR' -> 'Türkiye'); None for an unknown code.
        The site names countries, languages and currencies with this, and only this."""
        found = getattr(pycountry, self.database).get(**{self.attribute: code})
        return (getattr(found, "common_name", None) or found.name) if found else None


CODE_LISTS = {
    "country": CodeList("ISO 3166-1 alpha-2", "an ISO 3166-1 alpha-2 country code",
                        "ISO 3166-1 alpha-2 codes such as TR, UA, RU", "countries", "alpha_2",
                        upper=True),
    "language": CodeList("ISO 639-1", "an ISO 639-1 language code",
                         "ISO 639-1 codes, e.g. en, tr, uk, ru", "languages", "alpha_2",
                         upper=False),
    "currency": CodeList("ISO 4217", "an ISO 4217 currency code",
                         "ISO 4217 codes such as USD, EUR, TRY, UAH", "currencies", "alpha_3",
                         upper=True),
}  # fmt: skip


def plain_number(value: float) -> str:
    """A bound as people write it: 1000000 rather than 1e+06, 0.5 as 0.5."""
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Column:
    """A column computed by the build (not a field of the YAML), declared with its
    description; ``after`` is the field it follows in the table."""

    name: str
    type: str  # "text", "integer", "real"
    doc: str
    after: str | None = None
    not_null: bool = False
    facet: str | None = None
    index: bool = False
    export: bool = False


# Tables the build derives from the list columns of events (facet="array"): each value
# as a row, and each value's count over all events, for indexed list facets and filters.
LIST_TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "event_list_values": (
        "Each value of each list column of an event (actors, countries, tags, systems), "
        "one row per value.",
        (Column("event_id", "text", "The event.", not_null=True),
         Column("list", "text", "The events column the value belongs to.", not_null=True),
         Column("value", "text", "One value of that list.", not_null=True)),
    ),
    "event_list_counts": (
        "How many events hold each value of each list column.",
        (Column("list", "text", "The events column.", not_null=True),
         Column("value", "text", "One value of that list.", not_null=True),
         Column("count", "integer", "Number of events holding it.", not_null=True)),
    ),
}  # fmt: skip


# Every name a reader may call an actor or a system by: its id, its name and each alias,
# folded (timeline.filters.fold), so the site's filters find "Baykar Makina" as baykar.
NAME_TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "record_names": (
        "Every name of each actor and weapon system (id, name, aliases), folded to lower "
        "case, for the actor and system filters.",
        (Column("kind", "text", "actor or system.", not_null=True),
         Column("id", "text", "The actor's or system's id.", not_null=True),
         Column("name", "text", "One of its names, folded.", not_null=True)),
    ),
}  # fmt: skip


# What the edit history knew of every event ever committed, after the last commit it read:
# the next build reads only newer commits (``timeline.provenance``).
HISTORY_TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "edit_history": (
        "When each event ever committed was first added and last changed, with its content "
        "fingerprint, as of the commit in build_info's history_commit.",
        (Column("event_id", "text", "The event (it may since have been removed).", not_null=True),
         Column("first_added", "text", "Commit time of the first version holding it."),
         Column("added_in", "text", "That commit."),
         Column("last_changed", "text", "Commit time of the last change to its content."),
         Column("changed_in", "text", "That commit."),
         Column("fingerprint", "text", "SHA-1 of its content in that commit.")),
    ),
}  # fmt: skip


DERIVED: dict[str, tuple[Column, ...]] = {
    "sources": (
        Column("published_label", "text", "The publication date in words.", after="published"),
        Column("published_start", "text", "First day the publication date covers.",
               after="published", index=True),
        Column("published_precision", "text", "Precision of the publication date.",
               after="published"),
        Column("citation_count", "integer", "How many citations quote this source."),
        Column("contradicted_count", "integer",
               "How many of its citations the record contradicts: cited against a confirmed "
               "event, kept with the reason."),
        Column("against_claim_count", "integer",
               "How many of its citations are evidence against a claim the record does not "
               "establish (reported, disputed or refuted): the source contradicted the claim."),
    ),
    "actors": (
        Column("event_count", "integer", "Number of events the actor takes part in."),
    ),
    "systems": (
        Column("maker_name", "text", "Name of the maker.", after="maker"),
        Column("event_count", "integer", "Number of events that refer to the system."),
    ),
    "events": (
        Column("date_label", "text", "The date in words at its real precision: '2019', "
               "'April 2021', 'c. April 2021'.", after="date", export=True),
        Column("date_start", "text", "First day the date could cover (ISO). For '2019' this "
               "is 2019-01-01: a bound, not a day.", after="date", not_null=True, index=True,
               export=True),
        Column("date_end", "text", "Last day the date could cover (ISO).", after="date",
               not_null=True, index=True, export=True),
        Column("precision", "text", "How precisely the date is known: year, month or day.",
               after="date", not_null=True, facet="column", export=True),
        Column("approximate", "integer", "1 when the date is approximate (c. / ~).",
               after="date", export=True),
        Column("uncertain", "integer", "1 when the date is uncertain (?).", after="date",
               export=True),
        Column("year", "integer", "Year of the (start of the) date.", after="date",
               not_null=True, facet="column", export=True),
        Column("month", "integer", "Month of the date; empty when only the year is known.",
               after="date", export=True),
        # Indexed with the id that breaks its ties (derive.COMPOSITE_INDEXES).
        Column("sort_key", "text", "Chronological sort key: a year-only event heads its year.",
               after="date", not_null=True),
        Column("actors", "text", "Names of the actors involved (JSON array).", after="status",
               facet="array"),
        Column("systems", "text", "Names of the weapon systems involved (JSON array).",
               after="tags", facet="array"),
        Column("system_kinds", "text", "Kinds of the weapon systems involved (JSON array).",
               after="tags", facet="array"),
        Column("location", "text", "Where it happened.", after="tags", export=True),
        Column("latitude", "real", "Latitude of the place.", after="tags", export=True),
        Column("longitude", "real", "Longitude of the place.", after="tags", export=True),
        Column("citation_count", "integer", "Number of citations."),
        Column("source_count", "integer", "Number of distinct sources cited."),
        Column("summary_repeats_quote", "integer", "1 when the summary repeats one of the "
               "event's quotes word for word (a summary is in our words: validate warns)."),
        Column("quotes", "text", "All quotes of the event, for full-text search."),
        Column("first_added", "text", "When the event was first committed to the dataset "
               "(from git).", index=True, export=True),
        Column("last_changed", "text", "When the event last changed (from git).",
               export=True),
    ),
}  # fmt: skip

SQL_TYPES = {"str": "text", "date": "text", "number": "real", "integer": "integer",
             "list[str]": "text"}  # fmt: skip


@functools.cache
def table_columns(table: str) -> tuple[Column, ...]:
    """The columns of a section's table, in order: each stored field, followed by the
    columns derived from it; derived columns that follow no field come last. (Cached:
    the build asks once per row.)"""
    record = TABLE_RECORD[table]
    derived = DERIVED.get(table, ())
    out: list[Column] = []
    for name, fld in RECORDS[record].items():
        if fld.column:
            out.append(
                Column(name, SQL_TYPES[fld.type], fld.doc, not_null=fld.required,
                       facet=fld.facet, index=fld.index, export=fld.export)
            )  # fmt: skip
        out += [c for c in derived if c.after == name]
    return (*out, *(c for c in derived if c.after is None))


@dataclass(frozen=True)
class LinkTable:
    """A table of one kind of entry of an event (its actors, citations, relations, systems).

    Its columns: ``event_id``, ``position`` (order in the event) when ``positioned``, then
    the entry record's fields; a field that refers to a section is stored as ``<name>_id``
    unless ``rename`` names its column.
    """

    record: str
    field: str  # the event field that holds the entries
    doc: str
    positioned: bool = False
    rename: tuple[tuple[str, str], ...] = ()


LINK_TABLES: dict[str, LinkTable] = {
    "event_actors": LinkTable("event_actor", "actors", "Who took part in each event, and how."),
    "citations": LinkTable("citation", "citations", "Every citation: a source and a verbatim "
                           "quote, in the event's order.", positioned=True),
    "event_relations": LinkTable("relation", "related", "How events relate to each other.",
                                 rename=(("event", "related_id"), ("type", "relation"))),
    "event_systems": LinkTable("event_system", "systems", "The weapon systems each event "
                               "refers to, with quantities and values as the sources state them.",
                               positioned=True),
}  # fmt: skip


def column_codes(table: str, column: str) -> CodeList | None:
    """The ISO code list a column of a section's or link table takes its values from."""
    record = TABLE_RECORD.get(table) or (LINK_TABLES[table].record if table in LINK_TABLES else "")
    fld = RECORDS.get(record, {}).get(column)
    return CODE_LISTS[fld.codes] if fld and fld.codes else None


def column_name(table: str, field: str) -> str:
    """The column a field of a link table's record is stored in."""
    link = LINK_TABLES[table]
    renamed = dict(link.rename)
    if field in renamed:
        return renamed[field]
    return f"{field}_id" if RECORDS[link.record][field].refers_to else field


def link_columns(table: str) -> list[Column]:
    link = LINK_TABLES[table]
    out = [Column("event_id", "text", "The event.", not_null=True, index=True)]
    if link.positioned:
        out = [Column("id", "text", "Event id and position: <event>/<n>.", not_null=True),
               *out, Column("position", "integer", "Order within the event, from 1.",
                            not_null=True)]  # fmt: skip
    for name, fld in RECORDS[link.record].items():
        out.append(
            Column(column_name(table, name), SQL_TYPES[fld.type], fld.doc, not_null=fld.required,
                   facet=fld.facet, index=bool(fld.refers_to) or fld.index)
        )  # fmt: skip
        if fld.type == "date":
            out.append(Column(f"{name}_label", "text", f"The {name} date in words."))
    return out


def declared_columns(table: str) -> tuple[Column, ...]:
    """The columns of a section's table or of a link table, in order."""
    if table in LINK_TABLES:
        return tuple(link_columns(table))
    return table_columns(table)


def link_primary_key(table: str) -> tuple[str, ...]:
    link = LINK_TABLES[table]
    if link.positioned:
        return ("id",)
    return ("event_id", *(column_name(table, n) for n, f in RECORDS[link.record].items()
                          if f.required))  # fmt: skip
