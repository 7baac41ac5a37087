"""SQL functions for the canned queries.

``fts_query(text)`` turns what a reader types into a safe FTS5 query: every word
becomes a quoted phrase, so punctuation and unbalanced quotes never raise a
syntax error. Empty input becomes a phrase that matches nothing.
"""

import re

from datasette import hookimpl

WORD = re.compile(r"\w+(?:['’]\w+)*")


def fts_query(text):
    words = WORD.findall(text or "")
    if not words:
        return '"\u2063"'  # an invisible separator: valid syntax, matches nothing
    return " ".join('"{}"'.format(word.replace('"', "")) for word in words)


@hookimpl
def prepare_connection(conn):
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
