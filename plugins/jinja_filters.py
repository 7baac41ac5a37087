"""Template filters.

* ``json_list``: the JSON arrays stored in events (actors, tags) as lists.
* ``facets_in_order``: the table's facets in the order its metadata lists them (the
  schema's column order: precision, year, type, status, …), not Datasette's order by
  number of values, which scatters the small ones (status) to the end.
* ``facet_values``: a facet's values, by count, except chronological columns (year,
  month), which read in date order.
* ``facet_label``: a code as what it stands for, with the code: 'Türkiye (TR)', from
  the code lists in ``timeline.schema`` (the event page names countries the same way).
* ``figure`` and ``amount``: a number with its qualifier ('about 1,200', 'number not
  stated') and an amount with its currency, as ``timeline.figures`` says them everywhere.
"""

import json

from datasette import hookimpl

from timeline.figures import figure_words, value_words
from timeline.schema import column_codes

BY_VALUE = {"year", "month"}


def json_list(value):
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [str(item) for item in parsed] if isinstance(parsed, list) else []


def facets_in_order(facet_results: list[dict], configured: list | None) -> list[dict]:
    """Configured facets first, in their configured order; requested ones after."""
    names = [f if isinstance(f, str) else next(iter(f.values()), "") for f in configured or []]
    rank = {name: i for i, name in enumerate(names)}
    return sorted(facet_results, key=lambda facet: rank.get(facet["name"], len(rank)))


def facet_values(results: list[dict], column: str) -> list[dict]:
    if column not in BY_VALUE:
        return results
    return sorted(results, key=lambda r: (r["value"] is None, str(r["value"]).zfill(8)))


def facet_label(label, table: str | None, column: str) -> str:
    text = "" if label is None else str(label)
    codes = column_codes(table, column) if table and text else None
    name = codes.name(text) if codes else None
    return f"{name} ({text})" if name else text


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["json_list"] = json_list
    env.filters["facets_in_order"] = facets_in_order
    env.filters["facet_values"] = facet_values
    env.filters["facet_label"] = facet_label
    env.filters["figure"] = figure_words
    env.filters["amount"] = value_words
