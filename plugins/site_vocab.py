"""Make the project's vocabularies (statuses, event types, roles), the database name and
the site's metadata available to every template.

They come from ``timeline.schema`` so the site explains exactly the words the
validator accepts. Static values are Jinja globals, so that pages Datasette renders
without its template hooks (the error pages) can use them too.
"""

from datasette import hookimpl

from timeline.build import DATABASE_NAME as DATABASE
from timeline.schema import EVENT_TYPES, RELATION_TYPES, ROLES, STATUSES


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.globals.update(
        timeline_db=DATABASE,
        site_metadata=datasette.metadata(),  # the footer's licence and links, on error pages too
        status_descriptions=STATUSES,
        type_descriptions=EVENT_TYPES,
        role_descriptions=ROLES,
        relation_descriptions=RELATION_TYPES,
    )


@hookimpl
def extra_template_vars(datasette):
    return {"canned_queries": datasette.metadata("queries", database=DATABASE) or {}}
