"""SQL functions for the canned queries.

``timeline_date_start(text)`` and ``timeline_date_end(text)`` give the first and last
day (ISO) a date as curators write it covers: ``'April 2021'`` → 2021-04-01 and
2021-04-30, ``'2019?'`` → 2019-01-01 and 2019-12-31. They are ``timeline.dates``
itself, so a canned query reads a date exactly as ``/timeline`` and ``events.yaml``
do; a date they cannot read gives NULL.

``fts_query(text)`` turns what a reader types into a safe FTS5 query: every word
becomes a quoted phrase, so punctuation and unbalanced quotes never raise a
syntax error. Empty input becomes a phrase that matches nothing. Only the first
MAX_WORDS words count (each of at most MAX_WORD_CHARS characters): every phrase
adds work to the query, and thousands of them cost seconds.
"""

import re

from datasette import hookimpl

from timeline.dates import DateError, parse_date

WORD = re.compile(r"\w+(?:['’]\w+)*")
MAX_WORDS = 16
MAX_WORD_CHARS = 64


def fts_query(text):
    words = [w[:MAX_WORD_CHARS] for w in WORD.findall((text or "")[:4096])[:MAX_WORDS]]
    if not words:
        return '"\u2063"'  # an invisible separator: valid syntax, matches nothing
    return " ".join('"{}"'.format(word.replace('"', "")) for word in words)


def date_start(text):
    return _bound(text, end=False)


def date_end(text):
    return _bound(text, end=True)


def _bound(text, *, end):
    if not isinstance(text, str | int) or not str(text).strip():
        return None
    try:
        parsed = parse_date(text)
    except DateError:
        return None
    return (parsed.end if end else parsed.start).isoformat()


@hookimpl
def prepare_connection(conn):
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
    conn.create_function("timeline_date_start", 1, date_start, deterministic=True)
    conn.create_function("timeline_date_end", 1, date_end, deterministic=True)
