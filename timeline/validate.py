"""Check a loaded ``events.yaml`` and report every problem with its position.

All problems are collected in one pass, so a curator fixes a file in one go.
Each problem renders as ``FILE:LINE:COL: event <id>: field: message (hint: …)``.
Only a file without errors is turned into a :class:`~timeline.model.Dataset`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pycountry

from . import schema
from .dates import DateError, ParsedDate, is_future, parse_date
from .load import (
    Document,
    LoadError,
    Mark,
    Path_,
    Piece,
    Pieces,
    decode,
    load_bytes,
    load_text,
    mapped_copy,
    paused_gc,
    raise_first_refusal,
)
from .model import Actor, Dataset, Event, Source, System, repeats_a_quote
from .places import event_place, points_by_name

# A file can hold one mistake any number of times (a list pasted twice, a misspelt key, a
# chain of relations): the first MAX_PER_KIND problems of a kind are listed, then one line,
# at the first one left out, counts the rest.
MAX_PER_KIND = 20
# A loop of relations is shown by its first and last events and its length.
LOOP_SHOWN = 6
# The parts of a message that name a value: quoted text and numbers.
_VALUES = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[0-9][0-9,.]*")


def problem_kind(message: str) -> str:
    """What problems of one kind share: the message without its values and details
    (``unknown key 'titel3'`` → ``unknown key …``)."""
    return _VALUES.sub("…", message).split(": ", 1)[0]


@dataclass(frozen=True)
class Problem:
    """One located finding; ``severity`` is ``error`` or ``warning``."""

    file: str
    line: int
    column: int
    record: str
    field: str
    message: str
    hint: str = ""
    severity: str = "error"
    omitted: int = 0  # > 0: this line stands for that many problems of its kind, not listed

    def __str__(self) -> str:
        where = ": ".join(_printable(p) for p in (self.record, self.field) if p)
        text = f"{self.file}:{self.line}:{self.column}: "
        text += f"{where}: " if where else ""
        text += self.message if self.severity == "error" else f"warning: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def unreadable(cls, path: Path, exc: OSError) -> Problem:
        """The file itself could not be read."""
        return cls(str(path), 1, 1, "", "", f"cannot read the file: {exc.strerror}")

    @classmethod
    def unloadable(cls, path: Path, exc: LoadError) -> Problem:
        """The file could not be parsed as YAML; the LoadError knows where."""
        line, column = exc.mark.line, exc.mark.column
        record = _field_name(exc.path[:2])  # e.g. events[3]
        return cls(
            str(path), line, column, record, _field_name(exc.path[2:]), exc.message, exc.hint
        )


@dataclass
class Result:
    problems: list[Problem] = field(default_factory=list)
    dataset: Dataset | None = None
    data: object = None  # the parsed YAML as plain data (the edit history fingerprints it)
    document: Document | None = None  # kept when asked for: it holds the text, or a graph
    totals: dict[str, int] | None = None  # records by section, when there is no dataset

    def counts(self) -> dict[str, int]:
        """How many records each section holds (of a file without errors)."""
        if self.totals is not None:
            return self.totals
        return {name: len(getattr(self.dataset, name)) for name in schema.SECTIONS}

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def counted(problems: Iterable[Problem], severity: str = "error") -> int:
    """How many problems of ``severity`` there are, those left out of the list included."""
    return sum(p.omitted or 1 for p in problems if p.severity == severity)


@dataclass(frozen=True)
class Unchanged:
    """What checking only the changed records of a file needs to know of the rest of it
    (``timeline.changes`` reads it from the last build's database)."""

    known: dict[str, Container[str]]  # every section's ids, the changed records' included
    others: dict[str, Container[str]]  # every section's ids outside the changed part
    titles_on: Callable[[str], Iterable[str]]  # other events' titles on a canonical date
    # their (kind, event, target) edges reachable from the given events
    acyclic_edges: Callable[[Iterable[str]], Iterable[tuple[str, str, str]]]
    # their (kind, event, target) edges of ORDERED_RELATIONS to the given events
    ordered_into: Callable[[Iterable[str]], Iterable[tuple[str, str, str]]]
    spans: Callable[[Iterable[str]], Mapping[str, Span]]  # the given events' first and last days


# An event's first and last possible day (ISO dates, which compare as the days do).
Span = tuple[str, str]


def _span(event: dict) -> Span | None:
    try:
        return span_of(parse_date(event.get("date")))
    except DateError:
        return None  # reported by the field check


def span_of(parsed: ParsedDate) -> Span:
    return parsed.start.isoformat(), parsed.end.isoformat()


# A partial check's reference errors send the caller to a full check, which suggests ids.
_NO_SUGGESTIONS: dict[str, list[str]] = defaultdict(list)


def _folded(title: str) -> str:
    """A title as compared for duplicates: case and spacing ignored."""
    return " ".join(title.casefold().split())


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """A ``did you mean …?`` hint, or a list of the allowed values when few."""
    choices = choices if isinstance(choices, list | tuple) else sorted(choices)
    if not choices:
        return ""
    # rapidfuzz's C++ matcher: a few ms against 100,000 ids, where difflib took seconds
    # (imported here: a file without a misspelling never needs it)
    from rapidfuzz import fuzz, process

    close = process.extractOne(str(word), choices, scorer=fuzz.ratio, score_cutoff=60)
    if close:
        return f"did you mean {close[0]!r}?"
    if len(choices) <= 20:
        return "expected one of: " + ", ".join(choices)
    return ""


def _field_name(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_TYPE_WORDS = {"str": "text", "date": "a date", "number": "a number", "map": "a mapping"}
_TYPE_WORDS |= {"list[str]": "a list of text values", "list[map]": "a list of mappings"}


class Validator:
    """Collects problems for one document; ``run()`` returns the Result."""

    def __init__(self, doc: Document, today: dt.date | None = None):
        self.doc = doc
        self.today = today or dt.date.today()
        self.problems: list[Problem] = []
        self.record_label = ""
        self.known: dict[str, Container[str]] = {}  # ids of each section, once they are read
        self.unchanged: Unchanged | None = None  # the rest of the file, when checking a part
        self.kinds: Counter[tuple[str, str]] = Counter()  # problems found, by severity and kind
        self.left_out: dict[tuple[str, str], Problem] = {}  # the first one not listed, by kind

    # -- reporting -------------------------------------------------------
    def report(
        self,
        path: Path_,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        severity: str = "error",
        record_depth: int = 2,
    ) -> None:
        kind = (severity, problem_kind(message))
        self.kinds[kind] += 1
        if self.kinds[kind] > MAX_PER_KIND and kind in self.left_out:
            return  # counted; its position is not even looked up
        mark: Mark = self.doc.mark(path, key=key)
        problem = Problem(
            file=str(self.doc.path),
            line=mark.line,
            column=mark.column,
            record=self.record_label,
            field=_field_name(path[record_depth:]),
            message=message,
            hint=hint,
            severity=severity,
        )
        if self.kinds[kind] > MAX_PER_KIND:
            self.left_out[kind] = problem
        else:
            self.problems.append(problem)

    def count_left_out(self) -> None:
        """One line for each kind with more than MAX_PER_KIND problems, counting the rest."""
        for kind, first in self.left_out.items():
            more = self.kinds[kind] - MAX_PER_KIND
            noun = "error" if first.severity == "error" else "warning"
            self.problems.append(
                replace(
                    first,
                    message=f"{first.message}; and {more - 1:,} more {noun}(s) like it",
                    hint=f"only the first {MAX_PER_KIND} {noun}s of each kind are listed; "
                    "fix those and validate again",
                    omitted=more,
                )
            )
        self.left_out.clear()

    # -- generic field checks ---------------------------------------------
    def check_record(self, kind: str, raw: object, path: Path_) -> bool:
        """Check one mapping against ``schema.RECORDS[kind]``; False if not a mapping."""
        spec = schema.RECORDS[kind]
        if not isinstance(raw, dict):
            self.report(path, f"expected a mapping with keys {', '.join(spec)}")
            return False
        for key in raw:
            if key not in spec:
                self.report((*path, key), f"unknown key {key!r}", did_you_mean(key, spec), key=True)
        for name, fld in spec.items():
            value = raw.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if fld.required:
                    self.report(path, f"missing required field {name!r}")
                elif name in raw:
                    self.report((*path, name), "empty value", "fill it in or remove the key")
                continue
            self.check_value(fld, value, (*path, name))
        for rule in schema.RULES.get(kind, ()):
            self.check_rule(rule, raw, path)
        return True

    def check_rule(self, rule: schema.Rule, raw: dict, path: Path_) -> None:
        """A declared cross-field rule within one record (see ``schema.RULES``)."""
        when = raw.get(rule.when) if not isinstance(rule, schema.CitedOnEvent) else None
        if isinstance(rule, schema.OnlyWhen):
            if raw.get(rule.field) is not None and when not in rule.values:
                self.report((*path, rule.field), rule.message, rule.hint)
            return
        if when is None or (rule.values and when not in rule.values):
            return
        if isinstance(rule, schema.Requires):
            broken = raw.get(rule.field) in (None, "")
        else:
            broken = not any(
                isinstance(entry, dict) and entry.get(rule.key) == rule.value
                for entry in _list(raw.get(rule.field))
            )
        if broken:
            self.report((*path, rule.when), rule.message.format(value=when), rule.hint)

    def check_value(self, fld: schema.Field, value: object, path: Path_) -> None:
        if fld.type == "str":
            self.check_text(fld, value, path)
        elif fld.type == "date":
            try:
                parse_date(value)
            except DateError as exc:
                self.report(path, f"bad date: {exc}")
        elif fld.type in ("number", "integer"):
            self.check_number(fld, value, path)
        elif fld.type == "map":
            self.check_record(fld.item, value, path)
        elif not isinstance(value, list):
            self.report(path, f"expected {_TYPE_WORDS[fld.type]}, got {type(value).__name__}")
        elif fld.type == "list[map]":
            for i, item in enumerate(value):
                self.check_record(fld.item, item, (*path, i))
        else:
            item_field = _item_field(fld.pattern, fld.codes)
            for i, item in enumerate(value):
                self.check_text(item_field, item, (*path, i))
            self.check_unique(value, path)

    def check_number(self, fld: schema.Field, value: object, path: Path_) -> None:
        wanted = int if fld.type == "integer" else int | float
        if isinstance(value, bool) or not isinstance(value, wanted):
            kind = "a whole number" if fld.type == "integer" else "a number"
            self.report(path, f"expected {kind}, got {value!r}")
        elif not math.isfinite(value):
            self.report(path, f"expected a finite number, got {value!r}")
        elif fld.bounds and not fld.bounds[0] <= value <= fld.bounds[1]:
            low, high = (schema.plain_number(b) for b in fld.bounds)
            self.report(path, f"{path[-1]} {value} is outside {low}..{high}")

    def check_text(self, fld: schema.Field, value: object, path: Path_) -> None:
        if not isinstance(value, str):
            self.report(path, f"expected text, got {type(value).__name__} {value!r}")
        elif fld.choices and value not in fld.choices:
            self.report(path, f"unknown value {value!r}", did_you_mean(value, fld.choices))
        elif fld.pattern and not schema.matches(fld.pattern, value):
            self.report(path, f"{value!r} does not match {fld.pattern}", _pattern_hint(fld))
        elif fld.codes:
            self.check_code(fld.codes, value, path)

    def check_unique(self, values: list, path: Path_) -> None:
        seen: set[str] = set()
        for i, value in enumerate(values):
            if repr(value) in seen:
                self.report((*path, i), f"{value!r} is listed twice", "remove the repeat")
            seen.add(repr(value))

    # -- sections ----------------------------------------------------------
    def section(self, name: str) -> list:
        data = self.doc.data
        items = data.get(name) if isinstance(data, dict) else None
        if items is None:
            if isinstance(data, dict) and name not in data:
                if name not in schema.OPTIONAL_SECTIONS:
                    self.report(
                        (), f"missing top-level section {name!r}", f"add it, e.g. '{name}: []'"
                    )
            elif isinstance(data, dict):
                self.report(
                    (name,),
                    f"section {name!r} is empty (null)",
                    f"indent its items under '{name}:', or write '{name}: []' if it is empty",
                    key=True,
                )
            return []
        if not isinstance(items, list):
            self.report((name,), f"{name!r} must be a list of mappings (items start with '- ')")
            return []
        return items

    def run(self, *, model: bool = True) -> Result:
        """Check the whole document; the Result holds its model when it has no errors, or
        only its counts of records (``model=False``: a command that reports and stops)."""
        data = self.doc.data
        if not isinstance(data, dict):
            self.report((), "the file must be a mapping with sections sources, actors, events")
            return Result(self.problems)
        for key in data:
            if key not in schema.SECTIONS:
                self.report(
                    (key,), f"unknown section {key!r}", did_you_mean(key, schema.SECTIONS), key=True
                )
        raw = {name: self.section(name) for name in schema.SECTIONS}
        ids = {name: sorted(self.check_section(name, items)) for name, items in raw.items()}
        self.known = {name: set(values) for name, values in ids.items()}
        for name, items in raw.items():
            kind = schema.SECTION_RECORD[name]
            for i, item in self.records(name, items):
                self.check_references(kind, item, (name, i), ids, item.get("id"))
        self.check_events(raw["events"])
        self.warn_weak_spots(raw)
        self.record_label = ""
        self.count_left_out()
        self.problems.sort(key=lambda p: (p.severity != "error", p.line, p.column))
        if self.errors_found():
            return Result(self.problems)
        if not model:
            return Result(self.problems, totals={name: len(items) for name, items in raw.items()})
        return Result(self.problems, _dataset(raw))

    def run_changed(
        self, unchanged: Unchanged, suggestions: dict[str, list[str]] | None = None
    ) -> Result:
        """Check the document's records as the changed part of a file whose other records
        passed before; the Result's dataset holds only these records.

        Errors here mostly tell the caller to validate the whole file, which reports them
        with their positions in it; so a reference's hint suggests close ids only from
        ``suggestions`` (each section's ids, sorted, looked up by section), when given.
        """
        self.unchanged = unchanged
        data = self.doc.data
        # a region that removed events and added none holds "events:" alone
        raw = {name: self.section(name) if data.get(name) is not None else []
               for name in schema.SECTIONS}  # fmt: skip
        for name, items in raw.items():
            self.check_section(name, items)
        self.known = dict(unchanged.known)
        for name, items in raw.items():
            kind = schema.SECTION_RECORD[name]
            for i, item in self.records(name, items):
                if item.get("id") in unchanged.others[name]:
                    self.report((name, i, "id"), f"duplicate id {item['id']!r}")
                self.check_references(
                    kind,
                    item,
                    (name, i),
                    _NO_SUGGESTIONS if suggestions is None else suggestions,
                    item.get("id"),
                )
        items = raw["events"]
        targets = [t for e in items for _, _, t in _relations(e, schema.ACYCLIC_RELATIONS)]
        changed = [e["id"] for e in items if isinstance(e, dict) and isinstance(e.get("id"), str)]
        into = list(unchanged.ordered_into(changed)) if changed else []
        named = {t for e in items for _, _, t in _relations(e, schema.ORDERED_RELATIONS)}
        named |= {event for _, event, _ in into}
        self.check_events(
            items,
            unchanged.acyclic_edges(targets) if targets else (),
            into,
            unchanged.spans(named) if named else {},
        )
        self.count_left_out()
        if self.errors_found():
            return Result(self.problems)
        return Result(self.problems, _dataset(raw))

    def errors_found(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def records(self, name: str, items: list) -> Iterable[tuple[int, dict]]:
        """Yield the mapping items of a section, setting the label used in reports."""
        kind = schema.SECTION_RECORD[name]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                self.record_label = label_for(kind, item.get("id"), i)
                yield i, item

    def check_section(self, name: str, items: list) -> set[str]:
        """Generic checks of every record, duplicate ids; returns the known ids."""
        kind = schema.SECTION_RECORD[name]
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            item_id = item.get("id") if isinstance(item, dict) else None
            self.record_label = label_for(kind, item_id, i)
            if not self.check_record(kind, item, (name, i)) or not isinstance(item_id, str):
                continue
            if item_id in first:
                line = self.doc.mark((name, first[item_id], "id")).line
                self.report(
                    (name, i, "id"),
                    f"duplicate id {item_id!r} (first used at line {line})",
                    f"give this {kind} its own id",
                )
            else:
                first[item_id] = i
        return set(first)

    def check_code(self, codes: str, code: str, path: Path_) -> None:
        """A value from an ISO code list: country (alpha-2), language (639-1), currency (4217)."""
        code_list = schema.CODE_LISTS[codes]
        if code_list.has(code):
            return
        hint = f"use {code_list.example}"
        recased = code.upper() if code_list.upper else code.lower()
        if code_list.has(recased):
            hint = f"write it as {recased!r}"
        elif codes == "country" and len(code) > 2:
            match = _country_by_name(code)
            hint = f"did you mean {match!r}?" if match else hint
        self.report(path, f"{code!r} is not {code_list.description}", hint)

    def check_events(
        self,
        items: list,
        other_edges: Iterable[tuple] = (),
        other_ordered: Iterable[tuple[str, str, str]] = (),
        other_spans: Mapping[str, Span] | None = None,
    ) -> None:
        """The checks across ``items``; ``other_…``: what they need of the events outside
        them (relation edges, and the dates of the events those name)."""
        seen: dict[tuple[str, str], int] = {}
        for i, event in self.records("events", items):
            path = ("events", i)
            self.check_cited_sources(event, path)
            self.check_event_date(event, path, seen)
        self.check_relation_cycles(items, other_edges)
        self.check_relation_order(items, other_ordered, other_spans)

    def check_references(
        self, kind: str, raw: dict, path: Path_, ids: dict[str, list[str]], record_id: object
    ) -> None:
        """Every field declared with ``refers_to`` names an existing record, in this record
        and in the entries nested in it (``record_id``: the section record holding them);
        an event does not relate to itself."""
        for name, fld in schema.RECORDS[kind].items():
            value = raw.get(name)
            if fld.refers_to and isinstance(value, str):
                section = fld.refers_to
                if value not in self.known[section]:
                    self.report(
                        (*path, name),
                        f"unknown {schema.SECTION_RECORD[section]} id {value!r}",
                        did_you_mean(value, ids[section]) or f"add it to {section}",
                    )
                elif kind == "relation" and value == record_id:
                    self.report((*path, name), "an event cannot relate to itself")
            elif fld.item and isinstance(value, dict):
                self.check_references(fld.item, value, (*path, name), ids, record_id)
            elif fld.item and isinstance(value, list):
                for j, entry in enumerate(value):
                    if isinstance(entry, dict):
                        self.check_references(fld.item, entry, (*path, name, j), ids, record_id)
                if name in ("actors", "related"):
                    key = "actor" if name == "actors" else "event"
                    self.check_unique_pairs(value, key, (*path, name))
        if kind == "event" and isinstance(raw.get("citations"), list) and not raw["citations"]:
            self.report(
                (*path, "citations"),
                "no citations",
                "every event cites at least one source with a quote",
            )

    def check_cited_sources(self, event: dict, path: Path_) -> None:
        """Declared ``CitedOnEvent`` rules: an entry's source is one the event cites."""
        cited = {
            c["source"]
            for c in _list(event.get("citations"))
            if isinstance(c, dict) and isinstance(c.get("source"), str)
        }
        for name, rules in _CITED_ON_EVENT.items():
            for j, entry in enumerate(_list(event.get(name))):
                for rule in rules:
                    source = entry.get(rule.field) if isinstance(entry, dict) else None
                    if isinstance(source, str) and source not in cited:
                        self.report((*path, name, j, rule.field), rule.message, rule.hint)

    def check_relation_cycles(self, items: list, others: Iterable[tuple] = ()) -> None:
        """``part_of`` and ``follows`` must not loop back to where they started.

        ``others``: (kind, event, target) edges of events outside ``items``.
        """
        other_edges = list(others)
        for kind in schema.ACYCLIC_RELATIONS:
            edges: dict[str, list[tuple[str, Path_]]] = {}
            for edge_kind, source, target in other_edges:
                if edge_kind == kind:
                    edges.setdefault(source, []).append((target, ("events",)))
            for i, event in enumerate(items):
                for j, _, target in _relations(event, (kind,)):
                    where = ("events", i, "related", j, "event")
                    edges.setdefault(event["id"], []).append((target, where))
            for where, loop, length in _cycles(edges):
                self.record_label = f"event {loop[0]}"
                self.report(
                    where,
                    f"'{kind}' relations form a loop of {length} event(s): {' → '.join(loop)}",
                    f"an event cannot be {kind.replace('_', ' ')} itself, directly or not; "
                    "remove one of these relations",
                )

    def check_relation_order(
        self,
        items: list,
        others: Iterable[tuple[str, str, str]] = (),
        spans: Mapping[str, Span] | None = None,
    ) -> None:
        """A ``follows`` or ``responds_to`` relation names an event that begins no later than
        this one ends (both dates read as the first and last day they may mean).

        ``others``: (kind, event, target) edges of events outside ``items``; ``spans``: the
        dates of the events outside ``items`` that the edges name.
        """
        spans = dict(spans or {})
        date_of: dict[str, Path_] = {}
        edges = []
        for i, event in enumerate(items):
            is_event = isinstance(event, dict) and isinstance(event.get("id"), str)
            if is_event and (span := _span(event)):
                spans[event["id"]] = span
                date_of[event["id"]] = ("events", i, "date")
            for j, kind, target in _relations(event, schema.ORDERED_RELATIONS):
                edges.append((kind, event["id"], target, ("events", i, "related", j, "event")))
        edges += [(kind, event, target, date_of.get(target, ("events",)))
                  for kind, event, target in others
                  if kind in schema.ORDERED_RELATIONS]  # fmt: skip
        for kind, event, target, where in edges:
            if event in spans and target in spans and spans[target][0] > spans[event][1]:
                self.record_label = f"event {event}"
                words = kind.replace("_", " ")
                self.report(
                    where,
                    f"{words} {target}, which begins later ({spans[target][0]};"
                    f" this event ends {spans[event][1]})",
                    f"a '{kind}' relation names an earlier event: check both dates, or, if it"
                    f" is {target} that comes after, give it {{event: {event}, type: {kind}}}"
                    " and remove this relation",
                )

    def check_unique_pairs(self, entries: list, ref_key: str, path: Path_) -> None:
        """An actor with the same role, or a relation of the same type, listed twice."""
        second = "role" if ref_key == "actor" else "type"
        seen: set[tuple[str, str]] = set()
        for j, entry in enumerate(entries):
            pair = (entry.get(ref_key), entry.get(second)) if isinstance(entry, dict) else None
            if pair is None or not all(isinstance(v, str) for v in pair):
                continue
            if pair in seen:
                self.report(
                    (*path, j), f"{pair[0]} ({pair[1]}) is listed twice", "remove the repeat"
                )
            seen.add(pair)

    def check_event_date(self, event: dict, path: Path_, seen: dict) -> None:
        try:
            parsed = parse_date(event.get("date"))
        except DateError:
            return  # already reported by the field check
        if event.get("status") == "confirmed" and is_future(parsed, self.today):
            self.report(
                (*path, "date"),
                f"{parsed.canonical} is in the future but the event is confirmed",
                "use status: reported for announced plans, or fix the date",
            )
        title = event.get("title")
        if isinstance(title, str):
            key = (parsed.canonical, _folded(title))
            if key in seen:
                line = self.doc.mark(("events", seen[key])).line
                self.report(
                    (*path, "title"),
                    f"duplicate event: same date and title as the event at line {line}",
                    "merge the two events",
                )
            else:
                seen[key] = path[1]
            if self.unchanged and key[1] in map(_folded, self.unchanged.titles_on(key[0])):
                self.report(
                    (*path, "title"),
                    "duplicate event: same date and title as another event",
                    "merge the two events",
                )

    # -- warnings ----------------------------------------------------------
    def warn_weak_spots(self, raw: dict[str, list]) -> None:
        """The warnings, each record's in file order (``WARNINGS`` says which and where)."""
        cited: set[str] = set()
        used: set[str] = set()
        places = [event_place(e) if isinstance(e, dict) else None for e in raw["events"]]
        split = named_at_two_points(places)
        for i, event in self.records("events", raw["events"]):
            for name in own_warnings("events", event):
                self.warn(name, ("events", i))
            place = places[i]
            if place and place[0] in split:
                self.warn("other point", ("events", i))
            sources, systems = event_uses(event)
            cited |= sources
            used |= systems
        for section in ("systems", "sources"):
            ids = [r.get("id") if isinstance(r, dict) else None for r in raw[section]]
            for name, i in unused_warnings(section, ids, cited, used):
                self.record_label = label_for(schema.SECTION_RECORD[section], ids[i], i)
                self.warn(name, (section, i))
        for i, actor in self.records("actors", raw["actors"]):
            for name in own_warnings("actors", actor):
                self.warn(name, ("actors", i))

    def warn(self, name: str, record: Path_) -> None:
        """Report the warning ``name`` (of ``WARNINGS``) about the record at ``record``."""
        field_name, message, hint = WARNINGS[name]
        path = (*record, field_name) if field_name else record
        self.report(path, message, hint, severity="warning")


def own_warnings(section: str, record: dict) -> list[str]:
    """The warnings (``WARNINGS``) a record gets on its own, in the order they are reported:
    an event's single source and copied summary, an actor's missing country."""
    if section == "events":
        citations = [c for c in _list(record.get("citations")) if isinstance(c, dict)]
        names = ["single source"] if len(event_uses(record)[0]) == 1 else []
        if repeats_a_quote(record.get("summary"), [c.get("quote") for c in citations]):
            names.append("copied summary")
        return names
    if section == "actors" and not record.get("country"):
        return ["no country"] if record.get("kind") not in ("organisation",) else []
    return []


def new_event_warnings(event: dict, points: Mapping[str, list[tuple[float, float]]]) -> list[str]:
    """The warnings (``WARNINGS``) a new event gets in a record whose place names are at
    ``points``: its own, and "other point" when the record gives its place's name another
    point (the warnings ``add`` reports, in the order ``validate`` reports them)."""
    names = own_warnings("events", event)
    place = event_place(event)
    if place and any(point != place[1:] for point in points.get(place[0], ())):
        names.append("other point")
    return names


def named_at_two_points(places: Iterable[tuple[str, float, float] | None]) -> set[str]:
    """The place names given at more than one point: each of their events gets the
    warning "other point" (the map shows one place per name and point, so a name at two
    points is two places of that name, each with some of its events)."""
    return {name for name, at in points_by_name(places).items() if len(at) > 1}


def unused_warnings(
    section: str, ids: list[object], cited: set[str], used: set[str]
) -> list[tuple[str, int]]:
    """The warnings (name, index) of a section's records, by their ids in order, that no
    event uses: the systems none names (``used``), the sources none cites (``cited``)."""
    named, name = (used, "unused system") if section == "systems" else (cited, "uncited source")
    return [(name, i) for i, record_id in enumerate(ids)
            if isinstance(record_id, str) and record_id not in named]  # fmt: skip


def event_uses(event: dict) -> tuple[set[str], set[str]]:
    """The ids of the sources an event cites and of the systems it names (which the
    warnings of sources never cited and systems never named count)."""
    sources = {c["source"] for c in _list(event.get("citations"))
               if isinstance(c, dict) and isinstance(c.get("source"), str)}  # fmt: skip
    systems = {e["system"] for e in _list(event.get("systems"))
               if isinstance(e, dict) and isinstance(e.get("system"), str)}  # fmt: skip
    return sources, systems


# The warnings: the field each points to (None: the record), its message and its hint.
# ``timeline.revalidate`` finds the same ones in a built database.
WARNINGS = {
    "single source": ("citations", "backed by a single source",
                      "add a second, independent source"),
    "copied summary": ("summary", "summary repeats a quote word for word",
                       "summarise in our own words"),
    "unused system": ("id", "system is not referred to by any event",
                      "refer to it from an event's systems, or remove it"),
    "uncited source": ("id", "source is never cited", "cite it or remove it"),
    "no country": (None, "actor has no country", "add an ISO 3166-1 alpha-2 code"),
    "other point": ("location", "another event gives this place name another point",
                    "give the same latitude and longitude wherever a place has this name,"
                    " or name the places apart"),
}  # fmt: skip


# Each section's warnings, the sections in the order ``Validator.warn_weak_spots`` reports
# them (and a record's own in this order).
WARNINGS_OF = {"events": ("single source", "copied summary", "other point"),
               "systems": ("unused system",),
               "sources": ("uncited source",), "actors": ("no country",)}  # fmt: skip
WARNING_ORDER = tuple(WARNINGS_OF)
# A warning found: its name, the record's section, index and id, and the record's bytes.
Found = tuple[str, str, int, str, tuple[int, int]]


def located_warnings(
    path: Path, raw: bytes, found: list[Found], totals: dict[str, int]
) -> Result | None:
    """The Result of the file ``raw``, without errors, whose warnings are ``found``: in the
    order ``validate`` reports them, the first of each kind located as it locates them, by
    composing those records alone again. None when one does not compose alone."""
    found = sorted(found, key=lambda f: (WARNING_ORDER.index(f[1]), f[2]))  # stable: in order
    try:
        doc = _located(path, raw, _listed(found))
    except LoadError:
        return None
    validator = Validator(doc)
    for name, section, index, record, _ in found:
        validator.record_label = label_for(schema.SECTION_RECORD[section], record, index)
        validator.warn(name, (section, index))
    validator.count_left_out()
    validator.problems.sort(key=lambda p: (p.severity != "error", p.line, p.column))
    return Result(validator.problems, totals=totals)


def _listed(found: list[Found]) -> dict[tuple[str, int], tuple[int, int]]:
    """The records whose warnings are listed (the first ones of each kind, and the next,
    which the line counting the rest names), with their bytes: only these are located."""
    seen: Counter[str] = Counter()
    listed = {}
    for name, section, index, _, stretch in found:
        seen[name] += 1
        if seen[name] <= MAX_PER_KIND + 1:
            listed[(section, index)] = stretch
    return listed


def _located(path: Path, raw: bytes, listed: dict[tuple[str, int], tuple[int, int]]) -> Document:
    """A document that locates the ``listed`` records as validate does, from a text of only
    those records (each piece keeps its real first line; columns are within the line)."""
    pieces, texts, at, line, counted = Pieces(), [], 0, 0, 0
    for (start, end), (section, index) in sorted((span, key) for key, span in listed.items()):
        line += raw.count(b"\n", counted, start)
        counted = start
        text = decode(raw[start:end])
        texts.append(text)
        items = pieces.items.setdefault(section, _Sparse())
        items[index] = Piece(at, at + len(text), line)
        pieces.sections.setdefault(section, Piece(0, 0, 0))
        at += len(text)
    return Document(None, path, text="".join(texts), pieces=pieces)


class _Sparse(dict):
    """Some items of a section, by index, as ``Document`` looks them up in a list."""

    def __len__(self) -> int:
        return max(self, default=-1) + 1


# Event fields whose entries name a source the event must cite (declared CitedOnEvent rules).
_CITED_ON_EVENT = {
    name: rules
    for name, fld in schema.RECORDS["event"].items()
    if (
        rules := [
            r for r in schema.RULES.get(fld.item or "", ()) if isinstance(r, schema.CitedOnEvent)
        ]
    )
}


def _cycles(
    edges: dict[str, list[tuple[str, Path_]]],
) -> list[tuple[Path_, list[str], int]]:
    """Each loop in a directed graph once: the position of the edge that closes it, its
    events as shown (at most LOOP_SHOWN of them, "…" for the rest) and its length.

    Iterative depth-first search (no recursion limit at 100,000 events), linear in the
    edges: each event's place on the current path is kept, so a loop costs no search and
    no copy of the path, however long (n events each closing a loop through all those
    before it made n messages of n ids).
    """
    found: list[tuple[Path_, list[str], int]] = []
    done: set[str] = set()
    for root in sorted(edges):
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root: 0}  # event → its index in path
        stack = [iter(edges.get(root, ()))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                done.add(path[-1])
                del on_path[path.pop()]
                stack.pop()
                continue
            target, where = step
            if target in on_path:
                start = on_path[target]
                found.append((where, _shown_loop(path, start, target), len(path) - start))
            elif target not in done:
                on_path[target] = len(path)
                path.append(target)
                stack.append(iter(edges.get(target, ())))
    return found


def _shown_loop(path: list[str], start: int, target: str) -> list[str]:
    """The loop path[start:] → target, its middle elided when it is long."""
    length = len(path) - start
    if length <= LOOP_SHOWN:
        return [*path[start:], target]
    head, tail = LOOP_SHOWN // 2, LOOP_SHOWN - LOOP_SHOWN // 2 - 1
    middle = f"… {length - head - tail:,} more …"
    return [*path[start : start + head], middle, *path[len(path) - tail :], target]


@functools.cache
def _item_field(pattern: str | None, codes: str | None) -> schema.Field:
    """The declaration each item of a list of strings is checked against."""
    return schema.Field("str", pattern=pattern, codes=codes)


def label_for(kind: str, item_id: object, index: int) -> str:
    if not isinstance(item_id, str) or not item_id:
        return f"{kind} #{index + 1}"
    return f"{kind} {item_id}" if schema.matches(schema.SLUG, item_id) else f"{kind} {item_id!r}"


def _printable(text: str) -> str:
    """One line of plain text: a newline or control character in a key or id is shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _relations(event: object, kinds: tuple[str, ...]) -> Iterator[tuple[int, str, str]]:
    """An event's well-formed relations of ``kinds``: (position in its list, kind, the event
    named); none for a record without an id (its own checks report it)."""
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return
    for j, rel in enumerate(_list(event.get("related"))):
        if isinstance(rel, dict) and rel.get("type") in kinds and isinstance(rel.get("event"), str):
            yield j, rel["type"], rel["event"]


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _pattern_hint(fld: schema.Field) -> str:
    if fld.pattern == schema.SLUG:
        return "use lower-case words joined by hyphens, e.g. baykar-ukrspecexport-2019"
    if fld.pattern == schema.WIKIDATA_QID:
        return "a Wikidata id looks like Q42"
    return "start with http:// or https://" if "http" in (fld.pattern or "") else ""


def _dataset(raw: dict[str, list]) -> Dataset:
    """The model of each section's records (checked)."""
    return Dataset(
        sources=[Source.from_mapping(s) for s in raw["sources"]],
        actors=[Actor.from_mapping(a) for a in raw["actors"]],
        events=[Event.from_mapping(e) for e in raw["events"]],
        systems=[System.from_mapping(s) for s in raw["systems"]],
    )


def _country_by_name(name: str) -> str | None:
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        return None


class Unsettled(Exception):
    """What a check of a file's records in batches cannot settle: a problem in a batch, or
    across them. The whole file is then read and checked, which says where. ``refused``: a
    record's value was refused as it was read, which the reading finds again from the
    file's bytes, without the records' data (``load.raise_first_refusal``)."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason, refused)  # both in args: a forked reader's is pickled
        self.refused = refused


class _Noted:
    """Every id taken as known, and noted: a batch's references are checked across the file
    by ``CrossCheck``."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def __contains__(self, record_id: object) -> bool:
        if isinstance(record_id, str):
            self.ids.add(record_id)
        return True


@dataclass
class Index:
    """What the checks across a file's records need of a batch of one section's records:
    their ids, the ids they refer to (by section), their ``part_of`` and ``follows``
    relations (kind, event, target) of ``schema.CHECKED_RELATIONS``, and their events'
    dates, first and last days, and folded titles; and what its warnings need."""

    section: str
    ids: list[str]
    named: dict[str, set[str]]
    relations: list[tuple[str, str, str]] = field(default_factory=list)
    titles: list[tuple[str, str]] = field(default_factory=list)
    spans: dict[str, Span] = field(default_factory=dict)
    # when asked for: each record's own warnings (name, index in the batch), and the
    # sources its events cite and the systems they name
    warned: list[tuple[str, int]] = field(default_factory=list)
    cited: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    # and its events' places: (index in the batch, name, latitude, longitude)
    places: list[tuple[int, str, float, float]] = field(default_factory=list)


class CrossCheck:
    """The checks of ``Validator.run`` across records, batch by batch (``Index``), the
    sections in ``schema.SECTIONS`` order: no id twice in a section, every id referred to
    there, no two events of one date and title, no loop of relations. A batch's references
    to the sections before its own are checked as it is added (its rows can then name
    theirs), the rest at the end. Each raises Unsettled."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, None]] = {s: {} for s in schema.SECTIONS}  # in order
        self.pending: dict[str, set[str]] = {s: set() for s in schema.SECTIONS}
        self.titles: set[tuple[str, str]] = set()
        self.relations: list[tuple[str, str, str]] = []
        self.spans: dict[str, Span] = {}

    def add(self, index: Index) -> None:
        known = self.ids[index.section]
        for record_id in index.ids:
            if record_id in known:
                raise Unsettled(f"the id {record_id!r} twice in {index.section}")
            known[record_id] = None
        before = schema.SECTIONS[: schema.SECTIONS.index(index.section)]
        for section, ids in index.named.items():
            if section not in before:
                self.pending[section] |= ids
            elif not ids <= self.ids[section].keys():
                raise Unsettled(f"an unknown id of {section}")
        for title in index.titles:
            if title in self.titles:
                raise Unsettled("two events of one date and title")
            self.titles.add(title)
        self.relations += index.relations
        self.spans.update(index.spans)

    def finish(self) -> None:
        """The checks left for when every batch is in."""
        for section, ids in self.pending.items():
            if not ids <= self.ids[section].keys():
                raise Unsettled(f"an unknown id of {section}")
        check = _BatchValidator(Document(None, Path()))
        check.check_relation_cycles([], self.relations)
        check.check_relation_order([], self.relations, self.spans)


class _BatchValidator(Validator):
    """A validator for a batch of records: its first problem raises Unsettled."""

    def report(self, path: Path_, message: str, hint: str = "", **_: object) -> None:
        raise Unsettled(message)


def validate_batch(
    section: str, items: list, path: Path, today: dt.date | None = None, *, warnings: bool = False
) -> tuple[Dataset | None, Index]:
    """Check one batch of a section's records, each on its own: every check of
    ``Validator.run`` but those across records, whose inputs come back as the batch's
    Index. Raises Unsettled at the first problem. ``warnings``: the Index holds what the
    warnings need, and no model of the records is made (``validate`` writes no rows).

    Example::

        dataset, index = validate_batch("events", records, Path("events.yaml"))
    """
    validator = _BatchValidator(Document({section: items}, path), today)
    validator.known = noted = {s: _Noted() for s in schema.SECTIONS}
    validator.check_section(section, items)
    kind = schema.SECTION_RECORD[section]
    for i, item in validator.records(section, items):
        validator.check_references(kind, item, (section, i), _NO_SUGGESTIONS, item.get("id"))
    if section == "events":
        validator.check_events(items)
    index = Index(section, [item["id"] for item in items], {s: n.ids for s, n in noted.items()})
    for event in items if section == "events" else ():  # each checked: read as it was
        parsed = parse_date(event["date"])
        index.titles.append((parsed.canonical, _folded(event["title"])))
        index.spans[event["id"]] = span_of(parsed)
        index.relations += [
            (kind, event["id"], target)
            for _, kind, target in _relations(event, schema.CHECKED_RELATIONS)
        ]
    if not warnings:
        return _dataset({s: items if s == section else [] for s in schema.SECTIONS}), index
    index.warned = [(name, i) for i, item in enumerate(items)
                    for name in own_warnings(section, item)]  # fmt: skip
    for i, item in enumerate(items) if section == "events" else ():
        sources, systems = event_uses(item)
        index.cited |= sources
        index.used |= systems
        if place := event_place(item):
            index.places.append((i, *place))
    return None, index


def validate_document(doc: Document, today: dt.date | None = None, *, model: bool = True) -> Result:
    """Validate a loaded document. Example: ``validate_document(load_text(text, p)).ok``."""
    return Validator(doc, today).run(model=model)


def validate_changed(
    doc: Document,
    unchanged: Unchanged,
    today: dt.date | None = None,
    *,
    suggestions: dict[str, list[str]] | None = None,
) -> Result:
    """Validate the records of a document holding only the changed part of a file (any of
    its sections; those it leaves out hold no changed record). ``suggestions``: each
    section's ids, sorted, for the hints of unknown references (``Validator.run_changed``).

    Example::

        result = validate_changed(region_doc, unchanged_from_database)
        result.ok, result.dataset.events
    """
    return Validator(doc, today).run_changed(unchanged, suggestions)


def validate_file(
    path: Path, today: dt.date | None = None, *, model: bool = True, refused: bool = False
) -> Result:
    """Load and validate a file; YAML faults come back as a single located Problem.
    ``model=False``: the Result counts the records instead of holding their model.
    ``refused``: a reader met a record's refused value (``Unsettled.refused``).

    Example::

        result = validate_file(Path("events.yaml"))
        for problem in result.errors:
            print(problem)
    """
    with ExitStack() as held:
        try:  # (a large file's bytes are not kept beside its records' data)
            raw = held.enter_context(mapped_copy(Path(path)))
        except OSError as exc:
            return Result([Problem.unreadable(path, exc)])
        return validate_bytes(raw, Path(path), today, model=model, refused=refused)


def validate_bytes(
    raw: bytes,
    path: Path,
    today: dt.date | None = None,
    *,
    keep_document: bool = False,
    model: bool = True,
    refused: bool = False,
) -> Result:
    """Validate file content already read into memory (``path`` is used in messages).
    ``refused``: a reader met a record's refused value; its error is looked for first,
    piece by piece in ``raw``, with no text of the whole file made."""
    with paused_gc():
        try:
            if refused:  # found from the file's bytes, without a text of the whole file
                raise_first_refusal(raw)
                # not found so: only the whole file's reading can say (its records would
                # meet the same refused value, or not read alone)
                doc = load_text(decode(raw), path, keep_text=keep_document)
            else:  # record by record, from the bytes: no node graph or text of the whole
                doc = load_bytes(raw, path, keep_text=keep_document)
        except LoadError as exc:
            return Result([Problem.unloadable(path, exc)])
        result = validate_document(doc, today, model=model)
        result.data = doc.data
        result.document = doc if keep_document else None
        return result
