"""The last build's database, read as a catalog of the file it was built from.

While the database is up to date with the file (``timeline.store.built_from``), every
record in the file passed validation and the database knows what a command would
otherwise parse the whole file for: the ids a new event may refer to, each actor's
country, each event's date order and place in the file (``yaml_spans``), and what
checking changed records against the others needs (:class:`timeline.validate.Unchanged`).
``timeline build`` uses it to rewrite only changed records, ``timeline add`` to insert one
event.

Example::

    with open_catalog(Path("record.db"), Path("events.yaml"), raw) as catalog:
        if catalog is not None:
            catalog.ids()["actors"]
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import schema
from .dates import parse_date
from .places import LOCATED, points_by_name
from .spans import Spans
from .store import built_from, read_only, stored_build_info, stored_spans
from .validate import Unchanged

PROMPTED = ("actors", "sources", "events")  # the sections whose ids ``add`` prompts for


@dataclass
class Catalog:
    """An open, read-only view of a database built from exactly the file at hand."""

    conn: sqlite3.Connection

    @cached_property
    def spans(self) -> Spans | None:
        """Where each event sits in the file, as the last build kept it (None: it kept
        none, its layout allowing no partial rebuild). Read when first asked for: at
        100,000 events unpacking them is most of opening the catalog, and only placing a
        new event needs them."""
        return stored_spans(self.conn)

    def ids(self, sections: Iterable[str] = PROMPTED) -> dict[str, list[str]]:
        """Ids a curator can refer to, by section, sorted (for prompts and new ids)."""
        return {
            name: [row[0] for row in self.conn.execute(f"select id from [{name}] order by id")]
            for name in sections
        }

    def ids_on_demand(self) -> dict[str, list[str]]:
        """``ids`` of each section, read when first asked for (a hint for an unknown
        reference needs one section's; a valid event, none)."""
        return _IdsOnDemand(self)

    def ids_starting(self, section: str, prefix: str) -> list[str]:
        """The ids of a section that begin with ``prefix`` (a range of the primary key)."""
        rows = self.conn.execute(
            f"select id from [{section}] where id >= ? and id < ? order by id",
            [prefix, prefix + chr(0x10FFFF)],
        )
        return [row[0] for row in rows if row[0].startswith(prefix)]

    def countries(self, actors: Iterable[str] | None = None) -> dict[str, str]:
        """Each actor's country code (of ``actors`` only, when given)."""
        sql = "select id, country from actors where country is not null"
        if actors is None:
            return dict(self.conn.execute(sql).fetchall())
        listed = json.dumps(sorted(set(actors)))
        rows = self.conn.execute(f"{sql} and id in (select value from json_each(?))", [listed])
        return dict(rows.fetchall())

    def points(self, names: Iterable[str]) -> dict[str, list[tuple[float, float]]]:
        """The points the events give each of these place names, each name's sorted (down
        the map's index, idx_events_located)."""
        rows = self.conn.execute(
            f"select location, latitude, longitude from events where {LOCATED}"
            " and location in (select value from json_each(?)) group by 1, 2, 3",
            [json.dumps(sorted(set(names)))],
        )
        return points_by_name(rows)

    def sort_keys(self) -> dict[str, str]:
        """Each event's place in date order."""
        return dict(self.conn.execute("select id, sort_key from events").fetchall())

    def unchanged(self, removed: Iterable[str], added: Iterable[str]) -> Unchanged:
        """The context for checking events that replace ``removed`` against the rest."""
        return unchanged_from(self.conn, {"events": removed}, {"events": added})


class _IdsOnDemand(dict):
    def __init__(self, catalog: Catalog):
        super().__init__()
        self.catalog = catalog

    def __missing__(self, section: str) -> list[str]:
        self[section] = ids = self.catalog.ids([section])[section]
        return ids


@contextmanager
def open_catalog(db_path: Path, path: Path, raw: bytes | None = None) -> Iterator[Catalog | None]:
    """The database at ``db_path`` as a catalog, if it was built from the file at ``path``,
    whose bytes are ``raw`` (read only if its stamp does not say: ``store.built_from``);
    else None."""
    if not Path(db_path).exists() or not built_from(stored_build_info(db_path), path, raw):
        yield None
        return
    with read_only(db_path) as conn:
        yield Catalog(conn)


class _Ids:
    """The ids of a table as a container, looked up in the database one at a time, with
    some added and some removed."""

    def __init__(self, conn, table: str, added: Iterable[str] = (), removed: Iterable[str] = ()):
        self.conn, self.table = conn, table
        self.added, self.removed = set(added), set(removed) - set(added)

    def __contains__(self, value: object) -> bool:
        if value in self.added:
            return True
        if not isinstance(value, str) or value in self.removed:
            return False
        sql = f"select 1 from [{self.table}] where id = ?"
        return self.conn.execute(sql, [value]).fetchone() is not None


def unchanged_from(
    conn: sqlite3.Connection,
    removed: dict[str, Iterable[str]],
    added: dict[str, Iterable[str]],
) -> Unchanged:
    """What a partial check needs to know of the records outside the changed part: by
    section, the ids of the records ``removed`` (or edited) and ``added`` (or edited) in it;
    looked up in the database as it asks."""
    gone = set(removed.get("events", ()))

    def titles_on(canonical: str) -> list[str]:
        start = parse_date(canonical).start.isoformat()  # the same date starts the same day
        rows = conn.execute(
            "select id, title from events where date_start = ? and date = ?", [start, canonical]
        )
        return [title for event_id, title in rows if event_id not in gone]

    def acyclic_edges(targets: Iterable[str]) -> list[tuple[str, str, str]]:
        # only the edges reachable from the changed events' targets: a loop through a
        # changed event leaves it by one of its own relations and comes back along these
        marks = ", ".join("?" * len(schema.ACYCLIC_RELATIONS))
        rows = conn.execute(
            "with recursive reach(id) as (select value from json_each(?) union"
            " select r.related_id from event_relations r join reach on r.event_id = reach.id"
            f" where r.relation in ({marks}))"
            " select relation, event_id, related_id from event_relations"
            f" where event_id in (select id from reach) and relation in ({marks})",
            [json.dumps(sorted(set(targets))), *schema.ACYCLIC_RELATIONS,
             *schema.ACYCLIC_RELATIONS],
        )  # fmt: skip
        return [row for row in rows if row[1] not in gone]

    def ordered_into(ids: Iterable[str]) -> list[tuple[str, str, str]]:
        # the other events' relations to the changed ones that name an earlier event: a
        # changed date can put an event after one that follows it
        marks = ", ".join("?" * len(schema.ORDERED_RELATIONS))
        rows = conn.execute(
            "select relation, event_id, related_id from event_relations"
            f" where related_id in (select value from json_each(?)) and relation in ({marks})",
            [json.dumps(sorted(set(ids))), *schema.ORDERED_RELATIONS],
        )
        return [row for row in rows if row[1] not in gone]

    def spans(ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        rows = conn.execute(
            "select id, date_start, date_end from events"
            " where id in (select value from json_each(?))",
            [json.dumps(sorted(set(ids)))],
        )
        return {i: (start, end) for i, start, end in rows if i not in gone}

    sections = schema.SECTION_TABLE
    known = {s: _Ids(conn, t, added.get(s, ()), removed.get(s, ())) for s, t in sections.items()}
    others = {s: _Ids(conn, t, removed=removed.get(s, ())) for s, t in sections.items()}
    return Unchanged(known, others, titles_on, acyclic_edges, ordered_into, spans)
