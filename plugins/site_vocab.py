"""Make the project's vocabularies (statuses, event types, roles), the database name, the
site's own pages and its metadata available to every template.

They come from ``timeline.schema`` so the site explains exactly the words the
validator accepts. Static values are Jinja globals, so that pages Datasette renders
without its template hooks (the error pages) can use them too.
"""

from datasette import hookimpl

from timeline.schema import EVENT_TYPES, RELATION_TYPES, ROLES, STATUSES
from timeline.site import DATABASE, ROUTES


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.globals.update(
        timeline_db=DATABASE,
        site_routes=ROUTES,  # the site's own pages, by name: {{ urls.path(site_routes.claims) }}
        site_metadata=datasette.metadata(),  # the footer's licence and links, on error pages too
        status_descriptions=STATUSES,
        type_descriptions=EVENT_TYPES,
        role_descriptions=ROLES,
        relation_descriptions=RELATION_TYPES,
    )


def download_url(datasette) -> str | None:
    """The database's download address where Datasette serves it, else None.

    Datasette refuses to send a database it serves mutable (it might be mid-write), and
    the development server serves it mutable; production serves it immutable. Pages
    link the download only where it works.
    """
    db = datasette.get_database(DATABASE)
    if datasette.setting("allow_download") and not db.is_mutable and not db.is_memory:
        return datasette.urls.database(DATABASE) + ".db"
    return None


@hookimpl
def extra_template_vars(datasette):
    async def inner():
        return {
            "canned_queries": datasette.metadata("queries", database=DATABASE) or {},
            "database_download_url": download_url(datasette),
            # Production switches arbitrary SQL off: no link to a page that would refuse.
            "sql_allowed": await datasette.permission_allowed(
                None, "execute-sql", resource=DATABASE, default=True
            ),
        }

    return inner
