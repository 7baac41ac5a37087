"""SQL functions for the canned queries.

The filters' functions (``timeline.filters.SQL_FUNCTIONS``): ``timeline_date_start(text)``
and ``timeline_date_end(text)`` give the first and last day (ISO) a date as curators
write it covers (``'April 2021'`` → 2021-04-01 and 2021-04-30; NULL for what is not a
date), ``timeline_fold(text)`` a name as the actor and system filters compare it, and
``timeline_words(text)`` a comma-separated value as a JSON array.

``fts_query(text)`` turns what a reader types into a safe FTS5 query: every word
becomes a quoted phrase, so punctuation and unbalanced quotes never raise a
syntax error. Empty input becomes a phrase that matches nothing. Only the first
MAX_WORDS words count (each of at most MAX_WORD_CHARS characters): every phrase
adds work to the query, and thousands of them cost seconds.
"""

import re

from datasette import hookimpl

from timeline.filters import register_functions

WORD = re.compile(r"\w+(?:['’]\w+)*")
MAX_WORDS = 16
MAX_WORD_CHARS = 64


def fts_query(text):
    words = [w[:MAX_WORD_CHARS] for w in WORD.findall((text or "")[:4096])[:MAX_WORDS]]
    if not words:
        return '"\u2063"'  # an invisible separator: valid syntax, matches nothing
    return " ".join('"{}"'.format(word.replace('"', "")) for word in words)


@hookimpl
def prepare_connection(conn):
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
    register_functions(conn)  # the filters' own: dates, folded names, listed words
