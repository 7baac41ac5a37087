"""Every file in tests/malformed/ is handled cleanly by all four entry points.

Each file is named for what is wrong with it. ``validate``, ``build`` and
``add`` must print a located error (``FILE:LINE:COL: message``) at the
expected line, exit with status 1, never show a traceback, and leave both the
YAML file and an existing good database byte-identical (no temporary files
left behind). ``fmt`` lays out files whose values it can read (it never fixes
data; the validator reports it) and must then keep every value; a file it
cannot read gets the same located error and is left as it was.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import files_in
from timeline.build import build_file
from timeline.cli import app
from timeline.dates import parse_date
from timeline.load import LoadError, decode, load_text
from timeline.reformat import FmtCache

HERE = Path(__file__).parent
MALFORMED = HERE / "malformed"
SMALL = HERE / "data" / "small.yaml"
ROOT = HERE.parent
TIMELINE = ROOT / ".venv" / "bin" / "timeline"

# file -> (line of the first error, a fragment of its message, case-insensitive)
EXPECTED: dict[str, tuple[int, str]] = {
    "bad-coordinates.yaml": (45, "latitude 146.43 is outside -90..90"),
    "bad-enum-event-type.yaml": (42, "unknown value 'treatie'"),
    "bad-slug-id.yaml": (38, "does not match"),
    "billion-laughs.yaml": (1, "aliases expand to"),
    "complex-mapping-key.yaml": (41, "mapping key must be a plain word"),
    "contradicts-without-note.yaml": (97, "contradicting citation needs a note"),
    "relation-follows-a-later-event.yaml": (80, "follows fleet-destroyed-claim, which begins"),
    "control-character.yaml": (40, "U+0007 is not allowed"),
    "coordinates-as-text.yaml": (45, "expected a number"),
    "date-with-time.yaml": (39, "time of day"),
    "date-without-year.yaml": (39, "no four-digit year"),
    "deeply-nested.yaml": (46, "nesting deeper than"),
    "duplicate-event-id.yaml": (66, "duplicate id 'montreux'"),
    "duplicate-key.yaml": (41, "duplicate key 'title'"),
    "duplicate-section.yaml": (99, "duplicate key 'actors'"),
    "empty-citations.yaml": (47, "no citations"),
    "empty-file.yaml": (1, "the file is empty"),
    "future-confirmed-date.yaml": (39, "in the future"),
    "huge-scalar.yaml": (41, "limit 20,000"),
    "impossible-date.yaml": (39, "not a real date"),
    "impossible-date-unquoted.yaml": (39, "1936-02-30"),
    "invalid-bool-tag.yaml": (43, "maybe"),
    "invalid-int-tag.yaml": (40, "Montreux"),
    "list-where-mapping-belongs.yaml": (45, "expected a mapping"),
    "mapping-where-list-belongs.yaml": (44, "expected a list"),
    "merge-key.yaml": (25, "merge keys"),
    "missing-citations.yaml": (38, "missing required field 'citations'"),
    "non-text-key-in-actor-entry.yaml": (57, "2019"),
    "non-utf8-latin1.yaml": (40, "not valid UTF-8"),
    "nul-byte.yaml": (40, "U+0000 is not allowed"),
    "null-value.yaml": (38, "missing required field 'title'"),
    "number-where-text-belongs.yaml": (49, "expected text"),
    "only-comments.yaml": (1, "the file is empty"),
    "python-object-tag.yaml": (40, "is not allowed"),
    "recursive-alias.yaml": (1, "recursive alias"),
    "reversed-interval.yaml": (39, "ends before it starts"),
    "section-is-a-mapping.yaml": (19, "must be a list"),
    "set-tag.yaml": (46, "is not allowed"),
    "syntax-bad-indentation.yaml": (41, "YAML syntax error"),
    "syntax-multiple-documents.yaml": (99, "another document"),
    "syntax-unclosed-flow-sequence.yaml": (45, "YAML syntax error"),
    "syntax-unclosed-quote.yaml": (67, "YAML syntax error"),
    "tab-indentation.yaml": (41, "tab"),
    "top-level-list.yaml": (1, "must be a mapping"),
    "top-level-scalar.yaml": (1, "must be a mapping"),
    "unhashable-actor-reference.yaml": (57, "expected text"),
    "unhashable-citation-source.yaml": (48, "expected text"),
    "unknown-actor-reference.yaml": (57, "unknown actor id 'baykar-makina'"),
    "unknown-local-tag.yaml": (40, "'!secret' is not allowed"),
    "unknown-related-event.yaml": (80, "unknown event id"),
    "unknown-source-reference.yaml": (48, "unknown source id 'archive'"),
    "unknown-top-level-key.yaml": (99, "unknown section 'people'"),
    "utf16-file.yaml": (1, "not valid UTF-8"),
    "very-long-line.yaml": (1, "YAML syntax error"),
    "wrong-type-bool-as-status.yaml": (43, "expected text, got bool"),
    "wrong-type-number-as-title.yaml": (40, "expected text, got int"),
    "tag-timestamp-garbage.yaml": (39, "cannot be read as a real date"),
    "huge-hex-latitude.yaml": (45, "not a plain decimal number"),
    "huge-int-title.yaml": (40, "not a plain decimal number"),
    "huge-int-date.yaml": (39, "not a plain decimal number"),
    "huge-int-country.yaml": (44, "not a plain decimal number"),
    "date-octal-0044.yaml": (39, "'0044' is not a plain decimal number"),
    "date-octal-0700.yaml": (39, "'0700' is not a plain decimal number"),
    "date-sexagesimal.yaml": (39, "'33:39' is not a plain decimal number"),
    "date-hex.yaml": (39, "'0x7E3' is not a plain decimal number"),
    "date-underscore.yaml": (39, "'2_019' is not a plain decimal number"),
    "date-plus-sign.yaml": (39, "'+2019' is not a plain decimal number"),
    "date-two-digit-year-int.yaml": (39, "44 is not a four-digit year"),
    "date-negative-quoted.yaml": (39, "'-0044' is not a date we can read"),
    "date-ambiguous-day-month.yaml": (39, "'05-04-2021' is ambiguous"),
    "date-weekday-and-year.yaml": (39, "'Monday 2021' is not a date we can read"),
    "date-year-9999.yaml": (39, "9999 is outside the years"),
    "date-foreign-digits.yaml": (39, "is not a date we can read"),
    "id-trailing-newline.yaml": (38, "'montreux\\n' does not match"),
    "actor-id-trailing-newline.yaml": (19, "'baykar\\n' does not match"),
    "url-trailing-newline.yaml": (7, "does not match"),
    "escaped-nul.yaml": (40, "U+0000 is not allowed"),
    "escaped-ansi-colour.yaml": (40, "U+001B is not allowed"),
    "escaped-bell.yaml": (41, "U+0007 is not allowed"),
    "escaped-bidi-override.yaml": (40, "U+202E is not allowed"),
    "escaped-next-line.yaml": (41, "U+0085 is not allowed"),
    "escaped-line-separator.yaml": (49, "U+2028 is not allowed"),
    "escaped-lone-surrogate-pair.yaml": (40, "U+FEFF is not allowed"),
    "latitude-nan.yaml": (45, "'.nan' is not a plain decimal number"),
    "latitude-overflow.yaml": (45, "expected a finite number"),
    "events-null.yaml": (37, "section 'events' is empty (null)"),
    "part-of-loop.yaml": (80, "'part_of' relations form a loop"),
}


def corpus() -> list:
    params = []
    for path in sorted(MALFORMED.glob("*.yaml")):
        params.append(pytest.param(path.name, id=path.stem))
    return params


def test_the_corpus_is_complete():
    names = {p.name for p in MALFORMED.glob("*.yaml")}
    assert names == set(EXPECTED)
    assert len(names) >= 30


@pytest.fixture(scope="module")
def good_db_bytes(tmp_path_factory) -> bytes:
    """A database built from the small valid timeline (built once, copied per test)."""
    where = tmp_path_factory.mktemp("good")
    yaml_path = where / "events.yaml"
    shutil.copy(SMALL, yaml_path)
    return build_file(yaml_path, where / "record.db").db_path.read_bytes()


@pytest.fixture
def workspace(tmp_path, good_db_bytes):
    """Place a malformed file next to an existing good database."""

    def place(name: str) -> tuple[Path, Path]:
        yaml_path = tmp_path / "events.yaml"
        shutil.copy(MALFORMED / name, yaml_path)
        db = tmp_path / "record.db"
        db.write_bytes(good_db_bytes)
        return yaml_path, db

    return place


LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>\S.*)$", re.M)


def check_output(output: str, yaml_path: Path, name: str) -> None:
    assert "Traceback" not in output, output
    located = [m for m in LOCATED.finditer(output) if m["file"] == str(yaml_path)]
    assert located, f"no FILE:LINE:COL: error in:\n{output}"
    errors = [m for m in located if "warning: " not in m["message"]]
    assert errors, output
    line, fragment = EXPECTED[name]
    first = errors[0]
    assert int(first["line"]) == line, f"expected line {line}:\n{output}"
    assert int(first["col"]) >= 1
    assert fragment.casefold() in first["message"].casefold(), output
    assert re.search(r"\d+ error\(s\); nothing was written\.", output), output


def run_cli(args: list[str]):
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(*result.exc_info)[-6:])
        pytest.fail(f"the CLI crashed:\n{trace}", pytrace=False)
    return result


@pytest.mark.parametrize("name", corpus())
def test_build_refuses_and_keeps_the_database(name, workspace, good_db_bytes):
    yaml_path, db = workspace(name)
    before = yaml_path.read_bytes()
    result = run_cli(["build", str(yaml_path), "--db", str(db)])
    assert result.exit_code == 1, result.output
    check_output(result.output, yaml_path, name)
    assert db.read_bytes() == good_db_bytes
    assert yaml_path.read_bytes() == before
    assert files_in(yaml_path.parent) == ["events.yaml", "record.db"]


@pytest.mark.parametrize("name", corpus())
def test_validate_refuses(name, workspace):
    yaml_path, _ = workspace(name)
    before = yaml_path.read_bytes()
    result = run_cli(["validate", str(yaml_path)])
    assert result.exit_code == 1, result.output
    check_output(result.output, yaml_path, name)
    assert yaml_path.read_bytes() == before


ADD_OPTIONS = ["--date", "2020-05-05", "--title", "A later statement", "--summary", "Words.",
               "--type", "statement", "--source", "record", "--quote", "Q.",
               "--no-interactive"]  # fmt: skip


@pytest.mark.parametrize("name", corpus())
def test_add_refuses_and_keeps_the_file(name, workspace):
    yaml_path, _ = workspace(name)
    before = yaml_path.read_bytes()
    result = run_cli(["add", str(yaml_path), *ADD_OPTIONS])
    assert result.exit_code == 1, result.output
    check_output(result.output, yaml_path, name)
    assert yaml_path.read_bytes() == before
    assert files_in(yaml_path.parent) == ["events.yaml", "record.db"]


def _values(data: object) -> object:
    """Loaded data with dates in canonical form (the one change fmt makes to a value) and
    events in id order (fmt sorts them by date)."""
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        data = data | {"events": sorted(data["events"], key=lambda e: repr(e.get("id")))}
    if isinstance(data, dict):
        return {
            k: _canonical(v) if k in ("date", "published") else _values(v) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_values(v) for v in data]
    return data


def _canonical(value: object) -> object:
    try:
        return parse_date(value).canonical
    except ValueError:
        return value


@pytest.mark.parametrize("name", corpus())
def test_fmt_formats_what_it_can_read_and_refuses_the_rest(name, workspace):
    yaml_path, _ = workspace(name)
    before = yaml_path.read_bytes()
    try:
        data_before = load_text(decode(before), yaml_path).data
    except LoadError:
        data_before = None
    result = run_cli(["fmt", str(yaml_path)])
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        after = load_text(decode(yaml_path.read_bytes()), yaml_path).data
        assert _values(after) == _values(data_before)
        assert run_cli(["fmt", "--check", str(yaml_path)]).exit_code == 0  # idempotent
    else:
        assert result.exit_code == 1, result.output
        assert yaml_path.read_bytes() == before
        if data_before is None:
            check_output(result.output, yaml_path, name)
        else:  # readable but not a timeline's shape: a clear message naming the file
            assert str(yaml_path) in result.output
    names, cache = files_in(yaml_path.parent), FmtCache(yaml_path).path.name
    assert [name for name in names if name != cache] == ["events.yaml", "record.db"]
    assert cache not in names or result.exit_code == 0  # fmt remembers only what it laid out


JSON_CASES = ["billion-laughs.yaml", "tab-indentation.yaml", "unknown-actor-reference.yaml"]


@pytest.mark.parametrize("name", JSON_CASES)
def test_validate_json_format_is_machine_readable(name, workspace):
    yaml_path, _ = workspace(name)
    result = run_cli(["validate", str(yaml_path), "--format", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    errors = [p for p in problems if p["severity"] == "error"]
    assert errors and errors[0]["line"] == EXPECTED[name][0]
    assert all(p["file"] == str(yaml_path) and p["message"] for p in problems)


def test_unclosed_quote_points_back_to_where_it_started(workspace):
    yaml_path, _ = workspace("syntax-unclosed-quote.yaml")
    result = run_cli(["validate", str(yaml_path)])
    assert re.search(r"line (38|39)\b", result.output), result.output


def test_unknown_reference_hint_when_the_section_is_empty(workspace):
    yaml_path, _ = workspace("section-is-a-mapping.yaml")
    result = run_cli(["validate", str(yaml_path)])
    assert "expected one of: )" not in result.output
    assert "add it to actors" in result.output


# -- a real process: nothing but the located error reaches stderr ------------------------

SUBPROCESS_CASES = [
    "billion-laughs.yaml",
    "non-utf8-latin1.yaml",
    "invalid-int-tag.yaml",
]


def _no_core_dump() -> None:
    """No core file on a crash, and the usual 8 MiB stack so a crash is reproducible."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if hard == resource.RLIM_INFINITY or hard >= 8 << 20:
        resource.setrlimit(resource.RLIMIT_STACK, (8 << 20, hard))


def run_timeline(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [str(TIMELINE)] if TIMELINE.exists() else [sys.executable, "-m", "timeline.cli"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_no_core_dump,
    )


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_subprocess_build_prints_no_traceback(name, workspace, good_db_bytes):
    yaml_path, db = workspace(name)
    proc = run_timeline("build", str(yaml_path), "--db", str(db), cwd=yaml_path.parent)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    check_output(proc.stderr, yaml_path, name)
    assert db.read_bytes() == good_db_bytes


def test_subprocess_very_deep_nesting_does_not_crash(tmp_path, good_db_bytes):
    yaml_path = tmp_path / "events.yaml"
    yaml_path.write_text("sources: " + "[" * 40_000 + "]" * 40_000 + "\nactors: []\nevents: []\n")
    db = tmp_path / "record.db"
    db.write_bytes(good_db_bytes)
    proc = run_timeline("build", str(yaml_path), "--db", str(db), cwd=tmp_path)
    assert db.read_bytes() == good_db_bytes  # even a crash cannot touch the database
    assert proc.returncode == 1, f"exit {proc.returncode}: {proc.stderr[-500:]}"
    assert "nesting deeper than" in proc.stderr
