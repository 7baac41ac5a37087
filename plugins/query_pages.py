"""Pages of events for the canned queries whose answers can run to thousands of rows.

Datasette stops a canned query at ``max_returned_rows`` and offers no way on: at 100,000
events one actor's timeline showed its first 1,000 events and nothing after them. A query
that pages reads one page of events at a time, in date order, starting after an event::

    /record/actor_events?actor=turkey&after=2021-08-tb2-strikes-continue-049657

Its SQL uses two magic parameters that this plugin supplies (magic parameters are not
form fields, so a new search starts from the first page):

* ``:_page_size``: how many events a page holds (PAGE_SIZE, or the query's own size in
  PAGE_SIZES);
* ``:_page_after``: the ``after`` argument, the id of the last event of the page before.

and reads its events in ``(sort_key, id)`` order, so the next page seeks straight to its
first event (keyset paging) instead of counting past the earlier ones. A row is an event
or one part of it (a role, a citation, a transfer); every row carries its ``event_id``.
A page that came back with PAGE_SIZE events links to the next one; an ``after`` naming
no event gives an empty page that says so.

Only public plugin hooks are used: ``register_magic_parameters`` and
``extra_template_vars``.
"""

from datasette import hookimpl
from datasette.utils import path_with_removed_args, path_with_replaced_args

from timeline.site import DATABASE, PAGE_AFTER, pages

PAGE_SIZE = 100
# The claims page shows every citation of each event with its quote, five rows an event
# on average: 100 events made a 720 KiB page.
PAGE_SIZES = {"disputed_claims": 40}
ARGUMENT = PAGE_AFTER


def page_size(request) -> int:
    """Events a page of this request's query holds."""
    return PAGE_SIZES.get(request.url_vars.get("table"), PAGE_SIZE)


def after_event(request) -> str:
    """The id of the event this page starts after; empty for the first page."""
    return (request.args.get(ARGUMENT) or "").strip()


def page_parameter(key: str, request) -> str | int:
    """``:_page_size`` and ``:_page_after``; any other ``:_page_*`` is an error in the SQL."""
    if key == "size":
        return page_size(request)
    if key == ARGUMENT:
        return after_event(request)
    raise KeyError(f"_page_{key}")


def next_page_url(request, rows) -> str | None:
    """The next page when this one is full: it starts after this page's last event."""
    events = {row["event_id"] for row in rows}
    if len(events) < page_size(request):
        return None
    return path_with_replaced_args(request, {ARGUMENT: rows[-1]["event_id"]})


@hookimpl
def register_magic_parameters():
    return [("page", page_parameter)]


@hookimpl
def extra_template_vars(template, database, request, datasette):
    # A query's page is rendered from query.html or its own query-<database>-<name>.html.
    if not (template or "").startswith("query") or database != DATABASE or request is None:
        return None
    return {
        "query_page": {
            "size": page_size(request),
            "after": after_event(request),
            "pages": pages,
            "next_url": lambda rows: next_page_url(request, rows),
            "first_url": datasette.urls.path(path_with_removed_args(request, {ARGUMENT})),
        }
    }
