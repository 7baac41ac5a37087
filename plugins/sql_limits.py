"""Bound what one SQL statement can cost, on every connection Datasette opens.

* SQLite limits: no string or blob over 200 KB (a ``zeroblob(150000000)`` or a
  ``printf('%.*c', 7000000, 'a')`` fails at once, and a single function call over
  such values, which Datasette's time limit cannot interrupt, stays under a
  second), short SQL, shallow expressions, few columns, short LIKE/GLOB patterns.
* An authorizer: ``fts3_tokenizer()`` (it returns a pointer) is refused, and
  ``pragma_database_list`` shows no file paths.

The largest value the timeline holds is a few KB, far below these limits.
"""

import sqlite3

from datasette import hookimpl

LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: 200_000,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_COLUMN: 200,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 32,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 1_000,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 10,
}
DENIED_FUNCTIONS = {"fts3_tokenizer"}
HIDDEN_TABLES = {"pragma_database_list"}  # its ``file`` column is an absolute path


def authorizer(action, arg1, arg2, database, trigger):
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (arg1 or "").lower() in HIDDEN_TABLES:
        return sqlite3.SQLITE_IGNORE  # the column reads as NULL
    return sqlite3.SQLITE_OK


@hookimpl
def prepare_connection(conn):
    for limit, value in LIMITS.items():
        conn.setlimit(limit, value)
    conn.set_authorizer(authorizer)
