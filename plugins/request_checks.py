"""Answer a clean 400, not a 500, for table-page parameters that cannot be honoured.

Datasette 0.65 raises an internal error for an unknown ``_sort``/``_sort_desc``
column, for both at once, and for a ``_through`` that is not the JSON it expects.
Those requests are checked here first. ``_search`` is limited in length and in
words (each word becomes a phrase of the full-text query, and thousands of them
cost seconds per request), a request asks for at most MAX_FACETS facets, and
``_where`` on a site without public SQL is refused before the page is computed.
"""

import json
from urllib.parse import parse_qs

from datasette import hookimpl
from datasette.utils.asgi import Response

MAX_FACETS = 8
MAX_SEARCH_WORDS = 16
MAX_SEARCH_CHARS = 256
EXTENSIONS = (".json", ".csv", ".atom", ".ics")


class BadRequest(Exception):
    status = 400
    title = "Bad request"


class Forbidden(BadRequest):
    """Refused before Datasette builds the whole page only to refuse it."""

    status = 403
    title = "Forbidden"


async def check(datasette, path: str, query: dict[str, list[str]]) -> None:
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return
    database, table = parts
    for ext in EXTENSIONS:
        table = table.removesuffix(ext)
    if database not in datasette.databases:
        return
    db = datasette.get_database(database)
    if table not in set(await db.table_names()) | set(await db.view_names()):
        return
    sort, sort_desc = query.get("_sort", []), query.get("_sort_desc", [])
    if sort and sort_desc:
        raise BadRequest("Use either _sort or _sort_desc, not both.")
    for column in sort + sort_desc:
        if column not in await _sortable(datasette, db, table):
            raise BadRequest(f"Cannot sort by {column!r}: the table has no such column.")
    for through in query.get("_through", []):
        _check_through(through, set(await db.table_names()))
    facets = [k for k in query if k.startswith("_facet") and k != "_facet_size"]
    if sum(len(query[k]) for k in facets) > MAX_FACETS:
        raise BadRequest(f"Ask for at most {MAX_FACETS} facets at once.")
    if "_where" in query and not await datasette.permission_allowed(
        None, "execute-sql", resource=database, default=True
    ):
        raise Forbidden("_where needs SQL, which this site does not run for the public.")
    for text in query.get("_search", []):
        if len(text) > MAX_SEARCH_CHARS or len(text.split()) > MAX_SEARCH_WORDS:
            raise BadRequest(
                f"Search for at most {MAX_SEARCH_WORDS} words ({MAX_SEARCH_CHARS} characters)."
            )


async def _sortable(datasette, db, table: str) -> set[str]:
    """What Datasette lets a table be sorted by: ``sortable_columns`` from the metadata, or
    every column, plus ``rowid`` for a table without a primary key."""
    configured = datasette.table_metadata(db.name, table).get("sortable_columns")
    if configured:
        return set(configured)
    result = await db.execute(f"select * from [{table}] limit 0")
    columns = set(result.columns)
    if table in await db.table_names() and not await db.primary_keys(table):
        columns.add("rowid")
    return columns


def _check_through(text: str, tables: set[str]) -> None:
    try:
        through = json.loads(text)
    except ValueError:
        raise BadRequest("_through must be JSON: {table, column, value}.") from None
    if not isinstance(through, dict) or not {"table", "column", "value"} <= set(through):
        raise BadRequest("_through must be JSON with keys table, column and value.")
    if through["table"] not in tables:
        raise BadRequest(f"_through names an unknown table {through['table']!r}.")


async def refuse(datasette, scope, send, exc: BadRequest) -> None:
    message, status = str(exc), exc.status
    if scope["path"].endswith(".json"):
        response = Response.json({"ok": False, "error": message, "status": status}, status=status)
    else:
        html = await datasette.render_template(
            "error.html", {"error": message, "status": status, "title": exc.title}
        )
        response = Response.html(html, status=status)
    await response.asgi_send(send)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def checked(scope, receive, send):
            if scope["type"] == "http" and scope.get("query_string"):
                query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                try:
                    await check(datasette, scope["path"], query)
                except BadRequest as exc:
                    return await refuse(datasette, scope, send, exc)
            await app(scope, receive, send)

        return checked

    return wrap
