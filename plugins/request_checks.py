"""Answer a cheap 4xx, not a 500, for requests that cannot be honoured; log one line each.

Checked here before Datasette sees the request (Datasette 0.65 answers each of them with a
500, or computes the whole page first): any method but GET and HEAD (the site is read-only);
a parameter value over MAX_VALUE_CHARS characters or holding a NUL character (SQLite refuses
any statement with one); a row path whose key has the wrong number of parts for the table's
primary key; an unknown ``_sort``/``_sort_desc``, ``_facet*``, ``_col``/``_nocol`` column,
``__arraycontains`` on a column of no lists, ``_sort`` and ``_sort_desc`` at once; a
column filter (``column=`` or ``column__operator=``) on a column the table does not have, or
with an operator Datasette does not have (Datasette 0.65 compares a quoted unknown name as
a text, ``"actor" = 'turkey'``, and answers "0 rows where actor = turkey"; it drops an
unknown operator in silence and counts every row); a parameter a canned query does not take
(Datasette runs the query as if it were not there: a feed's ``?actors=`` gave every event),
or a value of one of the site's filters that no event could have (``from=soon``); a
table's or a row's page asked with what another site added to a shared link (``fbclid``,
``utm_*``) is sent to the same page without it; a
``_next`` on a view that is not an offset; a ``_through`` that is not the JSON it expects; a
``__in``/``__notin`` list that is not JSON; a parameter on a row's page that is not one of
Datasette's own (``_…``: the page shows one row and filters nothing); ``_size``,
``_facet_size``, ``_timelimit`` and (on any page) ``_ttl`` that are not numbers; a Host
header that is not a host name (the downloads and the calendar copy it into their absolute
links). Every search parameter
(``_search`` and each ``_search_<column>``) is limited in length and in words (each word
becomes a phrase of the full-text query, and thousands of them cost seconds per request) and
may hold no control characters; a request asks for at most
MAX_FACETS facets, and ``_where`` on a site without public SQL is refused.

Whatever still fails inside Datasette is answered by ``handle_exception`` below: the status
Datasette meant (404, 400...) or a 500, the site's error page, and one line in the log
(a plain traceback, without local variables, for a 500 only). Datasette's own handler prints
every error, a 404 included, with ``rich`` and its local variables when ``rich`` is
importable (typer depends on it): about 0.2-0.7 s of CPU and 15-130 KB of log a request.
"""

import json
import re
import sys
import traceback
from urllib.parse import parse_qs, urlencode

from datasette import hookimpl
from datasette.utils import add_cors_headers
from datasette.utils.asgi import Response
from markupsafe import Markup

from timeline import filters
from timeline.formats import HOST
from timeline.site import ROUTES, query_parameters, refused

MAX_FACETS = 8
MAX_SEARCH_WORDS = 16
MAX_SEARCH_CHARS = 256
READ_METHODS = ("GET", "HEAD")
# No parameter of the site's pages needs more (SQL has SQLite's own 100 KB limit); a date
# padded with 40,000 spaces cost a page 90 ms.
MAX_VALUE_CHARS = 1000
NUMBERS = {"_size": ("max",), "_facet_size": ("max",), "_timelimit": ()}
# Read by Datasette on every page that has one: a cache lifetime in seconds, turned into a
# number with ``int`` whenever ``str.isdigit`` takes it for one (``_ttl=¹``: a 500).
EVERY_PAGE_NUMBERS = {"_ttl": ()}
# Datasette's column filters (``column__operator=value``; a key without one is ``exact``), as
# its JSON API documentation lists them (tests/test_site_hardening.py compares this copy with
# the installed Datasette's).
FILTER_OPERATORS = frozenset(
    ("exact", "not", "contains", "endswith", "startswith", "gt", "gte", "lt", "lte", "like",
     "notlike", "glob", "in", "notin", "arraycontains", "arraynotcontains", "date", "isnull",
     "notnull", "isblank", "notblank")
)  # fmt: skip
LOGGED_CHARS = 200  # of a path or message in the log line
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadRequest(Exception):
    status = 400
    title = "Bad request"


class Forbidden(BadRequest):
    """Refused before Datasette builds the whole page only to refuse it."""

    status = 403
    title = "Forbidden"


class NotFound(BadRequest):
    status = 404
    title = "Not found"


class Untracked(Exception):
    """A table's or a row's page asked with what another site added to a shared link
    (``fbclid``): Datasette would read it as a column filter, or it would be refused as one on
    a row's page; the same page without it is sent instead."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


class MethodNotAllowed(BadRequest):
    status = 405
    title = "Method not allowed"


async def check(
    datasette, method: str, path: str, query: dict[str, list[str]], host: str | None = None
) -> None:
    if method not in READ_METHODS:
        raise MethodNotAllowed("This site is read-only: it answers GET and HEAD only.")
    if host is not None and not HOST.fullmatch(host):  # pages copy it into absolute links
        raise BadRequest("The Host header is not a host name.")
    for key, values in query.items():
        if key != "sql" and any(len(value) > MAX_VALUE_CHARS for value in values):
            raise BadRequest(f"{key[:40]}: at most {MAX_VALUE_CHARS} characters.")
        if "\x00" in key or any("\x00" in value for value in values):
            # SQLite refuses any statement holding one; no value of the site needs it
            raise BadRequest("A parameter may not hold a NUL character.")
    _check_numbers(query, EVERY_PAGE_NUMBERS)
    parts = path.strip("/").split("/")
    database = parts[0] if len(parts) > 1 else parts[0].rpartition(".")[0]
    if database not in datasette.databases:
        return
    # Datasette would serve an unknown format (/record/events.nope) as the HTML page
    formats = served_formats(datasette) | ({"db"} if len(parts) == 1 else set())  # the file
    parts[-1] = _without_format(parts[-1], formats)
    if len(parts) not in (2, 3):
        return
    db = datasette.get_database(database)
    table = parts[1]
    if table not in set(await db.table_names()) | set(await db.view_names()):
        if len(parts) == 3:  # Datasette would look the row up in a table that is not there
            raise NotFound(f"No such table: {table[:40]}")
        queries = datasette.metadata("queries", database=database) or {}
        if table in queries and query:
            await _check_query_parameters(db, queries[table], query)
        return
    kept = {k: v for k, v in query.items() if not filters.LINK_TRACKING.fullmatch(k)}
    # what the page cannot honour is said first: a redirect would only lead to it
    if len(parts) == 3:
        await _check_row_path(db, table, parts[2])
        _check_row_query(table, kept)
    elif query:
        await _check_table_query(datasette, db, table, kept)
    if len(kept) < len(query):
        raise Untracked(path + (f"?{urlencode(kept, doseq=True)}" if kept else ""))


def served_formats(datasette) -> set[str]:
    """The formats of a database's pages: its output renderers' (JSON and the plugins'),
    CSV, and ``jsono`` (Datasette's old name for JSON objects, which it redirects)."""
    return {"csv", "jsono", *datasette.renderers}


def _without_format(name: str, formats: set[str]) -> str:
    """A path segment without its format (a literal dot in a table name or a row's key is
    tilde-encoded, so a dot always starts one)."""
    base, dot, extension = name.rpartition(".")
    if not dot:
        return name
    if extension not in formats:
        listed = ", ".join(f".{f}" for f in sorted(formats))
        raise NotFound(f"No such format: .{extension[:20]}. The formats are {listed}.")
    return base


async def _check_row_path(db, table: str, key: str) -> None:
    """A row's path gives one (tilde-encoded) value per primary-key column, joined by commas."""
    if key == "-" or table in await db.view_names():
        return  # Datasette's own pages and its 404 for a view's "row" are cheap
    wanted = max(1, len(await db.primary_keys(table)))
    if len(key.split(",")) != wanted:
        raise NotFound(f"No such row: {table} has {wanted} primary-key column(s).")


def _check_row_query(table: str, query: dict[str, list[str]]) -> None:
    """A row's page shows one row: a parameter that is not one of Datasette's own (``_…``)
    would filter a table, and the page would show the row as if it were not there."""
    named = sorted(key for key in query if not key.startswith("_"))
    if named:
        raise BadRequest(
            f"'{named[0][:40]}' is not one of this page's parameters: a row's page shows one"
            f" row and filters nothing (the {table[:40]} table's page takes filters)."
        )


async def _check_table_query(datasette, db, table: str, query: dict[str, list[str]]) -> None:
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
    columns = await _columns(db, table)
    for key in [*facets, "_col", "_nocol"]:
        for column in query.get(key, []):
            if column not in columns:
                raise BadRequest(f"{key}: the table has no column {column[:40]!r}.")
    _check_numbers(query)
    is_view = table in await db.view_names()
    _check_filters(table, query, columns | (set() if is_view else {"rowid"}))  # a table has it
    if is_view:  # a view's pages are counted by offset
        _check_numbers(query, {"_next": ()})
    _check_lists(query)
    _check_comparisons(query)
    await _check_arrays(db, table, query)
    if "_where" in query and not await datasette.permission_allowed(
        None, "execute-sql", resource=db.name, default=True
    ):
        raise Forbidden("_where needs SQL, which this site does not run for the public.")
    check_search(query)


def check_search(query: dict[str, list[str]]) -> None:
    """Every search parameter under one cap: ``_search`` and each ``_search_<column>``."""
    for key, values in query.items():
        if key != "_search" and not key.startswith("_search_"):
            continue
        for text in values:
            if len(text) > MAX_SEARCH_CHARS or len(text.split()) > MAX_SEARCH_WORDS:
                raise BadRequest(
                    f"{key}: search for at most {MAX_SEARCH_WORDS} words "
                    f"({MAX_SEARCH_CHARS} characters)."
                )
            if CONTROL.search(text):
                raise BadRequest(f"{key}: a search may not hold control characters.")
            if not text.strip():  # the full-text query would be a syntax error
                raise BadRequest(f"{key}: search for at least one word.")


def _check_numbers(query: dict[str, list[str]], numbers=NUMBERS) -> None:
    for key, words in numbers.items():
        for value in query.get(key, []):
            if value not in words and not (value.isascii() and value.isdigit()):
                allowed = " or ".join(["a whole number", *map(repr, words)])
                raise BadRequest(f"{key} must be {allowed}, not {value[:40]!r}.")


# Datasette's comparing filters turn a value that ``str.isdigit`` calls a number into one
# with ``int``, which refuses digits that are not decimal ones (``id__gt=¹``: a 500).
COMPARING = ("__gt", "__gte", "__lt", "__lte")


def _check_comparisons(query: dict[str, list[str]]) -> None:
    for key, values in query.items():
        if not key.endswith(COMPARING):
            continue
        for value in values:
            if value.isdigit() and not value.isdecimal():
                raise BadRequest(f"{key}: write the number in the digits 0-9, not {value[:40]!r}.")


async def _check_query_parameters(db, config: dict | str, query: dict[str, list[str]]) -> None:
    """A canned query answers as if a parameter it does not declare were not there (the
    feeds' ``?actors=`` gave every event), and reads a filter's value no event could have,
    or one that names no actor, system or source, as one no event has (``from=soon``: an
    empty feed): both refused, saying why."""
    wrong = await refused(db, query, query_parameters(config))
    if wrong:
        raise BadRequest(filters.said(wrong))


def filtered(key: str) -> tuple[str, str] | None:
    """The column and operator of a query key that Datasette reads as a column filter, as it
    splits it; None for its own parameters and the plugins' (``_`` and no ``__``)."""
    if key.startswith("_") and "__" not in key:
        return None
    column, _, operator = key.rpartition("__")
    return (column, operator) if column else (key, "exact")


def _check_filters(table: str, query: dict[str, list[str]], columns: set[str]) -> None:
    for key in query:
        found = filtered(key)
        if found is None:
            continue
        column, operator = found
        if operator not in FILTER_OPERATORS:
            listed = ", ".join(sorted(FILTER_OPERATORS))
            raise BadRequest(f"{key[:40]}: no such filter {operator[:20]!r}. Filters: {listed}.")
        if column not in columns:
            raise BadRequest(_no_such_column(table, column[:40], columns))


def _no_such_column(table: str, column: str, columns: set[str]) -> str:
    message = f"The {table} table has no column {column!r}."
    if f"{column}s" in columns:  # a list column named in the plural (actors, tags)
        message += f" Rows whose {column}s hold a value: ?{column}s__arraycontains=…"
    if table == "events" and column in filters.NAMES:
        message += f" The timeline is filtered by {column}: {ROUTES['timeline']}?{column}=…"
    return message


def _check_lists(query: dict[str, list[str]]) -> None:
    """``column__in=[...]`` is parsed as JSON by Datasette, which fails on a bad list."""
    for key, values in query.items():
        if not key.endswith(("__in", "__notin")):
            continue
        for value in values:
            if value.startswith("["):
                try:
                    json.loads(value)
                except ValueError:
                    raise BadRequest(f"{key} must be a JSON list or comma-separated.") from None


async def _check_arrays(db, table: str, query: dict[str, list[str]]) -> None:
    """``column__arraycontains`` reads the column as JSON; on any other column the SQL fails.
    A column that is not an array fails at its first value, so the check is cheap."""
    for key in query:
        column, _, operation = key.rpartition("__")
        if operation not in ("arraycontains", "arraynotcontains") or not column:
            continue
        sql = f"select 1 from [{table}] where [{column}] is not null and not json_valid([{column}])"
        if (await db.execute(sql + " limit 1")).rows:
            raise BadRequest(f"{key}: {column!r} does not hold lists.")


async def _columns(db, table: str) -> set[str]:
    return set((await db.execute(f"select * from [{table}] limit 0")).columns)


async def _sortable(datasette, db, table: str) -> set[str]:
    """What Datasette lets a table be sorted by: ``sortable_columns`` from the metadata, or
    every column, plus ``rowid`` for a table without a primary key."""
    configured = datasette.table_metadata(db.name, table).get("sortable_columns")
    if configured:
        return set(configured)
    columns = await _columns(db, table)
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


async def error_page(
    datasette, path: str, status: int, message: str, title: str | None = None
) -> Response:
    """The site's answer to a request it cannot honour: JSON for ``.json``, else error.html."""
    headers: dict[str, str] = {}
    if datasette.cors:
        add_cors_headers(headers)
    if path.endswith(".json"):
        body = {"ok": False, "error": str(message), "status": status, "title": title}
        return Response.json(body, status=status, headers=headers)
    html = await datasette.render_template(
        [f"{status}.html", "error.html"],
        {"error": message, "status": status, "title": title, "ok": False},
    )
    return Response.html(html, status=status, headers=headers)


def log_line(status: int, method: str, path: str, message: str) -> str:
    """One line, whatever the request holds: cut short, control characters escaped."""

    def clean(text: str) -> str:
        return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:LOGGED_CHARS])

    return f"timeline: {status} {clean(method)} {clean(path)}: {clean(message)}\n"


def _log(status: int, method: str, path: str, message: str, exception=None) -> None:
    sys.stderr.write(log_line(status, method, path, message))
    if exception is not None:  # a 500 is a bug to fix: where it happened, without locals
        sys.stderr.write("".join(traceback.format_exception(exception)))
    sys.stderr.flush()


def _status_of(exception: Exception) -> tuple[int, str, str | None]:
    """Datasette's meaning of an exception: its 4xx errors carry ``status`` (and its own
    errors a ``message`` and ``title``); anything else is a 500 whose text stays private."""
    status = getattr(exception, "status", None)
    if not isinstance(status, int) or not 400 <= status < 500:
        return 500, "The server could not answer this request.", None
    message = getattr(exception, "message", None) or (exception.args or ("",))[0]
    if getattr(exception, "message_is_html", False):
        message = Markup(message)
    return status, message, getattr(exception, "title", None)


@hookimpl(wrapper=True)
def handle_exception(datasette, request, exception):
    """Replace Datasette's answer (and its ``rich`` traceback) with ours, except under --pdb."""
    answers = yield
    if datasette.pdb:
        return answers

    async def answer():
        status, message, title = _status_of(exception)
        path = request.path.split("?")[0]
        _log(status, request.method, path, str(message), exception if status == 500 else None)
        return await error_page(datasette, path, status, message, title)

    return [answer]


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def checked(scope, receive, send):
            if scope["type"] == "http":
                query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                headers = dict(scope.get("headers") or [])
                host = headers[b"host"].decode("latin-1") if b"host" in headers else None
                try:
                    await check(datasette, scope["method"], scope["path"], query, host)
                except Untracked as moved:
                    return await Response.redirect(moved.location).asgi_send(send)
                except BadRequest as exc:
                    _log(exc.status, scope["method"], scope["path"], str(exc))
                    response = await error_page(
                        datasette, scope["path"], exc.status, str(exc), exc.title
                    )
                    return await response.asgi_send(send)
            await app(scope, receive, send)

        return checked

    return wrap
