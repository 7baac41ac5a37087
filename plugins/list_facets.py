"""Facets and filters for the events table, read from an index or from counts made by the
build.

An event's actors, countries, tags and systems are JSON arrays. Datasette's own array
facet parses every row's array on every request (hundreds of ms at 100,000 events, and
it silently drops out when it times out); here the build has counted each value over the
whole table (``event_list_counts``) and stored each value as a row of
``event_list_values``, so an unfiltered facet reads a few rows and a filter is an indexed
lookup. A filtered page counts the values in its own rows' arrays: at 100,000 events,
for a search that matches 61 % of them, that took 115-126 ms a list, where checking each
of the list's 300,000 indexed values against the matching events took 208-281 ms.

* list facet: ``{"list": "tags"}`` in the table's facets (or ``?_facet_list=tags``);
* filter: ``?_tags=drones`` keeps events whose ``tags`` list holds ``drones`` (repeat the
  parameter to require several values).

The column facets (precision, year, type, status) are ``{"counts": "type"}``: over the
whole table they are read from the build's ``event_counts`` (four index scans of every
event took ~50 ms a page at 100,000 events); once the page is filtered they are counted
over its rows, the four in one pass, to the same values and order as Datasette's column
facet, and they toggle the same ``?type=`` filter.

Only public plugin hooks are used: ``register_facet_classes`` and ``filters_from_request``.
"""

import asyncio
from collections import Counter
from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from timeline.derive import FACET_COUNTS, list_columns
from timeline.schema import column_codes
from timeline.site import DATABASE

LISTS = list_columns()
TABLE = "events"

COUNTS_SQL = """select value, count from event_list_counts where list = :_list
order by count desc, value limit :_limit"""
# An event's list holds each value once (the build writes them so), so count(*) counts
# events.
FILTERED_COUNTS_SQL = """select j.value, count(*) as count
from ({sql}) e, json_each(e.{column}) j
group by j.value order by count desc, j.value limit :_limit"""
# Column facets over the whole table: year and type from the 'all' rows of event_counts,
# the counted columns (status, precision) from their own scope.
COLUMN_COUNTS_SQL = """select {value} as value, sum(events) as count from event_counts
where scope = :_scope group by {value} order by count desc, value limit :_limit"""
FILTERED_COLUMN_SQL = """select {column} as value, count(*) as count from ({sql})
where {column} is not null group by {column} order by count desc, value limit :_limit"""
FILTERED_COLUMNS_SQL = "select {columns}, count(*) from ({sql}) group by {columns}"


# Query-string parameters that change how a table page shows its rows, not which rows it
# holds (and every _facet… parameter). A page with no other parameter shows every event;
# any other (a column filter, _search, _where, _tags, one not known here) means the rows
# are counted as the page holds them, which is always right, only slower.
PRESENTATION = {"_size", "_sort", "_sort_desc", "_next", "_col", "_nocol", "_labels", "_shape",
                "_json", "_trace", "_timelimit", "_nofacet", "_nocount", "_extra", "_stream",
                "_dl", "_nosuggest", "_format", "_hide_sql"}  # fmt: skip


def shows_every_event(request) -> bool:
    """Whether the page's rows are the whole events table: judged by what the reader asked
    for (the request's parameters), not by reading the SQL."""
    return all(key in PRESENTATION or key.startswith("_facet") for key in request.args)


def column_counts_sql(column: str) -> tuple[str, str] | None:
    """The precomputed counts of a column's values, and their scope; None for a column
    the build does not count."""
    scope = FACET_COUNTS.get(column)
    if scope is None:
        return None
    return COLUMN_COUNTS_SQL.format(value=column if scope == "all" else "scope_id"), scope


def label(column: str, value: str) -> str:
    """What a reader sees for a value: a code by what it stands for, with the code."""
    codes = column_codes(TABLE, column)
    name = codes.name(value) if codes else None
    return f"{name} ({value})" if name else value


def parameter(column: str) -> str:
    return f"_{column}"


class CountingFacet(Facet):
    """What the list and column facets share: one result per configured column, each
    value with its count and the link that adds or removes its filter."""

    reported_type = ""  # the facet type readers and API users see

    def counts_column(self, column: str) -> bool:
        return True

    def filter_parameter(self, column: str) -> str:
        return column

    def value_label(self, column: str, value):
        return value

    def counts_query(self, column: str) -> tuple[str, dict]:
        raise NotImplementedError

    async def facet_results(self):
        results, timed_out = [], []
        size = self.get_facet_size()
        pairs = parse_qsl(self.request.query_string, keep_blank_values=True)
        named = [
            (c, c["config"].get("column") or c["config"]["simple"]) for c in self.get_configs()
        ]
        configs = [(c, column) for c, column in named
                   if self.table == TABLE and self.counts_column(column)]  # fmt: skip
        counted = await self.count_columns([column for _, column in configs], size + 1)
        for (config, column), rows in zip(configs, counted, strict=True):
            if rows is None:
                timed_out.append(column)
                continue
            name = self.filter_parameter(column)
            values = []
            for row in rows[:size]:
                value = str(row["value"])
                selected = (name, value) in pairs
                change = path_with_removed_args if selected else path_with_added_args
                toggle = change(self.request, {name: value})
                values.append({
                    "value": row["value"],
                    "label": self.value_label(column, row["value"]),
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, toggle),
                    "selected": selected,
                })  # fmt: skip
            results.append({
                "name": column,
                "type": self.reported_type,
                "results": values,
                "hideable": config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(
                    path_with_removed_args(self.request, {f"_facet_{self.type}": column})
                ),
                "truncated": len(rows) > size,
            })  # fmt: skip
        return results, timed_out

    async def count_columns(self, columns: list[str], limit: int) -> list[list | None]:
        """Each column's first ``limit`` values with their counts (None: out of time).

        The columns' counts run side by side on Datasette's SQL threads: over a search that
        matches most events each takes 60-150 ms, and one after the other they added up to
        most of the page."""
        return await asyncio.gather(*(self._counts(column, limit) for column in columns))

    async def _counts(self, column: str, limit: int):
        sql, params = self.counts_query(column)
        return await self._rows(sql, params | {"_limit": limit})

    async def _rows(self, sql: str, params: dict) -> list | None:
        try:
            result = await self.ds.execute(
                self.database, sql, params, truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )  # fmt: skip
        except QueryInterrupted:
            return None
        return result.rows


class ListFacet(CountingFacet):
    """Counts per value of a list column over the rows the page shows; precomputed when
    it shows all."""

    type = reported_type = "list"

    def counts_column(self, column: str) -> bool:
        return column in LISTS

    def filter_parameter(self, column: str) -> str:
        return parameter(column)

    def value_label(self, column: str, value) -> str:
        return label(column, str(value))

    def counts_query(self, column: str) -> tuple[str, dict]:
        if shows_every_event(self.request):
            return COUNTS_SQL, {"_list": column}
        sql = FILTERED_COUNTS_SQL.format(sql=self.sql, column=escape_sqlite(column))
        return sql, dict(self.params or {})


class ColumnCountFacet(CountingFacet):
    """A column facet that reads the build's counts when the page shows every event."""

    type = "counts"
    # to readers and API users it is a column facet; only its counting differs
    reported_type = "column"

    def counts_query(self, column: str) -> tuple[str, dict]:
        precomputed = column_counts_sql(column) if shows_every_event(self.request) else None
        if precomputed:
            sql, scope = precomputed
            return sql, {"_scope": scope}
        sql = FILTERED_COLUMN_SQL.format(column=escape_sqlite(column), sql=self.sql)
        return sql, dict(self.params or {})

    async def count_columns(self, columns: list[str], limit: int) -> list[list | None]:
        """On a filtered page, the columns the build counts (few values each) are counted
        in one pass over the page's rows: each pass reads every matching row, 40-80 ms
        for a search matching 61 % of 100,000 events, 70 ms for all four at once."""
        every = shows_every_event(self.request)
        together = [] if every else [c for c in columns if c in FACET_COUNTS]
        if len(together) < 2:
            return await super().count_columns(columns, limit)
        apart = [c for c in columns if c not in together]
        names = ", ".join(escape_sqlite(c) for c in together)
        sql = FILTERED_COLUMNS_SQL.format(columns=names, sql=self.sql)
        grouped, *separately = await asyncio.gather(
            self._rows(sql, dict(self.params or {})),
            *(self._counts(column, limit) for column in apart),
        )
        counted = dict(zip(apart, separately, strict=True))
        for i, column in enumerate(together):
            counted[column] = None if grouped is None else first_values(grouped, i, limit)
        return [counted[column] for column in columns]


def first_values(grouped: list, i: int, limit: int) -> list[dict]:
    """Column ``i``'s values summed over rows of (columns..., count), as a column facet
    orders them: most events first, then by value as SQLite orders values (numbers before
    text); no null."""
    totals: Counter = Counter()
    for row in grouped:
        if row[i] is not None:
            totals[row[i]] += row[-1]
    ordered = sorted(totals.items(), key=lambda item: (-item[1], isinstance(item[0], str), item[0]))
    return [{"value": value, "count": count} for value, count in ordered[:limit]]


@hookimpl
def register_facet_classes():
    return [ListFacet, ColumnCountFacet]


@hookimpl
def filters_from_request(request, database, table, datasette):
    if database != DATABASE or table != TABLE:
        return None
    clauses, params, descriptions = [], {}, []
    for column in LISTS:
        for i, value in enumerate(request.args.getlist(parameter(column))):
            key_list, key_value = f"_list_{column}_{i}", f"_value_{column}_{i}"
            clauses.append(
                f"id in (select event_id from event_list_values where list = :{key_list}"
                f" and value = :{key_value})"
            )
            params |= {key_list: column, key_value: value}
            descriptions.append(f'{column} include "{label(column, value)}"')
    if not clauses:
        return None
    return FilterArguments(clauses, params=params, human_descriptions=descriptions)
