"""Make the project's vocabularies (statuses, event types, roles) available to every template.

They come from ``timeline.schema`` so the site explains exactly the words the
validator accepts.
"""

from datasette import hookimpl

from timeline.build import DATABASE_NAME as DATABASE
from timeline.schema import EVENT_TYPES, RELATION_TYPES, ROLES, STATUSES


@hookimpl
def extra_template_vars(datasette):
    return {
        "canned_queries": datasette.metadata("queries", database=DATABASE) or {},
        "site_metadata": datasette.metadata(),
        "timeline_db": DATABASE,
        "status_descriptions": STATUSES,
        "type_descriptions": EVENT_TYPES,
        "role_descriptions": ROLES,
        "relation_descriptions": RELATION_TYPES,
    }
