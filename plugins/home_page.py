"""``/``: the home page, drawn without Datasette's inventory of every table.

Datasette's index view lists each database's tables and views before any template runs:
for this database that is 32 permission checks, each copying the whole metadata, about
50 ms a request whatever the size of the data. The home page shows none of that list
(``templates/index.html`` replaces it with the site's own introduction). This route
renders the same template through ``datasette.render_template``, so every template hook
(the charts, the vocabularies, the links) still runs. ``/.json`` stays Datasette's own
index.

Only public extension points are used: ``register_routes`` (a plugin's routes are
matched before Datasette's own), ``ensure_permissions`` and ``render_template``.
"""

from datasette import hookimpl
from datasette.utils.asgi import Response


async def home(datasette, request):
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    context = {"metadata": datasette.metadata(), "databases": [], "private": False}
    html = await datasette.render_template(
        "index.html", context, request=request, view_name="index"
    )
    return Response.html(html)


@hookimpl
def register_routes():
    return [(r"^/$", home)]
