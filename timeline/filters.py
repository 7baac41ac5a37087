"""Which events a reader asked for: the site's filters, defined once.

Every place that narrows the events by a reader's words reads these definitions:
``/timeline``, the Atom feed and the calendar (their SQL is generated from here into
``datasette-metadata.json`` by ``timeline schema``), the filtered download and
``timeline export``. A filter's condition is SQL over ``events e`` whose parameter is
the reader's text as written (``:actor``, ``:from``…), so a canned query and a page
that builds its SQL in Python apply the same words the same way:

* ``actor`` and ``system``: an id, a name or an alias, in any case (``baykar``,
  ``Baykar``, ``Baykar Makina``); words that name several actors mean any of them;
* ``type``, ``place``; ``tag``; ``country`` (an ISO 3166-1 alpha-2 code, any case);
* ``source``: the events that cite a source (by its id);
* ``status``: one or several, comma-separated (``disputed,refuted``);
* ``from`` and ``to``: any date ``events.yaml`` accepts; an event is kept when the span of
  days its date covers overlaps the range, so "2019" is kept by ``from=2019-06``.

``problems`` says what is wrong with a reader's values (an unknown type or status, an
unreadable date, a country code that is none), and ``unknown`` which names a page does not
take (``actors=`` for ``actor=``), so that each consumer can refuse them instead of
silently showing everything or nothing.

>>> where({"type": "visit", "from": "2021"})
'e.type = trim(:type) and e.date_end >= timeline_date_start(:from)'
>>> problems({"type": "vist", "status": "confirmed,rumour", "from": "soon"})[0]
"type 'vist' is not an event type: use one of treaty, agreement, contract, ..."
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from . import schema
from .dates import DateError, parse_date


def fold(text: object) -> str | None:
    """A name as the filters compare it: case-folded, without accents, trimmed, so that
    "TÜRKİYE", "Türkiye" and "turkiye" are one name, and "Erdogan" finds "Erdoğan".

    >>> fold(" TÜRKİYE "), fold("Erdoğan")
    ('turkiye', 'erdogan')
    """
    if not isinstance(text, str):
        return None
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare).strip()


def words(text: object) -> str:
    """The comma-separated values of a filter, as a JSON array: 'a, b,,a' -> ["a", "b"]."""
    values = [w.strip() for w in str(text or "").split(",")]
    return json.dumps(list(dict.fromkeys(w for w in values if w)))


def date_bound(text: object, *, end: bool) -> str | None:
    """The first (or, with ``end``, the last) day a date covers, ISO; None when the text
    is not a date ``events.yaml`` accepts.

    >>> date_bound("April 2021", end=True)
    '2021-04-30'
    """
    if not isinstance(text, str | int) or not str(text).strip():
        return None
    try:
        parsed = parse_date(text)
    except DateError:
        return None
    return (parsed.end if end else parsed.start).isoformat()


# The SQL functions the conditions call, registered on every connection that reads them
# (Datasette's through plugins/sql_functions.py, the build's and the exporter's).
SQL_FUNCTIONS: dict[str, Callable] = {
    "timeline_fold": fold,
    "timeline_words": words,
    "timeline_date_start": lambda text: date_bound(text, end=False),
    "timeline_date_end": lambda text: date_bound(text, end=True),
}


def register_functions(conn) -> None:
    for name, function in SQL_FUNCTIONS.items():
        conn.create_function(name, 1, function, deterministic=True)


def named_ids(kind: str, parameter: str) -> str:
    """The ids of the actors (or systems) a reader's word names (``record_names``)."""
    return (f"select n.id from record_names n where n.kind = '{kind}'"
            f" and n.name = timeline_fold(:{parameter})")  # fmt: skip


def _listed(list_name: str, value: str) -> str:
    return (f"e.id in (select v.event_id from event_list_values v"
            f" where v.list = '{list_name}' and v.value = {value})")  # fmt: skip


@dataclass(frozen=True)
class Filter:
    """One filter: its query-string name, how a page names it, its SQL over ``events e``
    and how to write a value (for messages)."""

    name: str
    label: str
    condition: str
    how: str


FILTERS: dict[str, Filter] = {
    f.name: f
    for f in (
        Filter("actor", "actor",
               "e.id in (select ea.event_id from event_actors ea where ea.actor_id in "
               f"({named_ids('actor', 'actor')}))", "an actor's id, name or alias"),
        Filter("system", "system",
               "e.id in (select es.event_id from event_systems es where es.system_id in "
               f"({named_ids('system', 'system')}))", "a weapon system's id, name or alias"),
        Filter("type", "type", "e.type = trim(:type)", "an event type"),
        Filter("tag", "tag", _listed("tags", "trim(:tag)"), "a tag"),
        Filter("country", "country", _listed("countries", "upper(trim(:country))"),
               "an ISO 3166-1 alpha-2 country code such as TR or UA"),
        Filter("place", "place", "e.location = trim(:place)", "a place name"),
        Filter("source", "source",
               "e.id in (select c.event_id from citations c where c.source_id = trim(:source))",
               "a source's id"),
        Filter("status", "status",
               "e.status in (select value from json_each(timeline_words(:status)))",
               "one or several statuses, comma-separated"),
        Filter("from", "from", "e.date_end >= timeline_date_start(:from)",
               "a year (2019), a month (2021-04 or April 2021) or a day (2021-04-15)"),
        Filter("to", "to", "e.date_start <= timeline_date_end(:to)",
               "a year (2019), a month (2021-04 or April 2021) or a day (2021-04-15)"),
    )
}  # fmt: skip
NAMES = tuple(FILTERS)


def chosen(args: Mapping) -> dict[str, str]:
    """The filters' values from a query string (a mapping of lists, or of strings), each
    trimmed; a filter given several times (status=a&status=b) joins its values."""
    out = {}
    for name in NAMES:
        raw = args.getlist(name) if hasattr(args, "getlist") else args.get(name)
        values = raw if isinstance(raw, list | tuple) else [raw]
        out[name] = ",".join(str(v).strip() for v in values if v is not None and str(v).strip())
    return out


def active(values: Mapping[str, str]) -> dict[str, str]:
    return {name: values[name] for name in NAMES if values.get(name)}


def where(values: Mapping[str, str], *, skip: tuple[str, ...] = ()) -> str:
    """The conditions of the filters that are set (in the order of FILTERS), joined."""
    conditions = [FILTERS[n].condition for n in active(values) if n not in skip]
    return " and ".join(conditions) or "1"


def where_any() -> str:
    """All conditions, each switched off by an empty value: for a canned query, whose
    SQL is fixed text (``:type = '' or …``)."""
    return "\n  and ".join(f"(:{n} = '' or {f.condition})" for n, f in FILTERS.items())


def parameters(values: Mapping[str, str]) -> dict[str, str]:
    """Every filter's parameter, '' for the ones not set."""
    return {name: values.get(name) or "" for name in NAMES}


def problems(values: Mapping[str, str], called: Mapping[str, str] | None = None) -> list[str]:
    """What a reader's values say that no event could mean, one message each, naming
    each filter as ``called`` does (a command's option names), else by its own name."""
    out = []
    for name, value in active(values).items():
        message = _problem(name, value)
        if message:
            out.append(f"{(called or {}).get(name, name)} {value!r} {message}")
    return out or crossed(values, called)


def crossed(values: Mapping[str, str], called: Mapping[str, str] | None = None) -> list[str]:
    """The range's ends the wrong way round: ``from`` starting after the day ``to`` ends
    (no event can fall in it; an empty list would not say why).

    >>> crossed({"from": "2022", "to": "2019-06"})
    ["from '2022' starts after to '2019-06' ends: no event can fall between them"]
    """
    start, end = date_bound(values.get("from"), end=False), date_bound(values.get("to"), end=True)
    if not (start and end and start > end):
        return []
    name = {n: (called or {}).get(n, n) for n in ("from", "to")}
    return [f"{name['from']} {values['from']!r} starts after {name['to']} {values['to']!r} ends:"
            " no event can fall between them"]  # fmt: skip


# The filters whose value names a record the database must hold (by id, name or alias for
# an actor or a system; by id for a source): a value that names none keeps no event, and
# the reader is told why rather than shown an empty list as if no event matched.
NAMED = {
    "actor": ("actor", named_ids("actor", "actor")),
    "system": ("weapon system", named_ids("system", "system")),
    "source": ("source", "select s.id from sources s where s.id = trim(:source)"),
}


def naming_query(values: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """One query asking, for each set filter that names a record, whether a record has that
    name (a row of 1s and 0s, a column per filter), with its parameters; None when no such
    filter is set."""
    named = [name for name in NAMED if values.get(name)]
    if not named:
        return None
    columns = ", ".join(f"exists ({NAMED[name][1]}) as [{name}]" for name in named)
    return f"select {columns}", {name: values[name] for name in named}


def nameless(values: Mapping[str, str], found: Mapping[str, int] | None) -> list[str]:
    """What is wrong with each filter the row of ``naming_query`` says names no record: it
    would keep no event, and the reader is told so instead of shown an empty list."""
    if found is None:
        return []
    return [f"{name} {values[name]!r} names no {NAMED[name][0]}: use {FILTERS[name].how}"
            for name in NAMED if values.get(name) and not found[name]]  # fmt: skip


def said(messages: Iterable[str]) -> str:
    """Messages as one sentence (a message may end with its own full stop)."""
    text = "; ".join(messages)
    return text if text.endswith(".") else f"{text}."


# What other sites add to a link to this one (a campaign's tags, a click's id): a shared
# address still opens, though it names no filter.
LINK_TRACKING = re.compile(r"utm_\w+|fbclid|gclid|msclkid")


def unknown(names: Iterable[str], known: Iterable[str] = NAMES) -> list[str]:
    """What is wrong with each parameter name a page does not take (``known``: the page's
    filters and other parameters), one message each. A name with a leading ``_`` is
    Datasette's own (``_trace``) and left to it, as are LINK_TRACKING's.

    >>> unknown(["actors", "type", "_trace"], known=["actor", "type"])
    ["'actors' is not one of this page's parameters (did you mean 'actor'?); it takes actor, type"]
    """
    known = tuple(known)
    out = []
    for name in dict.fromkeys(names):
        if name in known or name.startswith("_") or LINK_TRACKING.fullmatch(name):
            continue
        near = difflib.get_close_matches(name, known, n=1)
        guess = f" (did you mean {near[0]!r}?)" if near else ""
        out.append(f"{name[:40]!r} is not one of this page's parameters{guess};"
                   f" it takes {', '.join(known) or 'none'}")  # fmt: skip
    return out


def _choices(vocabulary: Mapping[str, str]) -> str:
    names = list(vocabulary)
    return ", ".join(names[:3]) + ", ..." if len(names) > 3 else ", ".join(names)


def _problem(name: str, value: str) -> str | None:
    if name == "type" and value not in schema.EVENT_TYPES:
        return f"is not an event type: use one of {_choices(schema.EVENT_TYPES)}"
    if name == "status":
        unknown = [w for w in json.loads(words(value)) if w not in schema.STATUSES]
        if unknown:
            return f"is not a status: use {', '.join(schema.STATUSES)} (comma-separated)"
    if name == "country" and not schema.CODE_LISTS["country"].has(value.upper()):
        return f"is not a country: use {FILTERS[name].how}"
    if name in ("from", "to"):
        try:
            parse_date(value)
        except DateError as exc:
            return f"is not a date ({exc}): use {FILTERS[name].how}"
    return None


def _scope_branch(scope: str, parameter: str, only_if: str, limit: int) -> str:
    return f"""select distinct s.event_id, s.sort_key from scope_events s
                 join passing p on p.id = s.event_id and p.sort_key = s.sort_key
                 where {only_if} and s.scope = '{scope}'
                   and s.scope_id in ({named_ids(scope, parameter)})
                 order by s.sort_key desc, s.event_id desc limit {limit}"""


def latest_sql(columns: str, limit: int) -> str:
    """A canned query's SQL: the newest ``limit`` events that pass every filter set,
    newest first, selecting ``columns`` (over ``events e``).

    With ?actor= (or else ?system=) it reads down that actor's (or system's) own events
    in scope_events instead of every event: listing an actor in 40 % of 100,000 events
    took 60–75 ms the other way, and a rare one's few events were found at the end of a
    walk.
    """
    actor = _scope_branch("actor", "actor", ":actor != ''", limit)
    system = _scope_branch("system", "system", ":actor = '' and :system != ''", limit)
    return f"""-- generated from timeline/filters.py by `timeline schema`
with passing as not materialized (
  select * from events e
  where {where_any()}
),
picked as (
  select * from (select id, sort_key from passing where :actor = '' and :system = ''
                 order by sort_key desc, id desc limit {limit})
  union all
  select * from ({actor})
  union all
  select * from ({system})
)
select {columns}
from picked k join events e on e.id = k.id
order by k.sort_key desc, k.id desc"""
