"""`timeline add`: validated, chronological, byte-preserving, atomic."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
import yaml
from support import calls_logged
from typer.testing import CliRunner

from conftest import files_in
from timeline import files
from timeline.build import build_file
from timeline.cli import app
from timeline.edit import EditRefused, add_event, suggest_id
from timeline.files import WriteRefused
from timeline.layout import format_text
from timeline.validate import validate_bytes, validate_file

runner = CliRunner()


def event(**overrides) -> dict:
    base = {
        "id": "new-event",
        "date": "2021-04-10",
        "title": "Presidents meet in Istanbul",
        "summary": "They discuss the troop build-up.",
        "type": "meeting",
        "status": "confirmed",
        "actors": [{"actor": "russia", "role": "target"}],
        "citations": [{"source": "seed-news", "quote": "A quote."}],
    }
    return base | overrides


def assert_only_block_added(before: str, after: str, block: str) -> None:
    """Every byte outside the inserted block is unchanged."""
    start = after.index(block)
    assert after[:start] + after[start + len(block) :] == before


@pytest.mark.parametrize(
    ("date", "before_id"),
    [
        ("1900", "montreux"),  # first
        ("2021-04-10", "flight-suspension"),  # middle
        ("2019", "baykar-ukrspecexport-2019"),  # same date: ordered by id ("new-event" > "baykar")
        ("2024-06", None),  # last
    ],
)
def test_inserted_at_its_chronological_place(small_yaml, date, before_id):
    before = small_yaml.read_text()
    insertion = add_event(small_yaml, event(date=date))
    after = small_yaml.read_text()
    assert_only_block_added(before, after, insertion.block)
    lines = after.splitlines()
    assert lines[insertion.line - 1] == "  - id: new-event"
    if before_id == "baykar-ukrspecexport-2019":
        assert after.index("- id: baykar-ukrspecexport-2019") < after.index("- id: new-event")
    elif before_id:
        assert after.index("- id: new-event") < after.index(f"- id: {before_id}")
    else:
        assert after.rstrip().endswith("quote: A quote.")


def test_insertion_keeps_the_comments_of_the_next_event_with_it(small_yaml):
    text = small_yaml.read_text().replace(
        "  - id: flight-suspension", "  # about the flights\n  - id: flight-suspension"
    )
    small_yaml.write_text(text)
    add_event(small_yaml, event())
    after = small_yaml.read_text()
    assert after.index("- id: new-event") < after.index("# about the flights")
    assert "# about the flights\n  - id: flight-suspension" in after


def test_into_an_empty_events_list(write_yaml):
    path = write_yaml(
        "# header\nsources:\n  - id: seed-news\n    title: T\n    publisher: P\n"
        '    published: "2021"\n    kind: news\n    language: en\nactors:\n  - id: russia\n'
        "    name: Russia\n    kind: state\n    country: RU\nevents: []  # none yet\n"
    )
    add_event(path, event())
    text = path.read_text()
    assert "events:  # none yet\n  - id: new-event\n" in text
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_add_then_fmt_check_passes(small_yaml):
    small_yaml.write_text(format_text(small_yaml.read_text(), small_yaml))
    add_event(small_yaml, event(location={"name": "Istanbul", "latitude": 41.0, "longitude": 29.0}))
    result = runner.invoke(app, ["fmt", str(small_yaml), "--check"])
    assert result.exit_code == 0, result.output


def test_refuses_a_duplicate_and_writes_nothing(small_yaml):
    before = small_yaml.read_bytes()
    with pytest.raises(EditRefused) as info:
        add_event(small_yaml, event(id="montreux"))
    assert "duplicate id 'montreux'" in info.value.problems[0].message
    with pytest.raises(EditRefused) as info:
        add_event(small_yaml, event(date="2021-04-15", title="Russia suspends flights to Turkey"))
    assert info.value.problems[0].message.startswith("duplicate event: same date and title")
    assert small_yaml.read_bytes() == before


def test_refuses_to_edit_an_invalid_file(small_yaml):
    small_yaml.write_text(small_yaml.read_text().replace("type: treaty", "type: tready"))
    with pytest.raises(EditRefused) as info:
        add_event(small_yaml, event())
    assert info.value.problems[0].message == "unknown value 'tready'"


def test_dry_run_writes_nothing(small_yaml):
    before = small_yaml.read_bytes()
    insertion = add_event(small_yaml, event(), dry_run=True)
    assert "  - id: new-event\n" in insertion.block
    assert small_yaml.read_bytes() == before


def test_failure_while_writing_leaves_the_file_intact(small_yaml, monkeypatch):
    before = small_yaml.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(WriteRefused, match="No space left on device"):
        add_event(small_yaml, event())
    assert small_yaml.read_bytes() == before
    leftovers = set(files_in(small_yaml.parent)) - {"events.yaml"}
    assert leftovers <= {".events.yaml.lock"}  # no temporary file left behind


def test_file_mode_is_kept(small_yaml):
    small_yaml.chmod(0o600)
    add_event(small_yaml, event())
    assert small_yaml.stat().st_mode & 0o777 == 0o600


def test_suggest_id():
    assert (
        suggest_id("2019", "Baykar and Ukrspecexport sign") == "2019-baykar-and-ukrspecexport-sign"
    )
    assert suggest_id("2021-04~", "Çavuşoğlu speaks") == "2021-04-cavusoglu-speaks"
    taken = {"2019-a-b", "2019-a-b-2"}
    assert suggest_id("2019", "A b", taken) == "2019-a-b-3"


def cli_add(path: Path, *args: str, input: str | None = None):
    return runner.invoke(app, ["add", str(path), *args], input=input)


def test_cli_add_from_options(small_yaml):
    result = cli_add(
        small_yaml, "--date", "2021-04-10", "--title", "Zelensky meets Erdoğan",
        "--summary", "Talks in Istanbul.", "--type", "meeting", "--actor", "russia:target",
        "--source", "seed-news", "--quote", "Q.", "--tag", "diplomacy", "--no-interactive",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Added 2021-04-10-zelensky-meets-erdogan at line" in result.stdout
    text = small_yaml.read_text()
    assert "countries: [RU]" in text  # defaulted from the actors


def test_cli_add_reports_problems_with_positions(small_yaml):
    before = small_yaml.read_bytes()
    result = cli_add(
        small_yaml, "--date", "2021-02-30", "--title", "T", "--summary", "S", "--type", "meetin",
        "--source", "seed-news", "--quote", "Q", "--no-interactive",
    )  # fmt: skip
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "2021-02-30 is not a real date" in result.stderr
    assert "did you mean 'meeting'?" in result.stderr
    assert "positions are as if it were inserted at line" in result.stderr
    assert small_yaml.read_bytes() == before


def test_cli_add_needs_a_quote_per_source(small_yaml):
    result = cli_add(small_yaml, "--source", "seed-news", "--no-interactive")
    assert result.exit_code == 1 and "one --quote for each --source" in result.stderr


def test_cli_add_interactive_prompts(small_yaml):
    answers = "\n".join([
        "2021-04-10",  # date
        "Zelensky meets Erdoğan",  # title
        "Talks in Istanbul.",  # summary
        "meting", "meeting",  # type: a typo is asked again
        "russia:target", "",  # actors
        "seed-news", "A quote.", "",  # sources and quotes
        "diplomacy", "",  # tags
        "",  # accept the suggested id
    ]) + "\n"  # fmt: skip
    result = cli_add(small_yaml, "--interactive", "--dry-run", input=answers)
    assert result.exit_code == 0, result.output
    assert "'meting' is not one of the choices." in result.stdout
    assert "known: baykar, ukrspecexport, russia, analyst" in result.stdout
    assert "  - id: 2021-04-10-zelensky-meets-erdogan\n" in result.stdout
    assert "        quote: A quote.\n" in result.stdout


def test_cli_add_parses_and_validates_the_file_once_each(small_yaml, monkeypatch, tmp_path):
    """The file as it is is parsed once (prompts and insertion share it); the file as it
    would be is parsed and validated once. Nothing else reads or validates the whole file,
    and neither is parsed into a node graph (each record is read alone). (Each is done in
    a forked process: the calls are logged to a file.)"""
    from timeline import edit

    size = small_yaml.stat().st_size
    parsed = calls_logged(monkeypatch, edit, "load_bytes", tmp_path / "parsed",
                          lambda raw, path: str(len(raw)))  # fmt: skip
    validated = calls_logged(
        monkeypatch,
        edit,
        "validate_document",
        tmp_path / "validated",
        lambda doc, **kw: f"{doc.root is None} {doc.pieces is not None}",
    )
    whole = calls_logged(monkeypatch, edit, "load_text", tmp_path / "whole",
                         lambda text, path: str(len(text)))  # fmt: skip
    result = cli_add(
        small_yaml, "--date", "2021-04-10", "--title", "Zelensky meets Erdoğan",
        "--summary", "Talks in Istanbul.", "--type", "meeting", "--actor", "russia:target",
        "--source", "seed-news", "--quote", "Q.", "--no-interactive",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lengths = [int(n) for n in parsed()]
    assert len(lengths) == 2 and lengths[0] == size and lengths[1] > size  # before, after
    assert validated() == ["True True"]  # once, read record by record
    assert all(int(n) < size / 4 for n in whole())  # only the new block, read back


def test_an_existing_error_is_reported_where_it_is(small_yaml):
    """An error already in the file, below the new event, keeps its line in the file."""
    small_yaml.write_text(small_yaml.read_text().replace("type: treaty", "type: tready"))
    expected = [p for p in validate_file(small_yaml).errors]
    with pytest.raises(EditRefused) as info:
        add_event(small_yaml, event(date="1900"))  # inserted first, above every record
    assert [(p.line, p.column, p.message) for p in info.value.problems] == [
        (p.line, p.column, p.message) for p in expected
    ]


@pytest.mark.parametrize("name", ["events.yaml", "tests/data/small.yaml"])
def test_insertion_gaps_from_marks_equal_the_token_scan(name):
    """Where a record's gap starts, from the parser's marks, equals the full token scan
    for every record of the file (and for the end of the events section)."""
    from timeline.comments import TokenMap
    from timeline.edit import _content_end
    from timeline.load import load_text

    path = Path(__file__).parent.parent / name
    text = path.read_text()
    doc = load_text(text, path)
    tokens = TokenMap(text)
    records = doc.root.value[[k.value for k, _ in doc.root.value].index("events")][1].value
    for before, record in itertools.pairwise(records):
        end = _content_end(before)
        assert (end.line + 1 if end.column > 0 else end.line) == tokens.gap_start(
            record.start_mark.line
        )
    end = _content_end(doc.root)
    assert (end.line + 1 if end.column > 0 else end.line) == tokens.gap_start(len(tokens.lines))


def test_add_to_a_file_with_aliases(small_yaml):
    """An alias has the marks of its anchor: the last record ending in one still gets the
    new event after it, not inside an earlier record."""
    text = small_yaml.read_text().replace("type: treaty", "type: &t treaty", 1)
    assert "\n    notes:" not in text[text.rindex("  - id:") :]
    small_yaml.write_text(text + "    notes: *t\n")  # the file's last value is an alias
    assert validate_file(small_yaml).ok
    insertion = add_event(small_yaml, event(date="2024-06"))
    assert validate_file(small_yaml).ok
    assert insertion.line == text.count("\n") + 2  # after the alias's line, at the end


def test_what_add_keeps_of_the_file_read_for_its_prompts_is_not_its_records(small_yaml):
    """The prompts' reading keeps the ids, the countries and the events' places, not the
    records' data (gigabytes at 100,000 events), and places the event as a new reading
    would."""
    from timeline import edit

    loaded = edit.Loaded.read(small_yaml)
    data = yaml.safe_load(small_yaml.read_text())
    assert loaded.ids["actors"] == [a["id"] for a in data["actors"]]
    assert loaded.countries == {a["id"]: a["country"] for a in data["actors"]}
    raw = small_yaml.read_bytes()
    assert [raw[p.start : p.end].split(b"\n")[0] for p in loaded.places.pieces] == [
        f"  - id: {e['id']}".encode() for e in data["events"]
    ]
    assert loaded.points == {"Montreux": [(46.43, 6.91)]}
    assert {f.name for f in dataclasses.fields(loaded)} == {
        "digest", "ids", "countries", "places", "points"}  # fmt: skip
    with_loaded = add_event(small_yaml, event(), loaded=loaded, dry_run=True)
    assert with_loaded == add_event(small_yaml, event(), dry_run=True)
    small_yaml.write_text(small_yaml.read_text() + "# saved\n")  # the places no longer fit
    assert loaded.take(files.TextFile.read(small_yaml)) is None


MEETING = (
    "--date",
    "2021-04-10",
    "--title",
    "T",
    "--summary",
    "S",
    "--type",
    "meeting",
    "--source",
    "seed-news",
    "--quote",
    "Q.",
    "--no-interactive",
    "--dry-run",
)


@pytest.mark.parametrize("built", [False, True], ids=["file", "database"])
def test_a_place_named_without_its_point_gets_the_records_point(small_yaml, built):
    """The map and the place filter take a place as its name and point: a new event at a
    place the record knows is put at the same point, from the file or from its database."""
    if built:
        build_file(small_yaml)
    result = cli_add(small_yaml, *MEETING, "--location", "Montreux")
    assert result.exit_code == 0, result.output
    assert "location: {name: Montreux, latitude: 46.43, longitude: 6.91}" in result.stdout
    given = cli_add(small_yaml, *MEETING, "--location", "Montreux", "--lat", "46.4",
                    "--lon", "6.9")  # fmt: skip
    assert "latitude: 46.4, longitude: 6.9}" in given.stdout  # as given
    unknown = cli_add(small_yaml, *MEETING, "--location", "Kyiv")
    assert unknown.exit_code == 0 and "location: {name: Kyiv}" in unknown.stdout


@pytest.mark.parametrize("built", [False, True], ids=["file", "database"])
def test_a_place_the_record_gives_two_points_needs_them_given(small_yaml, built):
    text = small_yaml.read_text()
    small_yaml.write_text(
        text.replace(
            "  - id: flight-suspension\n",
            "  - id: flight-suspension\n"
            "    location: {name: Montreux, latitude: 46.44, longitude: 6.91}\n",
        )
    )
    if built:
        build_file(small_yaml)
    before = small_yaml.read_bytes()
    result = cli_add(small_yaml, *MEETING[:-1], "--location", "Montreux")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    assert result.stderr == (
        "timeline add: --location 'Montreux': the record gives this place"
        " 2 points (46.43, 6.91; 46.44, 6.91): give --lat and --lon\n"
    )
    assert small_yaml.read_bytes() == before


@pytest.mark.parametrize("built", [False, True], ids=["file", "database"])
def test_add_says_the_new_events_warnings_as_validate_says_them(small_yaml, built):
    """One source, and a place name at another point than the record's: the warnings
    `validate` of the new file gives the new event, at the same places."""
    if built:
        build_file(small_yaml)
    result = cli_add(small_yaml, *MEETING[:-1], "--location", "Montreux", "--lat", "46.5",
                     "--lon", "6.9")  # fmt: skip
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if ": warning: " in line]
    validated = [str(p) for p in validate_file(small_yaml).warnings
                 if p.record == "event 2021-04-10-t"]  # fmt: skip
    assert said == validated and len(said) == 2
    assert "backed by a single source" in said[1] and "another point" in said[0]
    two_sources = ("--source", "seed-news", "--quote", "Q.", "--source", "record", "--quote", "R.")
    second = cli_add(small_yaml, "--date", "2021-04-11", "--title", "U", "--summary", "S",
                     "--type", "meeting", *two_sources, "--location", "Kyiv", "--lat", "50.45",
                     "--lon", "30.52", "--no-interactive")  # fmt: skip
    assert second.exit_code == 0 and ": warning: " not in second.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_cli_add_refuses_a_coordinate_that_is_not_a_number(small_yaml, value):
    before = small_yaml.read_bytes()
    result = cli_add(
        small_yaml, "--date", "2021-04-10", "--title", "T", "--summary", "S", "--type",
        "meeting", "--source", "seed-news", "--quote", "Q.", "--location", "Kyiv",
        "--lat", "50.45", "--lon", value, "--no-interactive",
    )  # fmt: skip
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    assert "location.longitude: expected a finite number" in result.stderr
    assert small_yaml.read_bytes() == before


@pytest.mark.parametrize("quote", ["\u200b\u200b", "Q\u00adQ", "\U000e0041\U000e0042", "Q\u2060"])
def test_cli_add_refuses_invisible_text_by_the_same_rule(small_yaml, quote):
    before = small_yaml.read_bytes()
    result = cli_add(
        small_yaml, "--date", "2021-04-10", "--title", "T", "--summary", "S", "--type",
        "meeting", "--source", "seed-news", "--quote", quote, "--no-interactive",
    )  # fmt: skip
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "citations[0].quote: the character U+" in result.stderr
    assert "not visible" in result.stderr
    assert small_yaml.read_bytes() == before


def _indentless(path: Path, *, nested: bool) -> str:
    """The file with each section's dashes at its key's column (``events:\\n- id: …``), as
    many YAML tools write it; ``nested``: the records' own lists written so too."""
    text = path.read_text()
    if nested:  # PyYAML's own dumper writes every block list indentless
        return yaml.safe_dump(yaml.safe_load(text), sort_keys=False, allow_unicode=True)
    return "".join(line.removeprefix("  ") for line in text.splitlines(keepends=True))


@pytest.mark.parametrize("nested", [False, True], ids=["sections", "every-list"])
@pytest.mark.parametrize(("date", "place"), [("1900", 0), ("2021-04-10", 2), ("2024-06", 4)])
def test_add_to_a_file_whose_lists_are_indentless(small_yaml, date, place, nested):
    """YAML that `validate` accepts and `fmt` lays out: `add` writes the event at the column
    of the list's own dashes, every other byte kept, and the file still validates."""
    before = _indentless(small_yaml, nested=nested)
    small_yaml.write_text(before)
    assert "\nevents:\n- id: montreux\n" in before and validate_file(small_yaml).ok
    insertion = add_event(small_yaml, event(date=date))
    after = small_yaml.read_text()
    assert insertion.block.startswith("- id: new-event\n  date: ")
    assert_only_block_added(before, after, insertion.block)
    assert validate_file(small_yaml).ok
    assert yaml.safe_load(after)["events"][place]["id"] == "new-event"
    assert runner.invoke(app, ["fmt", str(small_yaml)]).exit_code == 0  # fmt lays it out still
    assert validate_file(small_yaml).ok


def test_cli_add_to_an_indentless_file(small_yaml):
    small_yaml.write_text(_indentless(small_yaml, nested=True))
    result = cli_add(
        small_yaml, "--date", "2021-04-10", "--title", "Talks", "--summary", "Talks held.",
        "--type", "meeting", "--source", "seed-news", "--quote", "Q.", "--no-interactive",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\n- id: 2021-04-10-talks\n" in small_yaml.read_text()
    assert runner.invoke(app, ["validate", str(small_yaml)]).exit_code == 0


def _events_first(text: str) -> str:
    """The file with its events section moved above the others (each section kept whole)."""
    start, end = text.index("\nevents:") + 1, len(text)
    return text[start:end] + text[:start]


def _commented(text: str) -> str:
    """A comment and a blank line above every event, and a trailing comment after each."""
    text = text.replace("\n  - id: ", "\n\n  # the next event\n  - id: ")
    return text.replace("\n    status: confirmed\n", "\n    status: confirmed  # so far\n")


LAYOUTS = {
    "canonical": lambda text: text,
    "crlf": lambda text: text.replace("\n", "\r\n"),
    "bom": lambda text: "\ufeff" + text,
    "indentless": lambda text: "".join(line.removeprefix("  ") for line in text.splitlines(True)),
    "commented": _commented,
    "events-first": _events_first,
    "no-final-newline": lambda text: text.rstrip("\n"),
}


@pytest.mark.parametrize("date", ["1900", "2019", "2021-04-10", "2024-06"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_placed_in_bytes_as_the_node_graph_places_it(small_yaml, layout, date):
    """A file read record by record is placed in its bytes, as ``insert_event`` places it
    from the whole file's node graph: the same bytes and the same line."""
    from timeline.edit import EventPlaces, _placed_in_bytes, insert_event
    from timeline.files import TextFile
    from timeline.load import load_bytes, load_text

    small_yaml.write_bytes(LAYOUTS[layout](small_yaml.read_text()).encode())
    current, new = TextFile.read(small_yaml), event(date=date)
    expected = insert_event(current.text, load_text(current.text, small_yaml), new)
    doc = load_bytes(current.raw, small_yaml)
    places = EventPlaces.of(doc)
    if layout == "bom":  # not read record by record (text before the first key): the graph's
        assert doc.root is not None and places is None
        return
    placed = _placed_in_bytes(current, places, new)
    if layout == "no-final-newline" and date == "2024-06":  # the last line gains its break
        assert placed is None
        return
    insertion, at = placed
    chunks = [current.raw[:at], insertion.block.encode(), current.raw[at:]]
    expected_bytes = current.encode(expected.text, convert_newlines=False)
    if layout == "no-final-newline":  # inserted above the last line: it is left as it was
        expected_bytes = expected_bytes.removesuffix(b"\n")
    assert b"".join(chunks) == expected_bytes
    assert (insertion.line, insertion.block) == (expected.line, expected.block)
    assert validate_bytes(b"".join(chunks), small_yaml).ok


def test_placed_in_bytes_in_the_real_file_as_the_node_graph_places_it(tmp_path):
    from timeline.edit import EventPlaces, _placed_in_bytes, insert_event
    from timeline.files import TextFile
    from timeline.load import load_bytes, load_text

    current = TextFile.read(Path(__file__).parent.parent / "events.yaml")
    places = EventPlaces.of(load_bytes(current.raw, current.path))
    graph = load_text(current.text, current.path)
    for date in ["1900", "2019-01", "2022-02-24", "2026"]:
        new = event(date=date)
        expected = insert_event(current.text, graph, new)
        insertion, at = _placed_in_bytes(current, places, new)
        chunks = [current.raw[:at], insertion.block.encode(), current.raw[at:]]
        assert b"".join(chunks) == current.encode(expected.text, convert_newlines=False)
        assert insertion.line == expected.line


def test_a_file_changed_after_the_whole_check_is_checked_again(small_yaml, monkeypatch):
    """The whole file's check runs from a copy of the file's bytes before the file is read
    to be rewritten; an editor's save in between (it takes no lock) is seen by its digest,
    and the file as saved is checked again: both changes land."""
    from timeline import edit

    checks, real = [], edit._checked_whole

    def check_then_save(*args):
        checks.append(real(*args))
        if len(checks) == 1:
            text = small_yaml.read_text()
            small_yaml.write_text(text.replace("title: A news article", "title: Saved"))
        return checks[-1]

    monkeypatch.setattr(edit, "_checked_whole", check_then_save)
    add_event(small_yaml, event())
    after = small_yaml.read_text()
    assert len(checks) == 2 and checks[0].digest != checks[1].digest
    assert "title: Saved" in after and "- id: new-event" in after
    assert validate_file(small_yaml).ok


def test_a_file_that_keeps_changing_is_left_as_it_is(small_yaml, monkeypatch):
    from timeline import edit

    real, saves = edit._checked_whole, []

    def check_then_save(*args):
        checked = real(*args)
        saves.append(f"# saved {len(saves)}\n")
        small_yaml.write_text(saves[-1] + small_yaml.read_text())
        return checked

    monkeypatch.setattr(edit, "_checked_whole", check_then_save)
    with pytest.raises(WriteRefused, match="kept changing"):
        add_event(small_yaml, event())
    assert len(saves) == files.ATTEMPTS
    assert "new-event" not in small_yaml.read_text()
    assert small_yaml.read_text().startswith("# saved 2\n# saved 1\n# saved 0\n")
