"""The ``timeline`` command: a thin typer layer over the library modules."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from tabulate import tabulate

from . import __version__
from .build import DEFAULT_DB_NAME, InvalidInput, build_file
from .validate import Problem, validate_file

app = typer.Typer(
    help="Curate, validate, build and publish the Turkey–Ukraine defence cooperation timeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

YamlPath = Annotated[Path, typer.Argument(help="The curated YAML file.", dir_okay=False)]
DEFAULT_DB = Path(DEFAULT_DB_NAME)
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="SQLite file (default: timeline.db next to the YAML).", dir_okay=False
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"timeline {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Curate, validate, build and publish the Turkey–Ukraine defence cooperation timeline."""


def _report(problems: list[Problem], as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
        return
    for problem in problems:
        typer.echo(str(problem), err=True)


def _fail(problems: list[Problem], as_json: bool = False) -> None:
    _report(problems, as_json)
    errors = sum(p.severity == "error" for p in problems)
    if not as_json:
        typer.echo(f"{errors} error(s); nothing was written.", err=True)
    raise typer.Exit(1)


@app.command()
def validate(
    path: YamlPath = Path("events.yaml"),
    output: Annotated[
        str, typer.Option("--format", help="text (default) or json, for tools.")
    ] = "text",
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
) -> None:
    """Check the YAML and list every problem with FILE:LINE:COL; exit 1 on errors."""
    result = validate_file(path)
    as_json = output == "json"
    if not result.ok or (strict and result.warnings):
        _fail(result.problems, as_json)
    _report(result.problems, as_json)
    if not as_json:
        data = result.dataset
        typer.echo(
            f"{path}: OK: {len(data.events)} events, {len(data.actors)} actors, "
            f"{len(data.sources)} sources ({len(result.warnings)} warning(s))"
        )


@app.command()
def build(
    path: YamlPath = Path("events.yaml"),
    db: DbOption = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if the input is unchanged.")] = False,
) -> None:
    """Validate the YAML and compile it into SQLite (atomic; skipped when unchanged)."""
    try:
        result = build_file(path, db, force=force)
    except InvalidInput as exc:
        _fail(exc.result.errors)
    if result.skipped:
        typer.echo(f"{result.db_path} is up to date ({result.counts['events']} events).")
    else:
        summary = ", ".join(f"{n} {name}" for name, n in result.counts.items())
        typer.echo(f"Built {result.db_path}: {summary}.")


@app.command()
def serve(
    path: YamlPath = Path("events.yaml"),
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    production: Annotated[
        bool,
        typer.Option(help="Immutable database, precomputed inspect file, no facet suggestions."),
    ] = False,
) -> None:
    """Build the database if it is stale, then serve it with Datasette."""
    from .serve import datasette_command, run

    try:
        result = build_file(path, db)
    except InvalidInput as exc:
        _fail(exc.result.errors)
    command = datasette_command(result.db_path, path.parent, host, port, production=production)
    typer.echo(f"Serving {result.db_path} on http://{host}:{port}/", err=True)
    raise typer.Exit(run(command, result.db_path, production=production))


def _open_readonly(db_path: Path) -> sqlite3.Connection:
    if not db_path.exists():
        typer.echo(f"{db_path} does not exist; run 'timeline build' first.", err=True)
        raise typer.Exit(1)
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def _emit(columns: list[str], rows: list[tuple], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        typer.echo(
            json.dumps(
                [dict(zip(columns, r, strict=True)) for r in rows], indent=2, ensure_ascii=False
            )
        )
    elif output is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        typer.echo(buffer.getvalue(), nl=False)
    else:
        typer.echo(tabulate(rows, headers=columns, tablefmt="simple"))


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query.")],
    db: Annotated[Path, typer.Option("--db", help="SQLite file.")] = DEFAULT_DB,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Run SQL against the built database and print a table, CSV or JSON."""
    conn = _open_readonly(db)
    try:
        cursor = conn.execute(sql)
        columns = [c[0] for c in cursor.description or ()]
        rows = cursor.fetchall()
    except sqlite3.Error as exc:
        typer.echo(f"SQL error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        conn.close()
    _emit(columns, rows, output)


STATS = {
    "Events per year": "select year, count(*) as events from events group by year order by year",
    "Events per type": "select type, count(*) as events from events group by type"
    " order by events desc, type",
    "Events per status": "select status, count(*) as events from events group by status"
    " order by events desc",
    "Events per actor": """select a.name as actor, count(distinct ea.event_id) as events,
        group_concat(distinct ea.role) as roles from actors a
        left join event_actors ea on ea.actor_id = a.id
        group by a.id order by events desc, a.name""",
}


@app.command()
def stats(
    db: Annotated[Path, typer.Option("--db", help="SQLite file.")] = DEFAULT_DB,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Coverage of the dataset: events per year, type, status and actor."""
    conn = _open_readonly(db)
    conn.row_factory = sqlite3.Row
    try:
        results = {title: conn.execute(sql).fetchall() for title, sql in STATS.items()}
    finally:
        conn.close()
    if output is OutputFormat.json:
        data = {title: [dict(r) for r in rows] for title, rows in results.items()}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for title, rows in results.items():
        if output is OutputFormat.table:
            typer.echo(f"\n{title}\n{'=' * len(title)}")
        _emit(list(rows[0].keys()) if rows else [], [tuple(r) for r in rows], output)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
