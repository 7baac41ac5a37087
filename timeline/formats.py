"""Export formats: each turns the (filtered) database into named files.

* ``json``: ``events.json``, nested records; ``jsonl``: one record a line.
* ``csv``: ``events.csv`` (arrays joined with ``;``), ``actors.csv``, ``citations.csv``,
  ``transfers.csv``; cells a spreadsheet would run as formulas are neutralised.
* ``yaml``: ``events.yaml``, a timeline file that validates and rebuilds to the same rows.
* ``ics``: ``calendar.ics``, all-day entries spanning each date's day, month or year.
* ``timelinejs``: ``timeline.json``, TimelineJS 3 slides with dates at their precision.
* ``markdown``: ``timeline.md``, a chronology by year with citations as footnotes.
* ``datapackage``: ``datapackage.json`` and one CSV per table (values exact), for
  Frictionless Data tools.
* ``cff``: ``CITATION.cff`` for the dataset.

Example::

    files = render("markdown", Path("record.db"), Filters(actor="baykar"))
    print(files["timeline.md"])
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import __version__, schema
from .csvsafe import neutralise
from .dates import parse_date
from .export import EVENT_COLUMNS, Filters, event_ids, export_events, table_rows
from .files import YAML_EXPORT_MARK
from .layout import dump_record
from .site import event_path

SITE_TITLE = "Turkey–Ukraine defence cooperation: a sourced timeline"
LICENCE = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


@dataclass(frozen=True)
class Context:
    db: Path
    filters: Filters
    base_url: str  # where the site is published, for absolute links


@dataclass(frozen=True)
class Format:
    name: str
    main: str  # the file written to standard output
    render: Callable[[Context], dict[str, str]]
    help: str


# -- escaping: one function per output format ------------------------------------------------
# JSON, JSON Lines and the data package: json.dumps. CSV: csvsafe.neutralise (formulas) and the
# csv module (quoting). YAML: layout.dump_record (the emitter). iCalendar: the icalendar
# library. TimelineJS: html.escape, its slides being HTML. Markdown and CITATION.cff: below.

# ASCII punctuation that some Markdown dialect gives a meaning inside a line: emphasis, code,
# links, images and footnotes, raw HTML, entities and autolinks, strikethrough, tables,
# attributes, highlights and maths. CommonMark reads any backslash-escaped ASCII punctuation
# as the character itself.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>&!|~^=$])")
# Line breaks end a paragraph or open a block (a blank line in a quote would start a forged
# footnote or HTML block), so every copied value is kept on one line.
_MARKDOWN_BREAKS = re.compile("[ \t\n\v\f\r\x85\u2028\u2029]+")
# What an autolink may hold as is (RFC 3986 reserved and unreserved characters, and "%");
# everything else, "<", ">", quotes, spaces and non-ASCII included, is percent-encoded.
_URL_SAFE = ":/?#[]@!$&()*+,;=%-._~"


def markdown_text(value: object) -> str:
    """Copied text as Markdown that renders as exactly that text (whitespace runs as one
    space): no element, link, footnote or block can come out of it."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _MARKDOWN_BREAKS.sub(" ", str(value)).strip(" "))


def markdown_link(url: str) -> str:
    """An http(s) URL as an autolink it cannot break out of; anything else as text."""
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        return markdown_text(url)
    return f"<{urllib.parse.quote(url.strip(), safe=_URL_SAFE)}>"


# Where the site is published: an http(s) URL with a host, or a path from the site's root,
# of characters a URL holds as they are. No quotes, spaces, "<>" or backslashes (they break
# out of the YAML, HTML and calendar text the address is copied into), no "?" or "#" (event
# paths are appended to it), no scheme but http(s) (javascript: would reach TimelineJS
# links), no "//host" (a relative path that names another site).
# A host name or IP address with an optional port (the site checks its Host header by it).
HOST = re.compile(r"(?:[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_URL_CHARS = r"[A-Za-z0-9\-._~!$&()*+,;=:@%/]*"
_BASE_URL = re.compile(
    rf"https?://{HOST.pattern}(?:/{_URL_CHARS})?|/(?!/){_URL_CHARS}", re.IGNORECASE
)


class BadBaseUrl(ValueError):
    """A --base-url that is not an http(s) URL or a path from the site's root."""


def check_base_url(url: str) -> str:
    """``url`` if it is a base URL every format can copy as it is; BadBaseUrl otherwise."""
    if not _BASE_URL.fullmatch(url):
        raise BadBaseUrl(
            f"{url[:80]!r} is not a base URL: give an http:// or https:// address, or a path "
            "starting with '/', without quotes, spaces, '<', '>', '?' or '#'"
        )
    return url


def cff_string(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's)."""
    return json.dumps(value, ensure_ascii=False)


# -- helpers ---------------------------------------------------------------------------------


def _event_url(ctx: Context, event_id: str) -> str:
    return ctx.base_url.rstrip("/") + event_path(event_id)


def _csv(rows: list[dict], columns: list[str], *, safe: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(v) if safe else v for k, v in row.items()})
    return buffer.getvalue()


def _joined(values: list) -> str:
    return ";".join(str(v) for v in values)


def _ids(events: list[dict]) -> set[str]:
    return {e["id"] for e in events}


# -- json, jsonl, csv ------------------------------------------------------------------------


def render_json(ctx: Context) -> dict[str, str]:
    events = export_events(ctx.db, ctx.filters)
    return {"events.json": json.dumps(events, indent=2, ensure_ascii=False) + "\n"}


def render_jsonl(ctx: Context) -> dict[str, str]:
    events = export_events(ctx.db, ctx.filters)
    return {"events.jsonl": "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)}


CITATION_COLUMNS = ["event_id", "position", "source", "source_title", "publisher", "url",
                    "published_label", "quote", "translation", "stance", "note"]  # fmt: skip


def render_csv(ctx: Context) -> dict[str, str]:
    events = export_events(ctx.db, ctx.filters)
    flat = []
    for e in events:
        row = {k: _joined(e[k]) if isinstance(e[k], list) else e[k] for k in EVENT_COLUMNS}
        row["actors"] = _joined(f"{a['id']}:{a['role']}" for a in e["actors"])
        row["systems"] = _joined(sorted({x["system"] for x in e["systems"]}))
        row["sources"] = _joined(sorted({c["source"] for c in e["citations"]}))
        flat.append(row)
    ids = _ids(events)
    actors = [{"event_id": e["id"], "actor_id": a["id"], "actor": a["name"], "role": a["role"]}
              for e in events for a in e["actors"]]  # fmt: skip
    citations = [{"event_id": e["id"], "position": i, **c}
                 for e in events for i, c in enumerate(e["citations"], start=1)]  # fmt: skip
    transfers = table_rows(ctx.db, "transfers", ids)
    return {
        "events.csv": _csv(flat, [*EVENT_COLUMNS, "actors", "systems", "sources"]),
        "actors.csv": _csv(actors, ["event_id", "actor_id", "actor", "role"]),
        "citations.csv": _csv(citations, CITATION_COLUMNS),
        "transfers.csv": _csv(transfers, list(transfers[0]) if transfers else ["event_id"]),
    }


# -- yaml round trip -------------------------------------------------------------------------


def _record(kind: str, row: dict) -> dict:
    """A YAML record from a table row, through the declarations (columns ↔ fields)."""
    out = {}
    for name, fld in schema.RECORDS[kind].items():
        value = row.get(name) if fld.column else None
        if value is None:
            continue
        if fld.type == "list[str]":
            value = json.loads(value) if isinstance(value, str) else value
            if not value:
                continue
        out[name] = value
    return out


def _entries(table: str, rows: list[dict]) -> dict[str, list[dict]]:
    """Link-table rows as the entries of each event, fields named as in the YAML."""
    record = schema.LINK_TABLES[table].record
    out: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["event_id"], r.get("position") or 0)):
        entry = {}
        for name in schema.RECORDS[record]:
            value = row.get(schema.column_name(table, name))
            if value is not None:
                entry[name] = value
        out.setdefault(row["event_id"], []).append(entry)
    return out


def render_yaml(ctx: Context) -> dict[str, str]:
    events = table_rows(ctx.db, "events")
    keep = event_ids(ctx.db, ctx.filters)
    events = [e for e in events if e["id"] in keep]
    links = {t: _entries(t, table_rows(ctx.db, t, keep)) for t in schema.LINK_TABLES}
    sections: dict[str, list[dict]] = {"events": []}
    for row in sorted(events, key=lambda e: (e["sort_key"], e["id"])):
        event = _record("event", row)
        for table, link in schema.LINK_TABLES.items():
            if links[table].get(row["id"]):
                event[link.field] = links[table][row["id"]]
        if row["location"]:
            location = {k: row[k] for k in ("latitude", "longitude") if row[k] is not None}
            event["location"] = {"name": row["location"], **location}
        sections["events"].append(event)
    used = _referenced(sections["events"])
    for section in ("sources", "actors", "systems"):
        kind = schema.SECTION_RECORD[section]
        rows = table_rows(ctx.db, schema.SECTION_TABLE[section])
        wanted = [r for r in rows if ctx.filters == Filters() or r["id"] in used[section]]
        sections[section] = [_record(kind, r) for r in wanted]
    out = [f"# {SITE_TITLE}: {YAML_EXPORT_MARK}\n"]
    for section in schema.SECTIONS:
        kind, items = schema.SECTION_RECORD[section], sections[section]
        out.append(f"{section}:\n" if items else f"{section}: []\n")
        out += [dump_record(kind, item) for item in items]
    return {"events.yaml": "".join(out)}


def _referenced(events: list[dict]) -> dict[str, set[str]]:
    """Ids of the sources, actors and systems the events (and those systems) refer to."""
    used: dict[str, set[str]] = {"sources": set(), "actors": set(), "systems": set()}
    for event in events:
        for c in event.get("citations", []):
            used["sources"].add(c["source"])
        for a in event.get("actors", []):
            used["actors"].add(a["actor"])
        for x in event.get("systems", []):
            used["systems"].add(x["system"])
            used["actors"].update(v for k in ("supplier", "recipient") if (v := x.get(k)))
    return used


# -- calendars, timelines, prose -------------------------------------------------------------


def ics_calendar(events: list[dict], base_url: str, name: str = SITE_TITLE) -> str:
    """An iCalendar of events (dicts with the events table's columns; ``citations`` optional).

    Every entry is all-day: a day event is that day, a month or year event spans it (a
    calendar has no other way to show "April 2021"; the description gives the date as
    recorded). Links are absolute; entry ids are the event ids, stable across builds.
    """
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    check_base_url(base_url)
    calendar = Calendar()
    calendar.add("prodid", f"-//{SITE_TITLE}//timeline {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for e in events:
        entry = CalendarEvent()
        entry.add("uid", f"{e['id']}@turkey-ukraine-timeline")
        status = "" if e["status"] == "confirmed" else f" ({e['status']})"
        entry.add("summary", e["title"] + status)
        entry.add("dtstart", dt.date.fromisoformat(e["date_start"]))
        entry.add("dtend", dt.date.fromisoformat(e["date_end"]) + dt.timedelta(days=1))
        stamp = e.get("last_changed") or e.get("first_added") or "2000-01-01T00:00:00+00:00"
        entry.add("dtstamp", dt.datetime.fromisoformat(stamp).astimezone(dt.UTC))
        url = base_url.rstrip("/") + event_path(e["id"])
        lines = [f"Date: {e['date_label']}", f"Status: {e['status']}", "", e["summary"], "", url]
        lines += [f"“{c['quote']}” — {c['source_title']}, {c['publisher']}"
                  for c in e.get("citations", [])]  # fmt: skip
        entry.add("description", "\n".join(lines))
        entry.add("url", url)
        if e.get("location"):
            entry.add("location", e["location"])
        entry.add("categories", [e["type"]])
        calendar.add_component(entry)
    return calendar.to_ical().decode("utf-8")


def render_ics(ctx: Context) -> dict[str, str]:
    return {"calendar.ics": ics_calendar(export_events(ctx.db, ctx.filters), ctx.base_url)}


def _tl_date(text: str, label: str) -> dict:
    parsed = parse_date(text)
    out: dict = {"year": parsed.start.year, "display_date": label}
    if parsed.precision in ("month", "day"):
        out["month"] = parsed.start.month
    if parsed.precision == "day":
        out["day"] = parsed.start.day
    return out


def render_timelinejs(ctx: Context) -> dict[str, str]:
    """TimelineJS 3 JSON: one slide per event, dates at their real precision."""
    slides = []
    for e in export_events(ctx.db, ctx.filters):
        first, _, last = e["date"].partition("/")
        cited = "".join(
            f"<li>“{html.escape(c['quote'])}” — {html.escape(c['source_title'])}, "
            f"{html.escape(c['publisher'])}</li>"
            for c in e["citations"]
        )
        link = html.escape(_event_url(ctx, e["id"]))
        text = (f"<p>{html.escape(e['summary'])}</p><ol>{cited}</ol>"
                f'<p><a href="{link}">Evidence and sources</a></p>')  # fmt: skip
        slide = {
            "start_date": _tl_date(first, e["date_label"]),
            "text": {"headline": html.escape(e["title"]), "text": text},
            "group": e["type"],
            "unique_id": e["id"],
        }
        if last:
            slide["end_date"] = _tl_date(last, e["date_label"])
        slides.append(slide)
    data = {
        "title": {"text": {"headline": SITE_TITLE,
                           "text": "Every event with its sources; dates at their real precision."}},
        "events": slides,
    }  # fmt: skip
    return {"timeline.json": json.dumps(data, indent=2, ensure_ascii=False) + "\n"}


def render_markdown(ctx: Context) -> dict[str, str]:
    """A chronology by year; every citation is a footnote with its quote and source. Every
    copied value goes through markdown_text or markdown_link."""
    out = [f"# {markdown_text(SITE_TITLE)}\n"]
    notes: list[str] = []
    year = None
    for e in export_events(ctx.db, ctx.filters):
        if e["year"] != year:
            year = e["year"]
            out.append(f"\n## {markdown_text(year)}\n")
        marks = ""
        for c in e["citations"]:
            notes.append(f"[^{len(notes) + 1}]: {_markdown_citation(c)}")
            marks += f"[^{len(notes)}]"
        status = "" if e["status"] == "confirmed" else f" *({markdown_text(e['status'])})*"
        out.append(f"- **{markdown_text(e['date_label'])}**: {markdown_text(e['title'])}{status}."
                   f" {markdown_text(e['summary'])}{marks}\n")  # fmt: skip
    out.append("\n" + "\n".join(notes) + "\n")
    return {"timeline.md": "".join(out)}


def _markdown_citation(c: Mapping) -> str:
    text = (f"“{markdown_text(c['quote'])}” — {markdown_text(c['source_title'])}, "
            f"{markdown_text(c['publisher'])}, {markdown_text(c['published_label'])}.")  # fmt: skip
    if c["url"]:
        text += f" {markdown_link(c['url'])}"
    if c["stance"] == "contradicts":
        text += f" (contradicts the record: {markdown_text(c['note'] or '')})"
    return text


# -- data package and citation file ----------------------------------------------------------

_FRICTIONLESS_TYPES = {"text": "string", "integer": "integer", "real": "number"}


def _package_tables() -> dict[str, tuple[list[schema.Column], tuple[str, ...]]]:
    tables = {t: (schema.table_columns(t), ("id",)) for t in schema.SECTION_TABLE.values()}
    tables |= {t: (schema.link_columns(t), schema.link_primary_key(t)) for t in schema.LINK_TABLES}
    return tables


def _foreign_keys(table: str) -> list[dict]:
    keys = []
    if table in schema.LINK_TABLES:
        keys.append({"fields": "event_id", "reference": {"resource": "events", "fields": "id"}})
        record = schema.RECORDS[schema.LINK_TABLES[table].record]
        names = {n: schema.column_name(table, n) for n in record}
    else:
        record = schema.RECORDS[schema.TABLE_RECORD[table]]
        names = {n: n for n, f in record.items() if f.column}
    for name, fld in record.items():
        if fld.refers_to and name in names:
            target = schema.SECTION_TABLE[fld.refers_to]
            keys.append({"fields": names[name], "reference": {"resource": target, "fields": "id"}})
    return keys


def render_datapackage(ctx: Context) -> dict[str, str]:
    """A Frictionless data package of every table, values exact (not spreadsheet-escaped)."""
    keep = event_ids(ctx.db, ctx.filters)
    files, resources = {}, []
    for table, (columns, primary_key) in _package_tables().items():
        rows = table_rows(ctx.db, table, keep)
        if table == "events":
            rows = [r for r in rows if r["id"] in keep]
        name = f"{table}.csv"
        files[name] = _csv(rows, [c.name for c in columns], safe=False)
        resources.append({
            "name": table, "path": name, "profile": "tabular-data-resource",
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "schema": {
                "fields": [{"name": c.name, "type": _FRICTIONLESS_TYPES[c.type],
                            "description": c.doc} for c in columns],
                "primaryKey": list(primary_key),
                "foreignKeys": _foreign_keys(table),
            },
        })  # fmt: skip
    package = {
        "profile": "tabular-data-package",
        "name": "turkey-ukraine-defence-timeline",
        "title": SITE_TITLE,
        "version": __version__,
        "licenses": [{"name": LICENCE, "path": LICENCE_URL, "title": "Creative Commons "
                      "Attribution 4.0"}],
        "sources": [{"title": "The public sources cited by each event (sources table)",
                     "path": ctx.base_url}],
        "resources": resources,
    }  # fmt: skip
    files["datapackage.json"] = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    return files


def last_updated(events: Iterable[Mapping]) -> str:
    """The day the record last changed: its newest edit or addition, ``YYYY-MM-DD`` ('' for
    none). Rows need ``first_added`` and ``last_changed``; the site's downloads page and
    CITATION.cff's ``date-released`` both use it."""
    return max((e["last_changed"] or e["first_added"] or "" for e in events), default="")[:10]


def citation_file(count: int, released: str, base_url: str) -> str:
    """CITATION.cff (Citation File Format 1.2.0) for ``count`` events, last updated on
    ``released`` (from :func:`last_updated`)."""
    check_base_url(base_url)
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below, and cite the sources '
        'quoted for the events you rely on."',
        "type: dataset",
        f"title: {cff_string(SITE_TITLE)}",
        "authors:",
        '  - name: "Turkey–Ukraine defence cooperation timeline contributors"',
        f"version: {__version__}",
        f"license: {LICENCE}",
        f"url: {cff_string(base_url)}",
        f"abstract: A curated, source-backed timeline of {count} events of Turkey–Ukraine "
        "defence cooperation; every event cites its sources with short verbatim quotes.",
        "keywords: [Turkey, Ukraine, Bayraktar, defence cooperation, arms transfers]",
    ]
    if released:
        lines.append(f"date-released: {released}")
    return "\n".join(lines) + "\n"


def render_cff(ctx: Context) -> dict[str, str]:
    """CITATION.cff for the dataset (the filtered events)."""
    events = export_events(ctx.db, ctx.filters)
    return {"CITATION.cff": citation_file(len(events), last_updated(events), ctx.base_url)}


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", "events.json", render_json, "nested JSON, one object per event"),
        Format("jsonl", "events.jsonl", render_jsonl, "JSON Lines, one event a line"),
        Format("csv", "events.csv", render_csv, "events, actors, citations, transfers"),
        Format("yaml", "events.yaml", render_yaml, "a timeline file that rebuilds the rows"),
        Format("ics", "calendar.ics", render_ics, "iCalendar, all-day entries"),
        Format("timelinejs", "timeline.json", render_timelinejs, "TimelineJS 3 JSON"),
        Format("markdown", "timeline.md", render_markdown, "a chronology with footnotes"),
        Format("datapackage", "datapackage.json", render_datapackage, "Frictionless package"),
        Format("cff", "CITATION.cff", render_cff, "Citation File Format"),
    )
}


def render(name: str, db: Path, filters: Filters | None = None,
           base_url: str = "http://127.0.0.1:8001") -> dict[str, str]:  # fmt: skip
    """Files of format ``name`` (KeyError for an unknown format; BadBaseUrl for a
    ``base_url`` that :func:`check_base_url` refuses)."""
    return FORMATS[name].render(Context(Path(db), filters or Filters(), check_base_url(base_url)))
