"""Template filter ``json_list``: the JSON arrays stored in events (actors, tags) as lists."""

import json

from datasette import hookimpl


def json_list(value):
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [str(item) for item in parsed] if isinstance(parsed, list) else []


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["json_list"] = json_list
