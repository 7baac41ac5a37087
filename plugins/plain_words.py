"""Plain words for what Datasette says in its own terms on the pages readers use.

A table's order: Datasette describes it as "sorted by <column>[ descending]" (after the
filters, in ``human_description_en``); ``plain_order`` says it in words, the column named
in ORDER_WORDS or, for any other, its name with spaces. A table with no order chosen is
paged by its primary key, which Datasette does not describe: the words say that order too.
"""

from datasette import hookimpl

# Columns whose name is no word for a reader: (ascending, descending).
ORDER_WORDS = {"sort_key": ("in date order", "in date order, latest first")}


def plain_order(description: str | None, sort: str | None, sort_desc: str | None) -> str:
    column = sort or sort_desc
    if not description or not column:
        return description or ""
    datasettes = f"sorted by {column}{' descending' if sort_desc else ''}"
    if not description.endswith(datasettes):
        if "sorted by" in description:
            raise ValueError(f"the table's description does not end with {datasettes!r}")
        # No order chosen: Datasette pages by the primary key, which it marks with an arrow
        # without describing it; the words say it as for a chosen order.
        description = f"{description} {datasettes}"
    if column in ORDER_WORDS:
        words = ORDER_WORDS[column][1 if sort_desc else 0]
    else:
        words = f"sorted by {column.replace('_', ' ')}{', descending' if sort_desc else ''}"
    return description.removesuffix(datasettes) + words


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.filters["plain_order"] = plain_order
