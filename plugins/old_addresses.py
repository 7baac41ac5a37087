"""Addresses from when the database was published as ``timeline``, the name the timeline
page has: each redirects (301) to the same thing under the database's name, with its
query string, so links and feed subscriptions made then keep working.

    /timeline/events/montreux       -> /record/events/montreux
    /timeline/atom_feed.atom?actor= -> /record/atom_feed.atom?actor=
    /timeline.db, /timeline.json    -> /record.db, /record.json

``/timeline?sql=`` is the timeline page's (plugins/timeline_page.py).
"""

from datasette import hookimpl
from datasette.utils.asgi import Response

from timeline.site import DATABASE, OLD_DATABASE


def moved(datasette, request):
    rest = request.url_vars["rest"]
    # the route matched the path as the client sent it (still percent-encoded)
    target = datasette.urls.path(f"/{DATABASE}{rest}")
    if request.query_string:
        target += "?" + request.query_string
    return Response.redirect(target, status=301)


@hookimpl
def register_routes():
    # "/timeline/…" and "/timeline.<format>", never "/timeline" itself (the page)
    return [(rf"^/{OLD_DATABASE}(?P<rest>(/|\.).+)$", moved)]
