"""The ``timeline`` command: a thin typer layer over the library modules."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import __version__
from .build import DEFAULT_DB_NAME, BuildResult, InvalidInput, build_file, default_db_path
from .forks import ReaderLost
from .load import paused_gc

if TYPE_CHECKING:  # loaded by the commands that need them: a no-op build starts fast
    from .validate import Problem

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
        "--db", help=f"SQLite file (default: {DEFAULT_DB_NAME} next to the YAML).", dir_okay=False
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ProblemFormat(StrEnum):
    text = "text"
    json = "json"


BuiltDb = Annotated[Path, typer.Option("--db", help="SQLite file built by 'timeline build'.")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, csv or json.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"timeline {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Curate, validate, build and publish the Turkey–Ukraine defence cooperation timeline."""
    # A command reads one file and ends. Its objects form no cycles worth collecting, yet
    # the collector, back on between the steps of a command, went once over everything
    # still held: 1 s of an 8.7 s build and 1.3 s of a 5.8 s validate at 10,000 events.
    # It stays off until the command ends (serve replaces this process with the server's).
    ctx.with_resource(paused_gc())


def _report(problems: list[Problem], as_json: bool = False) -> None:
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
        return
    for problem in problems:
        typer.echo(str(problem), err=True)


def _fail(problems: list[Problem], as_json: bool = False) -> None:
    from .validate import counted

    _report(problems, as_json)
    errors = counted(problems)
    if not as_json:
        typer.echo(f"{errors} error(s); nothing was written.", err=True)
    raise typer.Exit(1)


@app.command()
def validate(
    path: YamlPath = Path("events.yaml"),
    output: Annotated[
        ProblemFormat, typer.Option("--format", help="text, or json for tools.")
    ] = ProblemFormat.text,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
) -> None:
    """Check the YAML and list every problem with FILE:LINE:COL; exit 1 on errors."""
    from .batches import validated
    from .build import default_db_path
    from .revalidate import revalidated
    from .validate import Unsettled, counted, validate_file

    # a file the database was built from (or an earlier version of it) has no errors: its
    # warnings are in the rows; else a file without errors is settled in batches; else the
    # whole file's check says where each error is
    refused = False
    try:
        result = revalidated(path, default_db_path(path)) or validated(path)
    except Unsettled as exc:  # errors in the records changed since the database was built,
        # or a value refused in a batch
        result, refused = None, exc.refused
    result = result or validate_file(path, model=False, refused=refused)
    as_json = output is ProblemFormat.json
    if not result.ok or (strict and result.warnings):
        _fail(result.problems, as_json)
    _report(result.problems, as_json)
    if not as_json:
        counts = result.counts()
        typer.echo(
            f"{path}: OK: {counts['events']} events, {counts['actors']} actors, "
            f"{counts['sources']} sources ({counted(result.problems, 'warning')} warning(s))"
        )


def _build_or_exit(path: Path, db: Path | None, *, force: bool = False) -> BuildResult:
    """build_file, with bad input and unwritable databases as clean errors (exit 1)."""
    try:
        with _write_errors():
            return build_file(path, db, force=force)
    except InvalidInput as exc:
        _fail(exc.result.errors)
    except (OSError, sqlite3.Error) as exc:
        target = db or default_db_path(path)
        typer.echo(f"cannot write {target}: {exc}; the previous database is unchanged.", err=True)
        raise typer.Exit(1) from None


@app.command()
def build(
    path: YamlPath = Path("events.yaml"),
    db: DbOption = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if the input is unchanged.")] = False,
) -> None:
    """Validate the YAML and compile it into SQLite (atomic; skipped when unchanged)."""
    result = _build_or_exit(path, db, force=force)
    summary = ", ".join(f"{n} {name}" for name, n in result.counts.items())
    if result.skipped:
        typer.echo(f"{result.db_path} is up to date ({result.counts['events']} events).")
    elif result.updated is not None:
        changed = f"{result.updated} event{'s' if result.updated != 1 else ''}"
        if result.others:
            changed += f" and {result.others} other record{'s' if result.others != 1 else ''}"
        typer.echo(f"Updated {result.db_path} from {changed} re-read: {summary}.")
    else:
        typer.echo(f"Built {result.db_path}: {summary}.")


@app.command()
def serve(
    path: YamlPath = Path("events.yaml"),
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    production: Annotated[
        bool,
        typer.Option(
            help="Immutable database, precomputed inspect file, no facet suggestions, "
            "no arbitrary SQL, one server process per core."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Server processes (with --production; default: one per core)."),
    ] = None,
) -> None:
    """Build the database if it is stale, then serve it with Datasette.

    The server replaces this process, so a signal that stops `timeline serve`
    (Ctrl-C, systemd, a container runtime) stops the server itself.
    """
    from .serve import SITE_DIR, SiteMissing, check_site, datasette_command, immutable_copy, run

    if workers is not None and not production:
        typer.echo(
            "--workers needs --production (the development server is one process).", err=True
        )
        raise typer.Exit(1)
    try:
        check_site(SITE_DIR)
    except SiteMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    result = _build_or_exit(path, db)
    # the development server reads the database itself, and sees each build's commit
    served = immutable_copy(result.db_path) if production else result.db_path
    command = datasette_command(served, SITE_DIR, host, port, production=production,
                                workers=workers)  # fmt: skip
    typer.echo(f"Serving {served} on http://{host}:{port}/", err=True)
    run(command, served, production=production)


READING = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
           sqlite3.SQLITE_RECURSIVE}  # fmt: skip
PRAGMAS_THAT_READ = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                     "foreign_key_list", "foreign_key_check", "integrity_check"}  # fmt: skip


def _only_reads(action: int, arg1: str | None, arg2: str | None, *_) -> int:
    """``mode=ro`` keeps the database file as it is, but ATTACH and VACUUM INTO write other
    files, and temporary tables and ``pragma query_only=off`` change the connection: only
    reading statements (and pragmas that read, without a value to set) are allowed."""
    if action in READING:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or arg1 in PRAGMAS_THAT_READ):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


@contextmanager
def _reading(db_path: Path, row_factory=None) -> Iterator[sqlite3.Connection]:
    """A read-only connection; a missing or broken database becomes a clean error (exit 1)."""
    if not db_path.exists():
        typer.echo(f"{db_path} does not exist; run 'timeline build' first.", err=True)
        raise typer.Exit(1)
    if not db_path.is_file():
        typer.echo(f"{db_path} is not a file; give --db the database 'timeline build' wrote.",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        typer.echo(f"cannot open {db_path}: {exc}", err=True)
        raise typer.Exit(1) from None
    conn.set_authorizer(_only_reads)
    conn.row_factory = row_factory
    try:
        yield conn
    except sqlite3.Error as exc:
        typer.echo(f"SQL error: {exc} ({db_path})", err=True)
        raise typer.Exit(1) from None
    finally:
        conn.close()


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
        from tabulate import tabulate

        typer.echo(tabulate(rows, headers=columns, tablefmt="simple"))


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query.")],
    db: BuiltDb = DEFAULT_DB,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Run SQL against the built database and print a table, CSV or JSON."""
    with _reading(db) as conn:
        cursor = conn.execute(sql)
        columns = [c[0] for c in cursor.description or ()]
        rows = cursor.fetchall()
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
    db: BuiltDb = DEFAULT_DB,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Coverage of the dataset: events per year, type, status and actor."""
    with _reading(db, sqlite3.Row) as conn:
        results = {title: conn.execute(sql).fetchall() for title, sql in STATS.items()}
    if output is OutputFormat.json:
        data = {title: [dict(r) for r in rows] for title, rows in results.items()}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for title, rows in results.items():
        if output is OutputFormat.table:
            typer.echo(f"\n{title}\n{'=' * len(title)}")
        _emit(list(rows[0].keys()) if rows else [], [tuple(r) for r in rows], output)


ExportFormatName = StrEnum(  # type: ignore[misc]
    "ExportFormatName", {name: name for name in ("json", "jsonl", "csv", "yaml", "ics",
                                                  "timelinejs", "markdown", "datapackage", "cff")}
)  # fmt: skip


@app.command()
def export(
    db: BuiltDb = DEFAULT_DB,
    output_format: Annotated[
        ExportFormatName,
        typer.Option(
            "--format",
            help="json, jsonl, csv, yaml, ics, timelinejs, markdown, datapackage or cff.",
        ),
    ] = ExportFormatName.json,  # type: ignore[attr-defined]
    output: Annotated[
        Path | None,
        typer.Option(
            help="A file; a directory for formats with several files (csv, "
            "datapackage). Default: the main file to standard output."
        ),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Events whose date reaches this date.")] = None,
    until: Annotated[str | None, typer.Option(help="Events whose date starts by then.")] = None,
    actor: Annotated[str | None, typer.Option(help="Actor id, name or alias.")] = None,
    type: Annotated[str | None, typer.Option("--type", help="Event type.")] = None,
    tag: Annotated[str | None, typer.Option(help="Tag.")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="confirmed, reported, disputed or refuted; several comma-separated."),
    ] = None,
    system: Annotated[str | None, typer.Option(help="Weapon system id, name or alias.")] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 code.")] = None,
    place: Annotated[str | None, typer.Option(help="Place name.")] = None,
    source: Annotated[str | None, typer.Option(help="Source id: the events citing it.")] = None,
    base_url: Annotated[
        str, typer.Option(help="Where the site is published, for absolute links.")
    ] = "http://127.0.0.1:8001",
) -> None:
    """Export the events (filtered) with their actors, systems, citations and relations."""
    from .export import Filters, names_nothing
    from .files import kind_for_name, write_files
    from .formats import FORMATS, BadBaseUrl, check_base_url, render

    fmt = FORMATS[output_format.value]
    try:  # before anything is read or written
        check_base_url(base_url)
    except BadBaseUrl as exc:
        typer.echo(f"timeline export: --base-url: {exc}", err=True)
        raise typer.Exit(1) from None
    filters = Filters(since, until, actor, type, tag, status, system, country=country,
                      place=place, source=source)  # fmt: skip
    try:
        filters.where()
    except ValueError as exc:  # "from '…' is not a date": the site's names for --since/--until
        typer.echo(f"timeline export: {exc}", err=True)
        raise typer.Exit(1) from None
    with _reading(db) as conn:
        wrong = names_nothing(conn, filters)
        if wrong:  # an empty export would look like no event matched
            typer.echo(f"timeline export: {'; '.join(wrong)}", err=True)
            raise typer.Exit(1)
        files = render(fmt.name, db, filters, base_url)
    if output is None:
        typer.echo(files[fmt.main], nl=False)
        return
    if len(files) > 1 and fmt.name != "datapackage" and output.suffix == Path(fmt.main).suffix:
        files = {fmt.main: files[fmt.main]}  # e.g. --output events.csv: the events file alone
    several = len(files) > 1
    targets = {name: (output / name if several else output) for name in files}
    with _write_errors():
        if several:
            if output.exists() and not output.is_dir():
                from .files import WriteRefused

                raise WriteRefused(f"{output} is a file; {fmt.name} writes several files",
                                   "give a directory")  # fmt: skip
            output.mkdir(parents=True, exist_ok=True)
        # each file is judged as the kind the format writes, whatever the output is called
        kinds = {t: "yaml export" if fmt.name == "yaml" else kind_for_name(Path(name))
                 for name, t in targets.items()}  # fmt: skip
        contents = {target: files[name] for name, target in targets.items()}
        write_files(contents, kinds, inputs=[db, Path("events.yaml")])
    where = output if several else targets[fmt.main]
    typer.echo(f"Wrote {', '.join(sorted(files))} to {where}.", err=True)


@app.command()
def schema(
    output: Annotated[
        Path | None,
        typer.Option(help="Write only the JSON Schema, to this file.", dir_okay=False),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file is out of date.")
    ] = False,
) -> None:
    """Write what is generated from timeline/schema.py: the JSON Schema for editors, the site's
    column descriptions and facets, and the README's field table."""
    from .generated import outputs
    from .jsonschema import write_schema
    from .serve import SITE_DIR

    if output is not None:
        with _write_errors():
            typer.echo(f"Wrote {write_schema(output)}.")
        return
    generated = outputs(SITE_DIR)
    stale = [g for g in generated if not g.current]
    if check:
        for g in stale:
            typer.echo(f"{g.path} is out of date; run 'timeline schema'.", err=True)
        if stale:
            raise typer.Exit(1)
        typer.echo("Generated files are up to date.")
        return
    with _write_errors():
        for g in stale:
            g.write()
            typer.echo(f"Wrote {g.path}.")
    if not stale:
        typer.echo("Generated files are up to date.")


@app.command()
def fmt(
    path: YamlPath = Path("events.yaml"),
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 with a diff if not canonical.")
    ] = False,
) -> None:
    """Rewrite the YAML in canonical layout (key order, events by date, then id); keeps comments."""
    from .files import TextFile, rewrite
    from .layout import LayoutError
    from .load import LoadError
    from .reformat import FmtCache, lay_out, unified_diff

    cache = FmtCache(path).load()
    found: list = []

    def canonical_bytes(current) -> bytes | None:
        found.append(lay_out(current.raw, path, cache, cache.previous))
        return None if check or found[-1].unchanged() else found[-1].data()

    try:
        if cache.known_canonical():
            typer.echo(f"{path} is already in canonical layout.")
            return
        if check:
            canonical_bytes(TextFile.read(path))
        else:
            with _write_errors():
                rewrite(path, canonical_bytes)
    except OSError as exc:
        typer.echo(f"{path}: cannot read the file: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except LoadError as exc:
        from .validate import Problem

        _fail([Problem.unloadable(path, exc)])
    except LayoutError as exc:
        typer.echo(f"{path}: {exc}; run 'timeline validate' to see why.", err=True)
        raise typer.Exit(1) from None
    canonical = found[-1]
    cache.remember(canonical, whole=canonical.unchanged())
    if cache.problem:
        typer.echo(f"Note: {cache.problem}; fmt works without it.", err=True)
    if canonical.unchanged():
        typer.echo(f"{path} is already in canonical layout.")
    elif check:
        typer.echo(unified_diff(canonical, path), nl=False)
        typer.echo(f"{path} is not in canonical layout; run 'timeline fmt {path}'.", err=True)
        raise typer.Exit(1)
    else:
        typer.echo(f"Reformatted {path}.")


@contextmanager
def _write_errors() -> Iterator[None]:
    """A write that was refused (lock, permissions, a concurrent change, a guarded output)
    becomes a clear message and exit 1; nothing was written."""
    from .files import WriteRefused

    try:
        yield
    except WriteRefused as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        typer.echo(f"{exc}{hint}", err=True)
        raise typer.Exit(1) from None


def _split_pairs(values: list[str], option: str) -> list[dict]:
    pairs = []
    for value in values:
        actor, _, role = value.partition(":")
        if not actor or not role:
            typer.echo(f"{option} expects ID:ROLE, e.g. baykar:supplier; got {value!r}", err=True)
            raise typer.Exit(1)
        pairs.append({"actor": actor.strip(), "role": role.strip()})
    return pairs


# Which of ``add``'s options enter each field of an event; a field without options says
# why it is written in the YAML instead (a test holds both against the declarations).
ADD_OPTIONS = {
    "id": ("--id",), "date": ("--date",), "title": ("--title",), "summary": ("--summary",),
    "type": ("--type",), "status": ("--status",), "actors": ("--actor",),
    "countries": ("--country",), "location": ("--location", "--lat", "--lon"),
    "tags": ("--tag",), "citations": ("--source", "--quote"), "notes": ("--notes",),
}  # fmt: skip
NOT_ADDED = {
    "systems": "a deal step holds up to eight keys per system: edit it in the YAML",
    "related": "a relation names another event and its kind: edit it in the YAML",
}


@app.command()
def add(
    path: YamlPath = Path("events.yaml"),
    date: Annotated[str | None, typer.Option(help="2021, 2021-04, 2021-04-15, 2021-04~ …")] = None,
    title: Annotated[str | None, typer.Option(help="Short headline.")] = None,
    summary: Annotated[
        str | None, typer.Option(help="One to three sentences, our own words.")
    ] = None,
    type: Annotated[str | None, typer.Option("--type", help="Event type (see README).")] = None,
    status: Annotated[
        str, typer.Option(help="confirmed, reported, disputed, refuted.")
    ] = "confirmed",
    actor: Annotated[list[str] | None, typer.Option(help="ID:ROLE, repeatable.")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Source id, repeatable.")] = None,
    quote: Annotated[
        list[str] | None, typer.Option(help="Verbatim quote, one per --source.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag slug, repeatable.")] = None,
    country: Annotated[
        list[str] | None,
        typer.Option(help="ISO code, repeatable (default: the actors' countries)."),
    ] = None,
    location: Annotated[str | None, typer.Option(help="Place name.")] = None,
    lat: Annotated[
        float | None,
        typer.Option(help="Latitude of the place (default: the record's point for its name)."),
    ] = None,
    lon: Annotated[
        float | None,
        typer.Option(help="Longitude of the place (default: the record's point for its name)."),
    ] = None,
    notes: Annotated[str | None, typer.Option(help="Notes, discrepancies.")] = None,
    event_id: Annotated[
        str | None, typer.Option("--id", help="Event id (default: suggested).")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the YAML block; write nothing.")] = False,
    interactive: Annotated[
        bool | None,
        typer.Option(help="Prompt for missing fields (default: when a terminal is attached)."),
    ] = None,
) -> None:
    """Add one event at its chronological place, after validating it against the file."""
    from .edit import EditRefused, Loaded, add_event, built_first, catalogued
    from .prompts import Known, PlaceUnsettled, complete_interactively
    from .validate import Unsettled

    if len(source or []) != len(quote or []):
        typer.echo("give one --quote for each --source, in the same order", err=True)
        raise typer.Exit(1)
    sources = zip(source or [], quote or [], strict=True)
    event = {
        "id": event_id, "date": date, "title": title, "summary": summary, "type": type,
        "status": status, "actors": _split_pairs(actor or [], "--actor"),
        "countries": list(country or []), "tags": list(tag or []),
        "location": {"name": location, **{k: v for k, v in (("latitude", lat), ("longitude", lon))
                                          if v is not None}} if location else None,
        "citations": [{"source": s, "quote": q} for s, q in sources],
        "notes": notes,
    }  # fmt: skip
    if interactive is None:
        interactive = sys.stdin.isatty()
    try:
        with _write_errors():
            # The database built from the file (or from an earlier version of it, brought
            # up to date in a transaction rolled back) knows the ids and the events' order:
            # the file is then not parsed as a whole (see Rebuilding).
            db_path = default_db_path(path)
            if not dry_run and built_first(path, db_path):  # (a dry run writes nothing)
                typer.echo(f"Built {db_path} to place the event from it.", err=True)
            try:
                known = catalogued(
                    db_path, path, None, lambda c: Known.from_catalog(c, event, prompt=interactive)
                )
            except Unsettled:  # errors in the changed records: the whole check says where
                known = None
            loaded = None if known else Loaded.read(path)
            known = known or Known.of(loaded)
            try:
                event = complete_interactively(known, event, prompt=interactive)
            except PlaceUnsettled as exc:
                typer.echo(f"timeline add: {exc}", err=True)
                raise typer.Exit(1) from None
            insertion = add_event(path, event, dry_run=dry_run, loaded=loaded, db_path=db_path)
    except EditRefused as exc:
        if exc.line:
            typer.echo(
                f"(the new event's positions are as if it were inserted at line {exc.line})",
                err=True,
            )
        _fail(exc.problems)
    _new_event_warnings(path, insertion, event, known.points)
    if dry_run:
        typer.echo(insertion.block, nl=False)
        typer.echo(f"(dry run: would insert at line {insertion.line} of {path})", err=True)
    else:
        typer.echo(f"Added {event['id']} at line {insertion.line} of {path}.")


def _new_event_warnings(
    path: Path, insertion, event: dict, points: dict[str, list[tuple[float, float]]]
) -> None:
    """The new event's warnings, as ``validate`` of the new file reports them (an event
    with one source, a place name at another point than the record's, …)."""
    from .validate import WARNINGS, Problem, label_for, new_event_warnings

    record = label_for("event", event["id"], 0)
    found = []
    for name in new_event_warnings(event, points):
        field, message, hint = WARNINGS[name]
        line, column = insertion.position(field or "")
        found.append(Problem(str(path), line, column, record, field or "", message, hint,
                             severity="warning"))  # fmt: skip
    for problem in sorted(found, key=lambda p: (p.line, p.column)):  # as validate orders them
        typer.echo(str(problem), err=True)


def _run_or_print(commands: list[list[str]], dry_run: bool) -> None:
    import shlex
    import subprocess

    for command in commands:
        typer.echo(shlex.join(command))
        if not dry_run and subprocess.run(command).returncode != 0:
            raise typer.Exit(1)


BuildDir = Annotated[
    Path, typer.Option(help="Where the fresh database, metadata and wheel are written.")
]
DryRun = Annotated[bool, typer.Option(help="Print the exact commands; run nothing.")]


@app.command()
def package(
    path: YamlPath = Path("events.yaml"),
    tag: Annotated[str, typer.Option(help="Name of the Docker image.")] = "turkey-ukraine-timeline",
    build_dir: BuildDir = Path("build"),
    dry_run: DryRun = False,
) -> None:
    """Build a Docker image of the site with `datasette package` (needs a container engine)."""
    from .publish import package_command

    prepared = _prepared(path, build_dir)
    _run_or_print([package_command(prepared, tag)], dry_run)


class PublishTarget(StrEnum):
    cloudrun = "cloudrun"
    fly = "fly"


@app.command()
def publish(
    target: Annotated[PublishTarget, typer.Argument(help="cloudrun or fly.")],
    path: YamlPath = Path("events.yaml"),
    name: Annotated[str, typer.Option(help="Service (Cloud Run) or app (Fly) name.")] = (
        "turkey-ukraine-timeline"
    ),
    max_instances: Annotated[int, typer.Option(help="Most replicas the host may start.")] = 10,
    min_instances: Annotated[int, typer.Option(help="Replicas kept warm.")] = 1,
    build_dir: BuildDir = Path("build"),
    dry_run: DryRun = False,
) -> None:
    """Publish the site with `datasette publish`: stateless replicas of one immutable database."""
    from .publish import (
        BadName,
        NoPublisher,
        check_name,
        check_publisher,
        fly_scale_command,
        publish_command,
    )

    try:  # before anything is built or run
        check_name(target.value, name)
        check_publisher(target.value)
    except BadName as exc:
        typer.echo(f"timeline publish: {exc}; choose another --name.", err=True)
        raise typer.Exit(1) from None
    except NoPublisher as exc:
        typer.echo(f"timeline publish: {exc}.", err=True)
        raise typer.Exit(1) from None
    prepared = _prepared(path, build_dir)
    commands = [publish_command(target.value, prepared, name, max_instances=max_instances,
                                min_instances=min_instances)]  # fmt: skip
    if target is PublishTarget.fly:
        commands.append(fly_scale_command(name, min_instances))
    _run_or_print(commands, dry_run)


def _prepared(path: Path, build_dir: Path):
    import subprocess

    from .publish import prepare
    from .vendor import VendorMissing

    try:
        return prepare(path, build_dir)
    except InvalidInput as exc:
        _fail(exc.result.errors)
    except VendorMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:  # e.g. --build-dir names a file
        typer.echo(f"cannot prepare the build in {build_dir}: {exc.strerror} "
                   f"({exc.filename}); give --build-dir a directory", err=True)  # fmt: skip
        raise typer.Exit(1) from None
    except subprocess.CalledProcessError as exc:
        message = f"could not build this project's wheel ({exc.returncode}); see pip's output"
        typer.echo(message, err=True)
        raise typer.Exit(1) from None


def run() -> None:
    """The ``timeline`` command: ``app``, with the loss of a forked reader said in words."""
    try:
        app()
    except ReaderLost as exc:
        typer.echo(
            f"error: {exc}; nothing was written (hint: something outside the command ended"
            " it, often the system for lack of memory; run the command again)",
            err=True,
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    run()
