"""List facets and filters for the events table, read from an index.

An event's actors, countries, tags and systems are JSON arrays. Datasette's own array
facet parses every row's array on every request (hundreds of ms at 100,000 events, and
it silently drops out when it times out); here the build has stored each value as a row
of ``event_list_values`` (and the unfiltered counts in ``event_list_counts``), so a
facet is an indexed ``GROUP BY`` and a filter an indexed lookup.

* facet: ``{"list": "tags"}`` in the table's facets (or ``?_facet_list=tags``);
* filter: ``?_tags=drones`` keeps events whose ``tags`` list holds ``drones`` (repeat the
  parameter to require several values).

Only public plugin hooks are used: ``register_facet_classes`` and ``filters_from_request``.
"""

from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.filters import FilterArguments
from datasette.utils import path_with_added_args, path_with_removed_args

from timeline.build import DATABASE_NAME as DATABASE
from timeline.build import list_columns
from timeline.schema import column_codes

LISTS = list_columns()
TABLE = "events"

COUNTS_SQL = """select value, count from event_list_counts where list = :_list
order by count desc, value limit :_limit"""
FILTERED_COUNTS_SQL = """select v.value, count(distinct v.event_id) as count
from event_list_values v
where v.list = :_list and v.event_id in (select id from ({sql}))
group by v.value order by count desc, v.value limit :_limit"""


def label(column: str, value: str) -> str:
    """What a reader sees for a value: a code by what it stands for, with the code."""
    codes = column_codes(TABLE, column)
    name = codes.name(value) if codes else None
    return f"{name} ({value})" if name else value


def parameter(column: str) -> str:
    return f"_{column}"


class ListFacet(Facet):
    type = "list"

    async def facet_results(self):
        results, timed_out = [], []
        size = self.get_facet_size()
        pairs = parse_qsl(self.request.query_string, keep_blank_values=True)
        for config in self.get_configs():
            column = config["config"].get("column") or config["config"]["simple"]
            if self.table != TABLE or column not in LISTS:
                continue
            rows = await self._counts(column, size + 1)
            if rows is None:
                timed_out.append(column)
                continue
            name = parameter(column)
            values = []
            for row in rows[:size]:
                value = str(row["value"])
                selected = (name, value) in pairs
                change = path_with_removed_args if selected else path_with_added_args
                toggle = change(self.request, {name: value})
                values.append({
                    "value": value,
                    "label": label(column, value),
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, toggle),
                    "selected": selected,
                })  # fmt: skip
            results.append({
                "name": column,
                "type": self.type,
                "results": values,
                "hideable": config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(
                    path_with_removed_args(self.request, {"_facet_list": column})
                ),
                "truncated": len(rows) > size,
            })  # fmt: skip
        return results, timed_out

    async def _counts(self, column: str, limit: int):
        """Counts per value over the rows the page shows; precomputed when it shows all."""
        params = dict(self.params or {}) | {"_list": column, "_limit": limit}
        unfiltered = " where " not in self.sql.lower()
        sql = COUNTS_SQL if unfiltered else FILTERED_COUNTS_SQL.format(sql=self.sql)
        try:
            result = await self.ds.execute(
                self.database, sql, params, truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )  # fmt: skip
        except QueryInterrupted:
            return None
        return result.rows


@hookimpl
def register_facet_classes():
    return [ListFacet]


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
